package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/oncallhq/goalert/adapters/postgres/pgtest"
	"github.com/oncallhq/goalert/cmd/goalert/app"
	"github.com/oncallhq/goalert/commands"
	"github.com/oncallhq/goalert/domain/alert"
	"github.com/oncallhq/goalert/domain/clock"
	"github.com/oncallhq/goalert/domain/service"
	"github.com/oncallhq/goalert/domain/user"
	"github.com/oncallhq/goalert/events"
	"github.com/oncallhq/goalert/projections"
)

// adminFixture is a database with a log written the two ways production
// writes one: users through the binary, the rest through commands.
type adminFixture struct {
	url     string
	pool    *pgxpool.Pool
	h       *commands.Handler
	annID   string
	service string
	closed  int64 // created, acknowledged, closed
	active  int64 // created, acknowledged, escalated
}

var createdID = regexp.MustCompile(`with id ([0-9a-f-]{36})\.`)

func newAdminFixture(t *testing.T) *adminFixture {
	t.Helper()
	f := &adminFixture{url: pgtest.NewURL(t)}
	f.annID = addUser(t, f.url, "ann", "--admin")
	addUser(t, f.url, "bob")
	pool, err := pgxpool.New(context.Background(), f.url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	f.pool = pool
	f.h = commands.New(pool, app.NewStore(), clock.System{})
	f.seed(t)
	return f
}

func addUser(t *testing.T, url, name string, flags ...string) string {
	t.Helper()
	args := append([]string{"add-user", "--db-url", url, "--user", name, "--pass", name + "-password"}, flags...)
	r := goalert(t, nil, args...)
	m := createdID.FindStringSubmatch(r.stdout)
	if r.code != 0 || m == nil {
		t.Fatalf("add-user %s: exit %d, stdout %q, stderr %q", name, r.code, r.stdout, r.stderr)
	}
	return m[1]
}

// seed writes services, keys, labels, a limit and alerts through every
// path that changes a read model or a guard table.
func (f *adminFixture) seed(t *testing.T) {
	t.Helper()
	ctx := events.WithMetadata(context.Background(), events.Metadata{Actor: "user:" + f.annID, ActorName: "Ann", Source: "web"})
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	svc, keys, _, err := f.h.CreateService(ctx, commands.CreateService{Name: "Payments", Description: "money",
		Keys: []commands.NewKey{{Name: "gen", Type: "generic"}, {Name: "graf", Type: "grafana"}}})
	must(err)
	f.service = svc
	_, err = f.h.SetServiceLabel(ctx, svc, "example.com/team", "billing")
	must(err)
	_, err = f.h.DeleteIntegrationKey(ctx, keys[1])
	must(err)
	gone, _, _, err := f.h.CreateService(ctx, commands.CreateService{Name: "Legacy", Keys: []commands.NewKey{{Name: "k", Type: "generic"}}})
	must(err)
	_, err = f.h.DeleteService(ctx, gone)
	must(err)
	_, err = f.h.SetSystemLimit(ctx, "unacked_alerts_per_service", 300)
	must(err)

	closed, _, err := f.h.CreateAlert(ctx, alert.New{ServiceID: svc, Summary: "disk full"})
	must(err)
	f.closed = closed.ID
	_, err = f.h.AcknowledgeAlert(ctx, f.closed)
	must(err)
	_, err = f.h.CloseAlert(ctx, f.closed)
	must(err)
	active, _, err := f.h.CreateAlert(ctx, alert.New{ServiceID: svc, Summary: "cpu hot", Details: "core 3"})
	must(err)
	f.active = active.ID
	_, err = f.h.AcknowledgeAlert(ctx, f.active)
	must(err)
	_, err = f.h.EscalateAlert(ctx, f.active)
	must(err)
	ingest := events.WithMetadata(context.Background(), events.Metadata{Actor: "integration_key:" + keys[0], Source: "generic"})
	_, _, err = f.h.Ingest(ingest, commands.Ingest{Token: keys[0], Type: service.KeyGeneric, Summary: "queue stuck",
		Dedup: "queue", Meta: map[string]string{"host": "q1"}})
	must(err)
}

// projectLive builds the read models the way the server does, with the
// live subscribers, until they have read the whole log.
func projectLive(t *testing.T, pool *pgxpool.Pool) {
	t.Helper()
	store := app.NewStore()
	runner := projections.NewRunner(pool, store, slog.New(slog.NewTextHandler(io.Discard, nil)),
		app.Projections()...)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	done := make(chan struct{})
	go func() { _ = runner.Run(ctx); close(done) }()
	if err := runner.WaitFor(ctx, awaitReadable(t, pool)); err != nil {
		t.Fatalf("live projections did not catch up: %v", err)
	}
	cancel()
	<-done
}

// awaitReadable waits until readers in log order can see every committed
// event, which an open transaction anywhere in the shared test cluster
// holds back, and returns the newest event's checkpoint.
func awaitReadable(t *testing.T, pool *pgxpool.Pool) events.Checkpoint {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := awaitReadableLog(ctx, pool, app.NewStore(), slog.New(slog.NewTextHandler(io.Discard, nil))); err != nil {
		t.Fatalf("log not readable: %v", err)
	}
	head, err := app.NewStore().Head(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	return head
}

// stateQueries select every read model and guard table in a stable
// order, leaving out what a rebuild generates anew: alert_log's ids, and
// the time a reservation row was written (the log does not record it).
var stateQueries = map[string]string{
	"users":                  `SELECT id, name, email, role, created_at FROM users ORDER BY id`,
	"user_basic_auth":        `SELECT user_id, username, password_hash FROM user_basic_auth ORDER BY user_id`,
	"services":               `SELECT * FROM services ORDER BY id`,
	"service_labels":         `SELECT * FROM service_labels ORDER BY service_id, key`,
	"integration_keys":       `SELECT * FROM integration_keys ORDER BY id`,
	"alerts":                 `SELECT * FROM alerts ORDER BY id`,
	"alert_log":              `SELECT alert_id, at, event, actor, actor_name, source, detail FROM alert_log ORDER BY alert_id, id`,
	"reservations":           `SELECT scope, key, owner FROM reservations ORDER BY scope, key`,
	"open_alerts":            `SELECT * FROM open_alerts ORDER BY alert_id`,
	"integration_key_tokens": `SELECT * FROM integration_key_tokens ORDER BY token`,
	"system_limits":          `SELECT * FROM system_limits ORDER BY id`,
	"auth_sessions":          `SELECT * FROM auth_sessions ORDER BY id`,
	"event_streams":          `SELECT stream_id, version FROM event_streams ORDER BY stream_id`,
	"events": `SELECT stream_id, stream_version, event_id, event_name, schema_version, payload, metadata,
		occurred_at, recorded_at FROM events ORDER BY transaction_id, global_position`,
}

func snapshot(t *testing.T, url string) map[string][]string {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	out := map[string][]string{}
	for table, q := range stateQueries {
		rows, err := conn.Query(ctx, `SELECT row_to_json(t)::text FROM (`+q+`) t`)
		if err != nil {
			t.Fatalf("snapshot %s: %v", table, err)
		}
		if out[table], err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
			t.Fatalf("snapshot %s: %v", table, err)
		}
	}
	return out
}

func mustRun(t *testing.T, args ...string) result {
	t.Helper()
	r := goalert(t, nil, args...)
	if r.code != 0 {
		t.Fatalf("goalert %v: exit %d, stderr:\n%s", args, r.code, r.stderr)
	}
	return r
}

func TestAdmin_helpPrintsUsage(t *testing.T) {
	for _, cmd := range []string{"events", "events show", "events tail", "events export", "events import",
		"replay", "alert", "alert history", "audit"} {
		t.Run(cmd, func(t *testing.T) {
			r := goalert(t, nil, append(strings.Fields(cmd), "-h")...)
			if r.code != 0 || !strings.Contains(r.stdout, "Usage:\n  goalert "+cmd) {
				t.Errorf("goalert %s -h: exit %d, stdout:\n%s\nwant exit 0 and the usage", cmd, r.code, r.stdout)
			}
			if cmd != "events" && cmd != "alert" && !strings.Contains(r.stdout, "--json") {
				t.Errorf("goalert %s -h does not say what --json does:\n%s", cmd, r.stdout)
			}
		})
	}
}

func TestAdmin_eventsShow(t *testing.T) {
	f := newAdminFixture(t)
	stream := user.Stream(f.annID)
	r := mustRun(t, "events", "show", stream, "--db-url", f.url)
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "VERSION") {
		t.Fatalf("events show: want a header and two events, got:\n%s", r.stdout)
	}
	for i, want := range []string{"user.created", "user.basic_auth_set"} {
		fields := strings.Fields(lines[i+1])
		if fields[0] != strconv.Itoa(i+1) || fields[2] != want || fields[4] != "cli" {
			t.Errorf("events show, event %d: got %q, want version %d, %s, source cli", i+1, lines[i+1], i+1, want)
		}
		if _, err := time.Parse(time.RFC3339, fields[1]); err != nil {
			t.Errorf("events show, event %d: occurred at %q is not RFC 3339", i+1, fields[1])
		}
	}

	if !strings.Contains(r.stdout, `"password_hash":"`+events.Masked+`"`) || strings.Contains(r.stdout, "$2a$") {
		t.Errorf("events show: want the password hash masked, got:\n%s", r.stdout)
	}

	r = mustRun(t, "events", "show", stream, "--db-url", f.url, "--json")
	if strings.Contains(r.stdout, "$2a$") {
		t.Errorf("events show --json shows a password hash:\n%s", r.stdout)
	}
	evs := decodeLines(t, r.stdout)
	if len(evs) != 2 || evs[0].Name != "user.created" || evs[1].Version != 2 || evs[0].StreamID != stream {
		t.Errorf("events show --json: got %+v", evs)
	}

	r = goalert(t, nil, "events", "show", "user-nobody", "--db-url", f.url)
	if r.code != 1 || !strings.Contains(r.stderr, "no such stream") {
		t.Errorf("events show of an unknown stream: exit %d, stderr %q; want 1 and \"no such stream\"", r.code, r.stderr)
	}
	r = goalert(t, nil, "events", "show", "--db-url", f.url)
	if r.code != 2 {
		t.Errorf("events show without a stream: exit %d, want 2", r.code)
	}
}

