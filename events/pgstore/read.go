package pgstore

import (
	"context"
	"fmt"
	"strconv"

	"github.com/oncallhq/goalert/events"
)

// readNamedAfter returns the next events with one of the names, and in the
// same snapshot the newest readable event of any name: one statement, so
// that no event can become readable between the two.
const readNamedAfter = `
WITH named AS (
    SELECT ` + columns + ` FROM events
    WHERE (transaction_id, global_position) > ($1::text::xid8, $2)
      AND transaction_id < pg_snapshot_xmin(pg_current_snapshot())
      AND event_name = ANY($3)
    ORDER BY events.transaction_id, events.global_position
    LIMIT $4
), head AS (
    SELECT global_position, transaction_id::text::bigint AS xid FROM events
    WHERE transaction_id < pg_snapshot_xmin(pg_current_snapshot())
    ORDER BY events.transaction_id DESC, events.global_position DESC
    LIMIT 1
)
SELECT false, named.* FROM named
UNION ALL
SELECT true, head.global_position, head.xid, '', 0, NULL, '', 0, NULL, NULL, now(), now() FROM head`

// ReadNamedAfter is ReadAfter for a reader that applies only some events,
// as a projection does: it returns up to limit events named in names after
// cp, under ReadAfter's rules, and the checkpoint to read on from. Events
// of other names are neither sent nor decoded, which makes rebuilding a
// projection of a few event kinds from a large log a scan of the log's
// index rather than a transfer of it.
//
// When limit events came back, next is the last one's checkpoint and more
// may follow. Otherwise every named event readable now has been returned,
// and next is the newest readable event of any name (cp when there is
// none after it), so a reader does not walk the other events again.
func (s *Store) ReadNamedAfter(ctx context.Context, q Querier, cp events.Checkpoint, names []string, limit int) (envs []events.Envelope, next events.Checkpoint, err error) {
	rows, err := q.Query(ctx, readNamedAfter, strconv.FormatUint(cp.TransactionID, 10), cp.Position, names, limit)
	if err != nil {
		return nil, cp, fmt.Errorf("read events after %v: %w", cp, err)
	}
	defer rows.Close()
	next = cp
	var head *events.Checkpoint
	for rows.Next() {
		var isHead bool
		var e events.Envelope
		if err := scanInto(rows, &e, &isHead); err != nil {
			return nil, cp, fmt.Errorf("read events after %v: %w", cp, err)
		}
		if isHead {
			h := e.Checkpoint()
			head = &h
			continue
		}
		envs = append(envs, e)
	}
	if err := rows.Err(); err != nil {
		return nil, cp, fmt.Errorf("read events after %v: %w", cp, err)
	}
	switch {
	case len(envs) == limit:
		next = envs[len(envs)-1].Checkpoint()
	case head != nil && head.After(cp):
		next = *head
	}
	return envs, next, nil
}

// CountBetween returns how many events lie after from and at or before to
// in log order. Both must be checkpoints a reader has passed: the events
// between them are then settled, and the count is exact.
func (s *Store) CountBetween(ctx context.Context, q Querier, from, to events.Checkpoint) (int, error) {
	if !to.After(from) {
		return 0, nil
	}
	var n int
	err := q.QueryRow(ctx, `SELECT count(*) FROM events
		WHERE (transaction_id, global_position) > ($1::text::xid8, $2)
		  AND (transaction_id, global_position) <= ($3::text::xid8, $4)`,
		strconv.FormatUint(from.TransactionID, 10), from.Position, strconv.FormatUint(to.TransactionID, 10), to.Position).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count events from %v to %v: %w", from, to, err)
	}
	return n, nil
}
