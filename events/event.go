// Package events is the wire contract of the event log: the event types with
// their frozen stored names, the envelope every stored event travels in, and
// the registry that turns stored rows back into typed events.
//
// An event's stored name and JSON shape never change once written. A new
// shape gets a new schema version and an upcaster (see Registry), so that
// years-old events still replay.
package events

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Event is a fact that happened. EventName is its stored name, of the form
// "aggregate.past_verb"; it is frozen.
type Event interface {
	EventName() string
}

// Versioned is implemented by events whose payload shape has changed. The
// returned number is the schema version written with new events; the
// registry upcasts older versions to it on read.
type Versioned interface {
	SchemaVersion() int
}

// SchemaVersionOf returns the schema version new events of e's type are
// written with.
func SchemaVersionOf(e Event) int {
	if v, ok := e.(Versioned); ok {
		return v.SchemaVersion()
	}
	return 1
}

// Metadata says who caused an event, through what, and as part of which
// larger operation.
type Metadata struct {
	// Actor is the principal: "user:<id>", "integration_key:<id>",
	// "heartbeat:<id>", "system" or "cli".
	Actor string `json:"actor,omitempty"`
	// ActorName is the actor's display name at the time, for audit reading.
	ActorName string `json:"actor_name,omitempty"`
	// Source is the channel the request came through: "web", "api", "cli",
	// "sms", "voice", "slack", "email", "generic", "engine"...
	Source        string `json:"source,omitempty"`
	CorrelationID string `json:"correlation_id,omitempty"`
	CausationID   string `json:"causation_id,omitempty"`
}

type metadataKey struct{}

// WithMetadata returns a context carrying m, so that every event a command
// appends under ctx records it.
func WithMetadata(ctx context.Context, m Metadata) context.Context {
	return context.WithValue(ctx, metadataKey{}, m)
}

// MetadataFrom returns the metadata carried by ctx, or a zero Metadata.
func MetadataFrom(ctx context.Context) Metadata {
	m, _ := ctx.Value(metadataKey{}).(Metadata)
	return m
}

// Record is an event on its way into the log.
type Record struct {
	ID         uuid.UUID
	Event      Event
	Metadata   Metadata
	OccurredAt time.Time
}

// Envelope is an event as stored.
type Envelope struct {
	Position      int64  // global position, unique and increasing within a transaction
	TransactionID uint64 // the writing transaction's xid8; readers order by (TransactionID, Position)
	StreamID      string
	Version       int64 // the event's version within its stream, from 1
	ID            uuid.UUID
	Name          string
	SchemaVersion int
	Payload       json.RawMessage
	Metadata      Metadata
	OccurredAt    time.Time
	RecordedAt    time.Time
}

// Checkpoint is a reader's place in the log: everything at or before it, in
// (TransactionID, Position) order, has been read.
type Checkpoint struct {
	TransactionID uint64
	Position      int64
}

// After reports whether c is strictly after o.
func (c Checkpoint) After(o Checkpoint) bool {
	if c.TransactionID != o.TransactionID {
		return c.TransactionID > o.TransactionID
	}
	return c.Position > o.Position
}

// Checkpoint returns the place in the log of e.
func (e Envelope) Checkpoint() Checkpoint {
	return Checkpoint{TransactionID: e.TransactionID, Position: e.Position}
}

// StreamID builds a stream id of the form "<aggregate>-<id>".
func StreamID(aggregate, id string) string { return aggregate + "-" + id }

// SplitStreamID splits a stream id into its aggregate and id.
func SplitStreamID(stream string) (aggregate, id string) {
	aggregate, id, _ = strings.Cut(stream, "-")
	return aggregate, id
}
