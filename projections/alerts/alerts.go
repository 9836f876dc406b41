// Package alerts is the read model of alerts and of each alert's log.
package alerts

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/oncallhq/goalert/events"
	"github.com/oncallhq/goalert/projections"
)

// Projection writes alerts and alert_log.
type Projection struct{}

var _ projections.Projection = Projection{}

func (Projection) Name() string { return "alerts" }

func (Projection) Handles() []string {
	return []string{
		events.AlertTriggered{}.EventName(), events.AlertDeduplicated{}.EventName(),
		events.AlertAcknowledged{}.EventName(), events.AlertEscalationRequested{}.EventName(),
		events.AlertClosed{}.EventName(), events.AlertEscalated{}.EventName(),
	}
}

func (Projection) Tables() []string { return []string{"alert_log", "alerts"} }

// Log event names, as GoAlert's alert log calls them.
const (
	LogCreated           = "created"
	LogDuplicate         = "duplicate_suppressed"
	LogAcknowledged      = "acknowledged"
	LogEscalationRequest = "escalation_request"
	LogClosed            = "closed"
	LogEscalated         = "escalated"
)

// IdempotentByVersion: every alerts row carries the version of the last
// event it reflects and updates only move it forward; a log line is keyed
// by (alert, version).
func (Projection) IdempotentByVersion() {}

func (Projection) Apply(ctx context.Context, tx pgx.Tx, batch []projections.Event) error {
	b := &pgx.Batch{}
	for _, e := range batch {
		var id int64
		var logEvent string
		switch ev := e.Data.(type) {
		case events.AlertTriggered:
			meta, _ := json.Marshal(ev.Meta)
			if ev.Meta == nil {
				meta = []byte("{}")
			}
			b.Queue(`INSERT INTO alerts (id, service_id, status, summary, details, dedup_key, source, meta, created_at, updated_at, version)
				VALUES ($1, $2, 'triggered', $3, $4, $5, $6, $7, $8, $8, $9) ON CONFLICT (id) DO NOTHING`,
				ev.AlertID, ev.ServiceID, ev.Summary, ev.Details, ev.DedupKey, ev.Source, meta, e.OccurredAt, e.Version)
			id, logEvent = ev.AlertID, LogCreated
		case events.AlertDeduplicated:
			id, logEvent = ev.AlertID, LogDuplicate
		case events.AlertAcknowledged:
			b.Queue(`UPDATE alerts SET status = 'active', updated_at = $2, version = $3 WHERE id = $1 AND version < $3`,
				ev.AlertID, e.OccurredAt, e.Version)
			id, logEvent = ev.AlertID, LogAcknowledged
		case events.AlertEscalationRequested:
			b.Queue(`UPDATE alerts SET status = CASE WHEN status = 'active' THEN 'triggered' ELSE status END,
				updated_at = $2, version = $3 WHERE id = $1 AND version < $3`, ev.AlertID, e.OccurredAt, e.Version)
			id, logEvent = ev.AlertID, LogEscalationRequest
		case events.AlertClosed:
			b.Queue(`UPDATE alerts SET status = 'closed', dedup_key = '', updated_at = $2, version = $3 WHERE id = $1 AND version < $3`,
				ev.AlertID, e.OccurredAt, e.Version)
			id, logEvent = ev.AlertID, LogClosed
		case events.AlertEscalated:
			b.Queue(`UPDATE alerts SET step_number = $2, repeat_count = $3, last_escalation = $4, version = $5 WHERE id = $1 AND version < $5`,
				ev.AlertID, ev.StepNumber, ev.Repeat, e.OccurredAt, e.Version)
			id, logEvent = ev.AlertID, LogEscalated
		default:
			continue
		}
		m := e.Metadata
		b.Queue(`INSERT INTO alert_log (alert_id, stream_version, at, event, actor, actor_name, source, detail) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
			ON CONFLICT (alert_id, stream_version) DO NOTHING`,
			id, e.Version, e.OccurredAt, logEvent, m.Actor, m.ActorName, m.Source, logDetail(e.Data))
	}
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("alerts projection: %w", err)
	}
	return nil
}

// logDetail is what a log line keeps beyond who and when: an escalation's
// step, repeat, and whether it was forced or reached no one.
func logDetail(e events.Event) []byte {
	if ev, ok := e.(events.AlertEscalated); ok {
		b, _ := json.Marshal(EscalationDetail{Step: ev.StepNumber, Repeat: ev.Repeat, Forced: ev.Forced,
			OldDelayMinutes: ev.OldDelayMinutes, NoOneOnCall: ev.NoOneOnCall})
		return b
	}
	return []byte("{}")
}

