package commands_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/oncallhq/goalert/adapters/postgres/pgtest"
	"github.com/oncallhq/goalert/commands"
	"github.com/oncallhq/goalert/domain/alert"
	"github.com/oncallhq/goalert/domain/clock"
	"github.com/oncallhq/goalert/domain/service"
	"github.com/oncallhq/goalert/events"
	"github.com/oncallhq/goalert/events/pgstore"
)

// With group commit, concurrent triggers share transactions; each caller
// still gets its own answer, duplicates still collapse to one alert, and
// the stored events are the ones the general path would write.
func TestIngest_GroupCommit(t *testing.T) {
	c := clock.NewManual(now)
	h := commands.New(pgtest.NewPool(t), pgstore.New(events.NewRegistry()), c, commands.GroupCommit(2*time.Millisecond, 16))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go h.RunGroupCommit(ctx, 2)

	_, keys, _, err := h.CreateService(ctx, commands.CreateService{Name: "Web", Keys: []commands.NewKey{{Name: "k", Type: "generic"}}})
	if err != nil {
		t.Fatal(err)
	}
	metaCtx := events.WithMetadata(ctx, events.Metadata{Actor: "integration_key:" + keys[0], Source: "generic"})
	var wg sync.WaitGroup
	var mu sync.Mutex
	distinct := map[int64]bool{}
	dupIDs := map[int64]int{}
	for i := 0; i < 60; i++ {
		wg.Go(func() {
			ref, _, err := h.Ingest(metaCtx, commands.Ingest{Token: keys[0], Type: service.KeyGeneric, Action: commands.IngestTrigger,
				Summary: fmt.Sprintf("host %d down", i), Meta: map[string]string{"n": fmt.Sprint(i)}})
			if err != nil {
				t.Errorf("trigger %d: %v", i, err)
				return
			}
			mu.Lock()
			distinct[ref.ID] = ref.IsNew
			mu.Unlock()
		})
		wg.Go(func() {
			ref, _, err := h.Ingest(metaCtx, commands.Ingest{Token: keys[0], Type: service.KeyGeneric, Action: commands.IngestTrigger, Summary: "same", Dedup: "d1"})
			if err != nil {
				t.Errorf("duplicate trigger: %v", err)
				return
			}
			mu.Lock()
			dupIDs[ref.ID] += boolInt(ref.IsNew) // every answer's id counts, new or not
			mu.Unlock()
		})
	}
	wg.Wait()
	if len(distinct) != 60 {
		t.Errorf("distinct triggers: %d alerts, want 60", len(distinct))
	}
	if len(dupIDs) != 1 {
		t.Errorf("60 triggers with one dedup key made %d alerts, want 1", len(dupIDs))
	}
	for id, created := range dupIDs {
		if created != 1 {
			t.Errorf("alert %d reported new %d times, want once", id, created)
		}
	}

	// The stored event is what the domain decides, with id and service.
	var someID int64
	for id := range distinct {
		someID = id
		break
	}
	envs, err := h.Store().Load(ctx, h.Pool(), alert.Stream(someID), 1)
	if err != nil || len(envs) != 1 {
		t.Fatalf("load alert %d: %v (%d events)", someID, err, len(envs))
	}
	got, err := h.Store().Registry().DecodeEnvelope(envs[0])
	if err != nil {
		t.Fatal(err)
	}
	tr := got.(events.AlertTriggered)
	if tr.AlertID != someID || tr.ServiceID == "" || tr.Source != "generic" || tr.Meta["n"] == "" {
		t.Errorf("stored event: %+v, want alert %d with its service, source generic and meta", tr, someID)
	}
	want := alert.Trigger(someID, alert.New{ServiceID: tr.ServiceID, Summary: tr.Summary, Source: "generic",
		IntegrationKeyID: keys[0], Meta: tr.Meta})[0]
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("event differs from the domain's decision (-want +got):\n%s", d)
	}
	if m := envs[0].Metadata; m.Actor != "integration_key:"+keys[0] || m.Source != "generic" || m.CorrelationID == "" {
		t.Errorf("metadata: %+v", m)
	}
	if sv := envs[0].SchemaVersion; sv != events.SchemaVersionOf(want) {
		t.Errorf("stored with schema version %d, want the current %d", sv, events.SchemaVersionOf(want))
	}
	if !envs[0].OccurredAt.Equal(now) {
		t.Errorf("occurred at %v, want the handler clock's %v", envs[0].OccurredAt, now)
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
