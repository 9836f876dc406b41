// Package projections builds the read models from the event log. Each
// projection is a consumer group fed by a watermill-sql subscriber that reads
// the events table directly; its read-model writes and its checkpoint commit
// in one transaction, so a projection sees every event exactly once, in
// (transaction id, position) order.
package projections

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/oncallhq/goalert/events"
)

// Projection builds one read model.
type Projection interface {
	// Name is frozen: it names the consumer group "projection.<name>" and
	// the projection in `goalert replay`.
	Name() string
	// Handles lists the event names the projection applies; the runner
	// skips the rest without a database round trip.
	Handles() []string
	// Tables lists the read-model tables. A rebuild builds copies of them
	// in a schema of its own and swaps the copies in, so they must be plain
	// tables, named unqualified in the projection's SQL.
	Tables() []string
	// Apply writes the effect of batch, in log order, through tx. It must
	// only do transaction-bound work: it runs inside the transaction that
	// also commits the checkpoint, and every other reader of the log waits
	// while that transaction is open.
	Apply(ctx context.Context, tx pgx.Tx, batch []Event) error
}

// Event is an envelope with its decoded event.
type Event struct {
	events.Envelope
	Data events.Event
}

// ConsumerGroup is the watermill consumer group of the projection named n.
func ConsumerGroup(n string) string { return "projection." + n }

// SelfIdempotent is implemented by projections whose own rows carry the
// stream version they reflect, so that applying an event again (or an
// older one after a newer one) changes nothing. The runner then skips its
// shared per-stream version record for them, which saves a write per
// event.
type SelfIdempotent interface {
	IdempotentByVersion()
}
