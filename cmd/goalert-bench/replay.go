package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/oncallhq/goalert/cmd/goalert/app"
	"github.com/oncallhq/goalert/projections"
)

// replayResult is the summary of one replay run.
type replayResult struct {
	Workload    string             `json:"workload"`
	Run         int                `json:"run"`
	LogEvents   int                `json:"log_events"`
	Batch       int                `json:"batch"`
	Seconds     float64            `json:"seconds"`
	Rate        float64            `json:"events_per_sec"`
	Projections map[string]float64 `json:"projection_seconds"`
	PeakRSSMiB  float64            `json:"peak_rss_mib"`
	// PeakIsProcess is set when the kernel would not reset the high-water
	// mark, so PeakRSSMiB is the whole process's, seeding included.
	PeakIsProcess bool `json:"peak_rss_is_process,omitempty"`
	// Seed is set on the run that seeded the log first.
	Seed *seedResult `json:"seed,omitempty"`

	order []string
}

func (r replayResult) String() string {
	var parts []string
	for _, name := range r.order {
		parts = append(parts, fmt.Sprintf("%s=%.1fs", name, r.Projections[name]))
	}
	s := fmt.Sprintf("replay: run=%d events=%d batch=%d time=%.1fs rate=%.0f/s (%s) peak_rss=%.0fMiB",
		r.Run, r.LogEvents, r.Batch, r.Seconds, r.Rate, strings.Join(parts, " "), r.PeakRSSMiB)
	if r.PeakIsProcess {
		s += " (whole process)"
	}
	if r.Seed != nil {
		s = r.Seed.String() + "\n" + s
	}
	return s
}

// runReplay times rebuilding every read model of the product from the
// log, the way `goalert replay` does: each projection of the server's
// runner in turn, with Runner.Rebuild. An empty log is seeded first with
// a generated product log (see seed); a log that has events is replayed
// as it is, so one seeded database serves many runs.
func runReplay(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c common
	var o seedOptions
	fs := newFlags("replay", stderr, &c, false)
	addSeedFlags(fs, &o)
	batch := fs.Int("batch", 5000, "rebuild batch size: events per read and per transaction")
	runs := fs.Int("runs", 1, "replays of the same log, each reported on its own line")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the replays (not the seeding) to the file")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := positive(fs, map[string]float64{"events": float64(o.events), "chunk": float64(o.chunk),
		"batch": float64(*batch), "runs": float64(*runs)}); err != nil {
		return err
	}
	db, err := openDatabase(ctx, c, 4, stderr)
	if err != nil {
		return err
	}
	defer db.Close()

	var seeded *seedResult
	var has bool
	if err := db.Pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM events)`).Scan(&has); err != nil {
		return fmt.Errorf("look at the log: %w", err)
	}
	if !has {
		o.guards = false // a replay needs only the log
		s, err := seedProductLog(ctx, db.Pool, o)
		if err != nil {
			return err
		}
		seeded = &s
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	for run := 1; run <= *runs; run++ {
		res, err := replayOnce(ctx, db.Pool, stderr, *batch)
		if err != nil {
			return err
		}
		res.Run, res.Seed, seeded = run, seeded, nil
		if err := report(stdout, c.json, res.String(), res); err != nil {
			return err
		}
	}
	return nil
}

// replayOnce rebuilds every projection and checks the result.
func replayOnce(ctx context.Context, pool *pgxpool.Pool, stderr io.Writer, batch int) (replayResult, error) {
	res := replayResult{Workload: "replay", Batch: batch, Projections: map[string]float64{}}
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM events`).Scan(&res.LogEvents); err != nil {
		return res, fmt.Errorf("count events: %w", err)
	}
	runner := projections.NewRunner(pool, app.NewStore(), quietLogger(stderr), app.Projections()...)
	// Earlier phases' garbage (seeding, a previous run) would otherwise
	// count as this run's peak.
	debug.FreeOSMemory()
	separate := resetPeakRSS()
	t0 := time.Now()
	for _, p := range runner.Projections() {
		st, err := runner.Rebuild(ctx, p.Name(), batch, nil)
		if err != nil {
			return res, err
		}
		if st.Events < res.LogEvents {
			return res, fmt.Errorf("rebuild of %s read %d events, but the log holds %d", p.Name(), st.Events, res.LogEvents)
		}
		res.order = append(res.order, p.Name())
		res.Projections[p.Name()] = round3(st.Duration.Seconds())
	}
	elapsed := time.Since(t0)
	res.Seconds = round3(elapsed.Seconds())
	res.Rate = float64(res.LogEvents) / elapsed.Seconds()
	res.PeakRSSMiB, res.PeakIsProcess = mib(peakRSS()), !separate
	return res, checkReadModels(ctx, pool)
}

func round3(f float64) float64 { return float64(int64(f*1000+0.5)) / 1000 }

// checkReadModels fails a replay whose read models do not match the log:
// one alerts row per alert stream, one log line per alert event, one users
// row per user stream that was not deleted, one services row per service
// stream that was not deleted. A fast replay that loses events is no
// result.
func checkReadModels(ctx context.Context, pool *pgxpool.Pool) error {
	checks := []struct{ what, got, want string }{
		{"alerts", `SELECT count(*) FROM alerts`, `SELECT count(*) FROM event_streams WHERE starts_with(stream_id, 'alert-')`},
		{"alert log lines", `SELECT count(*) FROM alert_log`, `SELECT count(*) FROM events WHERE starts_with(event_name, 'alert.')`},
		{"users", `SELECT count(*) FROM users`, `SELECT count(*) FROM event_streams s WHERE starts_with(stream_id, 'user-')
			AND NOT EXISTS (SELECT 1 FROM events e WHERE e.stream_id = s.stream_id AND e.event_name = 'user.deleted')`},
		{"services", `SELECT count(*) FROM services`, `SELECT count(*) FROM event_streams s WHERE starts_with(stream_id, 'service-')
			AND NOT EXISTS (SELECT 1 FROM events e WHERE e.stream_id = s.stream_id AND e.event_name = 'service.deleted')`},
	}
	for _, c := range checks {
		var got, want int64
		if err := pool.QueryRow(ctx, c.got).Scan(&got); err != nil {
			return fmt.Errorf("check %s: %w", c.what, err)
		}
		if err := pool.QueryRow(ctx, c.want).Scan(&want); err != nil {
			return fmt.Errorf("check %s: %w", c.what, err)
		}
		if got != want {
			return fmt.Errorf("after the replay the read models hold %d %s, but the log says %d", got, c.what, want)
		}
	}
	return nil
}
