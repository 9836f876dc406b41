package commands

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/oncallhq/goalert/domain/notification"
	"github.com/oncallhq/goalert/events"
)

// Delivery rules.
const (
	// MaxAttempts is how often a message is tried when its provider
	// reports temporary failures: the first try and 3 retries.
	MaxAttempts = 4
	// RetryDelay is the wait before a retry.
	RetryDelay = 15 * time.Second
)

// MessageStream returns the stream id of an outgoing message's outcome
// events.
func MessageStream(id string) string { return events.StreamID("message", id) }

// ClaimMessages takes up to limit due messages for this sender until
// lease runs out: pending messages whose time has come, and messages whose
// earlier claim expired without an outcome (Stale). Concurrent claimers
// never take the same message.
func (h *Handler) ClaimMessages(ctx context.Context, limit int, lease time.Duration) ([]Message, error) {
	now := h.clock.Now()
	rows, err := h.pool.Query(ctx, `
		UPDATE outgoing_messages m SET status = 'sending', lease_until = $2, attempts = m.attempts + 1
		FROM (SELECT id, status AS was FROM outgoing_messages
		      WHERE (status = 'pending' AND due_at <= $1) OR (status = 'sending' AND lease_until <= $1)
		      ORDER BY due_at LIMIT $3 FOR UPDATE SKIP LOCKED) c
		WHERE m.id = c.id
		RETURNING m.id::text, m.kind, coalesce(m.alert_id, 0), coalesce(m.service_id::text, ''), coalesce(m.user_id::text, ''),
		          coalesce(m.contact_method_id::text, ''), m.dest, m.payload, m.due_at, m.attempts, c.was = 'sending'`,
		now, now.Add(lease), limit)
	if err != nil {
		return nil, fmt.Errorf("claim messages: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Message, error) {
		var m Message
		var dest, payload []byte
		var kind string
		if err := r.Scan(&m.ID, &kind, &m.AlertID, &m.ServiceID, &m.UserID, &m.ContactMethodID, &dest, &payload, &m.DueAt, &m.Attempts, &m.Stale); err != nil {
			return m, err
		}
		m.Kind = notification.Kind(kind)
		if err := json.Unmarshal(dest, &m.Dest); err != nil {
			return m, err
		}
		return m, json.Unmarshal(payload, &m.Payload)
	})
}

// Throttle checks the per-contact-method rate limits before m is sent. It
// returns the zero time when m may go now, or when it may go; the message
// is then put back in the queue until that time. Only a contact method's
// own history counts: one busy phone never delays another.
func (h *Handler) Throttle(ctx context.Context, m Message) (time.Time, error) {
	if m.ContactMethodID == "" {
		return time.Time{}, nil
	}
	var rules []rateRule
	switch m.Dest.Type {
	case notification.DestSMS:
		rules = []rateRule{{time.Minute, 1, false}, {15 * time.Minute, 5, true}, {time.Hour, 11, true}}
	case notification.DestVoice:
		rules = []rateRule{{time.Minute, 1, false}, {15 * time.Minute, 3, true}, {time.Hour, 7, true}}
	case notification.DestEmail:
		rules = []rateRule{{time.Minute, 1, false}}
	default:
		return time.Time{}, nil
	}
	now := h.clock.Now()
	rows, err := h.pool.Query(ctx, `SELECT sent_at, kind FROM outgoing_messages
		WHERE contact_method_id = $1 AND sent_at > $2 AND id <> $3 ORDER BY sent_at DESC`,
		m.ContactMethodID, now.Add(-time.Hour), m.ID)
	if err != nil {
		return time.Time{}, fmt.Errorf("rate limit history: %w", err)
	}
	type sent struct {
		at    time.Time
		alert bool
	}
	hist, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (sent, error) {
		var s sent
		var kind string
		err := r.Scan(&s.at, &kind)
		s.alert = kind == string(notification.KindAlert) || kind == string(notification.KindAlertBundle)
		return s, err
	})
	if err != nil {
		return time.Time{}, err
	}
	isAlert := m.Kind == notification.KindAlert || m.Kind == notification.KindAlertBundle
	var until time.Time
	for _, r := range rules {
		if r.alertsOnly && !isAlert {
			continue
		}
		// The n-th most recent send in the window decides when room opens.
		n := 0
		for _, s := range hist {
			if !s.at.After(now.Add(-r.window)) {
				break
			}
			if r.alertsOnly && !s.alert {
				continue
			}
			n++
			if n == r.max {
				if t := s.at.Add(r.window); t.After(until) {
					until = t
				}
				break
			}
		}
	}
	return until, nil
}

