package services_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"sync"
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
	"github.com/oncallhq/goalert/projections/services"
)

// model is what the services read model must hold, kept by the test as
// it appends: "service <id> <name>", "label <service> <key>=<value>",
// "key <id> of <service>".
type model struct {
	mu   sync.Mutex
	rows map[string]map[string]string // by service id, then by what the row is of
	last events.Checkpoint
}

type harness struct {
	pool   *pgxpool.Pool
	store  *pgstore.Store
	runner *projections.Runner
	model  model
}

func (h *harness) append(t testing.TB, svc string, evs ...events.Event) {
	t.Helper()
	recs := make([]events.Record, len(evs))
	for i, e := range evs {
		recs[i] = events.Record{ID: uuid.Must(uuid.NewV7()), Event: e, OccurredAt: time.Now().UTC().Truncate(time.Microsecond)}
	}
	a, err := h.store.Append(context.Background(), h.pool, events.StreamID("service", svc), pgstore.Any, recs)
	if err != nil {
		t.Error(err)
		return
	}
	h.runner.Notify(a.Last)
	h.model.mu.Lock()
	defer h.model.mu.Unlock()
	if a.Last.After(h.model.last) {
		h.model.last = a.Last
	}
	for _, e := range evs {
		switch ev := e.(type) {
		case events.ServiceCreated:
			h.model.rows[ev.ServiceID] = map[string]string{"": "service " + ev.ServiceID + " " + ev.Name}
		case events.ServiceLabelSet:
			delete(h.model.rows[ev.ServiceID], "label "+ev.Key)
			if ev.Value != "" {
				h.model.rows[ev.ServiceID]["label "+ev.Key] = "label " + ev.ServiceID + " " + ev.Key + "=" + ev.Value
			}
		case events.IntegrationKeyCreated:
			h.model.rows[ev.ServiceID]["key "+ev.KeyID] = "key " + ev.KeyID + " of " + ev.ServiceID
		case events.IntegrationKeyDeleted:
			delete(h.model.rows[ev.ServiceID], "key "+ev.KeyID)
		case events.ServiceDeleted:
			delete(h.model.rows, ev.ServiceID)
		}
	}
}

func (h *harness) service(t testing.TB, i int) {
	id := uuid.NewString()
	k1, k2 := uuid.NewString(), uuid.NewString()
	h.append(t, id,
		events.ServiceCreated{ServiceID: id, Name: fmt.Sprint("svc ", i)},
		events.ServiceLabelSet{ServiceID: id, Key: "team", Value: "ops"},
		events.ServiceLabelSet{ServiceID: id, Key: "tier", Value: fmt.Sprint(i % 3)},
		events.IntegrationKeyCreated{ServiceID: id, KeyID: k1, Name: "generic", Type: "generic"},
		events.IntegrationKeyCreated{ServiceID: id, KeyID: k2, Name: "grafana", Type: "grafana"},
	)
	h.append(t, id, events.ServiceLabelSet{ServiceID: id, Key: "tier"}, events.IntegrationKeyDeleted{ServiceID: id, KeyID: k2})
	if i%3 == 0 {
		h.append(t, id, events.ServiceDeleted{ServiceID: id})
	}
}

func (h *harness) want() []string {
	h.model.mu.Lock()
	defer h.model.mu.Unlock()
	var out []string
	for _, rs := range h.model.rows {
		for _, r := range rs {
			out = append(out, r)
		}
	}
	sort.Strings(out)
	return out
}

