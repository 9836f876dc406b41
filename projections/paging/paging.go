// Package paging is the read model of paging configuration and outcomes:
// users' contact methods and notification rules, escalation policies and
// their steps, heartbeat monitors, and the notification lines of alert
// logs.
package paging

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

// Projection writes the paging read models.
type Projection struct{}

var _ projections.Projection = Projection{}

func (Projection) Name() string { return "paging" }

func (Projection) Handles() []string {
	evs := []events.Event{
		events.ContactMethodAdded{}, events.ContactMethodUpdated{}, events.ContactMethodEnabled{},
		events.ContactMethodDisabled{}, events.ContactMethodRemoved{}, events.NotificationRuleAdded{},
		events.NotificationRuleRemoved{}, events.UserDeleted{},
		events.EscalationPolicyCreated{}, events.EscalationPolicyUpdated{}, events.EscalationPolicyDeleted{},
		events.EscalationStepAdded{}, events.EscalationStepUpdated{}, events.EscalationStepRemoved{},
		events.EscalationStepsReordered{},
		events.HeartbeatMonitorCreated{}, events.HeartbeatMonitorUpdated{}, events.HeartbeatMonitorDeleted{},
		events.HeartbeatMonitorExpired{}, events.HeartbeatMonitorHealthy{},
		events.NotificationSent{}, events.NotificationFailed{}, events.NotificationStatusChanged{},
	}
	names := make([]string, len(evs))
	for i, e := range evs {
		names[i] = e.EventName()
	}
	return names
}

func (Projection) Tables() []string {
	return []string{"user_contact_methods", "user_notification_rules", "escalation_policies",
		"escalation_policy_steps", "heartbeat_monitors", "alert_notification_log"}
}

// renumber keeps a policy's step numbers gap-free after a removal or
// reorder.
const renumber = `UPDATE escalation_policy_steps s SET step_number = n.rn - 1
	FROM (SELECT id, row_number() OVER (ORDER BY step_number, id) AS rn FROM escalation_policy_steps WHERE policy_id = $1) n
	WHERE s.id = n.id`

