package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/pflag"
)

// binary is the goalert command under test, built once: these tests treat it as a black box, the way
// operators and their scripts do.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "goalert-cli-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "goalert")
	if out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build goalert: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type result struct {
	stdout, stderr string
	code           int
}

// cleanEnv is the test process's environment without GOALERT_* variables, which would change results.
func cleanEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GOALERT_") {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

func goalert(t *testing.T, env []string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Env = cleanEnv(env...)
	cmd.Stdin = strings.NewReader("")
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		t.Fatalf("run goalert %v: %v", args, err)
	}
	r := result{stdout: stdout.String(), stderr: stderr.String(), code: cmd.ProcessState.ExitCode()}
	if strings.Contains(r.stderr, "panic") || strings.Contains(r.stderr, "goroutine ") {
		t.Errorf("goalert %v: stderr shows a Go crash:\n%s", args, r.stderr)
	}
	return r
}

// The flags of the operators' guide, each of which deployments may already pass.
var guideFlags = []string{
	"--db-url", "--db-url-next", "--public-url", "--data-encryption-key", "--data-encryption-key-old",
	"--api-only", "--db-max-idle", "--db-max-open", "--disable-https-redirect", "--enable-secure-headers",
	"--email-integration-domain", "--engine-cycle-time", "--experimental", "--github-base-url", "--help",
	"--json", "--list-experimental", "--listen", "--listen-prometheus", "--listen-sysapi", "--listen-tls",
	"--log-engine-cycles", "--log-errors-only", "--log-requests", "--max-request-body-bytes",
	"--max-request-header-bytes", "--region-name", "--slack-base-url", "--smtp-additional-domains",
	"--smtp-listen", "--smtp-listen-tls", "--smtp-max-recipients", "--smtp-tls-cert-data",
	"--smtp-tls-cert-file", "--smtp-tls-key-data", "--smtp-tls-key-file", "--stack-traces", "--status-addr",
	"--strict-experimental", "--stub-notifiers", "--sysapi-ca-file", "--sysapi-cert-file",
	"--sysapi-key-file", "--tls-cert-data", "--tls-cert-file", "--tls-key-data", "--tls-key-file",
	"--twilio-base-url", "--ui-dir", "-v, --verbose",
}

func TestHelp_listsEveryFlagWithItsDefault(t *testing.T) {
	r := goalert(t, nil, "--help")
	if r.code != 0 {
		t.Fatalf("goalert --help: got exit %d, want 0; stderr:\n%s", r.code, r.stderr)
	}
	for _, flag := range append([]string{"--clock-speed"}, guideFlags...) {
		if !strings.Contains(r.stdout, flag+" ") {
			t.Errorf("goalert --help: missing %s in:\n%s", flag, r.stdout)
		}
	}
	defaults := map[string]string{
		"--listen string":                `(default "localhost:8081")`,
		"--max-request-body-bytes int":   "(default 262144)",
		"--max-request-header-bytes int": "(default 4096)",
		"--engine-cycle-time duration":   "(default 5s)",
		"--region-name string":           `(default "default")`,
		"--smtp-max-recipients int":      "(default 1)",
		"--db-max-idle int":              "(default 5)",
		"--db-max-open int":              "(default 15)",
		"--clock-speed float":            "(default 1)",
	}
	for flag, want := range defaults {
		if line := lineWith(r.stdout, flag); !strings.HasSuffix(line, want) {
			t.Errorf("goalert --help, line of %s: got %q, want it to end with %s", flag, line, want)
		}
	}
}

func lineWith(text, s string) string {
	for _, line := range strings.Split(text, "\n") {
		if strings.Contains(line, s) {
			return line
		}
	}
	return ""
}

