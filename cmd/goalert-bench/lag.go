package main

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/oncallhq/goalert/events"
	"github.com/oncallhq/goalert/events/pgstore"
	"github.com/oncallhq/goalert/projections"
)

// deliveryGrace is how long events may take to arrive once the writers
// have stopped before the run counts them as lost.
const deliveryGrace = 10 * time.Second

// lagResult is the summary of the lag workload.
type lagResult struct {
	Workload      string  `json:"workload"`
	Writers       int     `json:"writers"`
	TargetRate    float64 `json:"target_rate"`
	Appended      int     `json:"appended"`
	AppendRate    float64 `json:"append_rate"`
	Delivered     int     `json:"delivered"`
	DeliveredRate float64 `json:"delivered_per_sec"`
	Undelivered   int     `json:"undelivered"`
	P50Ms         float64 `json:"p50_ms"`
	P90Ms         float64 `json:"p90_ms"`
	P99Ms         float64 `json:"p99_ms"`
	MaxMs         float64 `json:"max_ms"`

	lag percentiles
}

func (r lagResult) String() string {
	s := fmt.Sprintf("lag: writers=%d target=%.0f/s appended=%d (%.0f/s) delivered=%d (%.0f/s) p50=%s p90=%s p99=%s max=%s",
		r.Writers, r.TargetRate, r.Appended, r.AppendRate, r.Delivered, r.DeliveredRate,
		fmtDur(r.lag.P50), fmtDur(r.lag.P90), fmtDur(r.lag.P99), fmtDur(r.lag.Max))
	if r.Undelivered > 0 {
		s += fmt.Sprintf(" undelivered=%d", r.Undelivered)
	}
	return s
}

func runLag(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c common
	fs := newFlags("lag", stderr, &c, true)
	writers := fs.Int("writers", 4, "concurrent writers, each appending one event per transaction to a new stream")
	rate := fs.Float64("rate", 500, "target total append rate, events/s, paced evenly over the writers")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := positive(fs, map[string]float64{"writers": float64(*writers), "rate": *rate, "duration": float64(c.duration)}); err != nil {
		return err
	}
	// The runner takes a connection for its subscriber, one for LISTEN
	// (taken out of the pool for good) and one for cross-process NOTIFYs;
	// the writers must not queue behind them.
	db, err := openDatabase(ctx, c, int32(*writers)+4, stderr)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := createProjectionTable(ctx, db.Pool); err != nil {
		return err
	}

	res, err := measureLag(ctx, db.Pool, stderr, *writers, *rate, c.duration)
	if err != nil {
		return err
	}
	if err := report(stdout, c.json, res.String(), res); err != nil {
		return err
	}
	if res.Undelivered > 0 {
		return fmt.Errorf("%d of %d appended events were not applied within %v after the writers stopped",
			res.Undelivered, res.Appended, deliveryGrace)
	}
	return nil
}

// measureLag runs the bench projection in-process while writers append at
// rate for d, and times each event from commit to Apply.
func measureLag(ctx context.Context, pool *pgxpool.Pool, stderr io.Writer, writers int, rate float64, d time.Duration) (lagResult, error) {
	store := newStore()
	tr := newLagTracker()
	runner := projections.NewRunner(pool, store, quietLogger(stderr), benchProjection{applied: tr.applied})
	runCtx, stopRunner := context.WithCancel(ctx)
	runDone := make(chan struct{})
	go func() { runner.Run(runCtx); close(runDone) }()
	defer func() { stopRunner(); <-runDone }()

	if err := warmUp(ctx, store, pool, runner); err != nil {
		return lagResult{}, err
	}
	began := time.Now()
	if err := paceWriters(ctx, store, pool, runner, tr, writers, rate, began, began.Add(d)); err != nil {
		return lagResult{}, err
	}
	wrote := time.Since(began)
	tr.drain(ctx, deliveryGrace)
	return tr.result(writers, rate, began, wrote), nil
}

// warmUp appends one event and waits until the projection has applied it,
// so that the subscriber's start, and with --fresh=false its catching up
// with the existing log, are not counted as lag.
func warmUp(ctx context.Context, store *pgstore.Store, pool *pgxpool.Pool, runner *projections.Runner) error {
	a, err := store.Append(ctx, pool, newStreamID(), pgstore.NoStream, []events.Record{newRecord(0)})
	if err != nil {
		return fmt.Errorf("warm up: %w", err)
	}
	runner.Notify(a.Last)
	wctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	if err := runner.WaitFor(wctx, a.Last, benchProjection{}.Name()); err != nil {
		return fmt.Errorf("warm up: wait for the projection: %w", err)
	}
	return nil
}