func (Projection) Apply(ctx context.Context, tx pgx.Tx, batch []projections.Event) error {
	b := &pgx.Batch{}
	for _, e := range batch {
		switch ev := e.Data.(type) {
		case events.ContactMethodAdded:
			dest, _ := json.Marshal(ev.Dest)
			b.Queue(`INSERT INTO user_contact_methods (id, user_id, name, dest, disabled, pending, status_updates, created_at)
				VALUES ($1, $2, $3, $4, $5, $5, $6, $7) ON CONFLICT (id) DO NOTHING`,
				ev.ContactMethodID, ev.UserID, ev.Name, dest, ev.Disabled, ev.StatusUpdates, e.OccurredAt)
		case events.ContactMethodUpdated:
			b.Queue(`UPDATE user_contact_methods SET name = $2, status_updates = $3 WHERE id = $1`, ev.ContactMethodID, ev.Name, ev.StatusUpdates)
		case events.ContactMethodEnabled:
			b.Queue(`UPDATE user_contact_methods SET disabled = false, pending = false WHERE id = $1`, ev.ContactMethodID)
		case events.ContactMethodDisabled:
			b.Queue(`UPDATE user_contact_methods SET disabled = true WHERE id = $1`, ev.ContactMethodID)
		case events.ContactMethodRemoved:
			b.Queue(`DELETE FROM user_notification_rules WHERE contact_method_id = $1`, ev.ContactMethodID)
			b.Queue(`DELETE FROM user_contact_methods WHERE id = $1`, ev.ContactMethodID)
		case events.NotificationRuleAdded:
			b.Queue(`INSERT INTO user_notification_rules (id, user_id, contact_method_id, delay_minutes, created_at)
				VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO NOTHING`, ev.RuleID, ev.UserID, ev.ContactMethodID, ev.DelayMinutes, e.OccurredAt)
		case events.NotificationRuleRemoved:
			b.Queue(`DELETE FROM user_notification_rules WHERE id = $1`, ev.RuleID)
		case events.UserDeleted:
			b.Queue(`DELETE FROM user_notification_rules WHERE user_id = $1`, ev.UserID)
			b.Queue(`DELETE FROM user_contact_methods WHERE user_id = $1`, ev.UserID)

		case events.EscalationPolicyCreated:
			b.Queue(`INSERT INTO escalation_policies (id, name, description, repeat, created_at) VALUES ($1, $2, $3, $4, $5)
				ON CONFLICT (id) DO NOTHING`, ev.PolicyID, ev.Name, ev.Description, ev.Repeat, e.OccurredAt)
		case events.EscalationPolicyUpdated:
			b.Queue(`UPDATE escalation_policies SET name = $2, description = $3, repeat = $4 WHERE id = $1`, ev.PolicyID, ev.Name, ev.Description, ev.Repeat)
		case events.EscalationPolicyDeleted:
			b.Queue(`DELETE FROM escalation_policy_steps WHERE policy_id = $1`, ev.PolicyID)
			b.Queue(`DELETE FROM escalation_policies WHERE id = $1`, ev.PolicyID)
		case events.EscalationStepAdded:
			acts, _ := json.Marshal(ev.Actions)
			b.Queue(`INSERT INTO escalation_policy_steps (id, policy_id, step_number, delay_minutes, actions)
				VALUES ($1, $2, (SELECT count(*) FROM escalation_policy_steps WHERE policy_id = $2), $3, $4) ON CONFLICT (id) DO NOTHING`,
				ev.StepID, ev.PolicyID, ev.DelayMinutes, acts)
		case events.EscalationStepUpdated:
			acts, _ := json.Marshal(ev.Actions)
			b.Queue(`UPDATE escalation_policy_steps SET delay_minutes = $2, actions = $3 WHERE id = $1`, ev.StepID, ev.DelayMinutes, acts)
		case events.EscalationStepRemoved:
			b.Queue(`DELETE FROM escalation_policy_steps WHERE id = $1`, ev.StepID)
			b.Queue(renumber, ev.PolicyID)
		case events.EscalationStepsReordered:
			b.Queue(`UPDATE escalation_policy_steps s SET step_number = o.ord - 1
				FROM unnest($2::uuid[]) WITH ORDINALITY AS o(id, ord) WHERE s.id = o.id AND s.policy_id = $1`, ev.PolicyID, ev.StepIDs)

		case events.HeartbeatMonitorCreated:
			b.Queue(`INSERT INTO heartbeat_monitors (id, service_id, name, timeout_minutes, additional_details)
				VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO NOTHING`, ev.MonitorID, ev.ServiceID, ev.Name, ev.TimeoutMinutes, ev.AdditionalDetails)
		case events.HeartbeatMonitorUpdated:
			b.Queue(`UPDATE heartbeat_monitors SET name = $2, timeout_minutes = $3, additional_details = $4, muted_reason = $5 WHERE id = $1`,
				ev.MonitorID, ev.Name, ev.TimeoutMinutes, ev.AdditionalDetails, ev.MutedReason)
		case events.HeartbeatMonitorDeleted:
			b.Queue(`DELETE FROM heartbeat_monitors WHERE id = $1`, ev.MonitorID)
		case events.HeartbeatMonitorExpired:
			b.Queue(`UPDATE heartbeat_monitors SET last_state = 'unhealthy' WHERE id = $1`, ev.MonitorID)
		case events.HeartbeatMonitorHealthy:
			b.Queue(`UPDATE heartbeat_monitors SET last_state = 'healthy' WHERE id = $1`, ev.MonitorID)

		case events.NotificationSent:
			if ev.AlertID != 0 {
				queueLog(b, ev.MessageID, e, ev.AlertID, "notification_sent", ev.UserID, ev.UserName, ev.Dest.Type, ev.State)
			}
		case events.NotificationFailed:
			if ev.AlertID != 0 {
				queueLog(b, ev.MessageID, e, ev.AlertID, "notification_failed", ev.UserID, ev.UserName, ev.Dest.Type, ev.Reason)
			}
		case events.NotificationStatusChanged:
			if ev.AlertID != 0 {
				b.Queue(`INSERT INTO alert_notification_log (message_id, stream_version, alert_id, at, event, user_id, user_name, dest_type, detail)
					SELECT $1, $2, $3, $4, 'notification_status', user_id, user_name, dest_type, $5
					FROM alert_notification_log WHERE message_id = $1 AND stream_version = 1
					ON CONFLICT DO NOTHING`, ev.MessageID, e.Version, ev.AlertID, e.OccurredAt, ev.State+detailSuffix(ev.Detail))
			}
		}
	}
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("paging projection: %w", err)
	}
	return nil
}

