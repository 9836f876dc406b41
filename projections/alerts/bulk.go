package alerts

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/oncallhq/goalert/events"
	"github.com/oncallhq/goalert/projections"
)

// ApplyBulk writes what Apply writes, in three statements per batch
// instead of one or two per event: it folds each alert's events of the
// batch into the alert's state after them, then inserts the new alerts in
// that state, updates the others once, and inserts every log line with
// one statement. A rebuild reads batches of thousands of events in which
// most alerts are raised, acknowledged and closed; per-event statements
// made it write three row versions (three index entries each) per alert
// and send two statements per event.
//
// The version guards are Apply's: a row moves only forward, so a batch
// that was applied already changes nothing. The fold assumes what Apply's
// guards guarantee too, that a row at version k reflects the stream's
// events up to k.
func (Projection) ApplyBulk(ctx context.Context, tx pgx.Tx, batch []projections.Event) error {
	folds := map[int64]*alertFold{}
	var order []int64 // alerts in order of first appearance, for stable statements
	var lg logLines
	for _, e := range batch {
		id, logEvent, ok := alertOf(e.Data)
		if !ok {
			continue
		}
		f := folds[id]
		if f == nil {
			f = &alertFold{id: id}
			folds[id] = f
			order = append(order, id)
		}
		f.apply(e)
		m := e.Metadata
		lg.add(id, e.Version, e.OccurredAt, logEvent, m.Actor, m.ActorName, m.Source, logDetail(e.Data))
	}
	var ins alertInserts
	var upd alertUpdates
	for _, id := range order {
		f := folds[id]
		switch {
		case f.trigger != nil:
			if err := ins.add(f); err != nil {
				return err
			}
		case f.version > 0:
			upd.add(f)
		}
	}
	b := &pgx.Batch{}
	if len(ins.id) > 0 {
		// A row that exists already (the batch applied again, or applied
		// in part) moves forward to the folded state, as Apply's updates
		// after its no-op insert would move it.
		b.Queue(`INSERT INTO alerts (id, service_id, status, summary, details, dedup_key, source, meta, created_at, updated_at, version,
				step_number, repeat_count, last_escalation)
			SELECT * FROM unnest($1::bigint[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::jsonb[],
				$9::timestamptz[], $10::timestamptz[], $11::bigint[], $12::int[], $13::int[], $14::timestamptz[])
			ON CONFLICT (id) DO UPDATE SET status = excluded.status, dedup_key = excluded.dedup_key,
				updated_at = excluded.updated_at, version = excluded.version,
				step_number = coalesce(excluded.step_number, alerts.step_number),
				repeat_count = coalesce(excluded.repeat_count, alerts.repeat_count),
				last_escalation = coalesce(excluded.last_escalation, alerts.last_escalation)
			WHERE alerts.version < excluded.version`,
			ins.id, ins.service, ins.status, ins.summary, ins.details, ins.dedup, ins.source, ins.meta, ins.created, ins.updated, ins.version,
			ins.step, ins.repeat, ins.lastEsc)
	}
	if len(upd.id) > 0 {
		// status NULL means "escalated from whatever it was": Apply's
		// escalation turns active back into triggered and leaves the rest.
		b.Queue(`UPDATE alerts a SET
				status = coalesce(u.status, CASE WHEN u.retrigger AND a.status = 'active' THEN 'triggered' ELSE a.status END),
				dedup_key = CASE WHEN u.closed THEN '' ELSE a.dedup_key END,
				updated_at = u.updated_at, version = u.version,
				step_number = coalesce(u.step, a.step_number), repeat_count = coalesce(u.repeat, a.repeat_count),
				last_escalation = coalesce(u.last_esc, a.last_escalation)
			FROM unnest($1::bigint[], $2::text[], $3::bool[], $4::timestamptz[], $5::bigint[], $6::bool[], $7::int[], $8::int[], $9::timestamptz[])
				AS u(id, status, closed, updated_at, version, retrigger, step, repeat, last_esc)
			WHERE a.id = u.id AND a.version < u.version`,
			upd.id, upd.status, upd.closed, upd.updated, upd.version, upd.retrigger, upd.step, upd.repeat, upd.lastEsc)
	}
	if len(lg.alert) > 0 {
		// In batch order, so that log line ids follow the events as
		// Apply's one-by-one inserts number them.
		b.Queue(`INSERT INTO alert_log (alert_id, stream_version, at, event, actor, actor_name, source, detail)
			SELECT alert_id, stream_version, at, event, actor, actor_name, source, detail
			FROM unnest($1::bigint[], $2::bigint[], $3::timestamptz[], $4::text[], $5::text[], $6::text[], $7::text[], $8::jsonb[])
				WITH ORDINALITY AS u(alert_id, stream_version, at, event, actor, actor_name, source, detail, ord)
			ORDER BY ord
			ON CONFLICT (alert_id, stream_version) DO NOTHING`,
			lg.alert, lg.version, lg.at, lg.event, lg.actor, lg.actorName, lg.source, lg.detail)
	}
	if b.Len() == 0 {
		return nil
	}
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("alerts projection: %w", err)
	}
	return nil
}

