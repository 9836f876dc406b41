package main

// Helpers shared by the admin commands that read the event log (events,
// replay, alert history, audit).

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"text/tabwriter"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/oncallhq/goalert/adapters/postgres"
	"github.com/oncallhq/goalert/cmd/goalert/app"
	"github.com/oncallhq/goalert/events"
	"github.com/oncallhq/goalert/events/pgstore"
	"github.com/oncallhq/goalert/projections"
)

// jsonHelp ends the help of every admin command: --json is the global "log
// in JSON" flag, and these commands also take it as the switch from tables
// to machine-readable output, described by what.
func jsonHelp(what string) string {
	return "\n\nWith the global --json flag (which also makes the logs JSON), the output is\n" + what + "\nfor scripts, instead of tables and lines for people."
}

// adminCommand wires an admin command's RunE: it checks the global
// configuration, then runs action with panics turned into errors.
func adminCommand(cfg *Config, s Streams, action func(ctx context.Context, cfg Config, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		if err := cfg.check(true); err != nil {
			return err
		}
		return callAction(*cfg, s, func() error { return action(cmd.Context(), *cfg, args) })
	}
}

// usageArgs makes a wrong number of arguments a usage error (exit 2),
// like every other command-line mistake.
func usageArgs(check cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := check(cmd, args); err != nil {
			return usageError{fmt.Errorf("%w (see '%s --help')", err, cmd.CommandPath())}
		}
		return nil
	}
}

// parentCommand returns a command that only groups subcommands: alone it
// prints its help, and an unknown subcommand is a usage error.
func parentCommand(use, short string, subs ...*cobra.Command) *cobra.Command {
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
		Args:  rootArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(subs...)
	return cmd
}

// openLog connects to the database of an admin command. Readers refuse a
// database without an event log instead of failing on a missing table;
// writers (migrate true) bring the schema up to date first, as add-user
// does.
func openLog(ctx context.Context, cfg Config, migrate bool) (*pgxpool.Pool, error) {
	pool, err := postgres.Connect(ctx, cfg.DBURL, postgres.Options{MaxConns: 4})
	if err != nil {
		return nil, err
	}
	if migrate {
		_, err = postgres.Migrate(ctx, pool)
	} else {
		err = requireLog(ctx, pool)
	}
	if err != nil {
		pool.Close()
		return nil, err
	}
	return pool, nil
}

func requireLog(ctx context.Context, pool *pgxpool.Pool) error {
	var exists bool
	if err := pool.QueryRow(ctx, `SELECT to_regclass('events') IS NOT NULL`).Scan(&exists); err != nil {
		return fmt.Errorf("look for the event log: %w", err)
	}
	if !exists {
		return errors.New("this database has no event log: run 'goalert migrate' or 'goalert events import' first")
	}
	return nil
}

// newRunner returns a runner over every read model, built the way the
// server builds its own (cmd/goalert/app).
func newRunner(pool *pgxpool.Pool, store *pgstore.Store, log *slog.Logger) *projections.Runner {
	return projections.NewRunner(pool, store, log, app.Projections()...)
}

// eventLine is one event with every column of the events table: the
// format of `events export` and `events import`, and of every command's
// JSON output of events.
type eventLine struct {
	Position      int64           `json:"position"`
	TransactionID uint64          `json:"transaction_id"`
	StreamID      string          `json:"stream_id"`
	Version       int64           `json:"version"`
	EventID       uuid.UUID       `json:"event_id"`
	Name          string          `json:"name"`
	SchemaVersion int             `json:"schema_version"`
	Payload       json.RawMessage `json:"payload"`
	Metadata      json.RawMessage `json:"metadata"`
	OccurredAt    time.Time       `json:"occurred_at"`
	RecordedAt    time.Time       `json:"recorded_at"`
}

// scanEventLine reads a row selected with pgstore.Columns. Unlike
// pgstore.Scan it keeps the metadata as stored, so that an export carries
// keys this build does not know.
func scanEventLine(row pgx.Row) (eventLine, error) {
	var l eventLine
	var xid int64
	var sv int32
	var id pgtype.UUID
	var payload, meta []byte
	err := row.Scan(&l.Position, &xid, &l.StreamID, &l.Version, &id, &l.Name, &sv, &payload, &meta, &l.OccurredAt, &l.RecordedAt)
	if err != nil {
		return l, fmt.Errorf("read event: %w", err)
	}
	l.TransactionID, l.SchemaVersion, l.EventID = uint64(xid), int(sv), uuid.UUID(id.Bytes)
	l.Payload, l.Metadata = payload, meta
	return l, nil
}

// lineFromEnvelope is an event as people see it (show, tail, audit):
// secret fields are masked. Exports keep payloads whole (scanEventLine).
func lineFromEnvelope(env events.Envelope) eventLine {
	meta, _ := json.Marshal(env.Metadata) // a struct of strings always encodes
	return eventLine{
		Position: env.Position, TransactionID: env.TransactionID, StreamID: env.StreamID, Version: env.Version,
		EventID: env.ID, Name: env.Name, SchemaVersion: env.SchemaVersion, Payload: json.RawMessage(events.Redact(env.Payload)),
		Metadata: meta, OccurredAt: env.OccurredAt, RecordedAt: env.RecordedAt,
	}
}

// meta decodes the metadata for display; metadata that does not decode
// shows as empty rather than hiding the event.
func (l eventLine) meta() events.Metadata {
	var m events.Metadata
	_ = json.Unmarshal(l.Metadata, &m)
	return m
}

// actor names who caused an event: the display name recorded with it, or
// the principal when there is none.
func actor(m events.Metadata) string {
	if m.ActorName != "" {
		return m.ActorName
	}
	return m.Actor
}

// compactJSON renders stored JSON (which Postgres prints with spaces) on
// one short line.
func compactJSON(b []byte) string {
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		return string(b)
	}
	return buf.String()
}

// formatTime is how tables show times: RFC 3339 in UTC, the form --since
// and --until accept.
func formatTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// jsonLines writes values as JSON lines. HTML escaping is off: the output
// is read by scripts and people, never embedded in a page.
type jsonLines struct{ enc *json.Encoder }

func newJSONLines(w io.Writer) jsonLines {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return jsonLines{enc}
}

func (j jsonLines) write(v any) error {
	if err := j.enc.Encode(v); err != nil {
		return fmt.Errorf("write output: %w", err)
	}
	return nil
}

// newTable returns a writer that aligns tab-separated columns; Flush it.
func newTable(w io.Writer, header string) *tabwriter.Writer {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, header)
	return tw
}

// isTerminal reports whether w is a terminal, where progress can be
// redrawn in place.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// timeFlag parses an optional RFC 3339 time given to the flag named name.
func timeFlag(name, v string) (*time.Time, error) {
	if v == "" {
		return nil, nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return nil, usageError{fmt.Errorf("--%s: %q is not an RFC 3339 time (like 2026-01-02T15:04:05Z)", name, v)}
	}
	return &t, nil
}

// window is a time range on occurred_at: from since (inclusive) to until
// (exclusive); nil ends are open.
type window struct{ since, until *time.Time }

func parseWindow(since, until string) (window, error) {
	s, err := timeFlag("since", since)
	if err != nil {
		return window{}, err
	}
	u, err := timeFlag("until", until)
	if err != nil {
		return window{}, err
	}
	if s != nil && u != nil && !u.After(*s) {
		return window{}, usageError{errors.New("--until must be after --since")}
	}
	return window{s, u}, nil
}

// dash fills an empty table cell, so that columns stay readable.
func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
