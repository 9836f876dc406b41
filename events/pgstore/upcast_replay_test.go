package pgstore_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strings"
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
	"github.com/oncallhq/goalert/projections/alerts"
)

// storedEvent is a row written straight into the events table, the way an
// older build left it.
type storedEvent struct {
	id            uuid.UUID
	stream        string
	version       int64
	name          string
	schemaVersion int
	payload       string
	meta          string
	at            time.Time
}

// A log that mixes alert.triggered rows of schema version 1 (written
// before integration_key_id existed) with version 2 rows replays into the
// same alerts read model, and decodes to the same events, as the log with
// every row in its version 2 form.
func TestReplay_MixedAlertTriggeredVersions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	start := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	svc := uuid.NewString()

	// Twelve alerts, in the order they were raised: odd ones by an old
	// build (v1), even ones by the current build, half of those through
	// an integration key. Every alert is acknowledged; every third one is
	// closed too. Streams interleave, as they do in a real log.
	var mixed, current []storedEvent
	add := func(stream string, version int64, name string, sv int, v1, v2, meta string, at time.Time) {
		id := uuid.Must(uuid.NewV7())
		mixed = append(mixed, storedEvent{id, stream, version, name, sv, v1, meta, at})
		if name == "alert.triggered" {
			sv = events.SchemaVersionOf(events.AlertTriggered{})
		}
		current = append(current, storedEvent{id, stream, version, name, sv, v2, meta, at})
	}
	const n = 12
	for i := 1; i <= n; i++ {
		stream := fmt.Sprintf("alert-%d", i)
		at := start.Add(time.Duration(i) * time.Minute)
		base := fmt.Sprintf(`"alert_id": %d, "service_id": %q, "summary": "disk %d full", "dedup_key": "user:1:disk-%d"`, i, svc, i, i)
		switch {
		case i%2 == 1:
			meta := `{"actor": "integration_key:k-old", "source": "generic"}`
			add(stream, 1, "alert.triggered", 1,
				`{`+base+`, "source": "generic", "meta": {"host": "db1"}}`,
				`{`+base+`, "source": "generic", "integration_key_id": "", "meta": {"host": "db1"}}`, meta, at)
		case i%4 == 2:
			meta := `{"actor": "integration_key:k-new", "source": "grafana"}`
			p := `{` + base + `, "source": "grafana", "integration_key_id": "k-new"}`
			add(stream, 1, "alert.triggered", 2, p, p, meta, at)
		default:
			meta := `{"actor": "user:u1", "actor_name": "Ann", "source": "web"}`
			p := `{` + base + `, "source": "manual", "integration_key_id": ""}`
			add(stream, 1, "alert.triggered", 2, p, p, meta, at)
		}
	}
	ack := `{"actor": "user:u2", "actor_name": "Bob", "source": "sms"}`
	for i := 1; i <= n; i++ {
		p := fmt.Sprintf(`{"alert_id": %d}`, i)
		add(fmt.Sprintf("alert-%d", i), 2, "alert.acknowledged", 1, p, p, ack, start.Add(time.Hour+time.Duration(i)*time.Minute))
	}
	for i := 3; i <= n; i += 3 {
		p := fmt.Sprintf(`{"alert_id": %d}`, i)
		add(fmt.Sprintf("alert-%d", i), 3, "alert.closed", 1, p, p, ack, start.Add(2*time.Hour+time.Duration(i)*time.Minute))
	}

	mixedDB, currentDB := pgtest.NewPool(t), pgtest.NewPool(t)
	writeLog(t, mixedDB, mixed)
	writeLog(t, currentDB, current)

	store := pgstore.New(events.NewRegistry())
	models := make([]map[string][]string, 2)
	for i, db := range []*pgxpool.Pool{mixedDB, currentDB} {
		runner := projections.NewRunner(db, store, slog.New(slog.NewTextHandler(io.Discard, nil)), alerts.Projection{})
		// Small batches, so that batches mix versions and cut streams.
		st, err := runner.Rebuild(ctx, alerts.Projection{}.Name(), 5, nil)
		if err != nil {
			t.Fatalf("rebuild: %v", err)
		}
		if st.Applied != len(mixed) {
			t.Errorf("rebuild applied %d events, want %d", st.Applied, len(mixed))
		}
		models[i] = alertsModel(t, db)
	}
	if d := cmp.Diff(models[1], models[0]); d != "" {
		t.Errorf("read model from the mixed log (-all v2 +mixed):\n%s", d)
	}
	if got := len(models[0]["alerts"]); got != n {
		t.Fatalf("alerts after replay: %d rows, want %d", got, n)
	}
	for _, row := range models[0]["alerts"] {
		if !strings.Contains(row, `"summary": "disk `) {
			t.Errorf("alert row without its summary: %s", row)
		}
	}

	// The store decodes each stream of the mixed log to the events of the
	// all-v2 log.
	for i := 1; i <= n; i++ {
		stream := fmt.Sprintf("alert-%d", i)
		got, wantVersion := decodeStream(t, store, mixedDB, stream)
		want, _ := decodeStream(t, store, currentDB, stream)
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("%s decoded (-all v2 +mixed):\n%s", stream, d)
		}
		if i%2 == 1 && wantVersion != 1 {
			t.Errorf("%s: the mixed log stores its trigger at schema version %d, want 1", stream, wantVersion)
		}
		if tr := got[0].(events.AlertTriggered); i%4 == 2 && tr.IntegrationKeyID != "k-new" {
			t.Errorf("%s: integration key %q, want k-new", stream, tr.IntegrationKeyID)
		}
	}
}

