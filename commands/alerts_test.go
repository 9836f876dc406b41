package commands_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oncallhq/goalert/adapters/postgres/pgtest"
	"github.com/oncallhq/goalert/commands"
	"github.com/oncallhq/goalert/domain"
	"github.com/oncallhq/goalert/domain/alert"
	"github.com/oncallhq/goalert/domain/clock"
	"github.com/oncallhq/goalert/domain/service"
	"github.com/oncallhq/goalert/events"
	"github.com/oncallhq/goalert/events/pgstore"
)

type alertFixture struct {
	h     *commands.Handler
	clock *clock.Manual
	svc   string
	key   string
}

func newAlertFixture(t *testing.T) *alertFixture {
	t.Helper()
	c := clock.NewManual(now)
	h := commands.New(pgtest.NewPool(t), pgstore.New(events.NewRegistry()), c)
	svc, keys, _, err := h.CreateService(context.Background(), commands.CreateService{
		Name: "Disk", Keys: []commands.NewKey{{Name: "gen", Type: "generic"}, {Name: "am", Type: "prometheusAlertmanager"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return &alertFixture{h: h, clock: c, svc: svc, key: keys[0]}
}

func (f *alertFixture) ingest(t *testing.T, action commands.IngestAction, summary, dedup string) (commands.AlertRef, error) {
	t.Helper()
	ref, _, err := f.h.Ingest(context.Background(), commands.Ingest{
		Token: f.key, Type: service.KeyGeneric, Action: action, Summary: summary, Dedup: dedup,
	})
	return ref, err
}

func (f *alertFixture) eventNames(t *testing.T, id int64) []string {
	t.Helper()
	envs, err := f.h.Store().Load(context.Background(), f.h.Pool(), alert.Stream(id), 1)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range envs {
		out = append(out, e.Name)
	}
	return out
}

func TestIngest_Lifecycle(t *testing.T) {
	f := newAlertFixture(t)
	ctx := context.Background()
	a, err := f.ingest(t, commands.IngestTrigger, "disk\nfull", "")
	if err != nil || !a.IsNew || a.ServiceID != f.svc {
		t.Fatalf("trigger: %+v %v", a, err)
	}
	// The same summary (hash dedup) returns the open alert; a duplicate is
	// recorded at most once per 5 seconds.
	f.clock.Advance(time.Second)
	b, _ := f.ingest(t, commands.IngestTrigger, "disk full", "")
	f.clock.Advance(5 * time.Second)
	c, _ := f.ingest(t, commands.IngestTrigger, "disk full", "")
	if b.ID != a.ID || c.ID != a.ID || b.IsNew || c.IsNew {
		t.Fatalf("duplicates: got %+v and %+v, want alert %d, not new", b, c, a.ID)
	}
	if _, err := f.h.AcknowledgeAlert(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.h.AcknowledgeAlert(ctx, a.ID); !errors.Is(err, alert.ErrAlreadyAcknowledged) {
		t.Errorf("second ack: got %v, want ErrAlreadyAcknowledged", err)
	}
	closed, err := f.ingest(t, commands.IngestClose, "disk full", "")
	if err != nil || closed.ID != a.ID {
		t.Fatalf("close by dedup: %+v %v", closed, err)
	}
	if _, err := f.h.AcknowledgeAlert(ctx, a.ID); !errors.Is(err, alert.ErrClosed) {
		t.Errorf("ack of a closed alert: got %v, want ErrClosed", err)
	}
	want := "alert.triggered alert.deduplicated alert.acknowledged alert.closed"
	if got := strings.Join(f.eventNames(t, a.ID), " "); got != want {
		t.Errorf("alert history: got %q, want %q", got, want)
	}
	// Closed alerts never reopen: the same key opens a new alert.
	d, _ := f.ingest(t, commands.IngestTrigger, "disk full", "")
	if !d.IsNew || d.ID == a.ID {
		t.Errorf("trigger after close: got %+v, want a new alert", d)
	}
	// A close that matches nothing succeeds and does nothing.
	none, err := f.ingest(t, commands.IngestClose, "", "no-such-key")
	if err != nil || none.ID != 0 {
		t.Errorf("close without a match: got %+v %v, want ID 0 and no error", none, err)
	}
}

func TestIngest_ConcurrentTriggersOneDedupKey(t *testing.T) {
	f := newAlertFixture(t)
	const n = 50
	ids := make(chan commands.AlertRef, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Go(func() {
			ref, err := f.ingest(t, commands.IngestTrigger, "cpu hot", "cpu-1")
			if err != nil {
				t.Errorf("trigger: %v", err)
				return
			}
			ids <- ref
		})
	}
	wg.Wait()
	close(ids)
	seen := map[int64]bool{}
	created := 0
	for r := range ids {
		seen[r.ID] = true
		if r.IsNew {
			created++
		}
	}
	if len(seen) != 1 || created != 1 {
		t.Errorf("50 concurrent triggers with one dedup key: %d alert ids, %d reported new; want 1 and 1", len(seen), created)
	}
}

func TestIngest_KeyChecks(t *testing.T) {
	f := newAlertFixture(t)
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		token string
		typ   service.KeyType
	}{
		{"unknown token", "00000000-0000-0000-0000-000000000000", service.KeyGeneric},
		{"not a uuid", "abc", service.KeyGeneric},
		{"wrong type", f.key, service.KeyGrafana},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := f.h.Ingest(ctx, commands.Ingest{Token: tc.token, Type: tc.typ, Action: commands.IngestTrigger, Summary: "x"})
			if domain.KindOf(err) != domain.KindUnauthorized {
				t.Errorf("got %v, want an unauthorized error", err)
			}
		})
	}
	t.Run("deleted key stops at once", func(t *testing.T) {
		if _, err := f.h.DeleteIntegrationKey(ctx, f.key); err != nil {
			t.Fatal(err)
		}
		if _, err := f.ingest(t, commands.IngestTrigger, "x", ""); domain.KindOf(err) != domain.KindUnauthorized {
			t.Errorf("trigger with a deleted key: got %v, want unauthorized", err)
		}
	})
}

func TestIngest_Validation(t *testing.T) {
	f := newAlertFixture(t)
	_, err := f.ingest(t, commands.IngestTrigger, strings.Repeat("x", 1025), "")
	var de *domain.Error
	if !errors.As(err, &de) || de.Field != "summary" {
		t.Errorf("1025-character summary: got %v, want a summary field error", err)
	}
	if _, err := f.ingest(t, commands.IngestTrigger, strings.Repeat("x", 1024), ""); err != nil {
		t.Errorf("1024-character summary: %v", err)
	}
	if _, err := f.ingest(t, commands.IngestTrigger, "", "only-dedup"); err != nil {
		t.Errorf("empty summary (GoAlert accepts it): %v", err)
	}
}

func TestIngest_UnackedLimit(t *testing.T) {
	f := newAlertFixture(t)
	ctx := context.Background()
	if _, err := f.h.SetSystemLimit(ctx, "unacked_alerts_per_service", 2); err != nil {
		t.Fatal(err)
	}
	a, _ := f.ingest(t, commands.IngestTrigger, "one", "")
	f.ingest(t, commands.IngestTrigger, "two", "")
	if _, err := f.ingest(t, commands.IngestTrigger, "three", ""); !errors.Is(err, alert.ErrTooManyUnacked) {
		t.Fatalf("third unacked alert: got %v, want ErrTooManyUnacked", err)
	}
	if _, err := f.h.AcknowledgeAlert(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.ingest(t, commands.IngestTrigger, "three", ""); err != nil {
		t.Errorf("after an ack there is room again: %v", err)
	}
	if _, err := f.h.SetSystemLimit(ctx, "unacked_alerts_per_service", -1); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		if _, err := f.ingest(t, commands.IngestTrigger, "many", string(rune('a'+i))); err != nil {
			t.Fatalf("unlimited: %v", err)
		}
	}
}

func TestService_NameUniqueAndKeysLimit(t *testing.T) {
	f := newAlertFixture(t)
	ctx := context.Background()
	if _, _, _, err := f.h.CreateService(ctx, commands.CreateService{Name: "disk"}); !errors.Is(err, service.ErrNameTaken) {
		t.Errorf("duplicate name (case-insensitive): got %v, want ErrNameTaken", err)
	}
	if _, err := f.h.SetSystemLimit(ctx, "integration_keys_per_service", 2); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.h.CreateIntegrationKey(ctx, f.svc, commands.NewKey{Name: "third", Type: "grafana"}); !errors.Is(err, service.ErrTooManyKeys) {
		t.Errorf("third key with a limit of 2: got %v, want ErrTooManyKeys", err)
	}
	if _, _, err := f.h.CreateIntegrationKey(ctx, f.svc, commands.NewKey{Name: "bad", Type: "smoke-signal"}); domain.KindOf(err) != domain.KindInvalid {
		t.Errorf("unknown key type: got %v, want invalid", err)
	}
	if _, err := f.h.DeleteService(ctx, f.svc); err != nil {
		t.Fatal(err)
	}
	if _, err := f.ingest(t, commands.IngestTrigger, "x", ""); domain.KindOf(err) != domain.KindUnauthorized {
		t.Errorf("key of a deleted service: got %v, want unauthorized", err)
	}
	if _, _, _, err := f.h.CreateService(ctx, commands.CreateService{Name: "Disk"}); err != nil {
		t.Errorf("name of a deleted service is free again: %v", err)
	}
}
