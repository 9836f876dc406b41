package projections_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/oncallhq/goalert/events"
	"github.com/oncallhq/goalert/events/pgstore"
)

// seed appends n counted events (and as many ignored ones) over a few
// streams.
func (f *fixture) seed(t testing.TB, prefix string, n int) {
	t.Helper()
	ctx := context.Background()
	for i := 0; i < n; i++ {
		if _, err := f.append(ctx, f.pool, fmt.Sprintf("%s-%d", prefix, i%29), pgstore.Any, counted{N: i}, ignored{}); err != nil {
			t.Fatal(err)
		}
	}
}

// tableDef describes tables as the catalog has them, by name: columns,
// defaults, constraints, indexes, owner and grants. A rebuild must leave
// it as it was.
func tableDef(t testing.TB, pool *pgxpool.Pool, tables ...string) []string {
	t.Helper()
	rows, err := pool.Query(context.Background(), `
		SELECT format('%s column %s %s not null %s default %s identity %s', c.relname, a.attname,
			format_type(a.atttypid, a.atttypmod), a.attnotnull, pg_get_expr(d.adbin, d.adrelid), a.attidentity)
		FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
		LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
		WHERE c.oid = ANY(SELECT to_regclass(x) FROM unnest($1::text[]) x)
		UNION ALL
		SELECT format('%s constraint %s %s', conrelid::regclass, conname, pg_get_constraintdef(oid)) FROM pg_constraint
		WHERE conrelid = ANY(SELECT to_regclass(x) FROM unnest($1::text[]) x)
		UNION ALL
		SELECT format('%s index %s', indrelid::regclass, pg_get_indexdef(indexrelid)) FROM pg_index
		WHERE indrelid = ANY(SELECT to_regclass(x) FROM unnest($1::text[]) x)
		UNION ALL
		SELECT format('%s owner %s acl %s', c.oid::regclass, pg_get_userbyid(c.relowner), c.relacl) FROM pg_class c
		WHERE c.oid = ANY(SELECT to_regclass(x) FROM unnest($1::text[]) x)
		ORDER BY 1`, tables)
	if err != nil {
		t.Fatal(err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func tableOID(t testing.TB, pool *pgxpool.Pool, table string) uint32 {
	t.Helper()
	var oid uint32
	if err := pool.QueryRow(context.Background(), `SELECT $1::text::regclass::oid`, table).Scan(&oid); err != nil {
		t.Fatal(err)
	}
	return oid
}

func schemaExists(t testing.TB, pool *pgxpool.Pool, schema string) bool {
	t.Helper()
	var ok bool
	if err := pool.QueryRow(context.Background(), `SELECT to_regnamespace($1) IS NOT NULL`, schema).Scan(&ok); err != nil {
		t.Fatal(err)
	}
	return ok
}

// While writers keep appending and the live subscriber keeps applying, a
// rebuild builds the model beside the live one and swaps it in: a reader
// polling the model never sees it shrink, and afterwards it is the log,
// each event once, in log order. The table is a new one, with the live
// one's definition.
func TestRebuild_SwapsInWhileWritersAppend(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	for _, q := range []string{
		`CREATE INDEX ledger_by_stream ON ledger (stream_id, version)`,
		`ALTER TABLE ledger ADD CONSTRAINT ledger_version_positive CHECK (version > 0)`,
		`ALTER TABLE ledger SET (fillfactor = 90)`,
		`GRANT SELECT ON ledger TO PUBLIC`,
		`ALTER TABLE ledger ADD COLUMN line bigint GENERATED ALWAYS AS IDENTITY`,
	} {
		if _, err := f.pool.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	def := tableDef(t, f.pool, "ledger")
	f.seed(t, "w", 1500)
	f.start(t)
	f.waitCaughtUp(t, 30*time.Second)
	oid := tableOID(t, f.pool, "ledger")
	// Line numbers the live table handed out; rows added after the swap
	// must come after them.
	if _, err := f.pool.Exec(ctx, `SELECT setval(pg_get_serial_sequence('ledger', 'line'), 1000000)`); err != nil {
		t.Fatal(err)
	}

	stop := make(chan struct{})
	var writers, readers sync.WaitGroup
	var appended atomic.Int64
	for w := 0; w < 4; w++ {
		writers.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := f.append(ctx, f.pool, fmt.Sprintf("live-%d-%d", w, i%7), pgstore.Any, counted{N: i}, ignored{}); err != nil {
					t.Error(err)
					return
				}
				appended.Add(1)
				time.Sleep(time.Millisecond)
			}
		})
	}
	var polls atomic.Int64
	readers.Go(func() {
		prev := -1
		for {
			select {
			case <-stop:
				return
			default:
			}
			var n int
			if err := f.pool.QueryRow(ctx, `SELECT count(*) FROM ledger`).Scan(&n); err != nil {
				t.Errorf("read the model during the rebuild: %v", err)
				return
			}
			if n < prev {
				t.Errorf("the model shrank from %d to %d rows during the rebuild", prev, n)
				return
			}
			prev = n
			polls.Add(1)
		}
	})

	var reports int
	st, err := f.runner.Rebuild(ctx, "ledger", 100, func(read int, _ events.Checkpoint) { reports++ })
	if err != nil {
		t.Fatalf("rebuild: %v", err)
	}
	time.Sleep(200 * time.Millisecond) // the live subscriber goes on after the swap
	close(stop)
	writers.Wait()
	readers.Wait()
	f.waitCaughtUp(t, 30*time.Second)

	if d := cmp.Diff(f.logRows(t), f.ledgerRows(t)); d != "" {
		t.Fatalf("after the rebuild the ledger differs from the log (-log +ledger):\n%s", d)
	}
	if st.Applied < 1500 || st.Events < 3000 || reports < 15 {
		t.Errorf("rebuild stats %+v after %d progress reports; want at least the 1500 seeded events applied, 3000 read, a report per batch", st, reports)
	}
	if appended.Load() == 0 || polls.Load() == 0 {
		t.Errorf("%d appends and %d reads during the rebuild; the test needs both", appended.Load(), polls.Load())
	}
	if tableOID(t, f.pool, "ledger") == oid {
		t.Errorf("the ledger table is the one from before the rebuild; want the rebuilt one swapped in")
	}
	if d := cmp.Diff(def, tableDef(t, f.pool, "ledger")); d != "" {
		t.Errorf("the rebuilt table's definition differs (-before +after):\n%s", d)
	}
	if schemaExists(t, f.pool, "rebuild_ledger") {
		t.Errorf("the rebuild left its schema behind")
	}
	var lastLine int64
	if err := f.pool.QueryRow(ctx, `SELECT line FROM ledger ORDER BY seq DESC LIMIT 1`).Scan(&lastLine); err != nil {
		t.Fatal(err)
	}
	if lastLine <= 1000000 {
		t.Errorf("the row applied last, after the swap, has line %d; want the identity to go on after the live table's 1000000", lastLine)
	}
	t.Logf("rebuild %+v; %d appends and %d reads while it ran", st, appended.Load(), polls.Load())
}

// A rebuild cancelled half-way leaves the live model as it was and drops
// its tables; a rebuild that finds a crashed one's schema drops it, and
// succeeds.
func TestRebuild_CancelledLeavesLiveModel(t *testing.T) {
	f := newFixture(t)
	f.seed(t, "c", 1000)
	f.start(t)
	f.waitCaughtUp(t, 30*time.Second)
	before := f.ledgerRows(t)
	oid := tableOID(t, f.pool, "ledger")

	f.ledger.delay.Store(int64(200 * time.Microsecond)) // 20ms a batch of 100
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var reports atomic.Int64
	var second error
	_, err := f.runner.Rebuild(ctx, "ledger", 100, func(int, events.Checkpoint) {
		if reports.Add(1) == 3 {
			// A second rebuild of the projection meanwhile is refused.
			_, second = f.runner.Rebuild(context.Background(), "ledger", 100, nil)
			cancel()
		}
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled rebuild: got %v, want context.Canceled", err)
	}
	if second == nil || !strings.Contains(second.Error(), "running already") {
		t.Errorf("a second rebuild while one runs: got %v, want it refused", second)
	}
	if d := cmp.Diff(before, f.ledgerRows(t)); d != "" {
		t.Fatalf("a cancelled rebuild changed the live model (-before +after):\n%s", d)
	}
	if tableOID(t, f.pool, "ledger") != oid {
		t.Errorf("a cancelled rebuild replaced the live table")
	}
	if schemaExists(t, f.pool, "rebuild_ledger") {
		t.Errorf("a cancelled rebuild left its schema behind")
	}

	// What a rebuild that crashed leaves.
	f.ledger.delay.Store(0)
	if _, err := f.pool.Exec(context.Background(), `CREATE SCHEMA rebuild_ledger;
		CREATE TABLE rebuild_ledger.ledger (seq bigint, junk text); INSERT INTO rebuild_ledger.ledger VALUES (1, 'x')`); err != nil {
		t.Fatal(err)
	}
	f.seed(t, "c2", 50)
	st, err := f.runner.Rebuild(context.Background(), "ledger", 100, nil)
	if err != nil {
		t.Fatalf("rebuild after a crashed one: %v", err)
	}
	f.waitCaughtUp(t, 30*time.Second)
	if d := cmp.Diff(f.logRows(t), f.ledgerRows(t)); d != "" {
		t.Fatalf("rebuild after a crashed one differs from the log (-log +ledger):\n%s", d)
	}
	if st.Applied != 1050 || st.Events != 2100 {
		t.Errorf("rebuild stats %+v, want 1050 applied of 2100", st)
	}
	if schemaExists(t, f.pool, "rebuild_ledger") {
		t.Errorf("the rebuild left its schema behind")
	}
}

// A reader holding the live table for longer than the swap may wait makes
// the swap give way and retry; the reader meanwhile sees the old model,
// whole, and the swap succeeds once it is done.
func TestRebuild_SwapWaitsOutLongReader(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.seed(t, "l", 300)
	f.start(t)
	f.waitCaughtUp(t, 30*time.Second)

	reader, err := f.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Rollback(ctx)
	var n int
	if err := reader.QueryRow(ctx, `SELECT count(*) FROM ledger`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		time.Sleep(2500 * time.Millisecond)
		var again int
		if err := reader.QueryRow(ctx, `SELECT count(*) FROM ledger`).Scan(&again); err != nil || again != n {
			t.Errorf("the reader's second look: %d rows (%v), want the %d it saw first", again, err, n)
		}
		reader.Rollback(ctx)
	}()
	start := time.Now()
	if _, err := f.runner.Rebuild(ctx, "ledger", 100, nil); err != nil {
		t.Fatalf("rebuild: %v", err)
	}
	<-done
	if d := time.Since(start); d < 2*time.Second {
		t.Errorf("the rebuild swapped in after %v, while a reader held the table for 2.5s", d)
	}
	if d := cmp.Diff(f.logRows(t), f.ledgerRows(t)); d != "" {
		t.Fatalf("ledger differs from the log (-log +ledger):\n%s", d)
	}
}

// A view on the model would not follow the swapped-in table: the rebuild
// refuses to start, and changes nothing.
func TestRebuild_RefusesDependents(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.seed(t, "v", 20)
	if _, err := f.pool.Exec(ctx, `CREATE VIEW ledger_streams AS SELECT DISTINCT stream_id FROM ledger`); err != nil {
		t.Fatal(err)
	}
	oid := tableOID(t, f.pool, "ledger")
	_, err := f.runner.Rebuild(ctx, "ledger", 100, nil)
	if err == nil || !strings.Contains(err.Error(), "ledger_streams") {
		t.Fatalf("rebuild with a view on the model: got %v, want an error naming the view", err)
	}
	if tableOID(t, f.pool, "ledger") != oid || schemaExists(t, f.pool, "rebuild_ledger") {
		t.Errorf("a refused rebuild changed the database")
	}
}
