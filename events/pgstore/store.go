// Package pgstore is the event log in Postgres: append with per-stream
// optimistic concurrency, load a stream, and read everything after a
// checkpoint without ever skipping a slow committer.
package pgstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/oncallhq/goalert/events"
)

// Expected-version values with a special meaning.
const (
	// NoStream requires that the stream does not exist yet.
	NoStream int64 = 0
	// Any appends whatever the stream's version; only for idempotent
	// system writes.
	Any int64 = -1
)

// ErrConflict is matched (errors.Is) by a *ConflictError.
var ErrConflict = errors.New("stream version conflict")

// ConflictError says that a stream moved under an append.
type ConflictError struct {
	Stream   string
	Expected int64
	Actual   int64 // 0 when the stream does not exist
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("append to %s: expected version %d, stream is at %d", e.Stream, e.Expected, e.Actual)
}

func (e *ConflictError) Is(target error) bool { return target == ErrConflict }

// Querier is what the store needs of a connection: a pool, a connection or
// a transaction.
type Querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// Store reads and writes the events table.
type Store struct {
	registry *events.Registry
}

// New returns a store that encodes and decodes events with r.
func New(r *events.Registry) *Store { return &Store{registry: r} }

// Registry returns the registry the store decodes with.
func (s *Store) Registry() *events.Registry { return s.registry }

// Appended describes what an append wrote.
type Appended struct {
	Stream  string
	Version int64 // the stream's version after the append
	// Last is the checkpoint of the last event written; a reader that has
	// passed it has seen the whole append.
	Last events.Checkpoint
	// Replayed is true when every event id was already in the log, so
	// nothing was written (a retried append).
	Replayed bool
}

// The head statements move a stream's version, one per kind of
// expectation. Each writes nothing when an event id is already stored (a
// retried append) or when the stream's last writer is a newer transaction
// than ours, which would make readers see its versions out of order.
const (
	headNew = `
    INSERT INTO event_streams (stream_id, version, transaction_id)
    SELECT $1, $3::bigint, pg_current_xact_id()
    WHERE $2::bigint = 0 AND NOT EXISTS (SELECT 1 FROM events WHERE event_id = ANY($4::uuid[]))
    ON CONFLICT (stream_id) DO NOTHING
    RETURNING version`
	headExpected = `
    UPDATE event_streams SET version = version + $3::bigint, transaction_id = pg_current_xact_id()
    WHERE stream_id = $1 AND version = $2::bigint
      AND transaction_id <= pg_current_xact_id()
      AND NOT EXISTS (SELECT 1 FROM events WHERE event_id = ANY($4::uuid[]))
    RETURNING version`
	headAny = `
    INSERT INTO event_streams AS s (stream_id, version, transaction_id)
    SELECT $1, $3::bigint, pg_current_xact_id()
    WHERE NOT EXISTS (SELECT 1 FROM events WHERE event_id = ANY($4::uuid[]))
    ON CONFLICT (stream_id) DO UPDATE
        SET version = s.version + $3::bigint, transaction_id = pg_current_xact_id()
        WHERE s.transaction_id <= pg_current_xact_id() AND $2::bigint < 0
    RETURNING version`
	appendTail = `
INSERT INTO events (stream_id, stream_version, event_id, event_name, schema_version, payload, metadata, occurred_at)
SELECT $1, head.version - $3::bigint + u.ord, u.id, u.name, u.sv, u.payload, u.meta, u.at
FROM head,
     unnest($4::uuid[], $5::text[], $6::int[], $7::jsonb[], $8::jsonb[], $9::timestamptz[])
         WITH ORDINALITY AS u(id, name, sv, payload, meta, at, ord)
ORDER BY u.ord
RETURNING global_position, transaction_id::text::bigint, stream_version`
)

func appendStatement(expected int64) string {
	switch {
	case expected == NoStream:
		return "WITH head AS (" + headNew + ")" + appendTail
	case expected < 0:
		return "WITH head AS (" + headAny + ")" + appendTail
	default:
		return "WITH head AS (" + headExpected + ")" + appendTail
	}
}

