package alerts_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"github.com/oncallhq/goalert/adapters/postgres/pgtest"
	"github.com/oncallhq/goalert/events"
	"github.com/oncallhq/goalert/projections"
	"github.com/oncallhq/goalert/projections/alerts"
)

func ev(version int64, at time.Time, data events.Event) projections.Event {
	return projections.Event{
		Envelope: events.Envelope{StreamID: "alert-7", Version: version, OccurredAt: at, Name: data.EventName(),
			Metadata: events.Metadata{ActorName: "Ann", Source: "web"}},
		Data: data,
	}
}

// The projection guards itself by stream version: applying events again,
// or an old event after a newer one, leaves the read model as it was.
func TestProjection_IdempotentByVersion(t *testing.T) {
	pool := pgtest.NewPool(t)
	ctx := context.Background()
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	history := []projections.Event{
		ev(1, t0, events.AlertTriggered{AlertID: 7, ServiceID: "00000000-0000-0000-0000-000000000001", Summary: "disk", DedupKey: "k", Source: "generic"}),
		ev(2, t0.Add(time.Minute), events.AlertAcknowledged{AlertID: 7}),
		ev(3, t0.Add(2*time.Minute), events.AlertClosed{AlertID: 7}),
	}
	apply := func(batch ...projections.Event) {
		t.Helper()
		if err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error { return alerts.Projection{}.Apply(ctx, tx, batch) }); err != nil {
			t.Fatal(err)
		}
	}
	read := func() (alerts.Alert, []string) {
		t.Helper()
		r := alerts.Reader{Pool: pool}
		a, err := r.Get(ctx, 7)
		if err != nil {
			t.Fatal(err)
		}
		log, err := r.Log(ctx, 7)
		if err != nil {
			t.Fatal(err)
		}
		var msgs []string
		for _, l := range log {
			msgs = append(msgs, l.Message)
		}
		return a, msgs
	}
	apply(history...)
	wantAlert, wantLog := read()
	if wantAlert.Status != "closed" || len(wantLog) != 3 {
		t.Fatalf("after the history: status %q, log %v; want closed and 3 lines", wantAlert.Status, wantLog)
	}
	apply(history...)
	apply(history[1]) // an acknowledgement re-delivered after the close
	gotAlert, gotLog := read()
	if d := cmp.Diff(wantAlert, gotAlert); d != "" {
		t.Errorf("alert changed by re-applied events (-want +got):\n%s", d)
	}
	if d := cmp.Diff(wantLog, gotLog); d != "" {
		t.Errorf("log changed by re-applied events (-want +got):\n%s", d)
	}
}
