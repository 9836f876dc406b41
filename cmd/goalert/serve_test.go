package main

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/oncallhq/goalert/adapters/postgres/pgtest"
)

func TestMigrate_EmptyDatabase(t *testing.T) {
	url := pgtest.NewEmptyURL(t)
	r := goalert(t, nil, "migrate", "--db-url", url)
	if r.code != 0 || !strings.Contains(r.stdout, "Applied") {
		t.Fatalf("first migrate: exit %d, stdout %q, stderr %q; want 0 and \"Applied\"", r.code, r.stdout, r.stderr)
	}
	r = goalert(t, []string{"GOALERT_DB_URL=" + url}, "migrate")
	if r.code != 0 || !strings.Contains(r.stdout, "up to date") {
		t.Fatalf("second migrate (URL from env): exit %d, stdout %q; want 0 and \"up to date\"", r.code, r.stdout)
	}
	conn, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var tables int
	if err := conn.QueryRow(context.Background(), `SELECT count(*) FROM information_schema.tables
		WHERE table_name IN ('events', 'event_streams', 'projection_offsets', 'users')`).Scan(&tables); err != nil {
		t.Fatal(err)
	}
	if tables != 4 {
		t.Errorf("tables after migrate: found %d of 4", tables)
	}
}

func TestBadDatabaseURL(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"malformed", []string{"migrate", "--db-url", "postgres://user:secret@host:notaport/db"}, "invalid database URL"},
		{"unreachable", []string{"migrate", "--db-url", "postgres://postgres@127.0.0.1:1/x?connect_timeout=2"}, "connect to database"},
		{"unknown database", []string{"add-user", "--user", "a", "--pass", "password1", "--db-url", withDB(pgtest.AdminURL(), "no_such_db_here")}, "no_such_db_here"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := goalert(t, nil, tc.args...)
			if r.code == 0 {
				t.Fatalf("exit 0, want failure")
			}
			if !strings.Contains(r.stderr, tc.want) {
				t.Errorf("stderr %q does not mention %q", r.stderr, tc.want)
			}
			if strings.Contains(r.stderr, "secret") {
				t.Errorf("stderr leaks the password: %q", r.stderr)
			}
		})
	}
}

func withDB(url, db string) string {
	i := strings.LastIndex(url, "/")
	q := ""
	if j := strings.Index(url[i:], "?"); j >= 0 {
		q = url[i+j:]
	}
	return url[:i+1] + db + q
}

func TestAddUser(t *testing.T) {
	url := pgtest.NewEmptyURL(t) // add-user migrates an empty database itself
	r := goalert(t, nil, "add-user", "--db-url", url, "--admin", "--user", "admin", "--email", "admin@example.com", "--pass", "s3cret-pass")
	if r.code != 0 || !strings.Contains(r.stdout, "Created user") {
		t.Fatalf("add-user: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	r = goalert(t, nil, "add-user", "--db-url", url, "--user", "admin", "--pass", "other-pass")
	if r.code == 0 || !strings.Contains(r.stderr, "already in use") {
		t.Errorf("duplicate username: exit %d, stderr %q; want failure saying it is in use", r.code, r.stderr)
	}

	// Password from a pipe, as scripts provide it.
	cmd := exec.Command(binary, "add-user", "--db-url", url, "--user", "bob")
	cmd.Env = cleanEnv()
	cmd.Stdin = strings.NewReader("piped-password\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("add-user with piped password: %v\n%s", err, out)
	}

	conn, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	rows, err := conn.Query(context.Background(), `SELECT event_name, payload->>'role', metadata->>'source'
		FROM events ORDER BY global_position`)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for rows.Next() {
		var name, source string
		var role *string
		if err := rows.Scan(&name, &role, &source); err != nil {
			t.Fatal(err)
		}
		if role != nil {
			name += ":" + *role
		}
		got = append(got, name+"@"+source)
	}
	want := []string{"user.created:admin@cli", "user.basic_auth_set@cli", "user.created:user@cli", "user.basic_auth_set@cli"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("event log after add-user: got %v, want %v", got, want)
	}
}

// The server starts, logs "Listening.", answers /health, sees a user
// added by `goalert add-user` from another process, and shuts down
// cleanly on SIGTERM.
func TestServe(t *testing.T) {
	url := pgtest.NewURL(t)
	addr := freeAddr(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, "--db-url", url, "--listen", addr, "--engine-cycle-time", "100ms")
	cmd.Env = cleanEnv()
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	waitLine(t, lines, "Listening.", 20*time.Second)

	if code := httpStatus(t, "http://"+addr+"/health"); code != 200 {
		t.Errorf("/health: got %d, want 200", code)
	}
	r := goalert(t, nil, "add-user", "--db-url", url, "--user", "carol", "--pass", "carol-password")
	if r.code != 0 {
		t.Fatalf("add-user while serving: %s", r.stderr)
	}
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	deadline := time.Now().Add(5 * time.Second)
	for {
		var n int
		_ = conn.QueryRow(ctx, `SELECT count(*) FROM user_basic_auth WHERE username = 'carol'`).Scan(&n)
		if n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the server's users read model did not pick up a user added by another process within 5s")
		}
		time.Sleep(20 * time.Millisecond)
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waitLine(t, lines, "Shut down.", 20*time.Second)
	if err := cmd.Wait(); err != nil {
		t.Errorf("exit after SIGTERM: %v, want 0", err)
	}
}

func freeAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func waitLine(t *testing.T, lines <-chan string, want string, timeout time.Duration) {
	t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("output ended before %q", want)
			}
			if strings.Contains(l, want) {
				return
			}
		case <-deadline:
			t.Fatalf("no %q in the log within %v", want, timeout)
		}
	}
}

func httpStatus(t *testing.T, url string) int {
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}