// Append writes recs to stream as its next versions, provided the stream is
// at version expected (NoStream for a new stream, Any for no check). It
// returns a *ConflictError when the stream has moved. Appending records
// whose ids are all in the log already writes nothing and succeeds, so a
// retried append is not a duplicate.
//
// Use a transaction as q to append atomically with other writes; the
// caller commits.
func (s *Store) Append(ctx context.Context, q Querier, stream string, expected int64, recs []events.Record) (Appended, error) {
	if len(recs) == 0 {
		return Appended{}, errors.New("append: no events")
	}
	if stream == "" {
		return Appended{}, errors.New("append: empty stream id")
	}
	n := len(recs)
	ids := make([]uuid.UUID, n)
	names := make([]string, n)
	versions := make([]int32, n)
	payloads := make([][]byte, n)
	metas := make([][]byte, n)
	ats := make([]time.Time, n)
	for i, r := range recs {
		if r.ID == uuid.Nil {
			return Appended{}, fmt.Errorf("append %s: event %d has no id", stream, i)
		}
		if r.OccurredAt.IsZero() {
			return Appended{}, fmt.Errorf("append %s: event %d has no time", stream, i)
		}
		p, err := json.Marshal(r.Event)
		if err != nil {
			return Appended{}, fmt.Errorf("append %s: encode %s: %w", stream, r.Event.EventName(), err)
		}
		m, err := json.Marshal(r.Metadata)
		if err != nil {
			return Appended{}, fmt.Errorf("append %s: encode metadata: %w", stream, err)
		}
		ids[i], names[i], versions[i], payloads[i], metas[i], ats[i] = r.ID, r.Event.EventName(), int32(events.SchemaVersionOf(r.Event)), p, m, r.OccurredAt
	}

	// One statement, one round trip. Already-stored ids make it write
	// nothing (checked in the statement), so a retried append never trips
	// the unique index and never aborts the caller's transaction.
	out := Appended{Stream: stream}
	err := func() error {
		rows, err := q.Query(ctx, appendStatement(expected), stream, expected, int64(n), ids, names, versions, payloads, metas, ats)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var pos, xid, ver int64
			if err := rows.Scan(&pos, &xid, &ver); err != nil {
				return err
			}
			out.Last = events.Checkpoint{TransactionID: uint64(xid), Position: pos}
			out.Version = ver
		}
		return rows.Err()
	}()
	switch {
	case err != nil:
		return Appended{}, fmt.Errorf("append to %s: %w", stream, err)
	case out.Version == 0:
		// Nothing written: the stream moved, or it was written by a newer
		// transaction than ours; or this is a retry of a committed append.
		if r, err := s.replayed(ctx, q, stream, ids); err == nil {
			return r, nil
		}
		actual, err := s.Version(ctx, q, stream)
		if err != nil {
			return Appended{}, err
		}
		return Appended{}, &ConflictError{Stream: stream, Expected: expected, Actual: actual}
	}
	return out, nil
}

// replayed succeeds when every id is already stored in stream.
func (s *Store) replayed(ctx context.Context, q Querier, stream string, ids []uuid.UUID) (Appended, error) {
	var found int
	var ver, pos, xid int64
	err := q.QueryRow(ctx, `
		SELECT count(*), coalesce(max(stream_version), 0), coalesce(max(global_position), 0),
		       coalesce(max(transaction_id::text::bigint), 0)
		FROM events WHERE event_id = ANY($1) AND stream_id = $2`, ids, stream).Scan(&found, &ver, &pos, &xid)
	if err != nil {
		return Appended{}, fmt.Errorf("append to %s: check for a retried append: %w", stream, err)
	}
	if found != len(ids) {
		return Appended{}, fmt.Errorf("append to %s: %d of %d event ids already exist", stream, found, len(ids))
	}
	return Appended{Stream: stream, Version: ver, Last: events.Checkpoint{TransactionID: uint64(xid), Position: pos}, Replayed: true}, nil
}

// Version returns the current version of stream, 0 if it does not exist.
func (s *Store) Version(ctx context.Context, q Querier, stream string) (int64, error) {
	var v int64
	err := q.QueryRow(ctx, `SELECT version FROM event_streams WHERE stream_id = $1`, stream).Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read version of %s: %w", stream, err)
	}
	return v, nil
}

// columns is the select list of every read. Its second column,
// transaction_id::text::bigint, is named transaction_id in the result, and
// a bare ORDER BY transaction_id sorts by that output column, a bigint
// the primary key cannot serve: every pass would read and sort the whole
// rest of the log. So the queries order by events.transaction_id, the
// table's column.
const columns = `global_position, transaction_id::text::bigint, stream_id, stream_version, event_id,
	event_name, schema_version, payload, metadata, occurred_at, recorded_at`

