package main

import (
	"context"
	"fmt"
	"io"
	"runtime/debug"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/oncallhq/goalert/events"
	"github.com/oncallhq/goalert/events/pgstore"
	"github.com/oncallhq/goalert/projections"
)

// rebuildResult is the summary of the rebuild workload.
type rebuildResult struct {
	Workload       string  `json:"workload"`
	Events         int     `json:"events"`
	Streams        int     `json:"streams"`
	SeedSeconds    float64 `json:"seed_seconds"`
	SeedRate       float64 `json:"seed_events_per_sec"`
	Batch          int     `json:"batch"`
	RebuildEvents  int     `json:"rebuild_events"` // the whole log: more than Events in a kept database
	RebuildSeconds float64 `json:"rebuild_seconds"`
	RebuildRate    float64 `json:"rebuild_events_per_sec"`
	PeakRSSMiB     float64 `json:"peak_rss_mib"`
	// RebuildPeakRSSMiB is the peak during the rebuild alone; 0 when the
	// kernel would not reset the high-water mark after seeding.
	RebuildPeakRSSMiB float64 `json:"rebuild_peak_rss_mib,omitempty"`
}

func (r rebuildResult) String() string {
	s := fmt.Sprintf("rebuild: events=%d streams=%d seed=%.0f/s (%.1fs) batch=%d rebuilt=%d rebuild=%.0f/s (%.1fs) peak_rss=%.0fMiB",
		r.Events, r.Streams, r.SeedRate, r.SeedSeconds, r.Batch, r.RebuildEvents, r.RebuildRate, r.RebuildSeconds, r.PeakRSSMiB)
	if r.RebuildPeakRSSMiB > 0 {
		s += fmt.Sprintf(" rebuild_peak_rss=%.0fMiB", r.RebuildPeakRSSMiB)
	}
	return s
}

// seedConfig says how the log is filled before the rebuild.
type seedConfig struct {
	events, streams, writers, perAppend int
}

func runRebuild(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c common
	var sc seedConfig
	fs := newFlags("rebuild", stderr, &c, false)
	fs.IntVar(&sc.events, "events", 200000, "events to seed before the rebuild")
	fs.IntVar(&sc.streams, "streams", 1000, "streams the seeded events are spread over")
	fs.IntVar(&sc.writers, "writers", 8, "concurrent writers while seeding")
	fs.IntVar(&sc.perAppend, "per-append", 10, "events per seeding append (one transaction)")
	batch := fs.Int("batch", 5000, "rebuild batch size: events per read and per transaction")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := positive(fs, map[string]float64{"events": float64(sc.events), "streams": float64(sc.streams),
		"writers": float64(sc.writers), "per-append": float64(sc.perAppend), "batch": float64(*batch)}); err != nil {
		return err
	}
	db, err := openDatabase(ctx, c, int32(sc.writers)+2, stderr)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := createProjectionTable(ctx, db.Pool); err != nil {
		return err
	}

	store := newStore()
	res := rebuildResult{Workload: "rebuild", Events: sc.events, Streams: sc.streams, Batch: *batch}
	t0 := time.Now()
	if err := seed(ctx, store, db.Pool, sc); err != nil {
		return err
	}
	res.SeedSeconds = time.Since(t0).Seconds()
	res.SeedRate = float64(sc.events) / res.SeedSeconds
	if err := timeRebuild(ctx, store, db.Pool, stderr, *batch, &res); err != nil {
		return err
	}
	return report(stdout, c.json, res.String(), res)
}

// seed appends sc.events events spread evenly over sc.streams new streams.
// Each writer owns a share of the streams and cycles through them, so that
// streams interleave in the log as they do in production.
func seed(ctx context.Context, store *pgstore.Store, pool *pgxpool.Pool, sc seedConfig) error {
	owned := make([][]seedStream, sc.writers)
	for s := range sc.streams {
		left := sc.events / sc.streams
		if s < sc.events%sc.streams {
			left++
		}
		owned[s%sc.writers] = append(owned[s%sc.writers], seedStream{id: newStreamID(), left: left})
	}
	var wg sync.WaitGroup
	var errs firstError
	for _, streams := range owned {
		wg.Go(func() {
			if err := seedStreams(ctx, store, pool, streams, sc.perAppend); err != nil {
				errs.set(fmt.Errorf("seed: %w", err))
			}
		})
	}
	wg.Wait()
	return errs.get()
}

type seedStream struct {
	id      string
	version int64
	left    int
}

func seedStreams(ctx context.Context, store *pgstore.Store, pool *pgxpool.Pool, streams []seedStream, perAppend int) error {
	for busy := true; busy; {
		busy = false
		for i := range streams {
			s := &streams[i]
			if s.left == 0 {
				continue
			}
			busy = true
			recs := make([]events.Record, min(perAppend, s.left))
			for j := range recs {
				recs[j] = newRecord(int(s.version) + j + 1)
			}
			a, err := store.Append(ctx, pool, s.id, s.version, recs)
			if err != nil {
				return err
			}
			s.version, s.left = a.Version, s.left-len(recs)
		}
	}
	return nil
}

// timeRebuild rebuilds the bench projection from the whole log, checks that
// it applied every bench event, and records its speed and memory.
func timeRebuild(ctx context.Context, store *pgstore.Store, pool *pgxpool.Pool, stderr io.Writer, batch int, res *rebuildResult) error {
	runner := projections.NewRunner(pool, store, quietLogger(stderr), benchProjection{})
	seedPeak := peakRSS()
	// Seeding's garbage would otherwise be counted as the rebuild's.
	debug.FreeOSMemory()
	separate := resetPeakRSS()

	st, err := runner.Rebuild(ctx, benchProjection{}.Name(), batch, nil)
	if err != nil {
		return err
	}
	rebuildPeak := peakRSS()
	res.RebuildEvents = st.Events
	res.RebuildSeconds = st.Duration.Seconds()
	res.RebuildRate = float64(st.Events) / st.Duration.Seconds()
	res.PeakRSSMiB = mib(max(seedPeak, rebuildPeak))
	if separate {
		res.RebuildPeakRSSMiB = mib(rebuildPeak)
	}
	return checkRebuilt(ctx, pool, st)
}

// checkRebuilt fails a rebuild that did not apply every bench event in the
// log exactly once: a fast rebuild that loses events is no result.
func checkRebuilt(ctx context.Context, pool *pgxpool.Pool, st projections.RebuildStats) error {
	var inLog, rows int
	err := pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM events WHERE event_name = $1),
		(SELECT count(*) FROM `+projectionTable+`)`, benchPinged{}.EventName()).Scan(&inLog, &rows)
	if err != nil {
		return fmt.Errorf("check rebuild: %w", err)
	}
	if rows != inLog || st.Applied != inLog {
		return fmt.Errorf("rebuild applied %d events and wrote %d rows, but the log holds %d bench events", st.Applied, rows, inLog)
	}
	return nil
}
