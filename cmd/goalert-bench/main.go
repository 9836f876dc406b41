// Command goalert-bench measures the event store and the projection runner
// against a real Postgres server: append throughput and latency, projection
// lag under a steady write rate, and full projection rebuilds.
//
// Each workload is a subcommand; `goalert-bench -h` lists them and
// `goalert-bench <workload> -h` lists its flags. By default every run
// creates a throwaway database on the server and drops it afterwards, so
// runs do not disturb each other or any existing data.
package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math"
	"net/url"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/oncallhq/goalert/adapters/postgres"
	"github.com/oncallhq/goalert/events"
	"github.com/oncallhq/goalert/events/pgstore"
	"github.com/oncallhq/goalert/projections"
)

// defaultURL is the server used when neither --db-url nor
// TEST_DATABASE_URL is set; it matches the test suite's default.
const defaultURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// workload is one subcommand.
type workload struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

var workloads = []workload{
	{"append", "concurrent single-event appends to new streams, against a pgbench INSERT baseline", runAppend},
	{"lag", "time from an append's commit to the projection applying it, at a paced write rate", runLag},
	{"rebuild", "seed a large log, then time a full rebuild of a projection", runRebuild},
	{"ingest", "distinct alerts through the generic HTTP API from concurrent clients", runIngest},
	{"seed", "write a realistic log of the product's own events (users, services, alerts) with COPY", runSeed},
	{"replay", "time rebuilding every read model of the product from a seeded log", runReplay},
	{"page", "page latency: generic API 2xx to the webhook receiving the page", runPage},
	{"fanout", "one alert each for many users' webhooks at once, until all pages arrived", runFanout},
	{"timers", "escalation timer accuracy: lateness of 1-minute escalations", runTimers},
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// errUsage marks a bad command line, which exits 2 rather than 1.
var errUsage = errors.New("usage")

// run executes one workload and returns the exit code: 0 on success, 1 when
// the workload failed, 2 for a bad command line.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		usage(stdout)
		return 0
	}
	for _, w := range workloads {
		if w.name != args[0] {
			continue
		}
		err := w.run(ctx, args[1:], stdout, stderr)
		switch {
		case err == nil, errors.Is(err, flag.ErrHelp):
			return 0
		case errors.Is(err, errUsage):
			return 2
		default:
			fmt.Fprintf(stderr, "%s: %v\n", w.name, err)
			return 1
		}
	}
	fmt.Fprintf(stderr, "unknown workload %q\n\n", args[0])
	usage(stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "Usage: goalert-bench <workload> [flags]")
	fmt.Fprintln(w, "\nWorkloads:")
	for _, wl := range workloads {
		fmt.Fprintf(w, "  %-8s %s\n", wl.name, wl.summary)
	}
	fmt.Fprintln(w, "\nRun 'goalert-bench <workload> -h' for its flags.")
}

// common holds the flags every workload takes.
type common struct {
	dbURL    string
	fresh    bool
	duration time.Duration
	json     bool
}

// newFlags returns the workload's flag set with the common flags on it.
// Workloads that run to completion rather than for a while pass
// timed=false and get no --duration.
func newFlags(name string, stderr io.Writer, c *common, timed bool) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: goalert-bench %s [flags]\n\n", name)
		fs.PrintDefaults()
	}
	def := os.Getenv("TEST_DATABASE_URL")
	if def == "" {
		def = defaultURL
	}
	fs.StringVar(&c.dbURL, "db-url", def, "Postgres URL; $TEST_DATABASE_URL sets the default")
	fs.BoolVar(&c.fresh, "fresh", true, "create a throwaway goalert_bench_* database on the server, and drop it afterwards; false uses --db-url's database as is (after migrating it)")
	if timed {
		fs.DurationVar(&c.duration, "duration", 10*time.Second, "how long the writers run")
	}
	fs.BoolVar(&c.json, "json", false, "print the summary as one JSON object")
	return fs
}