func decodeLines(t *testing.T, out string) []eventLine {
	t.Helper()
	var evs []eventLine
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if line == "" {
			continue
		}
		var e eventLine
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("not a JSON event line: %q: %v", line, err)
		}
		evs = append(evs, e)
	}
	return evs
}

// An export imported into an empty database gives the same log, the same
// read models and the same guard tables; the import migrates the database
// itself, and refuses a database that has events.
func TestAdmin_exportImportRoundTrip(t *testing.T) {
	f := newAdminFixture(t)
	projectLive(t, f.pool)
	want := snapshot(t, f.url)

	r := mustRun(t, "events", "export", "--db-url", f.url)
	exported := decodeLines(t, r.stdout)
	if len(exported) != len(want["events"]) {
		t.Fatalf("export: %d lines, want one per event (%d)", len(exported), len(want["events"]))
	}
	for i := 1; i < len(exported); i++ {
		prev, cur := exported[i-1], exported[i]
		if cur.TransactionID < prev.TransactionID || (cur.TransactionID == prev.TransactionID && cur.Position <= prev.Position) {
			t.Fatalf("export is not in log order at line %d", i+1)
		}
	}
	file := filepath.Join(t.TempDir(), "log.jsonl")
	if err := os.WriteFile(file, []byte(r.stdout), 0o600); err != nil {
		t.Fatal(err)
	}

	target := pgtest.NewEmptyURL(t)
	r = mustRun(t, "events", "import", file, "--db-url", target)
	if !strings.Contains(r.stdout, "imported "+strconv.Itoa(len(exported))+" events") {
		t.Errorf("import: stdout %q does not report %d events", r.stdout, len(exported))
	}
	got := snapshot(t, target)
	for table := range stateQueries {
		if diff := cmp.Diff(want[table], got[table]); diff != "" {
			t.Errorf("%s after export and import (-source +imported):\n%s", table, diff)
		}
	}
	if len(got["alerts"]) != 3 || len(got["reservations"]) != 3 || len(got["integration_key_tokens"]) != 1 {
		t.Errorf("imported state is missing rows: %v", got)
	}
	checkNextAlertID(t, target, f.active+1)

	r = goalert(t, nil, "events", "import", file, "--db-url", target)
	if r.code != 1 || !strings.Contains(r.stderr, "already has events") {
		t.Errorf("import into a database with events: exit %d, stderr %q; want 1 and a refusal", r.code, r.stderr)
	}
}