type rateRule struct {
	window     time.Duration
	max        int
	alertsOnly bool
}

// Postpone puts a claimed message back in the queue until at.
func (h *Handler) Postpone(ctx context.Context, m Message, at time.Time, why string) error {
	_, err := h.pool.Exec(ctx, `UPDATE outgoing_messages SET status = 'pending', due_at = $2, lease_until = NULL,
		attempts = attempts - 1, detail = $3 WHERE id = $1 AND status = 'sending'`, m.ID, at, why)
	return err
}

// Outcome is what became of one send.
type Outcome struct {
	Status notification.Status
	// Err is set when the provider gave no answer: a temporary error
	// (notification.IsTemporary) is retried, any other means the outcome
	// is unknown and the message is not sent again.
	Err error
}

// RecordOutcome stores what became of a claimed message and appends the
// matching notification event, in one transaction. A temporary failure
// puts the message back for a retry after RetryDelay, up to MaxAttempts.
func (h *Handler) RecordOutcome(ctx context.Context, m Message, o Outcome) error {
	ctx = events.WithMetadata(ctx, engineMeta)
	_, err := h.Do(ctx, func(ctx context.Context, tx *Tx) error {
		// The outcome need not wait for its WAL flush: if a crash loses
		// it, the message is left claimed, and an expired claim is sent
		// again only to providers that recognise the repeat (webhooks);
		// for the others it is recorded as an unknown outcome. Losing
		// this record can never cause a second page.
		if _, err := tx.tx.Exec(ctx, `SET LOCAL synchronous_commit = off`); err != nil {
			return err
		}
		var status string
		if err := tx.tx.QueryRow(ctx, `SELECT status FROM outgoing_messages WHERE id = $1 FOR UPDATE`, m.ID).Scan(&status); err != nil {
			return fmt.Errorf("find message: %w", err)
		}
		if status != "sending" {
			return nil // recorded already
		}
		dest := events.Dest{Type: m.Dest.Type, Args: m.Dest.Args}
		failed := func(reason string) error {
			if _, err := tx.tx.Exec(ctx, `UPDATE outgoing_messages SET status = 'failed', lease_until = NULL, detail = $2,
				payload = CASE WHEN dest->>'type' = 'builtin-twilio-voice' THEN payload ELSE payload - 'code' END WHERE id = $1`, m.ID, reason); err != nil {
				return err
			}
			if err := settleBundled(ctx, tx, m, dest, notification.StateFailed, reason); err != nil {
				return err
			}
			return tx.Append(ctx, MessageStream(m.ID), -1, events.NotificationFailed{MessageID: m.ID, Kind: string(m.Kind),
				AlertID: m.AlertID, UserID: m.UserID, UserName: m.Payload["user_name"], ContactMethodID: m.ContactMethodID,
				Dest: dest, Reason: reason, Attempt: m.Attempts})
		}
		switch {
		case o.Err != nil && notification.IsTemporary(o.Err) && m.Attempts < MaxAttempts:
			_, err := tx.tx.Exec(ctx, `UPDATE outgoing_messages SET status = 'pending', lease_until = NULL, due_at = $2, detail = $3
				WHERE id = $1`, m.ID, tx.now.Add(RetryDelay), o.Err.Error())
			tx.work = true
			return err
		case o.Err != nil && notification.IsTemporary(o.Err):
			return failed(fmt.Sprintf("gave up after %d attempts: %v", m.Attempts, o.Err))
		case o.Err != nil:
			return failed("outcome unknown, not repeated: " + o.Err.Error())
		case o.Status.State == notification.StateFailed:
			return failed(o.Status.Detail)
		}
		state := o.Status.State
		if state == "" {
			state = notification.StateSent
		}
		if _, err := tx.tx.Exec(ctx, `UPDATE outgoing_messages SET status = $2, lease_until = NULL, sent_at = $3,
			provider_id = nullif($4, ''), detail = $5, payload = CASE WHEN dest->>'type' = 'builtin-twilio-voice' THEN payload ELSE payload - 'code' END WHERE id = $1`,
			m.ID, string(state), tx.now, o.Status.ProviderID, o.Status.Detail); err != nil {
			return err
		}
		if err := settleBundled(ctx, tx, m, dest, state, ""); err != nil {
			return err
		}
		if m.Kind == notification.KindAlert && m.ContactMethodID != "" && m.Payload["status_updates"] == "true" {
			raw, _ := json.Marshal(dest)
			if _, err := tx.tx.Exec(ctx, `INSERT INTO alert_status_subscriptions (alert_id, contact_method_id, user_id, dest)
				VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`, m.AlertID, m.ContactMethodID, m.UserID, raw); err != nil {
				return err
			}
		}
		return tx.Append(ctx, MessageStream(m.ID), -1, events.NotificationSent{MessageID: m.ID, Kind: string(m.Kind),
			AlertID: m.AlertID, UserID: m.UserID, UserName: m.Payload["user_name"], ContactMethodID: m.ContactMethodID,
			Dest: dest, State: string(state), ProviderID: o.Status.ProviderID, Attempt: m.Attempts})
	})
	return err
}

