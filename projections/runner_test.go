package projections_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/oncallhq/goalert/adapters/postgres/pgtest"
	"github.com/oncallhq/goalert/events"
	"github.com/oncallhq/goalert/events/pgstore"
	"github.com/oncallhq/goalert/projections"
)

type counted struct {
	N int `json:"n"`
}

func (counted) EventName() string { return "test.counted" }

type ignored struct{}

func (ignored) EventName() string { return "test.ignored" }

// ledger is a projection that writes one row per event it applies.
type ledger struct {
	delay   atomic.Int64 // nanoseconds per event, to make batches slow
	started atomic.Int64 // Apply calls begun
	handed  atomic.Int64 // events handed to Apply, committed or not
	applied atomic.Int64
	seen    func(events.Envelope)
}

func (*ledger) Name() string      { return "ledger" }
func (*ledger) Handles() []string { return []string{"test.counted"} }
func (*ledger) Tables() []string  { return []string{"ledger"} }

func (l *ledger) Apply(ctx context.Context, tx pgx.Tx, batch []projections.Event) error {
	l.started.Add(1)
	l.handed.Add(int64(len(batch)))
	b := &pgx.Batch{}
	for _, e := range batch {
		if d := l.delay.Load(); d > 0 {
			time.Sleep(time.Duration(d))
		}
		b.Queue(`INSERT INTO ledger (xid, position, stream_id, version, n) VALUES ($1, $2, $3, $4, $5)`,
			int64(e.TransactionID), e.Position, e.StreamID, e.Version, e.Data.(counted).N)
	}
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return err
	}
	l.applied.Add(int64(len(batch)))
	if l.seen != nil {
		for _, e := range batch {
			l.seen(e.Envelope)
		}
	}
	return nil
}

type fixture struct {
	pool   *pgxpool.Pool
	store  *pgstore.Store
	ledger *ledger
	runner *projections.Runner

	mu   sync.Mutex
	last events.Checkpoint // of the newest append
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	pool := pgtest.NewPool(t)
	if _, err := pool.Exec(context.Background(), `CREATE TABLE ledger (
		seq bigserial PRIMARY KEY, xid bigint, position bigint, stream_id text, version bigint, n int)`); err != nil {
		t.Fatal(err)
	}
	r := events.NewEmptyRegistry()
	r.Register(counted{})
	r.Register(ignored{})
	store := pgstore.New(r)
	l := &ledger{}
	runner := projections.NewRunner(pool, store, slog.New(slog.NewTextHandler(testLogOutput(), nil)), l)
	return &fixture{pool: pool, store: store, ledger: l, runner: runner}
}

// start runs the projections until the returned stop is called.
func (f *fixture) start(t testing.TB) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { f.runner.Run(ctx); close(done) }()
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); <-done }) }
	t.Cleanup(stop)
	return stop
}

func (f *fixture) append(ctx context.Context, q pgstore.Querier, stream string, expected int64, evs ...events.Event) (pgstore.Appended, error) {
	recs := make([]events.Record, len(evs))
	for i, e := range evs {
		recs[i] = events.Record{ID: uuid.Must(uuid.NewV7()), Event: e, OccurredAt: time.Now()}
	}
	a, err := f.store.Append(ctx, q, stream, expected, recs)
	if err == nil {
		f.mu.Lock()
		if a.Last.After(f.last) {
			f.last = a.Last
		}
		f.mu.Unlock()
		f.runner.Notify(a.Last)
	}
	return a, err
}

type row struct {
	XID, Position int64
	Stream        string
	Version       int64
}

// ledgerRows returns the ledger in the order rows were applied.
func (f *fixture) ledgerRows(t testing.TB) []row {
	t.Helper()
	return f.rows(t, `SELECT xid, position, stream_id, version FROM ledger ORDER BY seq`)
}

// logRows returns the counted events of the log in reading order.
func (f *fixture) logRows(t testing.TB) []row {
	t.Helper()
	return f.rows(t, `SELECT transaction_id::text::bigint, global_position, stream_id, stream_version
		FROM events WHERE event_name = 'test.counted' ORDER BY transaction_id, global_position`)
}

