package alerts_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/oncallhq/goalert/adapters/postgres/pgtest"
	"github.com/oncallhq/goalert/events"
	"github.com/oncallhq/goalert/projections"
	"github.com/oncallhq/goalert/projections/alerts"
)

// randomLog returns the events of n alerts, interleaved as a log
// interleaves streams. Each alert's history is random, including what the
// domain would refuse (an acknowledgement or escalation after the close),
// so that ApplyBulk is held to Apply's writes for every sequence.
func randomLog(rng *rand.Rand, n int) []projections.Event {
	t0 := time.Date(2026, 2, 3, 4, 5, 6, 0, time.UTC)
	streams := make([][]projections.Event, n)
	for i := range streams {
		id := int64(i + 1)
		stream := fmt.Sprintf("alert-%d", id)
		var meta map[string]string
		if rng.IntN(2) == 0 {
			meta = map[string]string{"host": fmt.Sprint("h", i)}
		}
		evs := []events.Event{events.AlertTriggered{AlertID: id, ServiceID: "00000000-0000-0000-0000-000000000001",
			Summary: fmt.Sprint("alert ", id), DedupKey: fmt.Sprint("k", id), Source: "generic", Meta: meta}}
		for range rng.IntN(7) {
			switch rng.IntN(5) {
			case 0:
				evs = append(evs, events.AlertDeduplicated{AlertID: id})
			case 1:
				evs = append(evs, events.AlertAcknowledged{AlertID: id})
			case 2:
				evs = append(evs, events.AlertEscalationRequested{AlertID: id})
			default:
				evs = append(evs, events.AlertClosed{AlertID: id})
			}
		}
		for v, e := range evs {
			streams[i] = append(streams[i], projections.Event{
				Envelope: events.Envelope{StreamID: stream, Version: int64(v + 1), Name: e.EventName(),
					Metadata: events.Metadata{Actor: fmt.Sprint("user:", v), ActorName: "Ann", Source: "web"}},
				Data: e,
			})
		}
	}
	var log []projections.Event
	for at := 0; ; at++ {
		live := 0
		for i := range streams {
			if len(streams[i]) > 0 {
				live++
			}
		}
		if live == 0 {
			return log
		}
		i := rng.IntN(n)
		for len(streams[i]) == 0 {
			i = (i + 1) % n
		}
		e := streams[i][0]
		streams[i] = streams[i][1:]
		e.OccurredAt = t0.Add(time.Duration(at) * time.Second)
		log = append(log, e)
	}
}

// ApplyBulk leaves the read model as Apply does, however the log is cut
// into batches, and when batches (or parts of them) are applied again.
func TestApplyBulk_MatchesApply(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for seed := range uint64(4) {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 42))
			log := randomLog(rng, 40)
			// Batches of random sizes, with some applied twice, some
			// overlapping the batch before them, and old stretches of the
			// log delivered again later.
			var batches [][]projections.Event
			for start := 0; start < len(log); {
				end := min(len(log), start+1+rng.IntN(30))
				from := start
				if rng.IntN(4) == 0 {
					from = max(0, start-rng.IntN(10))
				}
				batches = append(batches, log[from:end])
				if rng.IntN(5) == 0 {
					batches = append(batches, log[from:end])
				}
				if rng.IntN(4) == 0 {
					a := rng.IntN(end)
					batches = append(batches, log[a:a+1+rng.IntN(end-a)])
				}
				start = end
			}
			one, bulk := pgtest.NewPool(t), pgtest.NewPool(t)
			for _, b := range batches {
				apply(t, one, func(tx pgx.Tx) error { return alerts.Projection{}.Apply(ctx, tx, b) })
				apply(t, bulk, func(tx pgx.Tx) error { return alerts.Projection{}.ApplyBulk(ctx, tx, b) })
			}
			want, got := readModel(t, one), readModel(t, bulk)
			if len(want["alerts"]) != 40 {
				t.Fatalf("Apply wrote %d alerts, want 40", len(want["alerts"]))
			}
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("read model (-Apply +ApplyBulk):\n%s", d)
			}
		})
	}
}

func apply(t *testing.T, pool *pgxpool.Pool, fn func(pgx.Tx) error) {
	t.Helper()
	if err := pgx.BeginFunc(context.Background(), pool, fn); err != nil {
		t.Fatal(err)
	}
}

// readModel selects both tables as JSON rows, the log in id order (the
// order Reader.Log shows it in) without the generated ids themselves.
func readModel(t *testing.T, pool *pgxpool.Pool) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for table, q := range map[string]string{
		"alerts":    `SELECT to_jsonb(a)::text FROM alerts a ORDER BY id`,
		"alert_log": `SELECT (to_jsonb(l) - 'id')::text FROM alert_log l ORDER BY alert_id, id`,
	} {
		rows, err := pool.Query(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		if out[table], err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
			t.Fatal(err)
		}
	}
	return out
}
