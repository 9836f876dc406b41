package commands

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// SMSReplyCode returns the reply code of an alert for a phone number: the
// code it has already, or the smallest number not used by another open
// alert sent to that number (from 1). Closing the alert frees it.
func (h *Handler) SMSReplyCode(ctx context.Context, phone string, alertID int64) (int, error) {
	now := h.clock.Now()
	for range 5 {
		var code int
		err := h.pool.QueryRow(ctx, `UPDATE sms_reply_codes SET sent_at = $3 WHERE phone = $1 AND alert_id = $2 RETURNING code`,
			phone, alertID, now).Scan(&code)
		if err == nil {
			return code, nil
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return 0, fmt.Errorf("find reply code: %w", err)
		}
		err = h.pool.QueryRow(ctx, `INSERT INTO sms_reply_codes (phone, code, alert_id, sent_at)
			SELECT $1, min(c), $2, $3 FROM generate_series(1, (SELECT count(*) + 1 FROM sms_reply_codes WHERE phone = $1)) c
			WHERE c NOT IN (SELECT code FROM sms_reply_codes WHERE phone = $1)
			RETURNING code`, phone, alertID, now).Scan(&code)
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == "23505" {
			continue // another sender took the code (or coded this alert) first
		}
		if err != nil {
			return 0, fmt.Errorf("allocate reply code: %w", err)
		}
		return code, nil
	}
	return 0, errors.New("allocate reply code: too much contention")
}

// SMSAlertByCode returns the open alert with reply code code at phone, or 0.
func (h *Handler) SMSAlertByCode(ctx context.Context, phone string, code int) (int64, error) {
	var id int64
	err := h.pool.QueryRow(ctx, `SELECT alert_id FROM sms_reply_codes WHERE phone = $1 AND code = $2`, phone, code).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	return id, err
}

// SMSLastAlert returns the alert most recently sent to phone (by SMS), or 0.
func (h *Handler) SMSLastAlert(ctx context.Context, phone string) (int64, error) {
	var id int64
	err := h.pool.QueryRow(ctx, `SELECT alert_id FROM outgoing_messages
		WHERE kind = 'Alert' AND dest->>'type' = 'builtin-twilio-sms' AND dest->'args'->>'phone_number' = $1
		  AND status IN ('sent', 'delivered') ORDER BY sent_at DESC LIMIT 1`, phone).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	return id, err
}

// AlertSentTo reports whether alert id was ever sent to a destination of
// type destType with phone number phone.
func (h *Handler) AlertSentTo(ctx context.Context, alertID int64, destType, phone string) (bool, error) {
	var ok bool
	err := h.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM outgoing_messages WHERE alert_id = $1
		AND dest->>'type' = $2 AND dest->'args'->>'phone_number' = $3 AND status IN ('sent', 'delivered'))`,
		alertID, destType, phone).Scan(&ok)
	return ok, err
}

// SMSUnhelpful counts an answer that did nothing for phone and reports
// whether it may still be sent: at most max until an action succeeds.
func (h *Handler) SMSUnhelpful(ctx context.Context, phone string, max int) (bool, error) {
	var n int
	err := h.pool.QueryRow(ctx, `INSERT INTO sms_reply_limits (phone, unhelpful) VALUES ($1, 1)
		ON CONFLICT (phone) DO UPDATE SET unhelpful = sms_reply_limits.unhelpful + 1 RETURNING unhelpful`, phone).Scan(&n)
	return n <= max, err
}

// SMSHelpful resets phone's unhelpful answer count after a successful
// action.
func (h *Handler) SMSHelpful(ctx context.Context, phone string) error {
	_, err := h.pool.Exec(ctx, `DELETE FROM sms_reply_limits WHERE phone = $1`, phone)
	return err
}

// QueuedMessage returns a queued or sent message by id, for providers that
// fetch what to say later (a voice call's script).
func (h *Handler) QueuedMessage(ctx context.Context, id string) (Message, error) {
	var m Message
	var kind string
	var dest, payload []byte
	err := h.pool.QueryRow(ctx, `SELECT id::text, kind, coalesce(alert_id, 0), coalesce(service_id::text, ''), coalesce(user_id::text, ''),
		coalesce(contact_method_id::text, ''), dest, payload, due_at, attempts FROM outgoing_messages WHERE id::text = $1`, id).
		Scan(&m.ID, &kind, &m.AlertID, &m.ServiceID, &m.UserID, &m.ContactMethodID, &dest, &payload, &m.DueAt, &m.Attempts)
	if err != nil {
		return m, err
	}
	m.Kind = notificationKind(kind)
	if err := jsonUnmarshal(dest, &m.Dest); err != nil {
		return m, err
	}
	return m, jsonUnmarshal(payload, &m.Payload)
}
