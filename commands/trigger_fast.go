package commands

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/oncallhq/goalert/domain/alert"
	"github.com/oncallhq/goalert/events"
)

// triggerNewSQL creates a new alert in one statement: it resolves the
// integration key, checks the unacknowledged-alerts limit, claims the
// (service, dedup key) slot and appends alert.triggered to the new alert's
// stream, and hands the new alert to the paging engine (escalation_state,
// due at once). Every expected outcome comes back as data, never as an error, so
// many of these can share one transaction (group commit) without one
// aborting the others:
//
//	service_id NULL        the token is unknown or of another type
//	new_id set             the alert was created
//	otherwise              an open alert has the key, or the limit refused
//	                       it: the general path tells which
//
// The event's payload is built by Go (AlertTriggered with the id and
// service left zero); the statement fills in alert_id and service_id. Its
// schema version ($9) is the event type's current one, as pgstore.Append
// writes it.
const triggerNewSQL = `
WITH k AS (
    SELECT service_id FROM integration_key_tokens WHERE token = $1 AND type = $2
), lim AS (
    SELECT coalesce((SELECT value FROM system_limits WHERE id = 'unacked_alerts_per_service'), 200) AS v
), room AS (
    SELECT lim.v < 0 OR (SELECT count(*) FROM (
        SELECT 1 FROM open_alerts o, k WHERE o.service_id = k.service_id AND o.status = 'triggered'
        LIMIT greatest((SELECT v FROM lim), 0)) x) < lim.v AS ok
    FROM lim
), ins AS (
    INSERT INTO open_alerts (alert_id, service_id, dedup_key, status)
    SELECT nextval('alert_id_seq'), k.service_id, $3, 'triggered' FROM k, room WHERE room.ok
    ON CONFLICT (service_id, dedup_key) DO NOTHING
    RETURNING alert_id, service_id
), esc AS (
    INSERT INTO escalation_state (alert_id, service_id, due_at)
    SELECT alert_id, service_id, $8 FROM ins
), head AS (
    INSERT INTO event_streams (stream_id, version, transaction_id)
    SELECT 'alert-' || alert_id, 1, pg_current_xact_id() FROM ins
    RETURNING stream_id
), ev AS (
    INSERT INTO events (stream_id, stream_version, event_id, event_name, schema_version, payload, metadata, occurred_at)
    SELECT head.stream_id, 1, $4, $5, $9,
           $6::jsonb || jsonb_build_object('alert_id', ins.alert_id, 'service_id', ins.service_id::text),
           $7, $8
    FROM head, ins
    RETURNING global_position, transaction_id::text::bigint AS xid
)
SELECT (SELECT service_id::text FROM k), (SELECT alert_id FROM ins), (SELECT ok FROM room),
       (SELECT global_position FROM ev), (SELECT xid FROM ev)`

// fastTrigger is a prepared new-alert trigger.
type fastTrigger struct {
	args []any
	n    alert.New
}

// newFastTrigger validates n and prepares the statement's arguments. The
// token's service is not known yet; the statement resolves it.
func (h *Handler) newFastTrigger(ctx context.Context, token string, in Ingest) (fastTrigger, error) {
	n, err := alert.New{Summary: in.Summary, Details: in.Details, Dedup: in.Dedup, Source: sourceOf(in.Type),
		IntegrationKeyID: token, Meta: in.Meta}.Normalize()
	if err != nil {
		return fastTrigger{}, err
	}
	evs := alert.Trigger(0, n)
	payload, err := json.Marshal(evs[0])
	if err != nil {
		return fastTrigger{}, fmt.Errorf("encode alert: %w", err)
	}
	meta := events.MetadataFrom(ctx)
	if meta.CorrelationID == "" {
		meta.CorrelationID = uuid.NewString()
	}
	metaJSON, err := json.Marshal(meta)
	if err != nil {
		return fastTrigger{}, fmt.Errorf("encode metadata: %w", err)
	}
	id, err := uuid.NewV7()
	if err != nil {
		return fastTrigger{}, err
	}
	return fastTrigger{
		n: n,
		args: []any{token, string(in.Type), n.DedupKey(), id, evs[0].EventName(), payload, metaJSON,
			h.clock.Now(), int32(events.SchemaVersionOf(evs[0]))},
	}, nil
}

// fastOutcome is what the statement reported.
type fastOutcome struct {
	ref   AlertRef
	last  events.Checkpoint
	retry bool // a duplicate or a race: use the general path
}