// Load returns the events of stream in version order, from version `from`
// (1 for all).
func (s *Store) Load(ctx context.Context, q Querier, stream string, from int64) ([]events.Envelope, error) {
	rows, err := q.Query(ctx, `SELECT `+columns+` FROM events
		WHERE stream_id = $1 AND stream_version >= $2 ORDER BY stream_version`, stream, from)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", stream, err)
	}
	envs, err := scanAll(rows)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", stream, err)
	}
	return envs, nil
}

// ReadAfter returns up to limit events after cp in (transaction id,
// position) order, taking only rows written by transactions that finished
// before the current snapshot's xmin. A transaction still running holds
// back everything after it, so a slow committer is never skipped.
func (s *Store) ReadAfter(ctx context.Context, q Querier, cp events.Checkpoint, limit int) ([]events.Envelope, error) {
	rows, err := q.Query(ctx, `SELECT `+columns+` FROM events
		WHERE (transaction_id, global_position) > ($1::text::xid8, $2)
		  AND transaction_id < pg_snapshot_xmin(pg_current_snapshot())
		ORDER BY events.transaction_id, events.global_position
		LIMIT $3`, fmt.Sprint(cp.TransactionID), cp.Position, limit)
	if err != nil {
		return nil, fmt.Errorf("read events after %v: %w", cp, err)
	}
	envs, err := scanAll(rows)
	if err != nil {
		return nil, fmt.Errorf("read events after %v: %w", cp, err)
	}
	return envs, nil
}

// Head returns the checkpoint of the newest event readers may see now.
func (s *Store) Head(ctx context.Context, q Querier) (events.Checkpoint, error) {
	var cp events.Checkpoint
	var xid, pos int64
	err := q.QueryRow(ctx, `SELECT transaction_id::text::bigint, global_position FROM events
		WHERE transaction_id < pg_snapshot_xmin(pg_current_snapshot())
		ORDER BY events.transaction_id DESC, events.global_position DESC LIMIT 1`).Scan(&xid, &pos)
	if errors.Is(err, pgx.ErrNoRows) {
		return cp, nil
	}
	if err != nil {
		return cp, fmt.Errorf("read log head: %w", err)
	}
	return events.Checkpoint{TransactionID: uint64(xid), Position: pos}, nil
}

// Scan reads one events row in the column order of the package's queries;
// projections' readers that select the same columns use it.
func Scan(row pgx.Row) (events.Envelope, error) {
	var e events.Envelope
	err := scanInto(row, &e)
	return e, err
}

// scanInto reads a row of columns into e, after the leading columns'
// destinations lead.
func scanInto(row pgx.Row, e *events.Envelope, lead ...any) error {
	var xid int64
	var sv int32
	var payload, meta []byte
	var id pgtype.UUID
	// The payload is read as bytes, not as json.RawMessage, which pgx
	// would run through json.Unmarshal to validate: Postgres has already
	// validated jsonb, and on a replay that check was a tenth of the time.
	err := row.Scan(append(lead, &e.Position, &xid, &e.StreamID, &e.Version, &id, &e.Name, &sv, &payload, &meta, &e.OccurredAt, &e.RecordedAt)...)
	if err != nil {
		return err
	}
	e.TransactionID = uint64(xid)
	e.SchemaVersion = int(sv)
	e.ID = uuid.UUID(id.Bytes)
	e.Payload = payload
	if len(meta) > 0 {
		if err := json.Unmarshal(meta, &e.Metadata); err != nil {
			return fmt.Errorf("decode metadata of event %d: %w", e.Position, err)
		}
	}
	return nil
}

// Columns is the select list Scan expects.
const Columns = columns

func scanAll(rows pgx.Rows) ([]events.Envelope, error) {
	defer rows.Close()
	var out []events.Envelope
	for rows.Next() {
		e, err := Scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// LastCommitted returns the checkpoint of the newest event committed as of
// q's snapshot, whether or not an older transaction still holds readers
// back. A reader that must see everything written so far reads until it
// passes this checkpoint.
func (s *Store) LastCommitted(ctx context.Context, q Querier) (events.Checkpoint, error) {
	var xid, pos int64
	err := q.QueryRow(ctx, `SELECT transaction_id::text::bigint, global_position FROM events
		ORDER BY events.transaction_id DESC, events.global_position DESC LIMIT 1`).Scan(&xid, &pos)
	if errors.Is(err, pgx.ErrNoRows) {
		return events.Checkpoint{}, nil
	}
	if err != nil {
		return events.Checkpoint{}, fmt.Errorf("read newest event: %w", err)
	}
	return events.Checkpoint{TransactionID: uint64(xid), Position: pos}, nil
}