// writeLog inserts evs as stored rows in one transaction, with their
// streams' heads, bypassing Append (which writes the current versions).
func writeLog(t *testing.T, db *pgxpool.Pool, evs []storedEvent) {
	t.Helper()
	ctx := context.Background()
	heads := map[string]int64{}
	err := pgx.BeginFunc(ctx, db, func(tx pgx.Tx) error {
		for _, e := range evs {
			if _, err := tx.Exec(ctx, `INSERT INTO events (stream_id, stream_version, event_id, event_name, schema_version, payload, metadata, occurred_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, e.stream, e.version, e.id, e.name, e.schemaVersion, e.payload, e.meta, e.at); err != nil {
				return err
			}
			heads[e.stream] = e.version
		}
		for s, v := range heads {
			if _, err := tx.Exec(ctx, `INSERT INTO event_streams (stream_id, version, transaction_id) VALUES ($1, $2, pg_current_xact_id())`, s, v); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("write log: %v", err)
	}
}

// alertsModel selects the alerts read model as JSON rows, leaving out
// alert_log's generated id.
func alertsModel(t *testing.T, db *pgxpool.Pool) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for table, q := range map[string]string{
		"alerts":    `SELECT to_jsonb(a)::text FROM alerts a ORDER BY id`,
		"alert_log": `SELECT (to_jsonb(l) - 'id')::text FROM alert_log l ORDER BY alert_id, at, event`,
	} {
		rows, err := db.Query(context.Background(), q)
		if err != nil {
			t.Fatalf("read %s: %v", table, err)
		}
		if out[table], err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
			t.Fatalf("read %s: %v", table, err)
		}
	}
	return out
}

// decodeStream loads and decodes a stream; it also returns the schema
// version its first event is stored at.
func decodeStream(t *testing.T, store *pgstore.Store, db *pgxpool.Pool, stream string) ([]events.Event, int) {
	t.Helper()
	envs, err := store.Load(context.Background(), db, stream, 1)
	if err != nil || len(envs) == 0 {
		t.Fatalf("load %s: %v (%d events)", stream, err, len(envs))
	}
	out := make([]events.Event, len(envs))
	for i, env := range envs {
		if out[i], err = store.Registry().DecodeEnvelope(env); err != nil {
			t.Fatalf("decode %s version %d: %v", stream, env.Version, err)
		}
	}
	// Metadata and times travel beside the payload; they must survive too.
	if b, _ := json.Marshal(envs[0].Metadata); string(b) == "{}" {
		t.Errorf("%s: metadata lost", stream)
	}
	return out, envs[0].SchemaVersion
}