// checkNextAlertID fails unless new alerts are numbered after every
// imported one.
func checkNextAlertID(t *testing.T, url string, min int64) {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var next int64
	if err := conn.QueryRow(context.Background(), `SELECT nextval('alert_id_seq')`).Scan(&next); err != nil {
		t.Fatal(err)
	}
	if next < min {
		t.Errorf("next alert id after import: %d, want at least %d", next, min)
	}
}

func TestAdmin_exportWindow(t *testing.T) {
	f := newAdminFixture(t)
	all := decodeLines(t, mustRun(t, "events", "export", "--db-url", f.url).stdout)
	future := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	if out := mustRun(t, "events", "export", "--db-url", f.url, "--since", future).stdout; out != "" {
		t.Errorf("export --since in the future: got %q, want nothing", out)
	}
	if got := decodeLines(t, mustRun(t, "events", "export", "--db-url", f.url, "--until", future).stdout); len(got) != len(all) {
		t.Errorf("export --until in the future: %d events, want all %d", len(got), len(all))
	}
	if r := goalert(t, nil, "events", "export", "--db-url", f.url, "--since", "yesterday"); r.code != 2 {
		t.Errorf("export --since yesterday: exit %d, want 2", r.code)
	}
}

// Replay rebuilds from the log exactly what the live projections built.
func TestAdmin_replay(t *testing.T) {
	f := newAdminFixture(t)
	projectLive(t, f.pool)
	want := snapshot(t, f.url)

	r := mustRun(t, "replay", "--db-url", f.url)
	n := len(want["events"])
	for _, p := range []string{"users", "services", "alerts", "paging", "oncall"} {
		if !regexp.MustCompile(`replayed ` + strconv.Itoa(n) + ` events into ` + p + ` in \S+ \(\d+ events/s\)`).MatchString(r.stdout) {
			t.Errorf("replay: stdout %q has no summary for %s", r.stdout, p)
		}
	}
	if diff := cmp.Diff(want, snapshot(t, f.url)); diff != "" {
		t.Errorf("after replay (-live +replayed):\n%s", diff)
	}

	r = mustRun(t, "replay", "alerts", "--db-url", f.url, "--json")
	var rep replayReport
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil || len(rep.Projections) != 1 || rep.Projections[0].Events != n {
		t.Errorf("replay alerts --json: got %q (%v), want one projection with %d events", r.stdout, err, n)
	}

	r = goalert(t, nil, "replay", "nosuch", "--db-url", f.url)
	if r.code != 2 || !strings.Contains(r.stderr, "alerts, oncall, paging, services, users") {
		t.Errorf("replay nosuch: exit %d, stderr %q; want 2 and the known projections", r.code, r.stderr)
	}
}