// EscalationDetail is the detail of an "escalated" log line.
type EscalationDetail struct {
	Step            int  `json:"step"`
	Repeat          int  `json:"repeat"`
	Forced          bool `json:"forced,omitempty"`
	OldDelayMinutes int  `json:"old_delay_minutes,omitempty"`
	NoOneOnCall     bool `json:"no_one_on_call,omitempty"`
}

// Alert is a row of the read model.
type Alert struct {
	ID        int64
	ServiceID string
	Status    string // triggered, active, closed
	Summary   string
	Details   string
	DedupKey  string
	Source    string
	Meta      map[string]string
	CreatedAt time.Time
	UpdatedAt time.Time
	// Escalation is where the alert is in its policy; nil until the
	// engine has escalated it once.
	Escalation *EscalationState
}

// EscalationState is an alert's position in its escalation policy.
type EscalationState struct {
	StepNumber     int
	RepeatCount    int
	LastEscalation time.Time
}

// LogEntry is one line of an alert's log.
type LogEntry struct {
	ID        int64
	AlertID   int64
	At        time.Time
	Event     string
	Actor     string
	ActorName string
	Source    string
	// Detail is the event's detail: EscalationDetail for "escalated", a
	// JSON string (the state or reason) for notification lines.
	Detail  json.RawMessage
	Message string
}

// Reader answers queries on the read model.
type Reader struct{ Pool *pgxpool.Pool }

// ErrNotFound is returned for an alert that is not in the read model.
var ErrNotFound = errors.New("alert not found")

const selectAlert = `SELECT id, service_id::text, status, summary, details, dedup_key, source, meta, created_at, updated_at,
	step_number, repeat_count, last_escalation FROM alerts`

func scanAlert(row pgx.Row) (Alert, error) {
	var a Alert
	var step, repeat *int
	var last *time.Time
	err := row.Scan(&a.ID, &a.ServiceID, &a.Status, &a.Summary, &a.Details, &a.DedupKey, &a.Source, &a.Meta, &a.CreatedAt, &a.UpdatedAt,
		&step, &repeat, &last)
	if errors.Is(err, pgx.ErrNoRows) {
		return a, ErrNotFound
	}
	if err == nil && last != nil {
		a.Escalation = &EscalationState{LastEscalation: *last}
		if step != nil {
			a.Escalation.StepNumber = *step
		}
		if repeat != nil {
			a.Escalation.RepeatCount = *repeat
		}
	}
	return a, err
}

// Get returns alert id.
func (r Reader) Get(ctx context.Context, id int64) (Alert, error) {
	return scanAlert(r.Pool.QueryRow(ctx, selectAlert+` WHERE id = $1`, id))
}

// Filter selects alerts for List.
type Filter struct {
	Statuses   []string // empty means all
	ServiceIDs []string // empty means all
	Search     string   // substring of the summary, or an alert number
	BeforeID   int64    // cursor: only alerts with a smaller id; 0 for the first page
	Limit      int
}

// List returns alerts matching f, newest first.
func (r Reader) List(ctx context.Context, f Filter) ([]Alert, error) {
	if f.Limit <= 0 {
		f.Limit = 15
	}
	rows, err := r.Pool.Query(ctx, selectAlert+`
		WHERE (coalesce(cardinality($1::text[]), 0) = 0 OR status = ANY($1))
		  AND (coalesce(cardinality($2::text[]), 0) = 0 OR service_id::text = ANY($2))
		  AND ($3 = '' OR summary ILIKE '%' || $3 || '%' OR id::text = $3)
		  AND ($4 = 0 OR id < $4)
		ORDER BY id DESC LIMIT $5`, f.Statuses, f.ServiceIDs, f.Search, f.BeforeID, f.Limit)
	if err != nil {
		return nil, fmt.Errorf("list alerts: %w", err)
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (Alert, error) { return scanAlert(row) })
}

