package commands_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"github.com/oncallhq/goalert/commands"
	"github.com/oncallhq/goalert/domain/alert"
	"github.com/oncallhq/goalert/domain/clock"
	"github.com/oncallhq/goalert/domain/service"
	"github.com/oncallhq/goalert/domain/user"
)

// guardSnapshots select each guard table in a stable order. Reservations
// leave out created_at: the commands stamp it with the database's now(),
// which the log does not record.
var guardSnapshots = map[string]string{
	"reservations":           `SELECT scope, key, owner FROM reservations ORDER BY scope, key`,
	"open_alerts":            `SELECT alert_id, service_id, dedup_key, status FROM open_alerts ORDER BY alert_id`,
	"integration_key_tokens": `SELECT token, service_id, type FROM integration_key_tokens ORDER BY token`,
	"system_limits":          `SELECT id, value FROM system_limits ORDER BY id`,
	"auth_sessions":          `SELECT id, user_id, created_at, ended_at FROM auth_sessions ORDER BY id`,
	"config_values":          `SELECT id, value, encrypted FROM config_values ORDER BY id`,
}

func snapshotGuards(t *testing.T, h *commands.Handler) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for table, q := range guardSnapshots {
		rows, err := h.Pool().Query(context.Background(), `SELECT row_to_json(t)::text FROM (`+q+`) t`)
		if err != nil {
			t.Fatalf("snapshot %s: %v", table, err)
		}
		out[table], err = pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatalf("snapshot %s: %v", table, err)
		}
	}
	return out
}

// seedGuards runs commands that write every kind of guard row, including
// the ones that later remove or change them.
func seedGuards(t *testing.T, h *commands.Handler, c *clock.Manual) {
	t.Helper()
	ctx := context.Background()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	step := func() { c.Advance(time.Second) }

	_, _, err := h.CreateUser(ctx, commands.CreateUser{Name: "Ann", Role: user.RoleAdmin, Username: "ann", Password: "ann-password"})
	must(err)
	bob, _, err := h.CreateUser(ctx, commands.CreateUser{Name: "Bob", Role: user.RoleUser, Username: "bob", Password: "bob-password"})
	must(err)
	step()
	_, err = h.DeleteUser(ctx, bob)
	must(err)
	carl, _, err := h.CreateUser(ctx, commands.CreateUser{Name: "Carl", Role: user.RoleUser})
	must(err)
	_, err = h.SetBasicAuth(ctx, carl, "carl", "carl-password")
	must(err)

	pay, keys, _, err := h.CreateService(ctx, commands.CreateService{Name: "Payments",
		Keys: []commands.NewKey{{Name: "gen", Type: "generic"}, {Name: "graf", Type: "grafana"}}})
	must(err)
	step()
	renamed, sameKey := "Billing", " BILLING "
	_, err = h.UpdateService(ctx, commands.UpdateService{ID: pay, Name: &renamed})
	must(err)
	_, err = h.UpdateService(ctx, commands.UpdateService{ID: pay, Name: &sameKey})
	must(err)
	_, err = h.DeleteIntegrationKey(ctx, keys[1])
	must(err)
	old, _, _, err := h.CreateService(ctx, commands.CreateService{Name: "Old", Keys: []commands.NewKey{{Name: "k", Type: "generic"}}})
	must(err)
	_, err = h.DeleteService(ctx, old)
	must(err)
	_, err = h.SetSystemLimit(ctx, "unacked_alerts_per_service", 300)
	must(err)
	_, err = h.SetSystemLimit(ctx, "unacked_alerts_per_service", 250)
	must(err)
	seal, _ := testKeyring(t)
	_, err = h.SetConfig(ctx, map[string]string{"General.ApplicationName": "Pager", "SMTP.Password": "hunter2"}, seal)
	must(err)
	_, err = h.SetConfig(ctx, map[string]string{"General.ApplicationName": "Pager 2", "SMTP.Password": ""}, seal)
	must(err)
	_, err = h.SetConfig(ctx, map[string]string{"Slack.AccessToken": "xoxb-1"}, seal)
	must(err)

	var ids []int64
	for _, s := range []string{"acked", "escalated after ack", "closed", "escalated while triggered", "untouched"} {
		ref, _, err := h.CreateAlert(ctx, alert.New{ServiceID: pay, Summary: s})
		must(err)
		ids = append(ids, ref.ID)
	}
	step()
	_, err = h.AcknowledgeAlert(ctx, ids[0])
	must(err)
	_, err = h.AcknowledgeAlert(ctx, ids[1])
	must(err)
	_, err = h.EscalateAlert(ctx, ids[1])
	must(err)
	_, err = h.CloseAlert(ctx, ids[2])
	must(err)
	_, err = h.EscalateAlert(ctx, ids[3])
	must(err)
	for _, action := range []commands.IngestAction{commands.IngestTrigger, commands.IngestTrigger, commands.IngestAcknowledge} {
		_, _, err = h.Ingest(ctx, commands.Ingest{Token: keys[0], Type: service.KeyGeneric, Action: action, Summary: "disk full", Dedup: "disk"})
		must(err)
	}
	_, _, err = h.Ingest(ctx, commands.Ingest{Token: keys[0], Type: service.KeyGeneric, Summary: "cpu hot"})
	must(err)

	_, _, err = h.SignIn(ctx, "ann", "ann-password", "test", "127.0.0.1")
	must(err)
	step()
	ended, _, err := h.SignIn(ctx, "carl", "carl-password", "test", "127.0.0.1")
	must(err)
	step()
	_, err = h.EndSession(ctx, ended)
	must(err)
}