// alertOf returns the alert an event is about and its log event name.
func alertOf(e events.Event) (id int64, logEvent string, ok bool) {
	switch ev := e.(type) {
	case events.AlertTriggered:
		return ev.AlertID, LogCreated, true
	case events.AlertDeduplicated:
		return ev.AlertID, LogDuplicate, true
	case events.AlertAcknowledged:
		return ev.AlertID, LogAcknowledged, true
	case events.AlertEscalationRequested:
		return ev.AlertID, LogEscalationRequest, true
	case events.AlertClosed:
		return ev.AlertID, LogClosed, true
	case events.AlertEscalated:
		return ev.AlertID, LogEscalated, true
	}
	return 0, "", false
}

// alertFold is one alert's state after the batch's events, as far as the
// batch tells it.
type alertFold struct {
	id      int64
	trigger *events.AlertTriggered // set when the batch raised the alert
	created time.Time
	// status is the status after the batch: "" when it depends on the
	// status before it (only escalations changed it).
	status string
	closed bool
	// version and updated are those of the last event that changed the
	// row; 0 when none did (duplicates only).
	version int64
	updated time.Time
	// retrigger: an escalation request turns the alert back to triggered
	// if it was acknowledged before the batch.
	retrigger bool
	// step, repeat and lastEsc are the last escalation of the batch.
	step, repeat *int32
	lastEsc      *time.Time
}

func (f *alertFold) apply(e projections.Event) {
	switch ev := e.Data.(type) {
	case events.AlertTriggered:
		f.trigger, f.created, f.status = &ev, e.OccurredAt, "triggered"
	case events.AlertDeduplicated:
		return // the log only
	case events.AlertAcknowledged:
		f.status = "active"
	case events.AlertEscalationRequested:
		switch f.status {
		case "active":
			f.status = "triggered"
		case "":
			f.retrigger = true
		}
	case events.AlertClosed:
		f.status, f.closed = "closed", true
	case events.AlertEscalated:
		step, repeat, at := int32(ev.StepNumber), int32(ev.Repeat), e.OccurredAt
		f.step, f.repeat, f.lastEsc = &step, &repeat, &at
	}
	f.version, f.updated = e.Version, e.OccurredAt
}

type alertInserts struct {
	id                                               []int64
	service, status, summary, details, dedup, source []string
	meta                                             [][]byte
	created, updated                                 []time.Time
	version                                          []int64
	step, repeat                                     []*int32
	lastEsc                                          []*time.Time
}

func (s *alertInserts) add(f *alertFold) error {
	t := f.trigger
	meta := []byte("{}")
	if t.Meta != nil {
		var err error
		if meta, err = json.Marshal(t.Meta); err != nil {
			return fmt.Errorf("alerts projection: meta of alert %d: %w", f.id, err)
		}
	}
	dedup := t.DedupKey
	if f.closed {
		dedup = ""
	}
	s.id = append(s.id, f.id)
	s.service = append(s.service, t.ServiceID)
	s.status = append(s.status, f.status)
	s.summary = append(s.summary, t.Summary)
	s.details = append(s.details, t.Details)
	s.dedup = append(s.dedup, dedup)
	s.source = append(s.source, t.Source)
	s.meta = append(s.meta, meta)
	s.created = append(s.created, f.created)
	s.updated = append(s.updated, f.updated)
	s.version = append(s.version, f.version)
	s.step = append(s.step, f.step)
	s.repeat = append(s.repeat, f.repeat)
	s.lastEsc = append(s.lastEsc, f.lastEsc)
	return nil
}

type alertUpdates struct {
	id        []int64
	status    []*string
	closed    []bool
	updated   []time.Time
	version   []int64
	retrigger []bool
	step      []*int32
	repeat    []*int32
	lastEsc   []*time.Time
}

func (s *alertUpdates) add(f *alertFold) {
	var status *string
	if f.status != "" {
		status = &f.status
	}
	s.id = append(s.id, f.id)
	s.status = append(s.status, status)
	s.closed = append(s.closed, f.closed)
	s.updated = append(s.updated, f.updated)
	s.version = append(s.version, f.version)
	s.retrigger = append(s.retrigger, f.retrigger)
	s.step = append(s.step, f.step)
	s.repeat = append(s.repeat, f.repeat)
	s.lastEsc = append(s.lastEsc, f.lastEsc)
}

type logLines struct {
	alert, version                  []int64
	at                              []time.Time
	event, actor, actorName, source []string
	detail                          [][]byte
}

func (l *logLines) add(alert, version int64, at time.Time, event, actor, actorName, source string, detail []byte) {
	l.detail = append(l.detail, detail)
	l.alert = append(l.alert, alert)
	l.version = append(l.version, version)
	l.at = append(l.at, at)
	l.event = append(l.event, event)
	l.actor = append(l.actor, actor)
	l.actorName = append(l.actorName, actorName)
	l.source = append(l.source, source)
}
