package pgstore

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/oncallhq/goalert/events"
)

// AuditFilter selects events for Audit. Zero fields do not filter.
type AuditFilter struct {
	// Actor matches the principal exactly (user:<id>, integration_key:<id>,
	// cli, system...) or the actor's display name.
	Actor string
	// Entity is a full stream id (service-<id>, alert-42) or a prefix: one
	// ending in - or * (service-, alert-4*), or an aggregate name alone
	// (service). See ParseEntity.
	Entity string
	// Since (inclusive) and Until (exclusive) bound occurred_at.
	Since, Until time.Time
	// Before, when set, is a cursor: only events strictly older in log
	// order, that is before it in (transaction id, position) order.
	Before *events.Checkpoint
	// Limit caps the result; 0 or less means 100.
	Limit int
}

// ParseEntity turns an entity filter into an exact stream id or a stream
// prefix. A full id must not match its longer siblings: alert-4 is not
// alert-42, so only a trailing - or * (or a bare aggregate name, which has
// no -) makes a prefix.
func ParseEntity(v string) (exact, prefix string) {
	switch {
	case v == "":
		return "", ""
	case strings.HasSuffix(v, "*"):
		return "", strings.TrimSuffix(v, "*")
	case strings.HasSuffix(v, "-"):
		return "", v
	case !strings.Contains(v, "-"):
		return "", v + "-"
	}
	return v, ""
}

// Audit returns the events matching f, newest first in log order
// ((transaction id, position) descending), the order readers apply them
// in. It walks the primary key backwards, so the first pages are cheap
// whatever the log's size; the filters are checked on the rows it walks,
// except an exact stream id, which uses the stream index.
//
// It reads every committed event, including those a still-running older
// transaction holds back from projections: an audit shows what happened,
// not what the read models have applied.
func (s *Store) Audit(ctx context.Context, q Querier, f AuditFilter) ([]events.Envelope, error) {
	if f.Limit <= 0 {
		f.Limit = 100
	}
	// Only the conditions in use go into the statement, so that the plan
	// (cached per statement text) can walk the primary key from the cursor
	// and use the stream index for an exact id, rather than test
	// "$n IS NULL OR ..." on every row.
	var where []string
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	if f.Actor != "" {
		a := arg(f.Actor)
		where = append(where, "(metadata->>'actor' = "+a+" OR metadata->>'actor_name' = "+a+")")
	}
	switch exact, prefix := ParseEntity(f.Entity); {
	case exact != "":
		where = append(where, "stream_id = "+arg(exact))
	case prefix != "":
		where = append(where, "starts_with(stream_id, "+arg(prefix)+")")
	}
	if !f.Since.IsZero() {
		where = append(where, "occurred_at >= "+arg(f.Since))
	}
	if !f.Until.IsZero() {
		where = append(where, "occurred_at < "+arg(f.Until))
	}
	if f.Before != nil {
		// The transaction id travels as text: pgx has no binary mapping of
		// xid8.
		where = append(where, "(transaction_id, global_position) < ("+
			arg(strconv.FormatUint(f.Before.TransactionID, 10))+"::text::xid8, "+arg(f.Before.Position)+"::bigint)")
	}
	sql := `SELECT ` + columns + ` FROM events`
	if len(where) > 0 {
		sql += ` WHERE ` + strings.Join(where, " AND ")
	}
	sql += ` ORDER BY events.transaction_id DESC, events.global_position DESC LIMIT ` + arg(f.Limit)
	rows, err := q.Query(ctx, sql, args...)
	if err != nil {
		return nil, fmt.Errorf("audit the log: %w", err)
	}
	envs, err := scanAll(rows)
	if err != nil {
		return nil, fmt.Errorf("audit the log: %w", err)
	}
	return envs, nil
}
