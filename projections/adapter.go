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
	"github.com/google/uuid"

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
// in (transaction id, position) order, below the snapshot's xmin. The
// checkpoint row is locked FOR UPDATE (the offsets adapter's query), which
// makes one subscriber per group the active one.
//
// The row comparison lets Postgres walk the primary key from the
// checkpoint and stop after the batch; watermill's own OR-form predicate
// scans the whole unconsumed backlog on every poll.
func (s eventsSchema) SelectQuery(p wsql.SelectQueryParams) (wsql.Query, error) {
	next, err := p.OffsetsAdapter.NextOffsetQuery(wsql.NextOffsetQueryParams{Topic: p.Topic, ConsumerGroup: p.ConsumerGroup})
	if err != nil {
		return wsql.Query{}, err
	}
	q := `WITH last_processed AS (` + next.Query + `)
	SELECT e.global_position, e.transaction_id, e.event_id, e.payload, e.metadata,
	       e.stream_id, e.stream_version, e.event_name, e.schema_version, e.occurred_at, e.recorded_at
	FROM events e
	WHERE (e.transaction_id, e.global_position) >
	      ((SELECT last_processed_transaction_id FROM last_processed), (SELECT coalesce(offset_acked, 0) FROM last_processed))
	  AND e.transaction_id < pg_snapshot_xmin(pg_current_snapshot())
	ORDER BY e.transaction_id, e.global_position
	LIMIT ` + strconv.Itoa(s.batchSize)
	return wsql.Query{Query: q, Args: next.Args}, nil
}

// Message metadata keys carrying the envelope.
const (
	mdStream     = "stream_id"
	mdVersion    = "stream_version"
	mdName       = "event_name"
	mdSchema     = "schema_version"
	mdPosition   = "position"
	mdXID        = "transaction_id"
	mdOccurred   = "occurred_at"
	mdRecorded   = "recorded_at"
	mdEventMeta  = "event_metadata"
	timeEncoding = time.RFC3339Nano
)

func (eventsSchema) UnmarshalMessage(p wsql.UnmarshalMessageParams) (wsql.Row, error) {
	var (
		r        wsql.Row
		xid      wsql.XID8
		id       uuid.UUID
		payload  []byte
		meta     []byte
		stream   string
		version  int64
		name     string
		schema   int32
		occurred time.Time
		recorded time.Time
	)
	if err := p.Row.Scan(&r.Offset, &xid, &id, &payload, &meta, &stream, &version, &name, &schema, &occurred, &recorded); err != nil {
		return wsql.Row{}, fmt.Errorf("scan event row: %w", err)
	}
	msg := message.NewMessage(id.String(), payload)
	msg.Metadata.Set(mdStream, stream)
	msg.Metadata.Set(mdVersion, strconv.FormatInt(version, 10))
	msg.Metadata.Set(mdName, name)
	msg.Metadata.Set(mdSchema, strconv.Itoa(int(schema)))
	msg.Metadata.Set(mdPosition, strconv.FormatInt(r.Offset, 10))
	msg.Metadata.Set(mdXID, strconv.FormatUint(uint64(xid), 10))
	msg.Metadata.Set(mdOccurred, occurred.Format(timeEncoding))
	msg.Metadata.Set(mdRecorded, recorded.Format(timeEncoding))
	msg.Metadata.Set(mdEventMeta, string(meta))
	r.UUID = []byte(id.String())
	r.Payload = payload
	r.Msg = msg
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

// envelopeOf rebuilds the stored envelope a message carries.
func envelopeOf(msg *message.Message) (events.Envelope, error) {
	var e events.Envelope
	var err error
	md := msg.Metadata
	if e.ID, err = uuid.Parse(msg.UUID); err != nil {
		return e, fmt.Errorf("event id %q: %w", msg.UUID, err)
	}
	e.StreamID = md.Get(mdStream)
	e.Name = md.Get(mdName)
	e.Payload = json.RawMessage(msg.Payload)
	if e.Version, err = strconv.ParseInt(md.Get(mdVersion), 10, 64); err != nil {
		return e, fmt.Errorf("stream version: %w", err)
	}
	if e.SchemaVersion, err = strconv.Atoi(md.Get(mdSchema)); err != nil {
		return e, fmt.Errorf("schema version: %w", err)
	}
	if e.Position, err = strconv.ParseInt(md.Get(mdPosition), 10, 64); err != nil {
		return e, fmt.Errorf("position: %w", err)
	}
	if e.TransactionID, err = strconv.ParseUint(md.Get(mdXID), 10, 64); err != nil {
		return e, fmt.Errorf("transaction id: %w", err)
	}
	if e.OccurredAt, err = time.Parse(timeEncoding, md.Get(mdOccurred)); err != nil {
		return e, fmt.Errorf("occurred at: %w", err)
	}
	if e.RecordedAt, err = time.Parse(timeEncoding, md.Get(mdRecorded)); err != nil {
		return e, fmt.Errorf("recorded at: %w", err)
	}
	if m := md.Get(mdEventMeta); m != "" {
		if err := json.Unmarshal([]byte(m), &e.Metadata); err != nil {
			return e, fmt.Errorf("event metadata: %w", err)
		}
	}
	return e, nil
}