func TestAddUserHelp_matchesGuideFormat(t *testing.T) {
	want := `Adds a user for basic authentication.

Usage:
  goalert add-user [flags]

Flags:
      --admin            If specified, the user will be created with the admin role (ignored if user-id is provided).
      --email string     Specifies the email address of the new user (ignored if user-id is provided).
  -h, --help             help for add-user
      --pass string      Specify new users password (if blank, prompt will be given).
      --user string      Specifies the login username.
      --user-id string   If specified, the auth entry will be created for an existing user ID. Default is to create a new user.

Global Flags:
      --data-encryption-key string       Encryption key for sensitive data like signing keys. Used for encrypting new and decrypting existing data.
      --data-encryption-key-old string   Fallback key. Used for decrypting existing data only.
      --db-url string                    Connection string for Postgres.
      --db-url-next string               Connection string for the *next* Postgres server (enables DB switchover mode).
      --json                             Log in JSON format.
      --stack-traces                     Enables stack traces with all error logs.
  -v, --verbose                          Enable verbose logging.
`
	r := goalert(t, nil, "add-user", "-h")
	if r.code != 0 {
		t.Fatalf("goalert add-user -h: got exit %d, want 0; stderr:\n%s", r.code, r.stderr)
	}
	if got := strings.TrimRight(r.stdout, "\n") + "\n"; got != want {
		t.Errorf("goalert add-user -h:\ngot:\n%s\nwant:\n%s", got, want)
	}
	if strings.Contains(r.stdout, "--listen") {
		t.Errorf("goalert add-user -h lists serve flags:\n%s", r.stdout)
	}
}

func TestVersion(t *testing.T) {
	r := goalert(t, nil, "version")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "goalert version dev\n") || !strings.Contains(r.stdout, "go version: go1.") {
		t.Errorf("goalert version: got exit %d, stdout:\n%s\nwant exit 0 and the version and Go version", r.code, r.stdout)
	}
}

// A flag that asks for something we cannot do must stop start-up, and every other mistake in the
// command line or environment must read as one plain line per problem, with exit code 2.
func TestConfigErrors(t *testing.T) {
	const db = "--db-url=postgres://nope@127.0.0.1:1/x"
	tests := []struct {
		name string
		env  []string
		args []string
		want []string
	}{
		{name: "unsupported flag", args: []string{db, "--ui-dir=/x"},
			want: []string{"error: not supported yet: --ui-dir"}},
		{name: "unsupported flag from env", env: []string{"GOALERT_LISTEN_SYSAPI=:1234"}, args: []string{db},
			want: []string{"error: not supported yet: --listen-sysapi"}},
		{name: "all unsupported flags at once", env: []string{"GOALERT_GITHUB_BASE_URL=http://x"}, args: []string{db, "--listen-sysapi=:1", "--ui-dir=/x"},
			want: []string{"not supported yet: --github-base-url\n", "not supported yet: --listen-sysapi\n", "not supported yet: --ui-dir\n"}},
		{name: "unsupported global flag on a subcommand", args: []string{"migrate", db, "--db-url-next=postgres://x"},
			want: []string{"error: not supported yet: --db-url-next"}},
		{name: "missing db url", args: nil,
			want: []string{"error: --db-url (or GOALERT_DB_URL) is required"}},
		{name: "missing db url for migrate", args: []string{"migrate"},
			want: []string{"error: --db-url (or GOALERT_DB_URL) is required"}},
		{name: "missing db url for add-user", args: []string{"add-user", "--user=a", "--pass=b"},
			want: []string{"error: --db-url (or GOALERT_DB_URL) is required"}},
		{name: "tls without certificate", args: []string{db, "--listen-tls=:8443", "--tls-cert-file=/c"},
			want: []string{"error: --listen-tls requires a certificate and a key"}},
		{name: "strict experimental", args: []string{db, "--strict-experimental", "--experimental=foo"},
			want: []string{"error: unknown experimental feature: foo"}},
		{name: "env applies when the flag is absent", env: []string{"GOALERT_CLOCK_SPEED=0"}, args: []string{db},
			want: []string{"error: --clock-speed must be a positive number"}},
		{name: "invalid env value", env: []string{"GOALERT_DB_MAX_OPEN=many"}, args: []string{db},
			want: []string{`error: invalid GOALERT_DB_MAX_OPEN "many"`}},
		{name: "unknown flag", args: []string{"--bogus"},
			want: []string{"error: unknown flag: --bogus"}},
		{name: "unknown command", args: []string{"serve"},
			want: []string{`error: unknown command "serve" for "goalert"`}},
		{name: "add-user without user", args: []string{"add-user", db},
			want: []string{"error: --user is required"}},
		{name: "add-user with empty piped password", args: []string{"add-user", db, "--user=admin"},
			want: []string{"error: empty password"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := goalert(t, tt.env, tt.args...)
			if r.code != 2 {
				t.Errorf("exit code: got %d, want 2", r.code)
			}
			for _, w := range tt.want {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("stderr: got:\n%s\nwant it to contain %q", r.stderr, w)
				}
			}
		})
	}
}

