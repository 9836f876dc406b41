package pgstore_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/oncallhq/goalert/adapters/postgres/pgtest"
	"github.com/oncallhq/goalert/events"
	"github.com/oncallhq/goalert/events/pgstore"
)

type pinged struct {
	N int `json:"n"`
}

func (pinged) EventName() string { return "test.pinged" }

func newStore(t *testing.T) (*pgstore.Store, *pgxpool.Pool) {
	t.Helper()
	r := events.NewEmptyRegistry()
	r.Register(pinged{})
	return pgstore.New(r), pgtest.NewPool(t)
}

var t0 = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

func recs(ns ...int) []events.Record {
	var out []events.Record
	for _, n := range ns {
		out = append(out, events.Record{ID: uuid.Must(uuid.NewV7()), Event: pinged{N: n}, OccurredAt: t0,
			Metadata: events.Metadata{Actor: "user:ann", Source: "cli", CorrelationID: "c1"}})
	}
	return out
}

func TestStore_AppendAndLoad(t *testing.T) {
	s, pool := newStore(t)
	ctx := context.Background()

	a, err := s.Append(ctx, pool, "thing-1", pgstore.NoStream, recs(1, 2))
	if err != nil {
		t.Fatalf("append: %v", err)
	}
	if a.Version != 2 {
		t.Errorf("version after append: got %d, want 2", a.Version)
	}
	if _, err := s.Append(ctx, pool, "thing-1", 2, recs(3)); err != nil {
		t.Fatalf("second append: %v", err)
	}
	got, err := s.Load(ctx, pool, "thing-1", 1)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	var ns []int
	for i, e := range got {
		if e.Version != int64(i+1) {
			t.Errorf("event %d: version %d, want %d", i, e.Version, i+1)
		}
		ev, err := s.Registry().DecodeEnvelope(e)
		if err != nil {
			t.Fatalf("decode: %v", err)
		}
		ns = append(ns, ev.(pinged).N)
	}
	if d := cmp.Diff([]int{1, 2, 3}, ns); d != "" {
		t.Errorf("loaded events (-want +got):\n%s", d)
	}
	if m := got[0].Metadata; m.Actor != "user:ann" || m.Source != "cli" || m.CorrelationID != "c1" {
		t.Errorf("metadata: got %+v", m)
	}
	if !got[0].OccurredAt.Equal(t0) {
		t.Errorf("occurred at: got %v, want %v", got[0].OccurredAt, t0)
	}
}

func TestStore_AppendConflicts(t *testing.T) {
	s, pool := newStore(t)
	ctx := context.Background()
	if _, err := s.Append(ctx, pool, "thing-1", pgstore.NoStream, recs(1, 2)); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		stream   string
		expected int64
		actual   int64
	}{
		{"stale version", "thing-1", 1, 2},
		{"future version", "thing-1", 5, 2},
		{"new stream expected but exists", "thing-1", pgstore.NoStream, 2},
		{"existing stream expected but missing", "thing-2", 3, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.Append(ctx, pool, tc.stream, tc.expected, recs(9))
			var ce *pgstore.ConflictError
			if !errors.As(err, &ce) || !errors.Is(err, pgstore.ErrConflict) {
				t.Fatalf("got %v, want a ConflictError", err)
			}
			if ce.Actual != tc.actual || ce.Expected != tc.expected {
				t.Errorf("conflict: got expected=%d actual=%d, want expected=%d actual=%d", ce.Expected, ce.Actual, tc.expected, tc.actual)
			}
		})
	}
	if v, _ := s.Version(ctx, pool, "thing-1"); v != 2 {
		t.Errorf("a refused append changed the stream: version %d, want 2", v)
	}
}

func TestStore_AppendIsIdempotent(t *testing.T) {
	s, pool := newStore(t)
	ctx := context.Background()
	batch := recs(1, 2)
	first, err := s.Append(ctx, pool, "thing-1", pgstore.NoStream, batch)
	if err != nil {
		t.Fatal(err)
	}
	again, err := s.Append(ctx, pool, "thing-1", pgstore.NoStream, batch)
	if err != nil {
		t.Fatalf("re-append of the same event ids: got %v, want success", err)
	}
	if !again.Replayed || again.Version != first.Version || again.Last != first.Last {
		t.Errorf("re-append: got %+v, want replay of %+v", again, first)
	}
	got, _ := s.Load(ctx, pool, "thing-1", 1)
	if len(got) != 2 {
		t.Errorf("events stored after re-append: got %d, want 2", len(got))
	}
	// A mix of stored and new ids is a caller bug, not a retry.
	mixed := append([]events.Record{batch[0]}, recs(3)...)
	if _, err := s.Append(ctx, pool, "thing-1", 2, mixed); err == nil {
		t.Error("append with some ids already stored: got success, want error")
	}
}

