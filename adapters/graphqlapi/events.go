package graphqlapi

// The audit queries: events (admins) and alertHistory (everyone signed
// in), read from the event log itself rather than from a read model, so
// they show every change with who made it and through what.

import (
	"context"
	"strconv"
	"strings"

	graphql "github.com/graph-gophers/graphql-go"

	"github.com/oncallhq/goalert/domain"
	"github.com/oncallhq/goalert/domain/alert"
	"github.com/oncallhq/goalert/events"
	"github.com/oncallhq/goalert/events/pgstore"
)

// EventLog is the event log as the audit queries read it: the store and
// the database it reads through.
type EventLog struct {
	Store *pgstore.Store
	DB    pgstore.Querier
}

type eventSearch struct {
	Entity string
	Actor  string
	Since  *Timestamp
	Until  *Timestamp
	First  int32
	After  string
}

// Events searches the log, newest first, for admins. The cursor is the
// last event's place in the log, its transaction id and position: newest
// first means descending (transaction id, position), the order readers
// apply events in, and the primary key a page is read from. Position
// alone does not follow that order (a transaction that started earlier
// can take later positions) and has no index of its own.
func (r *resolver) Events(ctx context.Context, args struct{ Input *eventSearch }) (*eventConn, error) {
	if err := requireAdmin(ctx); err != nil {
		return nil, err
	}
	in := eventSearch{First: 15}
	if args.Input != nil {
		in = *args.Input
	}
	limit := pageSize(in.First)
	f := pgstore.AuditFilter{Actor: strings.TrimSpace(in.Actor), Entity: strings.TrimSpace(in.Entity), Limit: limit + 1}
	if in.Since != nil {
		f.Since = in.Since.Time
	}
	if in.Until != nil {
		f.Until = in.Until.Time
	}
	if !f.Since.IsZero() && !f.Until.IsZero() && !f.Until.After(f.Since) {
		return nil, domain.FieldError("until", "must be after since")
	}
	if in.After != "" {
		cp, err := parseEventCursor(in.After)
		if err != nil {
			return nil, err
		}
		f.Before = &cp
	}
	envs, err := r.d.Log.Store.Audit(ctx, r.d.Log.DB, f)
	if err != nil {
		return nil, err
	}
	c := &eventConn{nodes: make([]eventRes, 0, min(len(envs), limit))}
	for _, env := range envs {
		if len(c.nodes) == limit {
			c.page = pageInfo{cursor: eventCursor(c.nodes[len(c.nodes)-1].e.Checkpoint()), more: true}
			break
		}
		c.nodes = append(c.nodes, eventRes{env})
	}
	return c, nil
}

// AlertHistory is the timeline of one alert, oldest first, from its
// stream. Every signed-in user may read it, as they may read the alert
// and its log; an alert that does not exist has an empty history.
func (r *resolver) AlertHistory(ctx context.Context, args struct{ ID int32 }) ([]eventRes, error) {
	if args.ID <= 0 {
		return []eventRes{}, nil
	}
	envs, err := r.d.Log.Store.Load(ctx, r.d.Log.DB, alert.Stream(int64(args.ID)), 1)
	if err != nil {
		return nil, err
	}
	out := make([]eventRes, len(envs))
	for i, env := range envs {
		out[i] = eventRes{env}
	}
	return out, nil
}

func eventCursor(cp events.Checkpoint) *string {
	return encodeCursor(strconv.FormatUint(cp.TransactionID, 10) + ":" + strconv.FormatInt(cp.Position, 10))
}

var errBadEventCursor = domain.FieldError("after", "is not an endCursor of the events query")

func parseEventCursor(c string) (events.Checkpoint, error) {
	xid, pos, ok := strings.Cut(decodeCursor(c), ":")
	if !ok {
		return events.Checkpoint{}, errBadEventCursor
	}
	var cp events.Checkpoint
	var err1, err2 error
	cp.TransactionID, err1 = strconv.ParseUint(xid, 10, 64)
	cp.Position, err2 = strconv.ParseInt(pos, 10, 64)
	if err1 != nil || err2 != nil {
		return events.Checkpoint{}, errBadEventCursor
	}
	return cp, nil
}

type eventRes struct{ e events.Envelope }

func (e eventRes) ID() graphql.ID { return graphql.ID(e.e.ID.String()) }

// Position is a Float because GraphQL's Int is 32 bits and positions are
// 64; a double holds them exactly up to 2^53.
func (e eventRes) Position() float64     { return float64(e.e.Position) }
func (e eventRes) Stream() string        { return e.e.StreamID }
func (e eventRes) Version() int32        { return int32(e.e.Version) }
func (e eventRes) Name() string          { return e.e.Name }
func (e eventRes) OccurredAt() Timestamp { return ts(e.e.OccurredAt) }
func (e eventRes) Actor() string         { return e.e.Metadata.Actor }
func (e eventRes) ActorName() string     { return e.e.Metadata.ActorName }
func (e eventRes) Source() string        { return e.e.Metadata.Source }

// Payload is the event's payload as stored (its schema version's shape),
// as compact JSON with password hashes masked.
func (e eventRes) Payload() string { return events.Redact(e.e.Payload) }

type eventConn struct {
	nodes []eventRes
	page  pageInfo
}

func (c *eventConn) Nodes() []eventRes  { return c.nodes }
func (c *eventConn) PageInfo() pageInfo { return c.page }