// parse parses args, turning a bad command line into errUsage (the flag
// package has already printed why).
func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(fs.Output(), "unexpected arguments: %s\n", strings.Join(fs.Args(), " "))
		return errUsage
	}
	return nil
}

// positive checks that every named flag value is above zero.
func positive(fs *flag.FlagSet, vals map[string]float64) error {
	for _, name := range slices.Sorted(maps.Keys(vals)) {
		if vals[name] <= 0 {
			fmt.Fprintf(fs.Output(), "--%s must be positive\n", name)
			return errUsage
		}
	}
	return nil
}

// database is the migrated database a workload runs in.
type database struct {
	URL   string
	Pool  *pgxpool.Pool
	close func()
}

// Close closes the pool and drops the database if it was created for the
// run.
func (d *database) Close() { d.close() }

// openDatabase connects to the database the common flags name, creating it
// first when --fresh, and migrates it. Failures to drop a fresh database
// are reported on stderr.
func openDatabase(ctx context.Context, c common, maxConns int32, stderr io.Writer) (*database, error) {
	target, drop := c.dbURL, func() {}
	if c.fresh {
		var err error
		if target, drop, err = createDatabase(ctx, c.dbURL, stderr); err != nil {
			return nil, err
		}
	}
	pool, err := postgres.Connect(ctx, target, postgres.Options{MaxConns: maxConns})
	if err != nil {
		drop()
		return nil, err
	}
	if _, err := postgres.Migrate(ctx, pool); err != nil {
		pool.Close()
		drop()
		return nil, fmt.Errorf("migrate: %w", err)
	}
	return &database{URL: target, Pool: pool, close: func() { pool.Close(); drop() }}, nil
}

// createDatabase creates an empty goalert_bench_<random> database on the
// server of adminURL and returns its URL and a function dropping it.
func createDatabase(ctx context.Context, adminURL string, stderr io.Writer) (string, func(), error) {
	u, err := url.Parse(adminURL)
	if err != nil {
		return "", nil, fmt.Errorf("parse --db-url: %w", err)
	}
	admin, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return "", nil, fmt.Errorf("connect to create the benchmark database: %w", err)
	}
	defer admin.Close(context.WithoutCancel(ctx))
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := "goalert_bench_" + hex.EncodeToString(b)
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		return "", nil, fmt.Errorf("create database %s: %w", name, err)
	}
	fmt.Fprintf(stderr, "using throwaway database %s (dropped at the end)\n", name)
	drop := func() {
		// The run's context may be cancelled (Ctrl-C); the database must
		// still go.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		c, err := pgx.Connect(ctx, adminURL)
		if err != nil {
			fmt.Fprintf(stderr, "could not drop database %s: %v\n", name, err)
			return
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			fmt.Fprintf(stderr, "could not drop database %s: %v\n", name, err)
		}
	}
	u.Path = "/" + name
	return u.String(), drop, nil
}

// benchPinged is the only event the benchmarks write: small, like most
// product events, so that the store's overhead rather than payload size
// is measured.
type benchPinged struct {
	N int `json:"n"`
}

func (benchPinged) EventName() string { return "bench.pinged" }

func newStore() *pgstore.Store {
	r := events.NewEmptyRegistry()
	r.Register(benchPinged{})
	return pgstore.New(r)
}

func newRecord(n int) events.Record {
	return events.Record{
		ID:         uuid.Must(uuid.NewV7()),
		Event:      benchPinged{N: n},
		Metadata:   events.Metadata{Actor: "system", Source: "bench"},
		OccurredAt: time.Now(),
	}
}

// newStreamID names a stream no other run uses, so that runs against a
// kept database never conflict.
func newStreamID() string { return events.StreamID("bench", uuid.Must(uuid.NewV7()).String()) }

// quietLogger shows the runner's warnings and errors but not watermill's
// per-poll chatter.
func quietLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// benchProjection is the trivial read model of the lag and rebuild
// workloads: one row per event, written with one statement per batch.
type benchProjection struct {
	// applied, when set, is told of every event once its row is written.
	applied func(ids []uuid.UUID)
}