func TestAdmin_alertHistory(t *testing.T) {
	f := newAdminFixture(t)
	r := mustRun(t, "alert", "history", strconv.FormatInt(f.closed, 10), "--db-url", f.url)
	for _, want := range []string{"disk full", "Created by Ann (Web)", "Acknowledged by Ann (Web)", "Closed by Ann (Web)"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("alert history: no %q in:\n%s", want, r.stdout)
		}
	}

	r = mustRun(t, "alert", "history", strconv.FormatInt(f.active, 10), "--db-url", f.url, "--json")
	var h alertHistory
	if err := json.Unmarshal([]byte(r.stdout), &h); err != nil {
		t.Fatalf("alert history --json: %v in %q", err, r.stdout)
	}
	var got []string
	for _, e := range h.Entries {
		got = append(got, e.Message)
	}
	want := []string{"Created by Ann (Web)", "Acknowledged by Ann (Web)", "Escalation requested by Ann (Web)"}
	if diff := cmp.Diff(want, got); diff != "" || h.ServiceID != f.service {
		t.Errorf("alert history --json (-want +got):\n%s\nservice %q, want %q", diff, h.ServiceID, f.service)
	}

	if r := goalert(t, nil, "alert", "history", "99999", "--db-url", f.url); r.code != 1 || !strings.Contains(r.stderr, "no such alert") {
		t.Errorf("history of an unknown alert: exit %d, stderr %q; want 1 and \"no such alert\"", r.code, r.stderr)
	}
	if r := goalert(t, nil, "alert", "history", "abc", "--db-url", f.url); r.code != 2 {
		t.Errorf("history of alert abc: exit %d, want 2", r.code)
	}
}

