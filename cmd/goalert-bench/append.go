package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/oncallhq/goalert/events"
	"github.com/oncallhq/goalert/events/pgstore"
)

// appendResult is the summary of the append workload.
type appendResult struct {
	Workload     string  `json:"workload"`
	Writers      int     `json:"writers"`
	Events       int     `json:"events"`
	Seconds      float64 `json:"seconds"`
	Rate         float64 `json:"events_per_sec"`
	P50Ms        float64 `json:"p50_ms"`
	P99Ms        float64 `json:"p99_ms"`
	MaxMs        float64 `json:"max_ms"`
	BaselineTPS  float64 `json:"baseline_tps,omitempty"`
	BaselineMs   float64 `json:"baseline_latency_avg_ms,omitempty"`
	Ratio        float64 `json:"ratio,omitempty"`
	BaselineNote string  `json:"baseline_note,omitempty"`

	lat percentiles
}

func (r appendResult) String() string {
	s := fmt.Sprintf("append: writers=%d events=%d rate=%.0f/s p50=%s p99=%s max=%s",
		r.Writers, r.Events, r.Rate, fmtDur(r.lat.P50), fmtDur(r.lat.P99), fmtDur(r.lat.Max))
	switch {
	case r.BaselineTPS > 0:
		s += fmt.Sprintf(" baseline=%.0ftps ratio=%.2f", r.BaselineTPS, r.Ratio)
	case r.BaselineNote != "":
		s += " baseline=skipped (" + r.BaselineNote + ")"
	}
	return s
}

// warmupAppends are made by each writer before the clock starts, so that
// connection setup and statement preparation are not timed (pgbench does
// not time its connections either).
const warmupAppends = 3

func runAppend(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c common
	fs := newFlags("append", stderr, &c, true)
	writers := fs.Int("writers", 16, "concurrent writers, each appending one event per transaction to a new stream; also the pool size and pgbench's client count")
	baseline := fs.Bool("baseline", true, "also run pgbench with single-row INSERTs for the same time and clients, and report the ratio")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := positive(fs, map[string]float64{"writers": float64(*writers), "duration": float64(c.duration)}); err != nil {
		return err
	}
	db, err := openDatabase(ctx, c, int32(*writers), stderr)
	if err != nil {
		return err
	}
	defer db.Close()

	res, err := measureAppends(ctx, db.Pool, *writers, c.duration)
	if err != nil {
		return err
	}
	if *baseline {
		if err := res.addBaseline(ctx, db, *writers, c.duration); err != nil {
			return err
		}
	}
	return report(stdout, c.json, res.String(), res)
}

// measureAppends runs writers goroutines appending single-event
// transactions to new streams for d.
func measureAppends(ctx context.Context, pool *pgxpool.Pool, writers int, d time.Duration) (appendResult, error) {
	store := newStore()
	var (
		ready, done sync.WaitGroup
		errs        firstError
		until       time.Time
	)
	start := make(chan struct{})
	lats := make([][]time.Duration, writers)
	ready.Add(writers)
	for w := range writers {
		done.Go(func() {
			_, err := appendLoop(ctx, store, pool, time.Time{}, warmupAppends)
			ready.Done()
			if err != nil {
				errs.set(fmt.Errorf("warm up: %w", err))
				return
			}
			<-start
			lats[w], err = appendLoop(ctx, store, pool, until, math.MaxInt)
			if err != nil {
				errs.set(err)
			}
		})
	}
	ready.Wait()
	began := time.Now()
	until = began.Add(d)
	close(start)
	done.Wait()
	elapsed := time.Since(began)
	if err := errs.get(); err != nil {
		return appendResult{}, err
	}
	all := slices.Concat(lats...)
	r := appendResult{
		Workload: "append", Writers: writers, Events: len(all),
		Seconds: elapsed.Seconds(), Rate: float64(len(all)) / elapsed.Seconds(),
		lat: summarize(all),
	}
	r.P50Ms, r.P99Ms, r.MaxMs = ms(r.lat.P50), ms(r.lat.P99), ms(r.lat.Max)
	return r, nil
}

// appendLoop appends one event to a new stream at a time, until the time
// until (when set) or limit appends, and returns each append's latency.
func appendLoop(ctx context.Context, store *pgstore.Store, pool *pgxpool.Pool, until time.Time, limit int) ([]time.Duration, error) {
	var lats []time.Duration
	for i := 0; i < limit && (until.IsZero() || time.Now().Before(until)); i++ {
		stream, recs := newStreamID(), []events.Record{newRecord(i)}
		t0 := time.Now()
		if _, err := store.Append(ctx, pool, stream, pgstore.NoStream, recs); err != nil {
			return lats, err
		}
		lats = append(lats, time.Since(t0))
	}
	return lats, nil
}