// parse runs the flag and environment handling of the server in-process, without serving.
func parse(t *testing.T, env map[string]string, args ...string) (Config, error) {
	t.Helper()
	cfg := &Config{}
	fs := pflag.NewFlagSet("goalert", pflag.ContinueOnError)
	addGlobalFlags(fs, cfg)
	addServeFlags(fs, cfg)
	if err := fs.Parse(args); err != nil {
		t.Fatalf("parse %v: %v", args, err)
	}
	if err := applyEnv(fs, func(k string) string { return env[k] }); err != nil {
		return *cfg, err
	}
	cfg.Set = explicitFlags(fs)
	return *cfg, cfg.check(true)
}

func TestParse_defaults(t *testing.T) {
	cfg, err := parse(t, map[string]string{"GOALERT_DB_URL": "postgres://db"})
	if err != nil {
		t.Fatal(err)
	}
	want := Config{
		DBURL: "postgres://db", Listen: "localhost:8081", MaxRequestBodyBytes: 262144, MaxRequestHeaderBytes: 4096,
		EngineCycleTime: 5 * time.Second, RegionName: "default", SMTPMaxRecipients: 1, DBMaxIdle: 5, DBMaxOpen: 15,
		ClockSpeed: 1, Set: map[string]bool{"db-url": true},
	}
	if diff := cmp.Diff(want, cfg); diff != "" {
		t.Errorf("config from defaults (-want +got):\n%s", diff)
	}
}

func TestParse_flagsAndEnv(t *testing.T) {
	const db = "--db-url=postgres://db"
	tests := []struct {
		name  string
		env   map[string]string
		args  []string
		check func(Config) bool
	}{
		{"env applies", map[string]string{"GOALERT_LISTEN": ":1"}, []string{db},
			func(c Config) bool { return c.Listen == ":1" && c.Set["listen"] }},
		{"flag wins over env", map[string]string{"GOALERT_LISTEN": ":1"}, []string{db, "--listen=:2"},
			func(c Config) bool { return c.Listen == ":2" }},
		{"env bool yes", map[string]string{"GOALERT_JSON": "yes", "GOALERT_API_ONLY": "1"}, []string{db},
			func(c Config) bool { return c.JSON && c.APIOnly }},
		{"env bool no is explicit", map[string]string{"GOALERT_JSON": "no"}, []string{db},
			func(c Config) bool { return !c.JSON && c.Set["json"] }},
		{"env list", map[string]string{"GOALERT_EXPERIMENTAL": "a,b"}, []string{db},
			func(c Config) bool { return cmp.Equal(c.Experimental, []string{"a", "b"}) }},
		{"env duration and numbers", map[string]string{"GOALERT_ENGINE_CYCLE_TIME": "1s", "GOALERT_MAX_REQUEST_BODY_BYTES": "0", "GOALERT_CLOCK_SPEED": "60"}, []string{db},
			func(c Config) bool {
				return c.EngineCycleTime == time.Second && c.MaxRequestBodyBytes == 0 && c.ClockSpeed == 60
			}},
		{"explicit defaults pass", map[string]string{"GOALERT_STUB_NOTIFIERS": "false", "GOALERT_SMTP_MAX_RECIPIENTS": "1"}, []string{db},
			func(c Config) bool { return len(c.Unsupported()) == 0 && c.Set["stub-notifiers"] && !c.StubNotifiers }},
		{"tls from data", nil, []string{db, "--listen-tls=:8443", "--tls-cert-data=c", "--tls-key-data=k"},
			func(c Config) bool { return c.ListenTLS == ":8443" }},
		{"verbose short flag", nil, []string{db, "-v"},
			func(c Config) bool { return c.Verbose }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := parse(t, tt.env, tt.args...)
			if err != nil {
				t.Fatalf("got error %v, want none", err)
			}
			if !tt.check(cfg) {
				t.Errorf("env %v, args %v: got config %+v, which fails the check", tt.env, tt.args, cfg)
			}
		})
	}
}