// Rebuilding the guard tables from the log gives back exactly what the
// commands wrote, whether the tables were intact or wiped.
func TestRebuildGuards_matchesCommands(t *testing.T) {
	c := clock.NewManual(now)
	base := newHandler(t)
	h := commands.New(base.Pool(), base.Store(), c)
	seedGuards(t, h, c)
	ctx := context.Background()
	want := snapshotGuards(t, h)
	if len(want["auth_sessions"]) != 2 || len(want["open_alerts"]) != 6 || len(want["reservations"]) != 3 || len(want["config_values"]) != 3 {
		t.Fatalf("seed wrote unexpected guards: %v", want)
	}

	if err := commands.RebuildGuards(ctx, h.Pool(), h.Store()); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, snapshotGuards(t, h)); diff != "" {
		t.Errorf("after rebuilding intact guard tables (-want +got):\n%s", diff)
	}

	for table := range guardSnapshots {
		if _, err := h.Pool().Exec(ctx, `DELETE FROM `+table); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := h.Pool().Exec(ctx, `SELECT setval('alert_id_seq', 1, false)`); err != nil {
		t.Fatal(err)
	}
	if err := commands.RebuildGuards(ctx, h.Pool(), h.Store()); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, snapshotGuards(t, h)); diff != "" {
		t.Errorf("after rebuilding wiped guard tables (-want +got):\n%s", diff)
	}

	// The commands work on the rebuilt guards: names and usernames are
	// still taken, and new alerts get new ids.
	if _, _, err := h.CreateUser(ctx, commands.CreateUser{Name: "Ann 2", Role: user.RoleUser, Username: "ann", Password: "other-password"}); err == nil {
		t.Error("username ann: created a second user, want it reserved")
	}
	if _, _, _, err := h.CreateService(ctx, commands.CreateService{Name: "billing"}); err == nil {
		t.Error("service name billing: created a second service, want it reserved")
	}
	var svc string
	if err := h.Pool().QueryRow(ctx, `SELECT service_id::text FROM open_alerts LIMIT 1`).Scan(&svc); err != nil {
		t.Fatal(err)
	}
	ref, _, err := h.CreateAlert(ctx, alert.New{ServiceID: svc, Summary: "after rebuild"})
	if err != nil {
		t.Fatalf("create alert after rebuild: %v", err)
	}
	var maxID int64
	if err := h.Pool().QueryRow(ctx, `SELECT max((payload->>'alert_id')::bigint) FROM events
		WHERE event_name = 'alert.triggered' AND stream_id <> $1`, alert.Stream(ref.ID)).Scan(&maxID); err != nil {
		t.Fatal(err)
	}
	if ref.ID <= maxID {
		t.Errorf("new alert id %d, want more than %d (the largest in the log)", ref.ID, maxID)
	}
}

// The sequence never moves back: ids handed out to refused triggers stay
// used.
func TestRebuildGuards_keepsSequenceAhead(t *testing.T) {
	h := newHandler(t)
	ctx := context.Background()
	if _, err := h.Pool().Exec(ctx, `SELECT setval('alert_id_seq', 500)`); err != nil {
		t.Fatal(err)
	}
	if err := commands.RebuildGuards(ctx, h.Pool(), h.Store()); err != nil {
		t.Fatal(err)
	}
	var next int64
	if err := h.Pool().QueryRow(ctx, `SELECT nextval('alert_id_seq')`).Scan(&next); err != nil {
		t.Fatal(err)
	}
	if next != 501 {
		t.Errorf("next alert id: got %d, want 501", next)
	}
}