func (f *fixture) rows(t testing.TB, query string) []row {
	t.Helper()
	rows, err := f.pool.Query(context.Background(), query)
	if err != nil {
		t.Fatal(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (row, error) {
		var x row
		return x, r.Scan(&x.XID, &x.Position, &x.Stream, &x.Version)
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func (f *fixture) waitCaughtUp(t testing.TB, timeout time.Duration) {
	t.Helper()
	f.mu.Lock()
	head := f.last
	f.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := f.runner.WaitFor(ctx, head); err != nil {
		cp, _ := f.runner.Checkpoint(context.Background(), "ledger")
		t.Fatalf("projection did not catch up with %+v within %v (at %+v): %v", head, timeout, cp, err)
	}
}

// Many concurrent writers, one of which holds its transaction open for a
// second: the projection applies every event exactly once, in (xid,
// position) order, and skips none.
func TestRunner_ExactlyOnceInOrderWithSlowCommitter(t *testing.T) {
	f := newFixture(t)
	f.start(t)
	ctx := context.Background()

	const writers, perWriter, streams = 8, 300, 50
	var wg sync.WaitGroup
	var conflicts atomic.Int64
	for w := 0; w < writers; w++ {
		wg.Go(func() {
			for i := 0; i < perWriter; i++ {
				stream := fmt.Sprintf("s-%d", rand.IntN(streams))
				for {
					v, err := f.store.Version(ctx, f.pool, stream)
					if err != nil {
						t.Error(err)
						return
					}
					_, err = f.append(ctx, f.pool, stream, v, counted{N: i}, ignored{})
					if err == nil {
						break
					}
					if !isConflict(err) {
						t.Error(err)
						return
					}
					conflicts.Add(1)
				}
			}
		})
	}
	// The slow committer: its events must arrive, after the wait, in order.
	wg.Go(func() {
		for i := 0; i < 3; i++ {
			tx, err := f.pool.Begin(ctx)
			if err != nil {
				t.Error(err)
				return
			}
			if _, err := f.append(ctx, tx, "slow-"+fmt.Sprint(i), pgstore.NoStream, counted{N: -1}); err != nil {
				t.Error(err)
			}
			time.Sleep(time.Second)
			if err := tx.Commit(ctx); err != nil {
				t.Error(err)
			}
			f.runner.Notify(events.Checkpoint{})
		}
	})
	wg.Wait()
	f.waitCaughtUp(t, 30*time.Second)

	got, want := f.ledgerRows(t), f.logRows(t)
	if len(want) != writers*perWriter+3 {
		t.Fatalf("log holds %d counted events, want %d", len(want), writers*perWriter+3)
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("ledger differs from the log in (xid, position) order (-log +ledger):\n%s", d)
	}
	t.Logf("%d events, %d version conflicts retried", len(got), conflicts.Load())
}

func isConflict(err error) bool {
	_, ok := err.(*pgstore.ConflictError)
	return ok
}

// Stopping the runner in the middle of a batch, or killing its database
// connection there, and starting again loses nothing and applies nothing
// twice.
func TestRunner_KilledMidBatchResumesExactlyOnce(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	const total = 600
	for i := 0; i < total; i++ {
		if _, err := f.append(ctx, f.pool, fmt.Sprintf("k-%d", i%37), pgstore.Any, counted{N: i}); err != nil {
			t.Fatal(err)
		}
	}
	f.ledger.delay.Store(int64(2 * time.Millisecond)) // a batch of 250 takes about half a second
	waitApplied := func(n int64) {
		deadline := time.Now().Add(30 * time.Second)
		for f.ledger.applied.Load() < n {
			if time.Now().After(deadline) {
				t.Fatalf("applied %d events in 30s, waiting for %d", f.ledger.applied.Load(), n)
			}
			time.Sleep(time.Millisecond)
		}
	}

	// Stop by cancelling the context, twice, each time mid-batch.
	for i := 1; i <= 2; i++ {
		stop := f.start(t)
		waitApplied(int64(130 * i))
		stop()
	}
	committed := len(f.ledgerRows(t))
	if committed >= total {
		t.Fatalf("all %d events were committed before the crash test; make batches slower", committed)
	}

	// Crash: the subscriber's connection dies while a batch is being
	// applied in its transaction.
	before := f.ledger.started.Load()
	stop := f.start(t)
	for f.ledger.started.Load() == before {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond)
	if _, err := f.pool.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE datname = current_database() AND pid <> pg_backend_pid()`); err != nil {
		t.Fatal(err)
	}
	f.ledger.delay.Store(0)
	f.waitCaughtUp(t, 30*time.Second)
	stop()

	got, want := f.ledgerRows(t), f.logRows(t)
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("after stops and a crash, ledger differs from the log (-log +ledger):\n%s", d)
	}
	if n := f.ledger.handed.Load(); n <= total {
		t.Errorf("%d events were handed to the projection for %d in the log; the crash should have rolled back a batch in flight, to be applied again", n, total)
	}
}

// A rebuild from zero produces the same read model as live processing.
func TestRunner_RebuildMatchesLive(t *testing.T) {
	f := newFixture(t)
	f.start(t)
	ctx := context.Background()
	for i := 0; i < 1200; i++ {
		if _, err := f.append(ctx, f.pool, fmt.Sprintf("r-%d", i%41), pgstore.Any, counted{N: i}, ignored{}); err != nil {
			t.Fatal(err)
		}
	}
	f.waitCaughtUp(t, 30*time.Second)
	live := f.ledgerRows(t)

	st, err := f.runner.Rebuild(ctx, "ledger", 500, nil)
	if err != nil {
		t.Fatalf("rebuild: %v", err)
	}
	if st.Applied != 1200 || st.Events != 2400 {
		t.Errorf("rebuild stats: got %+v, want 2400 read, 1200 applied", st)
	}
	// More events after the rebuild are still applied once, by the live
	// subscriber, from the rebuild's checkpoint.
	if _, err := f.append(ctx, f.pool, "r-after", pgstore.NoStream, counted{N: 1}); err != nil {
		t.Fatal(err)
	}
	f.waitCaughtUp(t, 10*time.Second)
	rebuilt := f.ledgerRows(t)
	if d := cmp.Diff(append(live, f.logRows(t)[len(live)]), rebuilt); d != "" {
		t.Fatalf("rebuilt ledger differs from the live one (-live +rebuilt):\n%s", d)
	}
}

// Lag from an append's commit to the projection applying it, with the
// in-process wake-up. Reports p50 and p99.
func BenchmarkProjectionLag(b *testing.B) {
	f := newFixture(b)
	arrived := make(chan time.Time, 1)
	f.ledger.seen = func(events.Envelope) { arrived <- time.Now() }
	f.start(b)
	ctx := context.Background()
	lags := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		if _, err := f.append(ctx, f.pool, "lag-"+fmt.Sprint(i), pgstore.NoStream, counted{N: i}); err != nil {
			b.Fatal(err)
		}
		lags = append(lags, (<-arrived).Sub(t0))
	}
	b.StopTimer()
	sort.Slice(lags, func(i, j int) bool { return lags[i] < lags[j] })
	b.ReportMetric(float64(lags[len(lags)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lags[len(lags)*99/100].Microseconds())/1000, "p99-ms")
}

func testLogOutput() io.Writer {
	if testing.Verbose() {
		return os.Stderr
	}
	return io.Discard
}

// A rebuild includes every event committed before it started, even while
// an older transaction elsewhere holds readers back for a while.
func TestRunner_RebuildWaitsForHeldBackEvents(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	for i := 0; i < 30; i++ {
		if _, err := f.append(ctx, f.pool, fmt.Sprintf("h-%d", i), pgstore.NoStream, counted{N: i}); err != nil {
			t.Fatal(err)
		}
	}
	// Take an xid in an open transaction, then commit more events after it:
	// readers cannot pass the open transaction until it ends.
	holder, err := f.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := holder.Exec(ctx, `SELECT pg_current_xact_id()`); err != nil {
		t.Fatal(err)
	}
	for i := 30; i < 40; i++ {
		if _, err := f.append(ctx, f.pool, fmt.Sprintf("h-%d", i), pgstore.NoStream, counted{N: i}); err != nil {
			t.Fatal(err)
		}
	}
	go func() {
		time.Sleep(300 * time.Millisecond)
		holder.Rollback(ctx)
	}()
	st, err := f.runner.Rebuild(ctx, "ledger", 1000, nil)
	if err != nil {
		t.Fatal(err)
	}
	if st.Applied != 40 {
		t.Errorf("rebuild applied %d events, want all 40 committed before it started", st.Applied)
	}
}
