package projections

import (
	stdsql "database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	wsql "github.com/ThreeDotsLabs/watermill-sql/v4/pkg/sql"
	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/oncallhq/goalert/events"
)

// topic names the one watermill topic: the events table itself.
const topic = "events"

// offsetsTable holds every projection's checkpoint, one row per consumer
// group, in the layout of watermill-sql's PostgreSQL offsets adapter.
const offsetsTable = "projection_offsets"

func offsetsAdapter() wsql.DefaultPostgreSQLOffsetsAdapter {
	return wsql.DefaultPostgreSQLOffsetsAdapter{
		GenerateMessagesOffsetsTableName: func(string) string { return offsetsTable },
	}
}

// eventsSchema is a read-only watermill-sql schema adapter over the events
// table, so that projections consume the log itself rather than a second
// copy of it. Appends go through pgstore, never through watermill.
type eventsSchema struct {
	batchSize int
}

var _ wsql.SchemaAdapter = eventsSchema{}

func (eventsSchema) InsertQuery(wsql.InsertQueryParams) (wsql.Query, error) {
	return wsql.Query{}, errors.New("events are appended through the event store, not published through watermill")
}

// SelectQuery reads the next batch after the consumer group's checkpoint,
// in (transaction id, position) order, below the snapshot's xmin, and
// returns it as ONE row: the batch's last position and transaction id (the
// checkpoint after it) and its events as a JSON array. One message per
// batch lets a projection apply the batch in a few round trips instead of
// a few per event. The checkpoint row is locked FOR UPDATE (the offsets
// adapter's query), which makes one subscriber per group the active one.
//
// The row comparison lets Postgres walk the primary key from the
// checkpoint and stop after the batch; watermill's own OR-form predicate
// scans the whole unconsumed backlog on every poll.
func (s eventsSchema) SelectQuery(p wsql.SelectQueryParams) (wsql.Query, error) {
	next, err := p.OffsetsAdapter.NextOffsetQuery(wsql.NextOffsetQueryParams{Topic: p.Topic, ConsumerGroup: p.ConsumerGroup})
	if err != nil {
		return wsql.Query{}, err
	}
	q := `WITH last_processed AS (` + next.Query + `),
	batch AS (
		SELECT e.global_position, e.transaction_id, e.event_id, e.stream_id, e.stream_version, e.event_name,
		       e.schema_version, e.payload, e.metadata, e.occurred_at, e.recorded_at
		FROM events e
		WHERE (e.transaction_id, e.global_position) >
		      ((SELECT last_processed_transaction_id FROM last_processed), (SELECT coalesce(offset_acked, 0) FROM last_processed))
		  AND e.transaction_id < pg_snapshot_xmin(pg_current_snapshot())
		ORDER BY e.transaction_id, e.global_position
		LIMIT ` + strconv.Itoa(s.batchSize) + `
	)
	SELECT last.global_position, last.transaction_id,
	       (SELECT json_agg(json_build_array(global_position, transaction_id::text, event_id, stream_id, stream_version,
	               event_name, schema_version, payload, metadata, occurred_at, recorded_at)
	               ORDER BY transaction_id, global_position) FROM batch)
	FROM (SELECT global_position, transaction_id FROM batch
	      ORDER BY transaction_id DESC, global_position DESC LIMIT 1) last`
	return wsql.Query{Query: q, Args: next.Args}, nil
}

func (eventsSchema) UnmarshalMessage(p wsql.UnmarshalMessageParams) (wsql.Row, error) {
	var r wsql.Row
	var xid wsql.XID8
	var batch []byte
	if err := p.Row.Scan(&r.Offset, &xid, &batch); err != nil {
		return wsql.Row{}, fmt.Errorf("scan event batch: %w", err)
	}
	id := fmt.Sprintf("batch-%d-%d", uint64(xid), r.Offset)
	r.UUID = []byte(id)
	r.Payload = batch
	r.Msg = message.NewMessage(id, batch)
	r.ExtraData = map[string]any{"transaction_id": xid}
	return r, nil
}

func (eventsSchema) SchemaInitializingQueries(wsql.SchemaInitializingQueriesParams) ([]wsql.Query, error) {
	return nil, nil // migrations own the schema
}

// SubscribeIsolationLevel must be explicit: watermill's pgx adapter turns
// the zero value into SERIALIZABLE.
func (eventsSchema) SubscribeIsolationLevel() stdsql.IsolationLevel {
	return stdsql.LevelRepeatableRead
}

// envelopesOf decodes a batch message into its events, in log order.
func envelopesOf(msg *message.Message) ([]events.Envelope, error) {
	var rows []json.RawMessage
	if err := json.Unmarshal(msg.Payload, &rows); err != nil {
		return nil, fmt.Errorf("decode event batch: %w", err)
	}
	out := make([]events.Envelope, len(rows))
	for i, raw := range rows {
		var (
			e        events.Envelope
			xid      string
			payload  json.RawMessage
			meta     json.RawMessage
			occurred time.Time
			recorded time.Time
		)
		fields := []any{&e.Position, &xid, &e.ID, &e.StreamID, &e.Version, &e.Name, &e.SchemaVersion, &payload, &meta, &occurred, &recorded}
		if err := json.Unmarshal(raw, &fields); err != nil {
			return nil, fmt.Errorf("decode event %d of batch: %w", i, err)
		}
		var err error
		if e.TransactionID, err = strconv.ParseUint(xid, 10, 64); err != nil {
			return nil, fmt.Errorf("event %d of batch: transaction id %q: %w", i, xid, err)
		}
		if len(meta) > 0 && string(meta) != "null" {
			if err := json.Unmarshal(meta, &e.Metadata); err != nil {
				return nil, fmt.Errorf("event %d of batch: metadata: %w", i, err)
			}
		}
		e.Payload, e.OccurredAt, e.RecordedAt = payload, occurred, recorded
		out[i] = e
	}
	return out, nil
}