// MessageStatus records a provider's later report on a message (a
// delivery callback), found by the message id or the provider's id.
func (h *Handler) MessageStatus(ctx context.Context, messageID, providerID string, st notification.Status) error {
	ctx = events.WithMetadata(ctx, engineMeta)
	_, err := h.Do(ctx, func(ctx context.Context, tx *Tx) error {
		var id, cur string
		var alertID int64
		err := tx.tx.QueryRow(ctx, `SELECT id::text, status, coalesce(alert_id, 0) FROM outgoing_messages
			WHERE ($1 <> '' AND id::text = $1) OR ($1 = '' AND provider_id = $2) LIMIT 1 FOR UPDATE`, messageID, providerID).Scan(&id, &cur, &alertID)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		if cur == string(st.State) || cur == "cancelled" {
			return nil
		}
		if _, err := tx.tx.Exec(ctx, `UPDATE outgoing_messages SET status = $2, detail = $3 WHERE id = $1`, id, string(st.State), st.Detail); err != nil {
			return err
		}
		return tx.Append(ctx, MessageStream(id), -1, events.NotificationStatusChanged{MessageID: id, AlertID: alertID, State: string(st.State), Detail: st.Detail})
	})
	return err
}

// settleBundled gives the pages folded into bundle m its outcome, each
// recorded on its own message's stream so that every alert's log shows it.
func settleBundled(ctx context.Context, tx *Tx, m Message, dest events.Dest, state notification.State, reason string) error {
	status := string(state)
	rows, err := tx.tx.Query(ctx, `UPDATE outgoing_messages SET status = $2, sent_at = CASE WHEN $2 = 'failed' THEN NULL ELSE $3::timestamptz END
		WHERE status = 'bundled' AND detail = $1
		RETURNING id::text, coalesce(alert_id, 0), coalesce(user_id::text, ''), coalesce(payload->>'user_name', '')`,
		bundledInto+m.ID, status, tx.now)
	if err != nil {
		return fmt.Errorf("settle bundled messages: %w", err)
	}
	type folded struct {
		id       string
		alertID  int64
		userID   string
		userName string
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (folded, error) {
		var f folded
		err := r.Scan(&f.id, &f.alertID, &f.userID, &f.userName)
		return f, err
	})
	if err != nil {
		return fmt.Errorf("settle bundled messages: %w", err)
	}
	for _, f := range list {
		var e events.Event = events.NotificationSent{MessageID: f.id, Kind: string(notification.KindAlert), AlertID: f.alertID,
			UserID: f.userID, UserName: f.userName, ContactMethodID: m.ContactMethodID, Dest: dest, State: status, Attempt: m.Attempts}
		if state == notification.StateFailed {
			e = events.NotificationFailed{MessageID: f.id, Kind: string(notification.KindAlert), AlertID: f.alertID,
				UserID: f.userID, UserName: f.userName, ContactMethodID: m.ContactMethodID, Dest: dest, Reason: reason, Attempt: m.Attempts}
		}
		if err := tx.Append(ctx, MessageStream(f.id), -1, e); err != nil {
			return err
		}
	}
	return nil
}
