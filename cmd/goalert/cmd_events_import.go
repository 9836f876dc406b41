package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/spf13/cobra"

	"github.com/oncallhq/goalert/cmd/goalert/app"
	"github.com/oncallhq/goalert/commands"
	"github.com/oncallhq/goalert/events"
	"github.com/oncallhq/goalert/events/pgstore"
)

const defaultImportBatch = 2000

func newEventsImportCommand(cfg *Config, s Streams) *cobra.Command {
	var batch int
	cmd := &cobra.Command{
		Use:   "import [FILE|-]",
		Short: "Load an export into an empty database and rebuild everything from it.",
		Long: "Load the JSON lines written by 'goalert events export' (from FILE, or stdin when FILE is - or\n" +
			"missing) into a database whose event log is empty; the schema is migrated first. Event ids,\n" +
			"streams, versions, names, payloads, metadata and times are kept; positions and transaction\n" +
			"ids are new, in file order. Each batch commits on its own, so an import that fails part way\n" +
			"leaves a partial log: import again into a new database.\n\n" +
			"Then the write-side guard tables (reserved usernames and service names, open alerts,\n" +
			"integration key tokens, system limits, sessions) and every read model are rebuilt from the\n" +
			"imported log. Run it with no server attached to the database." +
			jsonHelp("one JSON document summing up the import,"),
		Args: usageArgs(cobra.MaximumNArgs(1)),
		RunE: adminCommand(cfg, s, func(ctx context.Context, cfg Config, args []string) error {
			if batch <= 0 {
				return usageError{fmt.Errorf("--batch-size must be positive, got %d", batch)}
			}
			path := "-"
			if len(args) == 1 {
				path = args[0]
			}
			return runEventsImport(ctx, cfg, s, path, batch)
		}),
	}
	cmd.Flags().IntVar(&batch, "batch-size", defaultImportBatch, "Events written per transaction.")
	return cmd
}

// importReport is the JSON document of import.
type importReport struct {
	Events  int          `json:"events"`
	Streams int          `json:"streams"`
	Seconds float64      `json:"seconds"`
	Replay  replayReport `json:"replay"`
}

func runEventsImport(ctx context.Context, cfg Config, s Streams, path string, batch int) error {
	in, closeIn, err := openInput(path, s.In)
	if err != nil {
		return err
	}
	defer closeIn()
	pool, err := openLog(ctx, cfg, true)
	if err != nil {
		return err
	}
	defer pool.Close()
	// Checked before reading anything, so the mistake shows at once; the
	// first batch checks again under a lock.
	if err := refuseNonEmptyLog(ctx, pool); err != nil {
		return err
	}
	log := newLogger(cfg, s.Err)
	store := app.NewStore()
	im := newImporter(pool, store.Registry(), batch, log)
	start := time.Now()
	if err := im.run(ctx, in); err != nil {
		return err
	}
	rep := importReport{Events: im.imported, Streams: len(im.versions), Seconds: time.Since(start).Seconds()}
	if err := commands.RebuildGuards(ctx, pool, store); err != nil {
		return err
	}
	rep.Replay, err = replayAll(ctx, pool, log, projectionNames(), defaultReplayBatch, newProgress(cfg, s, log))
	if err != nil {
		return err
	}
	return printImport(s.Out, cfg.JSON, rep)
}

func openInput(path string, stdin io.Reader) (io.Reader, func(), error) {
	if path == "-" {
		return stdin, func() {}, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("open the export: %w", err)
	}
	return f, func() { f.Close() }, nil
}

var errLogNotEmpty = errors.New("the database already has events: import only loads into an empty event log " +
	"(create a new database, or pass the URL of one that was just migrated)")