// errNoPgbench says the baseline cannot run on this machine.
var errNoPgbench = errors.New("pgbench not found")

// addBaseline runs the pgbench baseline and records it, or records why it
// was skipped when pgbench is not installed.
func (r *appendResult) addBaseline(ctx context.Context, db *database, clients int, d time.Duration) error {
	tps, latAvg, err := pgbenchInserts(ctx, db, clients, d)
	if errors.Is(err, errNoPgbench) {
		r.BaselineNote = err.Error()
		return nil
	}
	if err != nil {
		return fmt.Errorf("baseline: %w", err)
	}
	r.BaselineTPS, r.BaselineMs = tps, latAvg
	r.Ratio = math.Round(r.Rate/tps*1000) / 1000
	return nil
}

const baselineTable = "bench_baseline"

var (
	tpsLine     = regexp.MustCompile(`(?m)^tps = ([0-9.]+)`)
	latencyLine = regexp.MustCompile(`(?m)^latency average = ([0-9.]+) ms`)
)

// pgbenchInserts runs pgbench with a one-row INSERT per transaction into a
// scratch table: the cheapest durable write the server can do, and so the
// ceiling for an append, which is also one transaction and one commit.
func pgbenchInserts(ctx context.Context, db *database, clients int, d time.Duration) (tps, latencyAvgMs float64, err error) {
	bin, err := findPgbench()
	if err != nil {
		return 0, 0, err
	}
	if _, err := db.Pool.Exec(ctx, `CREATE TABLE IF NOT EXISTS `+baselineTable+` (v double precision)`); err != nil {
		return 0, 0, fmt.Errorf("create %s: %w", baselineTable, err)
	}
	defer db.Pool.Exec(context.WithoutCancel(ctx), `DROP TABLE IF EXISTS `+baselineTable)
	script, err := writeScript(`INSERT INTO ` + baselineTable + `(v) VALUES (random());` + "\n")
	if err != nil {
		return 0, 0, err
	}
	defer os.Remove(script)

	// pgbench runs whole seconds.
	secs := max(1, int(math.Ceil(d.Seconds())))
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, "-n", "-c", strconv.Itoa(clients), "-j", "2",
		"-T", strconv.Itoa(secs), "-f", script, db.URL)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return 0, 0, fmt.Errorf("%s: %w: %s", bin, err, strings.TrimSpace(stderr.String()))
	}
	m := tpsLine.FindSubmatch(stdout.Bytes())
	if m == nil {
		return 0, 0, fmt.Errorf("no tps line in pgbench output:\n%s", stdout.String())
	}
	tps, err = strconv.ParseFloat(string(m[1]), 64)
	if err != nil {
		return 0, 0, fmt.Errorf("parse pgbench tps %q: %w", m[1], err)
	}
	if m := latencyLine.FindSubmatch(stdout.Bytes()); m != nil {
		latencyAvgMs, _ = strconv.ParseFloat(string(m[1]), 64)
	}
	return tps, latencyAvgMs, nil
}

func writeScript(sql string) (string, error) {
	f, err := os.CreateTemp("", "goalert-bench-*.sql")
	if err != nil {
		return "", fmt.Errorf("write pgbench script: %w", err)
	}
	if _, err := f.WriteString(sql); err != nil {
		f.Close()
		os.Remove(f.Name())
		return "", fmt.Errorf("write pgbench script: %w", err)
	}
	if err := f.Close(); err != nil {
		os.Remove(f.Name())
		return "", fmt.Errorf("write pgbench script: %w", err)
	}
	return f.Name(), nil
}

// findPgbench looks on PATH, then in Debian's per-version server
// directories (where pgbench lives when only the server package is
// installed), newest version first.
func findPgbench() (string, error) {
	if p, err := exec.LookPath("pgbench"); err == nil {
		return p, nil
	}
	found, _ := filepath.Glob("/usr/lib/postgresql/*/bin/pgbench")
	if len(found) == 0 {
		return "", errNoPgbench
	}
	major := func(p string) int {
		n, _ := strconv.Atoi(strings.SplitN(filepath.Base(filepath.Dir(filepath.Dir(p))), ".", 2)[0])
		return n
	}
	slices.SortFunc(found, func(a, b string) int { return major(b) - major(a) })
	return found[0], nil
}