const projectionTable = "bench_applied"

func (benchProjection) Name() string      { return "bench" }
func (benchProjection) Handles() []string { return []string{benchPinged{}.EventName()} }
func (benchProjection) Tables() []string  { return []string{projectionTable} }

func (p benchProjection) Apply(ctx context.Context, tx pgx.Tx, batch []projections.Event) error {
	ids := make([]uuid.UUID, len(batch))
	streams := make([]string, len(batch))
	versions := make([]int64, len(batch))
	for i, e := range batch {
		ids[i], streams[i], versions[i] = e.ID, e.StreamID, e.Version
	}
	_, err := tx.Exec(ctx, `INSERT INTO `+projectionTable+` (event_id, stream_id, version)
		SELECT * FROM unnest($1::uuid[], $2::text[], $3::bigint[])`, ids, streams, versions)
	if err != nil {
		return fmt.Errorf("bench projection: %w", err)
	}
	if p.applied != nil {
		p.applied(ids)
	}
	return nil
}

func createProjectionTable(ctx context.Context, pool *pgxpool.Pool) error {
	_, err := pool.Exec(ctx, `CREATE TABLE IF NOT EXISTS `+projectionTable+` (
		event_id uuid PRIMARY KEY, stream_id text NOT NULL, version bigint NOT NULL)`)
	if err != nil {
		return fmt.Errorf("create %s: %w", projectionTable, err)
	}
	return nil
}

// percentiles summarizes a latency sample.
type percentiles struct {
	P50, P90, P99, Max time.Duration
}

// summarize returns nearest-rank percentiles of ds, sorting it in place.
func summarize(ds []time.Duration) percentiles {
	if len(ds) == 0 {
		return percentiles{}
	}
	slices.Sort(ds)
	at := func(p float64) time.Duration {
		i := int(math.Ceil(p*float64(len(ds)))) - 1
		return ds[max(i, 0)]
	}
	return percentiles{P50: at(0.50), P90: at(0.90), P99: at(0.99), Max: ds[len(ds)-1]}
}

// ms turns a duration into fractional milliseconds for JSON output.
func ms(d time.Duration) float64 { return math.Round(float64(d)/1e3) / 1e3 }

// fmtDur prints a latency with about three significant digits.
func fmtDur(d time.Duration) string {
	switch {
	case d >= time.Second:
		return strconv.FormatFloat(d.Seconds(), 'f', 2, 64) + "s"
	case d >= 10*time.Millisecond:
		return strconv.FormatFloat(float64(d)/1e6, 'f', 0, 64) + "ms"
	default:
		return strconv.FormatFloat(float64(d)/1e6, 'f', 2, 64) + "ms"
	}
}

// report prints a workload's summary: the human line, or with --json the
// fields as one object.
func report(w io.Writer, asJSON bool, human string, fields any) error {
	if !asJSON {
		_, err := fmt.Fprintln(w, human)
		return err
	}
	b, err := json.Marshal(fields)
	if err != nil {
		return fmt.Errorf("encode summary: %w", err)
	}
	_, err = fmt.Fprintln(w, string(b))
	return err
}

// peakRSS returns the process's peak resident set size (VmHWM), 0 where
// /proc is not available.
func peakRSS() int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:")
		if !ok {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
		if err != nil {
			return 0
		}
		return kb << 10
	}
	return 0
}

// resetPeakRSS restarts the VmHWM high-water mark from the current RSS, so
// that one phase's peak can be told from an earlier phase's. It reports
// whether the kernel allowed it.
func resetPeakRSS() bool {
	return os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil
}

func mib(b int64) float64 { return math.Round(float64(b)/(1<<20)*10) / 10 }

// firstError keeps the first error of several goroutines.
type firstError struct {
	mu  sync.Mutex
	err error
}

func (f *firstError) set(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err == nil {
		f.err = err
	}
}

func (f *firstError) get() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.err
}
