package main

import (
	"bytes"
	"context"
	"encoding/json"
	"github.com/oncallhq/goalert/cmd/goalert/app"
	"io"
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
	var stdout, stderr bytes.Buffer
	args := []string{"append", "--writers=1", "--duration=300ms", "--baseline=false", "--json", "--db-url=" + admin}
	if code := run(t.Context(), args, &stdout, &stderr); code != 0 {
		t.Fatalf("%q exited %d\nstderr:\n%s", args, code, stderr.String())
	}
	out := strings.TrimSpace(stdout.String())
	var got appendResult
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("summary is not JSON: %v\n%s", err, out)
	}
	if got.Workload != "append" || got.Events == 0 || got.P99Ms <= 0 {
		t.Errorf("implausible summary %+v", got)
	}
	// Other benchmark runs may share the server, so only this run's own
	// database, which it names on stderr, must be gone.
	m := regexp.MustCompile(`throwaway database (goalert_bench_\w+)`).FindStringSubmatch(stderr.String())
	if m == nil {
		t.Fatalf("the run did not name its throwaway database; stderr:\n%s", stderr.String())
	}
	if slices.Contains(benchDatabases(t, admin), m[1]) {
		t.Errorf("database %s was left behind", m[1])
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

// replay seeds an empty database with a product log and replays it; a
// database seeded once serves later replays, which read it as it is. (The
// databases are the test's own: a --fresh one would show up as left
// behind to the test that checks for those.)
func TestSeedAndReplay(t *testing.T) {
	t.Parallel()
	empty := pgtest.NewURL(t)
	out := runOK(t, "replay", "--events=3000", "--chunk=700", "--runs=2", "--fresh=false", "--db-url="+empty)
	want := regexp.MustCompile(`^seed: events=3000 streams=\d+ rate=\d+/s \(\S+\) users=2 services=1 alerts=[1-9]\d* log=\d+MiB\n` +
		`replay: run=1 events=3000 batch=5000 time=\S+ rate=\d+/s \(users=\S+ services=\S+ alerts=\S+ paging=\S+ oncall=\S+\) peak_rss=\d+MiB.*\n` +
		`replay: run=2 events=3000 .*$`)
	if !want.MatchString(out) {
		t.Errorf("replay in an empty database: summary %q does not match %s", out, want)
	}

	kept := pgtest.NewURL(t)
	out = runOK(t, "seed", "--events=2500", "--fresh=false", "--db-url="+kept)
	if !regexp.MustCompile(`^seed: events=2500 .* guards=\S+$`).MatchString(out) {
		t.Errorf("seed summary %q", out)
	}
	conn, err := pgx.Connect(t.Context(), kept)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(t.Context())
	rows, err := conn.Query(t.Context(), `SELECT event_name, count(*)::int FROM events GROUP BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]int{}
	for rows.Next() {
		var n string
		var c int
		if err := rows.Scan(&n, &c); err != nil {
			t.Fatal(err)
		}
		byName[n] = c
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	// Alert traffic dominates; most alerts are acknowledged and closed.
	if tr := byName["alert.triggered"]; tr < 500 || byName["alert.closed"] < tr/2 || byName["alert.acknowledged"] < tr/2 ||
		byName["user.created"] != 2 || byName["service.created"] != 1 {
		t.Errorf("seeded log: %v, want mostly alert traffic over 2 users and 1 service", byName)
	}
	var streams, heads int
	if err := conn.QueryRow(t.Context(), `SELECT (SELECT count(DISTINCT stream_id) FROM events),
		(SELECT count(*) FROM event_streams s WHERE version = (SELECT max(stream_version) FROM events e WHERE e.stream_id = s.stream_id))`).Scan(&streams, &heads); err != nil {
		t.Fatal(err)
	}
	if heads != streams {
		t.Errorf("%d streams but %d heads at their last version", streams, heads)
	}
	out = runOK(t, "replay", "--fresh=false", "--json", "--db-url="+kept)
	var got replayResult
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("replay --json: %v\n%s", err, out)
	}
	if got.Seed != nil || got.LogEvents != 2500 || got.Rate <= 0 || len(got.Projections) != len(app.Projections()) {
		t.Errorf("replay of a seeded database: %+v, want the 2500 events replayed into every projection without seeding", got)
	}
	if r := runOK(t, "replay", "--fresh=false", "--db-url="+kept); !strings.HasPrefix(r, "replay: run=1 events=2500 ") {
		t.Errorf("second replay: %q", r)
	}
	var errs bytes.Buffer
	if code := run(t.Context(), []string{"seed", "--events=10", "--fresh=false", "--db-url=" + kept}, io.Discard, &errs); code != 1 ||
		!strings.Contains(errs.String(), "already has events") {
		t.Errorf("seed into a log with events: exit %d, stderr %q; want 1 and a refusal", code, errs.String())
	}
}