func TestNewLogger_levels(t *testing.T) {
	tests := []struct {
		cfg  Config
		want slog.Level
	}{
		{Config{}, slog.LevelInfo},
		{Config{Verbose: true}, slog.LevelDebug},
		{Config{Verbose: true, LogErrorsOnly: true}, slog.LevelError},
	}
	for _, tt := range tests {
		log := newLogger(tt.cfg, io.Discard)
		for _, l := range []slog.Level{slog.LevelDebug, slog.LevelInfo, slog.LevelWarn, slog.LevelError} {
			if got, want := log.Enabled(context.Background(), l), l >= tt.want; got != want {
				t.Errorf("%+v: level %v enabled: got %v, want %v", tt.cfg, l, got, want)
			}
		}
	}
	var b strings.Builder
	newLogger(Config{JSON: true}, &b).Info("hello")
	if !strings.HasPrefix(b.String(), "{") {
		t.Errorf("--json log line: got %q, want JSON", b.String())
	}
}

func TestListExperimental(t *testing.T) {
	r := goalert(t, nil, "--list-experimental")
	if r.code != 0 || !strings.Contains(r.stdout, "No experimental features") {
		t.Errorf("goalert --list-experimental: got exit %d, stdout %q; want 0 and a statement that there are none", r.code, r.stdout)
	}
}

func TestMigrate_unreachableDatabaseFailsCleanly(t *testing.T) {
	r := goalert(t, nil, "--db-url", "postgres://nope@127.0.0.1:1/x", "migrate")
	if r.code == 0 || !strings.Contains(r.stderr, "error: ") {
		t.Errorf("migrate against a closed port: got exit %d, stderr:\n%s\nwant non-zero and an error line", r.code, r.stderr)
	}
}

func TestDev_bootsPrivatePostgresAndStopsIt(t *testing.T) {
	dir := t.TempDir()
	// Running as root, the server runs as postgres, which must be able to reach the data directory.
	for _, d := range []string{dir, filepath.Dir(dir)} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	listen := net.JoinHostPort("127.0.0.1", freePort(t))
	cmd := exec.Command(binary, "dev", "--listen", listen)
	cmd.Dir = dir
	cmd.Env = cleanEnv()
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	watchdog := time.AfterFunc(2*time.Minute, func() { _ = cmd.Process.Kill() })
	defer watchdog.Stop()

	banner := readUntil(stdout, "--email admin@example.com")
	// Interrupt as a developer would; the server may already have exited on its own.
	_ = cmd.Process.Signal(os.Interrupt)
	rest, _ := io.ReadAll(stdout)
	_ = cmd.Wait()
	if strings.Contains(stderr.String(), "no PostgreSQL server binaries found") {
		t.Skip(stderr.String())
	}

	wantURL := "http://" + listen
	wantCmd := "go run ./cmd/goalert add-user --db-url 'postgres://postgres@/goalert?host=" + filepath.Join(dir, ".data", "pg", "socket") + "&sslmode=disable' --admin --user admin --email admin@example.com"
	for _, want := range []string{wantURL, wantCmd} {
		if !strings.Contains(banner, want) {
			t.Errorf("dev banner: got:\n%s\nwant it to contain %q; stderr:\n%s", banner+string(rest), want, stderr.String())
		}
	}
	if _, err := os.Stat(filepath.Join(dir, ".data", "pg", "postmaster.pid")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("after dev exited, postmaster.pid: got err %v, want the server stopped", err)
	}
	if s := stderr.String(); strings.Contains(s, "panic") || strings.Contains(s, "goroutine ") {
		t.Errorf("dev stderr shows a Go crash:\n%s", s)
	}
}

// readUntil returns what r yields up to and including the first line containing marker, or all of it.
func readUntil(r io.Reader, marker string) string {
	var b strings.Builder
	lines := bufio.NewScanner(r)
	for lines.Scan() {
		b.WriteString(lines.Text() + "\n")
		if strings.Contains(lines.Text(), marker) {
			break
		}
	}
	return b.String()
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, port, _ := net.SplitHostPort(l.Addr().String())
	return port
}
