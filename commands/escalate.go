package commands

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/oncallhq/goalert/domain/alert"
	"github.com/oncallhq/goalert/domain/escalation"
	"github.com/oncallhq/goalert/domain/notification"
	"github.com/oncallhq/goalert/domain/service"
	"github.com/oncallhq/goalert/domain/user"
	"github.com/oncallhq/goalert/events"
)

// OnCallResolver returns the users on call at t for a schedule or rotation
// step target (kind escalation.ActionSchedule or ActionRotation).
type OnCallResolver func(ctx context.Context, kind, id string, t time.Time) ([]string, error)

// WithOnCall sets how schedule and rotation targets resolve. Without it
// they reach no one.
func WithOnCall(r OnCallResolver) Option { return func(h *Handler) { h.onCall = r } }

// engineMeta marks what the engine does on its own.
var engineMeta = events.Metadata{Actor: "system", ActorName: "", Source: "engine"}

// EscalateDue moves due alerts through their policies, up to max of them
// in one transaction (one commit for many escalations when many fall due
// at once), and returns how many it took. Several engine instances (and
// goroutines) may call it at once: each due alert is taken by exactly one
// (SKIP LOCKED), in the transaction that records its step. When a batch
// fails, its alerts are retried one per transaction, so one bad alert
// cannot hold up the others.
func (h *Handler) EscalateDue(ctx context.Context, max int) (int, error) {
	n, err := h.escalateBatch(ctx, max)
	if err == nil || max == 1 || ctx.Err() != nil {
		return n, err
	}
	for i := 0; i < max; i++ {
		n, err = h.escalateBatch(ctx, 1)
		var bad *escalationError
		if errors.As(err, &bad) && ctx.Err() == nil {
			// One alert that cannot be escalated (a corrupt stream, say)
			// must not hold up the others: it is tried again later.
			if _, perr := h.pool.Exec(ctx, `UPDATE escalation_state SET due_at = $2 WHERE alert_id = $1`,
				bad.alertID, h.clock.Now().Add(escalationRetry)); perr != nil {
				return i, err
			}
			continue
		}
		if err != nil || n == 0 {
			return i, err
		}
	}
	return max, nil
}

// escalationRetry is how long an alert whose escalation failed waits
// before it is tried again.
const escalationRetry = time.Minute

// escalationError is the failure of one alert's escalation.
type escalationError struct {
	alertID int64
	err     error
}

func (e *escalationError) Error() string {
	return fmt.Sprintf("escalate alert %d: %v", e.alertID, e.err)
}
func (e *escalationError) Unwrap() error { return e.err }

func (h *Handler) escalateBatch(ctx context.Context, max int) (int, error) {
	n := 0
	ctx = events.WithMetadata(ctx, engineMeta)
	_, err := h.Do(ctx, func(ctx context.Context, tx *Tx) error {
		n = 0
		rows, err := tx.tx.Query(ctx, `SELECT alert_id, service_id::text, policy_id, step, repeat, forced, escalation_seq, last_escalation
			FROM escalation_state WHERE due_at <= $1 ORDER BY due_at LIMIT $2 FOR UPDATE SKIP LOCKED`, tx.now, max)
		if err != nil {
			return fmt.Errorf("find due escalations: %w", err)
		}
		due, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (escState, error) {
			var st escState
			err := r.Scan(&st.alertID, &st.serviceID, &st.policyID, &st.step, &st.repeat, &st.forced, &st.seq, &st.last)
			return st, err
		})
		if err != nil {
			return fmt.Errorf("find due escalations: %w", err)
		}
		for _, st := range due {
			if err := h.escalate(ctx, tx, st); err != nil {
				if retryable(err) {
					return err
				}
				return &escalationError{alertID: st.alertID, err: err}
			}
		}
		n = len(due)
		return nil
	})
	return n, err
}