func TestAdmin_audit(t *testing.T) {
	f := newAdminFixture(t)
	r := mustRun(t, "audit", "--entity", "service-", "--db-url", f.url)
	for _, want := range []string{"service.created", "service.integration_key_created", "service.label_set",
		"service.integration_key_deleted", "service.deleted", "Ann"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("audit --entity service-: no %q in:\n%s", want, r.stdout)
		}
	}
	if strings.Contains(r.stdout, "user.created") || strings.Contains(r.stdout, "alert.") {
		t.Errorf("audit --entity service- lists other streams:\n%s", r.stdout)
	}

	evs := decodeLines(t, mustRun(t, "audit", "--db-url", f.url, "--json").stdout)
	if len(evs) < 10 {
		t.Fatalf("audit --json: %d events, want the whole small log", len(evs))
	}
	for i := 1; i < len(evs); i++ {
		if evs[i].TransactionID > evs[i-1].TransactionID ||
			(evs[i].TransactionID == evs[i-1].TransactionID && evs[i].Position > evs[i-1].Position) {
			t.Fatalf("audit is not newest first at %d", i)
		}
	}

	svc := "service-" + f.service
	for _, e := range decodeLines(t, mustRun(t, "audit", "--entity", svc, "--actor", "Ann", "--db-url", f.url, "--json").stdout) {
		if e.StreamID != svc {
			t.Errorf("audit --entity %s: got an event of %s", svc, e.StreamID)
		}
	}
	byCLI := decodeLines(t, mustRun(t, "audit", "--actor", "cli", "--db-url", f.url, "--json").stdout)
	if len(byCLI) != 4 {
		t.Errorf("audit --actor cli: %d events, want the 4 of add-user", len(byCLI))
	}
	// add-user stored bcrypt hashes; an audit shows them masked, as a
	// table and as JSON.
	for _, args := range [][]string{{"--json"}, {}} {
		r := mustRun(t, append([]string{"audit", "--entity", "user", "--db-url", f.url}, args...)...)
		if strings.Count(r.stdout, `"password_hash":"`+events.Masked+`"`) != 2 || strings.Contains(r.stdout, "$2a$") {
			t.Errorf("audit --entity user %v: want both password hashes masked, got:\n%s", args, r.stdout)
		}
	}
	if got := decodeLines(t, mustRun(t, "audit", "--limit", "2", "--db-url", f.url, "--json").stdout); len(got) != 2 {
		t.Errorf("audit --limit 2: %d events", len(got))
	}
	future := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	if r := mustRun(t, "audit", "--since", future, "--db-url", f.url, "--json"); r.stdout != "" {
		t.Errorf("audit --since in the future: got %q, want nothing", r.stdout)
	}
}