// Log returns the log of alert id, oldest first, with GoAlert-style
// messages.
//
// Notification outcomes (written by the paging projection from the
// messages' own streams) are merged in by time.
func (r Reader) Log(ctx context.Context, id int64) ([]LogEntry, error) {
	rows, err := r.Pool.Query(ctx, `SELECT id, alert_id, at, event, actor, actor_name, source, detail::text, '' FROM (
			SELECT id, alert_id, at, event, actor, actor_name, source, detail, 0 AS kind FROM alert_log WHERE alert_id = $1
			UNION ALL
			SELECT 0, alert_id, at, event, 'user:' || user_id, user_name, dest_type, to_jsonb(detail), 1
			FROM alert_notification_log WHERE alert_id = $1
		) l ORDER BY at, kind, id`, id)
	if err != nil {
		return nil, fmt.Errorf("alert log: %w", err)
	}
	entries, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (LogEntry, error) {
		var l LogEntry
		var detail, unused string
		err := row.Scan(&l.ID, &l.AlertID, &l.At, &l.Event, &l.Actor, &l.ActorName, &l.Source, &detail, &unused)
		l.Detail = json.RawMessage(detail)
		l.Message = Message(l)
		return l, err
	})
	return entries, err
}

// sourceNames are how log messages name the channel an action came
// through.
var sourceNames = map[string]string{
	"generic":                "Generic API",
	"grafana":                "Grafana",
	"site24x7":               "Site24x7",
	"prometheusAlertmanager": "Prometheus Alertmanager",
	"pagerduty":              "PagerDuty Events API",
	"email":                  "Email",
	"manual":                 "Web",
	"web":                    "Web",
	"api":                    "API",
	"cli":                    "CLI",
	"sms":                    "SMS",
	"voice":                  "Voice",
	"slack":                  "Slack",
	"heartbeat":              "Heartbeat Monitor",
	"engine":                 "Engine",
}

// Message renders a log entry the way GoAlert words it: "Created via
// Generic API", "Acknowledged by admin (Web)".
func Message(l LogEntry) string {
	src := sourceNames[l.Source]
	if src == "" {
		src = l.Source
	}
	by := func(verb string) string {
		switch {
		case l.ActorName != "" && src != "":
			return fmt.Sprintf("%s by %s (%s)", verb, l.ActorName, src)
		case l.ActorName != "":
			return verb + " by " + l.ActorName
		case src != "":
			return verb + " by " + src
		}
		return verb
	}
	switch l.Event {
	case LogCreated:
		if l.ActorName != "" {
			return by("Created")
		}
		if src != "" {
			return "Created via " + src
		}
		return "Created"
	case LogDuplicate:
		if src != "" {
			return "Suppressed duplicate: created via " + src
		}
		return "Suppressed duplicate"
	case LogAcknowledged:
		return by("Acknowledged")
	case LogEscalationRequest:
		return by("Escalation requested")
	case LogClosed:
		return by("Closed")
	case LogEscalated:
		return escalatedMessage(l.Detail)
	case "notification_sent", "notification_failed", "notification_status":
		return notificationMessage(l)
	}
	return l.Event
}

// escalatedMessage words an escalation: "Escalated to step #2
// automatically after 5 minutes", "Escalated to step #1 (no one on
// call)".
func escalatedMessage(detail json.RawMessage) string {
	var d EscalationDetail
	_ = json.Unmarshal(detail, &d)
	msg := fmt.Sprintf("Escalated to step #%d", d.Step+1)
	switch {
	case d.Forced:
		msg = fmt.Sprintf("Manually escalated to step #%d", d.Step+1)
	case d.OldDelayMinutes > 0:
		msg += fmt.Sprintf(" automatically after %d minute%s", d.OldDelayMinutes, plural(d.OldDelayMinutes))
	}
	if d.Repeat > 0 {
		msg += fmt.Sprintf(" (repeat %d)", d.Repeat)
	}
	if d.NoOneOnCall {
		msg += " (no one on call)"
	}
	return msg
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// destNames are how log messages name a destination type.
var destNames = map[string]string{
	"builtin-twilio-sms": "SMS", "builtin-twilio-voice": "Voice", "builtin-smtp-email": "Email",
	"builtin-webhook": "Webhook", "builtin-slack-dm": "Slack DM", "builtin-slack-channel": "Slack channel",
}

// notificationMessage words a notification outcome: "Notification sent to
// Bob (SMS)", "Notification failed to Bob (SMS): the number is not
// reachable".
func notificationMessage(l LogEntry) string {
	var detail string
	_ = json.Unmarshal(l.Detail, &detail)
	via := destNames[l.Source]
	if via == "" {
		via = l.Source
	}
	to := l.ActorName
	if to == "" {
		to = "channel"
	}
	switch l.Event {
	case "notification_failed":
		return fmt.Sprintf("Notification failed to %s (%s): %s", to, via, detail)
	case "notification_status":
		return fmt.Sprintf("Notification to %s (%s): %s", to, via, detail)
	}
	return fmt.Sprintf("Notification sent to %s (%s)", to, via)
}
