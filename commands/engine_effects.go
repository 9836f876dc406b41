package commands

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/oncallhq/goalert/domain/alert"
	"github.com/oncallhq/goalert/domain/notification"
	"github.com/oncallhq/goalert/events"
)

// startEscalation hands a new alert to the paging engine: it is due at
// once, and enters step 0 of its service's policy as soon as an engine
// instance picks it up.
func startEscalation(ctx context.Context, tx *Tx, alertID int64, serviceID string) error {
	if _, err := tx.tx.Exec(ctx, `INSERT INTO escalation_state (alert_id, service_id, due_at) VALUES ($1, $2, $3)
		ON CONFLICT (alert_id) DO NOTHING`, alertID, serviceID, tx.now); err != nil {
		return fmt.Errorf("start escalation: %w", err)
	}
	tx.work = true
	return nil
}

// sourceNames are the channels as people read them in messages.
var sourceNames = map[string]string{
	"web": "Web", "api": "API", "sms": "SMS", "voice": "Voice", "slack": "Slack", "email": "Email",
	"cli": "CLI", "engine": "Engine", "webhook": "Webhook",
}

// logLine words what a command did for a status update: "Acknowledged by
// Bob (SMS)".
func logLine(verb string, m events.Metadata) string {
	src := sourceNames[m.Source]
	if src == "" {
		src = m.Source
	}
	switch {
	case m.ActorName != "" && src != "":
		return fmt.Sprintf("%s by %s (%s)", verb, m.ActorName, src)
	case m.ActorName != "":
		return verb + " by " + m.ActorName
	case src != "":
		return verb + " by " + src
	}
	return verb
}

// followAlert keeps the engine's state in step with an alert's new
// events: an acknowledgement stops escalation and cancels the pages not
// sent yet, a close forgets the alert, an escalation request makes it due
// now; and subscribed contact methods get a status update.
func followAlert(ctx context.Context, tx *Tx, a *alert.Alert, evs []events.Event) error {
	id := a.ID()
	cancelPages := func(why string) stmt {
		return stmt{`UPDATE outgoing_messages SET status = 'cancelled', detail = $2
			WHERE alert_id = $1 AND status = 'pending' AND kind = 'Alert'`, []any{id, why}}
	}
	for _, e := range evs {
		var stmts []stmt
		var verb, status string
		switch e.(type) {
		case events.AlertAcknowledged:
			stmts = []stmt{
				{`UPDATE escalation_state SET due_at = NULL, forced = false WHERE alert_id = $1`, []any{id}},
				cancelPages("alert acknowledged"),
			}
			verb, status = "Acknowledged", "acknowledged"
		case events.AlertClosed:
			stmts = []stmt{
				{`DELETE FROM escalation_state WHERE alert_id = $1`, []any{id}},
				cancelPages("alert closed"),
				{`DELETE FROM sms_reply_codes WHERE alert_id = $1`, []any{id}},
			}
			verb, status = "Closed", "closed"
		case events.AlertEscalationRequested:
			stmts = []stmt{{`UPDATE escalation_state SET forced = true, held = false, due_at = $2 WHERE alert_id = $1`, []any{id, tx.now}}}
			verb, status = "Escalation requested", "triggered"
		default:
			continue
		}
		for _, st := range stmts {
			if _, err := tx.tx.Exec(ctx, st.sql, st.args...); err != nil {
				return fmt.Errorf("engine state of alert %d: %w", id, err)
			}
		}
		tx.work = true
		if err := queueStatusUpdates(ctx, tx, a, status, logLine(verb, tx.meta)); err != nil {
			return err
		}
		if status == "closed" {
			if _, err := tx.tx.Exec(ctx, `DELETE FROM alert_status_subscriptions WHERE alert_id = $1`, id); err != nil {
				return fmt.Errorf("end status updates: %w", err)
			}
		}
	}
	return nil
}

// stmt is a statement with its arguments.
type stmt struct {
	sql  string
	args []any
}

// queueStatusUpdates tells every contact method subscribed to the alert's
// status (one that was paged for it and asked for updates).
func queueStatusUpdates(ctx context.Context, tx *Tx, a *alert.Alert, status, line string) error {
	rows, err := tx.tx.Query(ctx, `SELECT contact_method_id::text, user_id::text, dest FROM alert_status_subscriptions WHERE alert_id = $1`, a.ID())
	if err != nil {
		return fmt.Errorf("find status subscribers: %w", err)
	}
	type sub struct {
		cm, user string
		dest     events.Dest
	}
	var subs []sub
	for rows.Next() {
		var s sub
		var raw []byte
		if err := rows.Scan(&s.cm, &s.user, &raw); err != nil {
			rows.Close()
			return err
		}
		if err := json.Unmarshal(raw, &s.dest); err != nil {
			rows.Close()
			return err
		}
		subs = append(subs, s)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, s := range subs {
		if _, err := tx.enqueue(ctx, queued{
			Kind: notification.KindAlertStatus, AlertID: a.ID(), ServiceID: a.ServiceID(),
			UserID: s.user, ContactMethodID: s.cm, Dest: s.dest,
			Payload:  map[string]string{"summary": a.Summary(), "details": a.Details(), "status": status, "log": line},
			DedupKey: "status:" + strconv.FormatInt(a.ID(), 10) + ":" + s.cm + ":" + status + ":" + tx.now.Format("20060102150405.000000"),
		}); err != nil {
			return err
		}
	}
	return nil
}