// Concurrent writers of one stream: each version is won by exactly one
// writer; every loser is told of the conflict.
func TestStore_ConcurrentAppendsOneStream(t *testing.T) {
	s, pool := newStore(t)
	ctx := context.Background()
	const writers, rounds = 8, 20
	var mu sync.Mutex
	wins := map[int64]int{}
	conflicts := 0
	for round := 0; round < rounds; round++ {
		version, err := s.Version(ctx, pool, "hot-1")
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		start := make(chan struct{})
		for w := 0; w < writers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				a, err := s.Append(ctx, pool, "hot-1", version, recs(w))
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					wins[a.Version]++
				case errors.Is(err, pgstore.ErrConflict):
					conflicts++
				default:
					t.Errorf("append: unexpected error %v", err)
				}
			}()
		}
		close(start)
		wg.Wait()
	}
	for v := int64(1); v <= rounds; v++ {
		if wins[v] != 1 {
			t.Errorf("version %d: %d winners, want exactly 1", v, wins[v])
		}
	}
	if want := rounds * (writers - 1); conflicts != want {
		t.Errorf("conflicts: got %d, want %d", conflicts, want)
	}
}

// A transaction that took its id before another wrote the stream may not
// append after it: the stream's versions would otherwise be read out of
// order.
func TestStore_OlderTransactionCannotAppendAfterNewer(t *testing.T) {
	s, pool := newStore(t)
	ctx := context.Background()
	if _, err := s.Append(ctx, pool, "thing-1", pgstore.NoStream, recs(1)); err != nil {
		t.Fatal(err)
	}
	old, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer old.Rollback(ctx)
	if _, err := old.Exec(ctx, `SELECT pg_current_xact_id()`); err != nil { // take an xid now
		t.Fatal(err)
	}
	if _, err := s.Append(ctx, pool, "thing-1", 1, recs(2)); err != nil {
		t.Fatal(err)
	}
	_, err = s.Append(ctx, old, "thing-1", pgstore.Any, recs(3))
	if !errors.Is(err, pgstore.ErrConflict) {
		t.Fatalf("append from an older transaction: got %v, want a conflict", err)
	}
}

// ReadAfter never passes a transaction that is still open, so its events
// are read in order once it commits, not skipped. The snapshot's xmin is
// cluster-wide, so other databases' transactions may delay reads too: the
// test polls for what must appear and checks what must not.
func TestStore_ReadAfterWaitsForSlowCommitter(t *testing.T) {
	s, pool := newStore(t)
	ctx := context.Background()
	if _, err := s.Append(ctx, pool, "a-1", pgstore.NoStream, recs(1)); err != nil {
		t.Fatal(err)
	}
	slow, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Rollback(ctx)
	if _, err := s.Append(ctx, slow, "slow-1", pgstore.NoStream, recs(2)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Append(ctx, pool, "b-1", pgstore.NoStream, recs(3)); err != nil {
		t.Fatal(err)
	}
	readUntil := func(want int) []string {
		deadline := time.Now().Add(10 * time.Second)
		for {
			got, err := s.ReadAfter(ctx, pool, events.Checkpoint{}, 100)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) >= want || time.Now().After(deadline) {
				return streamsOf(got)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	if got := readUntil(1); !cmp.Equal(got, []string{"a-1"}) {
		t.Fatalf("while the slow writer is open: got %v, want only [a-1]", got)
	}
	time.Sleep(100 * time.Millisecond)
	if got := readUntil(1); !cmp.Equal(got, []string{"a-1"}) {
		t.Fatalf("later, while the slow writer is still open: got %v, want only [a-1]", got)
	}
	if err := slow.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if got := readUntil(3); !cmp.Equal(got, []string{"a-1", "slow-1", "b-1"}) {
		t.Fatalf("after the slow writer committed: got %v, want [a-1 slow-1 b-1]", got)
	}
}

func streamsOf(envs []events.Envelope) []string {
	var out []string
	for _, e := range envs {
		out = append(out, e.StreamID)
	}
	return out
}

func BenchmarkAppend(b *testing.B) {
	for _, writers := range []int{1, 16} {
		b.Run(fmt.Sprintf("writers=%d", writers), func(b *testing.B) {
			r := events.NewEmptyRegistry()
			r.Register(pinged{})
			s := pgstore.New(r)
			ctx := context.Background()
			cfg, err := pgxpool.ParseConfig(pgtest.NewURL(b))
			if err != nil {
				b.Fatal(err)
			}
			cfg.MaxConns = int32(writers) // one connection per writer, as a server's pool would give
			pool, err := pgxpool.NewWithConfig(ctx, cfg)
			if err != nil {
				b.Fatal(err)
			}
			defer pool.Close()
			b.ResetTimer()
			start := time.Now()
			appendOne := func() bool {
				stream := "bench-" + uuid.NewString()
				if _, err := s.Append(ctx, pool, stream, pgstore.NoStream, recs(1)); err != nil {
					b.Error(err)
					return false
				}
				return true
			}
			if writers == 1 {
				for i := 0; i < b.N && appendOne(); i++ {
				}
			} else {
				// RunParallel runs GOMAXPROCS*parallelism goroutines.
				b.SetParallelism(max(1, writers/runtime.GOMAXPROCS(0)))
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() && appendOne() {
					}
				})
			}
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
		})
	}
}