func detailSuffix(d string) string {
	if d == "" {
		return ""
	}
	return ": " + d
}

func queueLog(b *pgx.Batch, msgID string, e projections.Event, alertID int64, event, userID, userName, destType, detail string) {
	b.Queue(`INSERT INTO alert_notification_log (message_id, stream_version, alert_id, at, event, user_id, user_name, dest_type, detail)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING`,
		msgID, e.Version, alertID, e.OccurredAt, event, userID, userName, destType, detail)
}

// Reader answers queries on the read model.
type Reader struct{ Pool *pgxpool.Pool }

// ErrNotFound is returned for a row that is not in the read model.
var ErrNotFound = errors.New("not found")

// ContactMethod is a row of user_contact_methods.
type ContactMethod struct {
	ID            string
	UserID        string
	Name          string
	Dest          events.Dest
	Disabled      bool
	Pending       bool
	StatusUpdates bool
	CreatedAt     time.Time
}

const selectCM = `SELECT id::text, user_id::text, name, dest, disabled, pending, status_updates, created_at FROM user_contact_methods`

func scanCM(row pgx.Row) (ContactMethod, error) {
	var c ContactMethod
	var dest []byte
	err := row.Scan(&c.ID, &c.UserID, &c.Name, &dest, &c.Disabled, &c.Pending, &c.StatusUpdates, &c.CreatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return c, ErrNotFound
	}
	if err == nil {
		err = json.Unmarshal(dest, &c.Dest)
	}
	return c, err
}

// ContactMethod returns one contact method.
func (r Reader) ContactMethod(ctx context.Context, id string) (ContactMethod, error) {
	return scanCM(r.Pool.QueryRow(ctx, selectCM+` WHERE id::text = $1`, id))
}

// ContactMethods returns a user's contact methods, oldest first.
func (r Reader) ContactMethods(ctx context.Context, userID string) ([]ContactMethod, error) {
	rows, err := r.Pool.Query(ctx, selectCM+` WHERE user_id::text = $1 ORDER BY created_at, id`, userID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (ContactMethod, error) { return scanCM(row) })
}

// Rule is a row of user_notification_rules.
type Rule struct {
	ID              string
	UserID          string
	ContactMethodID string
	DelayMinutes    int
}

// Rules returns a user's notification rules by delay.
func (r Reader) Rules(ctx context.Context, userID string) ([]Rule, error) {
	rows, err := r.Pool.Query(ctx, `SELECT id::text, user_id::text, contact_method_id::text, delay_minutes
		FROM user_notification_rules WHERE user_id::text = $1 ORDER BY delay_minutes, created_at, id`, userID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowToStructByPos[Rule])
}

// Rule returns one notification rule.
func (r Reader) Rule(ctx context.Context, id string) (Rule, error) {
	rows, err := r.Pool.Query(ctx, `SELECT id::text, user_id::text, contact_method_id::text, delay_minutes
		FROM user_notification_rules WHERE id::text = $1`, id)
	if err != nil {
		return Rule{}, err
	}
	rule, err := pgx.CollectOneRow(rows, pgx.RowToStructByPos[Rule])
	if errors.Is(err, pgx.ErrNoRows) {
		return rule, ErrNotFound
	}
	return rule, err
}

// Policy is a row of escalation_policies.
type Policy struct {
	ID          string
	Name        string
	Description string
	Repeat      int
}

// Policy returns one escalation policy.
func (r Reader) Policy(ctx context.Context, id string) (Policy, error) {
	rows, err := r.Pool.Query(ctx, `SELECT id::text, name, description, repeat FROM escalation_policies WHERE id::text = $1`, id)
	if err != nil {
		return Policy{}, err
	}
	p, err := pgx.CollectOneRow(rows, pgx.RowToStructByPos[Policy])
	if errors.Is(err, pgx.ErrNoRows) {
		return p, ErrNotFound
	}
	return p, err
}