func (h *harness) got(t testing.TB) []string {
	t.Helper()
	rows, err := h.pool.Query(context.Background(), `
		SELECT 'service ' || id || ' ' || name FROM services
		UNION ALL SELECT 'label ' || service_id || ' ' || key || '=' || value FROM service_labels
		UNION ALL SELECT 'key ' || id || ' of ' || service_id FROM integration_keys
		ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func (h *harness) caughtUp(t testing.TB) {
	t.Helper()
	h.model.mu.Lock()
	last := h.model.last
	h.model.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := h.runner.WaitFor(ctx, last); err != nil {
		t.Fatalf("services projection did not catch up: %v", err)
	}
}

// foreignKeys lists the foreign keys of the services tables, and the
// tables they reference.
func foreignKeys(t testing.TB, pool *pgxpool.Pool) []string {
	t.Helper()
	rows, err := pool.Query(context.Background(), `
		SELECT format('%s %s %s references %s', conrelid::regclass, conname, pg_get_constraintdef(oid), confrelid::regclass)
		FROM pg_constraint WHERE contype = 'f'
		  AND conrelid IN ('services'::regclass, 'service_labels'::regclass, 'integration_keys'::regclass)
		ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// indexes lists the services tables' indexes by name and definition.
func indexes(t testing.TB, pool *pgxpool.Pool) []string {
	t.Helper()
	rows, err := pool.Query(context.Background(), `SELECT pg_get_indexdef(indexrelid) FROM pg_index
		WHERE indrelid IN ('services'::regclass, 'service_labels'::regclass, 'integration_keys'::regclass) ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// The services read model, whose labels and keys reference their service
// with ON DELETE CASCADE, rebuilds beside the live one while services keep
// being created and deleted: the result is the log's model, and the
// foreign keys and index names are the migrations' again, on the new
// tables, so that deleting a service still removes its labels and keys.
func TestRebuild_ServicesKeepsForeignKeys(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	store := pgstore.New(events.NewRegistry())
	h := &harness{pool: pool, store: store, model: model{rows: map[string]map[string]string{}},
		runner: projections.NewRunner(pool, store, slog.New(slog.NewTextHandler(io.Discard, nil)), services.Projection{})}
	for i := 0; i < 120; i++ {
		h.service(t, i)
	}
	runCtx, stopRunner := context.WithCancel(ctx)
	ran := make(chan struct{})
	go func() { h.runner.Run(runCtx); close(ran) }()
	defer func() { stopRunner(); <-ran }()
	h.caughtUp(t)
	if d := cmp.Diff(h.want(), h.got(t)); d != "" {
		t.Fatalf("live services model (-want +got):\n%s", d)
	}
	fks, idx := foreignKeys(t, pool), indexes(t, pool)
	if len(fks) != 2 {
		t.Fatalf("before the rebuild: foreign keys %q, want the two of the migrations", fks)
	}

	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 1000; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			h.service(t, i)
			time.Sleep(2 * time.Millisecond)
		}
	})
	st, err := h.runner.Rebuild(ctx, services.Projection{}.Name(), 50, nil)
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatalf("rebuild: %v", err)
	}
	h.caughtUp(t)
	if d := cmp.Diff(h.want(), h.got(t)); d != "" {
		t.Fatalf("services model after the rebuild (-want +got):\n%s", d)
	}
	if d := cmp.Diff(fks, foreignKeys(t, pool)); d != "" {
		t.Errorf("foreign keys after the rebuild (-before +after):\n%s", d)
	}
	if d := cmp.Diff(idx, indexes(t, pool)); d != "" {
		t.Errorf("indexes after the rebuild (-before +after):\n%s", d)
	}

	// The live subscriber deletes a service on the new tables; the
	// cascade removes its labels and keys.
	id := uuid.NewString()
	h.append(t, id, events.ServiceCreated{ServiceID: id, Name: "doomed"},
		events.ServiceLabelSet{ServiceID: id, Key: "k", Value: "v"},
		events.IntegrationKeyCreated{ServiceID: id, KeyID: uuid.NewString(), Name: "k", Type: "generic"})
	h.append(t, id, events.ServiceDeleted{ServiceID: id})
	h.caughtUp(t)
	if d := cmp.Diff(h.want(), h.got(t)); d != "" {
		t.Fatalf("services model after a delete on the rebuilt tables (-want +got):\n%s", d)
	}
	var versions int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM projection_stream_versions WHERE projection = 'services'`).Scan(&versions); err != nil {
		t.Fatal(err)
	}
	var streams int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM event_streams WHERE starts_with(stream_id, 'service-')`).Scan(&streams); err != nil {
		t.Fatal(err)
	}
	if versions != streams {
		t.Errorf("%d stream versions recorded for services after the rebuild, want one per service stream (%d)", versions, streams)
	}
	t.Logf("rebuild %+v", st)
}