// paceWriters runs writers goroutines that together append rate events/s
// from began until until. The schedule is open-loop: each append has a
// fixed slot, and a writer that falls behind catches up without sleeping,
// as real traffic would keep arriving while the database stalls.
func paceWriters(ctx context.Context, store *pgstore.Store, pool *pgxpool.Pool, runner *projections.Runner,
	tr *lagTracker, writers int, rate float64, began, until time.Time) error {
	interval := time.Duration(float64(time.Second) / rate)
	var wg sync.WaitGroup
	var errs firstError
	for w := range writers {
		wg.Go(func() {
			for k := 0; ; k++ {
				// Writers take turns, so the total rate is even rather
				// than arriving in bursts of `writers` appends.
				slot := began.Add(time.Duration(k*writers+w) * interval)
				if !slot.Before(until) {
					return
				}
				if err := sleepUntil(ctx, slot); err != nil {
					errs.set(err)
					return
				}
				if err := appendTracked(ctx, store, pool, runner, tr, k); err != nil {
					errs.set(err)
					return
				}
			}
		})
	}
	wg.Wait()
	return errs.get()
}

func sleepUntil(ctx context.Context, t time.Time) error {
	d := time.Until(t)
	if d <= 0 {
		return nil
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}

// appendTracked appends one event to a new stream and tells the tracker
// and the runner once it has committed.
func appendTracked(ctx context.Context, store *pgstore.Store, pool *pgxpool.Pool, runner *projections.Runner, tr *lagTracker, n int) error {
	rec := newRecord(n)
	tr.expect(rec.ID)
	a, err := store.Append(ctx, pool, newStreamID(), pgstore.NoStream, []events.Record{rec})
	if err != nil {
		tr.forget(rec.ID)
		return err
	}
	tr.committed(rec.ID, time.Now())
	runner.Notify(a.Last)
	return nil
}

// lagTracker pairs each event's commit time with the time the projection
// applied it. Either may come first: the subscriber can read an event
// between its commit and the writer's clock reading, and such an event
// counts as zero lag.
type lagTracker struct {
	mu          sync.Mutex
	probes      map[uuid.UUID]*probe
	lags        []time.Duration
	appended    int
	lastApplied time.Time
}

type probe struct {
	committed, applied time.Time
}

func newLagTracker() *lagTracker { return &lagTracker{probes: map[uuid.UUID]*probe{}} }

// expect registers an event about to be appended; events the tracker
// does not expect (the warm-up, earlier runs' events) are ignored.
func (t *lagTracker) expect(id uuid.UUID) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.probes[id] = &probe{}
}

func (t *lagTracker) forget(id uuid.UUID) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.probes, id)
}

func (t *lagTracker) committed(id uuid.UUID, at time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.appended++
	p := t.probes[id]
	p.committed = at
	t.settle(id, p)
}

// applied is the projection's hook. Only the first application counts: a
// batch whose transaction failed is applied again.
func (t *lagTracker) applied(ids []uuid.UUID) {
	now := time.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, id := range ids {
		p, ok := t.probes[id]
		if !ok || !p.applied.IsZero() {
			continue
		}
		p.applied = now
		t.settle(id, p)
	}
}

// settle records the lag of a probe once both ends are known.
func (t *lagTracker) settle(id uuid.UUID, p *probe) {
	if p.committed.IsZero() || p.applied.IsZero() {
		return
	}
	t.lags = append(t.lags, max(0, p.applied.Sub(p.committed)))
	if p.applied.After(t.lastApplied) {
		t.lastApplied = p.applied
	}
	delete(t.probes, id)
}

func (t *lagTracker) pending() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.probes)
}

// drain waits until every committed event has been applied, or grace has
// passed.
func (t *lagTracker) drain(ctx context.Context, grace time.Duration) {
	deadline := time.Now().Add(grace)
	for t.pending() > 0 && time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(5 * time.Millisecond)
	}
}

func (t *lagTracker) result(writers int, rate float64, began time.Time, wrote time.Duration) lagResult {
	t.mu.Lock()
	defer t.mu.Unlock()
	r := lagResult{
		Workload: "lag", Writers: writers, TargetRate: rate,
		Appended: t.appended, AppendRate: float64(t.appended) / wrote.Seconds(),
		Delivered: len(t.lags), Undelivered: len(t.probes),
		lag: summarize(t.lags),
	}
	if span := t.lastApplied.Sub(began); span > 0 {
		r.DeliveredRate = float64(r.Delivered) / span.Seconds()
	}
	r.P50Ms, r.P90Ms, r.P99Ms, r.MaxMs = ms(r.lag.P50), ms(r.lag.P90), ms(r.lag.P99), ms(r.lag.Max)
	return r
}