// Policies returns policies by name, optionally filtered by a search
// string, at most limit, after the name after (for paging).
func (r Reader) Policies(ctx context.Context, search, after string, limit int) ([]Policy, error) {
	rows, err := r.Pool.Query(ctx, `SELECT id::text, name, description, repeat FROM escalation_policies
		WHERE ($1 = '' OR name ILIKE '%' || $1 || '%') AND ($2 = '' OR lower(name) > lower($2))
		ORDER BY lower(name) LIMIT $3`, search, after, limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowToStructByPos[Policy])
}

// Step is a row of escalation_policy_steps.
type Step struct {
	ID           string
	PolicyID     string
	StepNumber   int
	DelayMinutes int
	Actions      []events.Dest
}

func scanStep(row pgx.CollectableRow) (Step, error) {
	var s Step
	var acts []byte
	if err := row.Scan(&s.ID, &s.PolicyID, &s.StepNumber, &s.DelayMinutes, &acts); err != nil {
		return s, err
	}
	return s, json.Unmarshal(acts, &s.Actions)
}

// Steps returns a policy's steps in order.
func (r Reader) Steps(ctx context.Context, policyID string) ([]Step, error) {
	rows, err := r.Pool.Query(ctx, `SELECT id::text, policy_id::text, step_number, delay_minutes, actions
		FROM escalation_policy_steps WHERE policy_id::text = $1 ORDER BY step_number`, policyID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, scanStep)
}

// Step returns one step.
func (r Reader) Step(ctx context.Context, id string) (Step, error) {
	rows, err := r.Pool.Query(ctx, `SELECT id::text, policy_id::text, step_number, delay_minutes, actions
		FROM escalation_policy_steps WHERE id::text = $1`, id)
	if err != nil {
		return Step{}, err
	}
	s, err := pgx.CollectOneRow(rows, scanStep)
	if errors.Is(err, pgx.ErrNoRows) {
		return s, ErrNotFound
	}
	return s, err
}

// Heartbeat is a row of heartbeat_monitors.
type Heartbeat struct {
	ID                string
	ServiceID         string
	Name              string
	TimeoutMinutes    int
	AdditionalDetails string
	MutedReason       string
	LastState         string
}

const selectHB = `SELECT id::text, service_id::text, name, timeout_minutes, additional_details, muted_reason, last_state FROM heartbeat_monitors`

// Heartbeat returns one monitor.
func (r Reader) Heartbeat(ctx context.Context, id string) (Heartbeat, error) {
	rows, err := r.Pool.Query(ctx, selectHB+` WHERE id::text = $1`, id)
	if err != nil {
		return Heartbeat{}, err
	}
	h, err := pgx.CollectOneRow(rows, pgx.RowToStructByPos[Heartbeat])
	if errors.Is(err, pgx.ErrNoRows) {
		return h, ErrNotFound
	}
	return h, err
}

// Heartbeats returns a service's monitors by name.
func (r Reader) Heartbeats(ctx context.Context, serviceID string) ([]Heartbeat, error) {
	rows, err := r.Pool.Query(ctx, selectHB+` WHERE service_id::text = $1 ORDER BY lower(name)`, serviceID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowToStructByPos[Heartbeat])
}

// NotificationLine is a notification outcome in an alert's log.
type NotificationLine struct {
	AlertID  int64
	At       time.Time
	Event    string // notification_sent, notification_failed, notification_status
	UserID   string
	UserName string
	DestType string
	Detail   string
}

// NotificationLog returns the notification lines of an alert, oldest
// first.
func (r Reader) NotificationLog(ctx context.Context, alertID int64) ([]NotificationLine, error) {
	rows, err := r.Pool.Query(ctx, `SELECT alert_id, at, event, user_id, user_name, dest_type, detail
		FROM alert_notification_log WHERE alert_id = $1 ORDER BY at, stream_version, message_id`, alertID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowToStructByPos[NotificationLine])
}