func scanFast(row pgx.Row) (fastOutcome, error) {
	var svc *string
	var id, pos, xid *int64
	var room *bool
	if err := row.Scan(&svc, &id, &room, &pos, &xid); err != nil {
		return fastOutcome{}, fmt.Errorf("trigger alert: %w", err)
	}
	switch {
	case svc == nil:
		return fastOutcome{}, ErrKeyRejected
	case id != nil:
		return fastOutcome{
			ref:  AlertRef{ID: *id, ServiceID: *svc, IsNew: true},
			last: events.Checkpoint{TransactionID: uint64(*xid), Position: *pos},
		}, nil
	}
	// No room may still be a duplicate, which must answer with the open
	// alert rather than the limit; the general path looks for it first.
	return fastOutcome{retry: true}, nil
}

// triggerFast runs one prepared trigger in its own transaction.
func (h *Handler) triggerFast(ctx context.Context, ft fastTrigger) (fastOutcome, error) {
	out, err := scanFast(h.pool.QueryRow(ctx, triggerNewSQL, ft.args...))
	if err == nil && !out.retry {
		h.committed(out.last)
		h.work()
	}
	return out, err
}

// groupCommit collects concurrent triggers for up to a short window and
// runs them in one transaction, so that one commit (one WAL flush) serves
// many requests.
type groupCommit struct {
	in     chan groupItem
	window time.Duration
	max    int
}

type groupItem struct {
	ctx  context.Context
	ft   fastTrigger
	done chan groupResult
}

type groupResult struct {
	out fastOutcome
	err error
}

// GroupCommit makes concurrent ingest triggers share transactions: each
// waits at most window for others to join, and a transaction carries at
// most max. RunGroupCommit must then be running.
func GroupCommit(window time.Duration, max int) Option {
	return func(h *Handler) {
		h.group = &groupCommit{in: make(chan groupItem, 4*max), window: window, max: max}
	}
}

// RunGroupCommit serves the group commit queue with workers until ctx
// ends. Without GroupCommit it returns at once.
func (h *Handler) RunGroupCommit(ctx context.Context, workers int) {
	if h.group == nil {
		return
	}
	done := make(chan struct{})
	for i := 0; i < workers; i++ {
		go func() {
			defer func() { done <- struct{}{} }()
			h.groupWorker(ctx)
		}()
	}
	for i := 0; i < workers; i++ {
		<-done
	}
}

func (h *Handler) groupWorker(ctx context.Context) {
	g := h.group
	for {
		var first groupItem
		select {
		case <-ctx.Done():
			return
		case first = <-g.in:
		}
		batch := []groupItem{first}
		timer := time.NewTimer(g.window)
	collect:
		for len(batch) < g.max {
			select {
			case it := <-g.in:
				batch = append(batch, it)
			case <-timer.C:
				break collect
			}
		}
		timer.Stop()
		h.flushGroup(context.WithoutCancel(ctx), batch)
	}
}

// flushGroup runs a batch in one transaction, pipelined. If the
// transaction fails as a whole, each item is run again on its own, so one
// bad request never fails the others.
func (h *Handler) flushGroup(ctx context.Context, batch []groupItem) {
	results := make([]groupResult, len(batch))
	err := pgx.BeginFunc(ctx, h.pool, func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		for _, it := range batch {
			b.Queue(triggerNewSQL, it.ft.args...)
		}
		br := tx.SendBatch(ctx, b)
		for i := range batch {
			out, err := scanFast(br.QueryRow())
			results[i] = groupResult{out: out, err: err}
			if err != nil && !isExpected(err) {
				br.Close()
				return err
			}
		}
		return br.Close()
	})
	if err != nil {
		for _, it := range batch {
			out, err := h.triggerFast(it.ctx, it.ft)
			it.done <- groupResult{out, err}
		}
		return
	}
	var last events.Checkpoint
	for i, it := range batch {
		if results[i].out.last.After(last) {
			last = results[i].out.last
		}
		it.done <- results[i]
	}
	if last != (events.Checkpoint{}) {
		h.committed(last)
		h.work()
	}
}

func isExpected(err error) bool { return errors.Is(err, ErrKeyRejected) }

// submit runs ft through the group commit queue, or alone without one.
func (h *Handler) submit(ctx context.Context, ft fastTrigger) (fastOutcome, error) {
	if h.group == nil {
		return h.triggerFast(ctx, ft)
	}
	it := groupItem{ctx: ctx, ft: ft, done: make(chan groupResult, 1)}
	select {
	case h.group.in <- it:
	case <-ctx.Done():
		return fastOutcome{}, ctx.Err()
	}
	// The result is awaited even if ctx ends: the transaction may commit,
	// and the caller must not report failure for an alert that exists.
	r := <-it.done
	return r.out, r.err
}