// tail prints what is appended while it runs, and only that, and stops
// cleanly on Ctrl-C.
func TestAdmin_eventsTail(t *testing.T) {
	f := newAdminFixture(t)
	cmd := exec.Command(binary, "events", "tail", "--db-url", f.url)
	cmd.Env = cleanEnv()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	awaitReadable(t, f.pool) // so that tail starts after the seeded events
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	watchdog := time.AfterFunc(time.Minute, func() { _ = cmd.Process.Kill() })
	defer watchdog.Stop()
	outLines, errLines := lines(stdout), lines(stderr)
	waitLine(t, errLines, "following the event log", 20*time.Second)

	id, _, err := f.h.CreateUser(context.Background(), commands.CreateUser{Name: "Dora", Role: user.RoleUser})
	if err != nil {
		t.Fatal(err)
	}
	seen := collectUntil(t, outLines, user.Stream(id), 10*time.Second)
	if len(seen) != 1 || !strings.Contains(seen[0], "user.created") {
		t.Errorf("tail printed %q, want only the new user.created", seen)
	}

	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("tail after Ctrl-C: %v, want exit 0", err)
	}
}

func lines(r io.Reader) <-chan string {
	ch := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			ch <- sc.Text()
		}
		close(ch)
	}()
	return ch
}

// collectUntil returns the lines read up to and including the first one
// containing want.
func collectUntil(t *testing.T, lines <-chan string, want string, timeout time.Duration) []string {
	t.Helper()
	deadline := time.After(timeout)
	var seen []string
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("output ended before %q; got %q", want, seen)
			}
			seen = append(seen, l)
			if strings.Contains(l, want) {
				return seen
			}
		case <-deadline:
			t.Fatalf("no %q within %v; got %q", want, timeout, seen)
		}
	}
}

// An import checks every line before it writes, and says where a broken
// export breaks.
func TestAdmin_importRefusesBrokenExports(t *testing.T) {
	target := pgtest.NewEmptyURL(t)
	line := func(version int, name string) string {
		return `{"stream_id":"user-1","version":` + strconv.Itoa(version) + `,"event_id":"01a20dad-2a0d-7ed1-9cb7-83c53002a12` +
			strconv.Itoa(version) + `","name":"` + name + `","payload":{"user_id":"1","name":"A","role":"user"},` +
			`"occurred_at":"2026-01-02T03:04:05Z"}` + "\n"
	}
	tests := []struct {
		name, input, want string
	}{
		{"version gap", line(1, "user.created") + line(3, "user.updated"), "line 2: stream user-1: version 3 where 2 was expected"},
		{"unknown event", line(1, "user.teleported"), "line 1: "},
		{"not JSON", "hello\n", "line 1: not an exported event"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "log.jsonl")
			if err := os.WriteFile(file, []byte(tc.input), 0o600); err != nil {
				t.Fatal(err)
			}
			r := goalert(t, nil, "events", "import", file, "--db-url", target)
			if r.code != 1 || !strings.Contains(r.stderr, tc.want) {
				t.Errorf("import: exit %d, stderr %q; want 1 and %q", r.code, r.stderr, tc.want)
			}
		})
	}
	// Nothing was written, so the database still takes a good export.
	r := mustRun(t, "events", "import", "--db-url", target, "-")
	if !strings.HasPrefix(r.stdout, "imported 0 events") {
		t.Errorf("import of nothing after refusals: stdout %q", r.stdout)
	}
}
