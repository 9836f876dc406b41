package main

import (
	"bytes"
	"context"
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/oncallhq/goalert/adapters/postgres/pgtest"
)

// Each workload runs briefly against one kept test database, in turn, so
// that lag and rebuild also meet a log that already holds other runs'
// events, and prints its summary line.
func TestWorkloadsPrintTheirSummary(t *testing.T) {
	t.Parallel()
	url := pgtest.NewURL(t)
	cases := []struct {
		args []string
		want string
	}{
		{
			[]string{"append", "--writers=2", "--duration=1s"},
			`^append: writers=2 events=[1-9]\d* rate=\d+/s p50=\S+ p99=\S+ max=\S+ baseline=(\d+tps ratio=[\d.]+|skipped \(pgbench not found\))$`,
		},
		{
			[]string{"lag", "--writers=2", "--rate=200", "--duration=1s"},
			`^lag: writers=2 target=200/s appended=([1-9]\d*) \(\d+/s\) delivered=([1-9]\d*) \(\d+/s\) p50=\S+ p90=\S+ p99=\S+ max=\S+$`,
		},
		{
			[]string{"rebuild", "--events=3000", "--streams=30", "--writers=2", "--batch=500"},
			`^rebuild: events=3000 streams=30 seed=\d+/s \(\S+\) batch=500 rebuilt=\d+ rebuild=\d+/s \(\S+\) peak_rss=\d+MiB`,
		},
	}
	for _, c := range cases {
		t.Run(c.args[0], func(t *testing.T) {
			out := runOK(t, append(c.args, "--fresh=false", "--db-url="+url)...)
			if !regexp.MustCompile(c.want).MatchString(out) {
				t.Errorf("summary %q does not match %s", out, c.want)
			}
		})
	}
}

// --json prints one object, and --fresh leaves no database behind.
func TestJSONSummaryInAFreshDatabase(t *testing.T) {
	t.Parallel()
	admin := pgtest.NewURL(t)
	before := benchDatabases(t, admin)
	out := runOK(t, "append", "--writers=1", "--duration=300ms", "--baseline=false", "--json", "--db-url="+admin)
	var got appendResult
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("summary is not JSON: %v\n%s", err, out)
	}
	if got.Workload != "append" || got.Events == 0 || got.P99Ms <= 0 {
		t.Errorf("implausible summary %+v", got)
	}
	for _, name := range benchDatabases(t, admin) {
		if !slices.Contains(before, name) {
			t.Errorf("database %s was left behind", name)
		}
	}
}

func TestUsage(t *testing.T) {
	var out, errs bytes.Buffer
	if code := run(context.Background(), []string{"-h"}, &out, &errs); code != 0 {
		t.Errorf("-h exited %d", code)
	}
	for _, w := range workloads {
		if !strings.Contains(out.String(), w.name) {
			t.Errorf("-h does not list %s:\n%s", w.name, out.String())
		}
	}
	for _, args := range [][]string{nil, {"nope"}, {"append", "--writers=0"}, {"lag", "extra"}} {
		if code := run(context.Background(), args, &out, &errs); code != 2 {
			t.Errorf("%q exited %d, want 2", args, code)
		}
	}
}

func runOK(t *testing.T, args ...string) string {
	t.Helper()
	var out, errs bytes.Buffer
	if code := run(t.Context(), args, &out, &errs); code != 0 {
		t.Fatalf("%q exited %d\nstdout:\n%s\nstderr:\n%s", args, code, out.String(), errs.String())
	}
	return strings.TrimSpace(out.String())
}

func benchDatabases(t *testing.T, url string) []string {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(t.Context())
	rows, err := conn.Query(t.Context(), `SELECT datname FROM pg_database WHERE datname LIKE 'goalert\_bench\_%'`)
	if err != nil {
		t.Fatal(err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return names
}