// Due reports what engine work is due now: escalations, expired heartbeat
// monitors. One query, so that an engine pass with nothing to do is cheap.
func (h *Handler) Due(ctx context.Context) (escalations, heartbeats bool, err error) {
	now := h.clock.Now()
	err = h.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM escalation_state WHERE due_at <= $1),
		EXISTS (SELECT 1 FROM heartbeat_state WHERE due_at <= $1)`, now).Scan(&escalations, &heartbeats)
	return escalations, heartbeats, err
}

// NextDue returns when the next escalation falls due, or the zero time.
func (h *Handler) NextDue(ctx context.Context) (time.Time, error) {
	var t *time.Time
	err := h.pool.QueryRow(ctx, `SELECT least(
		(SELECT min(due_at) FROM escalation_state WHERE due_at IS NOT NULL),
		(SELECT min(due_at) FROM outgoing_messages WHERE status = 'pending'),
		(SELECT min(lease_until) FROM outgoing_messages WHERE status = 'sending'),
		(SELECT min(due_at) FROM heartbeat_state WHERE due_at IS NOT NULL),
		(SELECT min(next_at) FROM oncall_notify_state))`).Scan(&t)
	if err != nil || t == nil {
		return time.Time{}, err
	}
	return *t, nil
}

type escState struct {
	alertID           int64
	serviceID         string
	policyID          string
	step, repeat, seq int
	forced            bool
	last              *time.Time
}

func (h *Handler) escalate(ctx context.Context, tx *Tx, st escState) error {
	done := func() error {
		_, err := tx.tx.Exec(ctx, `DELETE FROM escalation_state WHERE alert_id = $1`, st.alertID)
		return err
	}
	idle := func() error {
		_, err := tx.tx.Exec(ctx, `UPDATE escalation_state SET due_at = NULL, forced = false WHERE alert_id = $1`, st.alertID)
		return err
	}
	a, version, err := loadAlert(ctx, tx, st.alertID)
	if errors.Is(err, alert.ErrNotFound) {
		return done()
	}
	if err != nil {
		return err
	}
	switch {
	case a.Status() == alert.StatusClosed:
		return done()
	case a.Status() == alert.StatusActive && !st.forced:
		return idle()
	}
	svc, _, err := loadService(ctx, tx, st.serviceID)
	if errors.Is(err, service.ErrNotFound) {
		return done()
	}
	if err != nil {
		return err
	}
	if svc.InMaintenance(tx.now) {
		// Escalation waits for the window to end (or an admin to end it).
		_, err := tx.tx.Exec(ctx, `UPDATE escalation_state SET held = true, due_at = $2 WHERE alert_id = $1`,
			st.alertID, svc.MaintenanceUntil())
		return err
	}
	if svc.PolicyID() == "" {
		return done()
	}
	pol, _, err := loadPolicy(ctx, tx, svc.PolicyID())
	if errors.Is(err, escalation.ErrNotFound) {
		return done()
	}
	if err != nil {
		return err
	}
	steps := pol.Steps()
	cur := escalation.Position{Step: st.step, Repeat: st.repeat}
	if st.policyID != pol.ID() {
		cur = escalation.Start
	}
	if cur.Step >= len(steps) {
		// Steps were removed under the alert: continue from the last one.
		cur.Step = len(steps) - 1
	}
	next, ok := escalation.Next(cur, len(steps), pol.Repeat(), st.forced)
	if !ok {
		return idle()
	}
	step := steps[next.Step]
	seq := st.seq + 1
	ev := events.AlertEscalated{AlertID: st.alertID, PolicyID: pol.ID(), StepNumber: next.Step, Repeat: next.Repeat, Forced: st.forced}
	if !st.forced && cur.Step >= 0 && cur.Step < len(steps) {
		ev.OldDelayMinutes = steps[cur.Step].DelayMinutes
	}
	payload := map[string]string{"summary": a.Summary(), "details": a.Details(), "service_name": svc.Name()}
	for k, v := range a.Meta() {
		payload["meta."+k] = v
	}
	seen := map[string]bool{}
	for _, act := range step.Actions {
		var users []string
		switch act.Type {
		case escalation.ActionUser:
			users = []string{act.Args["user_id"]}
		case escalation.ActionSchedule, escalation.ActionRotation:
			if h.onCall != nil {
				id := act.Args["schedule_id"]
				if act.Type == escalation.ActionRotation {
					id = act.Args["rotation_id"]
				}
				if users, err = h.onCall(ctx, act.Type, id, tx.now); err != nil {
					return err
				}
			}
		case notification.DestWebhook, notification.DestSlackChannel:
			if _, err := tx.enqueue(ctx, queued{Kind: notification.KindAlert, AlertID: st.alertID, ServiceID: st.serviceID,
				Dest: act, Payload: payload,
				DedupKey: fmt.Sprintf("alert:%d:%d:dest:%s", st.alertID, seq, user.DestKey(notification.Dest{Type: act.Type, Args: act.Args})),
			}); err != nil {
				return err
			}
			ev.Channels = append(ev.Channels, act)
		}
		for _, uid := range users {
			if seen[uid] {
				continue
			}
			seen[uid] = true
			paged, err := pageUser(ctx, tx, uid, st.alertID, st.serviceID, seq, payload)
			if err != nil {
				return err
			}
			if paged {
				ev.Users = append(ev.Users, uid)
			}
		}
	}
	ev.NoOneOnCall = len(ev.Users) == 0 && len(ev.Channels) == 0
	if err := tx.Append(ctx, alert.Stream(st.alertID), version, ev); err != nil {
		return err
	}
	_, err = tx.tx.Exec(ctx, `UPDATE escalation_state SET policy_id = $2, step = $3, repeat = $4, forced = false, held = false,
		due_at = $5, last_escalation = $6, escalation_seq = $7 WHERE alert_id = $1`,
		st.alertID, pol.ID(), next.Step, next.Repeat, tx.now.Add(time.Duration(step.DelayMinutes)*time.Minute), tx.now, seq)
	if err != nil {
		return fmt.Errorf("record escalation: %w", err)
	}
	return nil
}

// pageUser starts a user's notification cycle for one step entry: each of
// their rules queues one message, due at the rule's delay after now. It
// reports whether the user exists.
func pageUser(ctx context.Context, tx *Tx, userID string, alertID int64, serviceID string, seq int, payload map[string]string) (bool, error) {
	u, _, err := loadUser(ctx, tx, userID)
	if errors.Is(err, user.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	for _, r := range u.Rules() {
		cm := u.ContactMethod(r.ContactMethodID)
		if cm == nil || cm.Disabled {
			continue
		}
		p := maps.Clone(payload)
		p["user_name"] = u.Name()
		if cm.StatusUpdates {
			p["status_updates"] = "true"
		}
		if _, err := tx.enqueue(ctx, queued{
			Kind: notification.KindAlert, AlertID: alertID, ServiceID: serviceID, UserID: userID, ContactMethodID: cm.ID,
			Dest: events.Dest{Type: cm.Dest.Type, Args: cm.Dest.Args}, Payload: p,
			DueAt:    tx.now.Add(time.Duration(r.DelayMinutes) * time.Minute),
			DedupKey: "alert:" + strconv.FormatInt(alertID, 10) + ":" + strconv.Itoa(seq) + ":rule:" + r.ID,
		}); err != nil {
			return false, err
		}
	}
	return true, nil
}