func refuseNonEmptyLog(ctx context.Context, q pgstore.Querier) error {
	var has bool
	if err := q.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM events)`).Scan(&has); err != nil {
		return fmt.Errorf("check that the event log is empty: %w", err)
	}
	if has {
		return errLogNotEmpty
	}
	return nil
}

func printImport(w io.Writer, asJSON bool, rep importReport) error {
	if asJSON {
		return newJSONLines(w).write(rep)
	}
	d := time.Duration(rep.Seconds * float64(time.Second)).Round(time.Millisecond)
	if _, err := fmt.Fprintf(w, "imported %d events in %d streams in %s\nrebuilt the guard tables\n", rep.Events, rep.Streams, d); err != nil {
		return fmt.Errorf("write output: %w", err)
	}
	return printReplay(w, false, rep.Replay)
}

// importColumns are the columns an import writes; the log assigns
// positions and transaction ids.
var importColumns = []string{"stream_id", "stream_version", "event_id", "event_name", "schema_version",
	"payload", "metadata", "occurred_at", "recorded_at"}

// importer checks and writes the events of an export, batch by batch.
type importer struct {
	pool     *pgxpool.Pool
	registry *events.Registry
	size     int
	log      *slog.Logger
	now      time.Time // recorded_at of events whose line has none

	versions map[string]int64 // the last version read of every stream
	rows     [][]any          // the batch being read
	heads    map[string]int64 // the batch's last version of each stream
	imported int              // events committed
	logged   time.Time
}

func newImporter(pool *pgxpool.Pool, r *events.Registry, size int, log *slog.Logger) *importer {
	now := time.Now()
	return &importer{pool: pool, registry: r, size: size, log: log, now: now, logged: now,
		versions: map[string]int64{}, heads: map[string]int64{}}
}

// run reads in line by line. Lines are read whole, however long: a
// payload can be larger than a scanner's token limit.
func (im *importer) run(ctx context.Context, in io.Reader) error {
	r := bufio.NewReaderSize(in, 1<<20)
	for n := 1; ; n++ {
		b, readErr := r.ReadBytes('\n')
		if readErr != nil && !errors.Is(readErr, io.EOF) {
			return im.stopped(fmt.Errorf("read the export: %w", readErr))
		}
		if len(bytes.TrimSpace(b)) > 0 {
			if err := im.add(b); err != nil {
				return im.stopped(fmt.Errorf("line %d: %w", n, err))
			}
		}
		if len(im.rows) >= im.size || (readErr != nil && len(im.rows) > 0) {
			if err := im.flush(ctx); err != nil {
				return im.stopped(err)
			}
		}
		if readErr != nil {
			return nil
		}
	}
}

// stopped says what a failed import left behind.
func (im *importer) stopped(err error) error {
	if im.imported == 0 {
		return fmt.Errorf("import: %w", err)
	}
	return fmt.Errorf("import stopped after %d events were written: %w; import again into a new database", im.imported, err)
}

func (im *importer) add(b []byte) error {
	var l eventLine
	if err := json.Unmarshal(b, &l); err != nil {
		return fmt.Errorf("not an exported event: %w", err)
	}
	if err := im.check(&l); err != nil {
		return err
	}
	im.versions[l.StreamID] = l.Version
	im.heads[l.StreamID] = l.Version
	im.rows = append(im.rows, []any{l.StreamID, l.Version, l.EventID, l.Name, int32(l.SchemaVersion),
		[]byte(l.Payload), []byte(l.Metadata), l.OccurredAt, l.RecordedAt})
	return nil
}

// check refuses what would break the log or fail on replay, and fills in
// the columns that have defaults.
func (im *importer) check(l *eventLine) error {
	switch {
	case l.StreamID == "":
		return errors.New("no stream_id")
	case l.EventID == uuid.Nil:
		return errors.New("no event_id")
	case l.Name == "":
		return errors.New("no name")
	case l.OccurredAt.IsZero():
		return errors.New("no occurred_at")
	}
	if want := im.versions[l.StreamID] + 1; l.Version != want {
		return fmt.Errorf("stream %s: version %d where %d was expected (import needs whole streams, in log order)", l.StreamID, l.Version, want)
	}
	if l.SchemaVersion == 0 {
		l.SchemaVersion = 1
	}
	if !bytes.HasPrefix(bytes.TrimSpace(l.Payload), []byte("{")) {
		return fmt.Errorf("event %s: the payload is not a JSON object", l.EventID)
	}
	if _, err := im.registry.Decode(l.Name, l.SchemaVersion, l.Payload); err != nil {
		return fmt.Errorf("event %s: %w", l.EventID, err)
	}
	if len(l.Metadata) == 0 {
		l.Metadata = json.RawMessage("{}")
	}
	var m events.Metadata
	if err := json.Unmarshal(l.Metadata, &m); err != nil {
		return fmt.Errorf("event %s: metadata: %w", l.EventID, err)
	}
	if l.RecordedAt.IsZero() {
		l.RecordedAt = im.now
	}
	return nil
}

// flush writes the batch and its streams' heads in one transaction. COPY
// numbers rows in the order given, so positions follow the file, and
// later batches get later transaction ids: the log order is the file's.
func (im *importer) flush(ctx context.Context) error {
	first, last := im.imported+1, im.imported+len(im.rows)
	err := pgx.BeginFunc(ctx, im.pool, func(tx pgx.Tx) error {
		if im.imported == 0 {
			if err := lockEmptyLog(ctx, tx); err != nil {
				return err
			}
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"events"}, importColumns, pgx.CopyFromRows(im.rows)); err != nil {
			return fmt.Errorf("write events: %w", err)
		}
		return im.writeHeads(ctx, tx)
	})
	if err != nil {
		return fmt.Errorf("events %d to %d: %w", first, last, err)
	}
	im.imported = last
	im.rows = im.rows[:0]
	clear(im.heads)
	if time.Since(im.logged) >= 5*time.Second {
		im.logged = time.Now()
		im.log.Info("importing", "events", im.imported)
	}
	return nil
}

// lockEmptyLog holds off every other writer of the log for the first
// batch and checks again that the log is empty: two imports started
// together would otherwise both pass the first check.
func lockEmptyLog(ctx context.Context, tx pgx.Tx) error {
	if _, err := tx.Exec(ctx, `LOCK TABLE events IN EXCLUSIVE MODE`); err != nil {
		return fmt.Errorf("lock the event log: %w", err)
	}
	return refuseNonEmptyLog(ctx, tx)
}

func (im *importer) writeHeads(ctx context.Context, tx pgx.Tx) error {
	streams := make([]string, 0, len(im.heads))
	versions := make([]int64, 0, len(im.heads))
	for s, v := range im.heads {
		streams = append(streams, s)
		versions = append(versions, v)
	}
	_, err := tx.Exec(ctx, `
		INSERT INTO event_streams (stream_id, version, transaction_id)
		SELECT s, v, pg_current_xact_id() FROM unnest($1::text[], $2::bigint[]) AS u(s, v)
		ON CONFLICT (stream_id) DO UPDATE SET version = excluded.version, transaction_id = excluded.transaction_id`,
		streams, versions)
	if err != nil {
		return fmt.Errorf("write stream heads: %w", err)
	}
	return nil
}
