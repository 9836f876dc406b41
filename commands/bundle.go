package commands

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/oncallhq/goalert/domain/notification"
)

// bundled is the detail of a message sent as part of another: the bundle's
// id follows it.
const bundledInto = "bundled into "

// Bundle folds the other alert pages due now to the same contact method for
// the same service into m, which is then sent as one AlertBundle message
// ("Svc 'X': 3 unacked alerts"). Only contact methods with per-minute rate
// limits (SMS, voice, email) are bundled: for them one message now beats a
// page a minute; webhooks and Slack get every alert on its own. It returns
// m unchanged when there is nothing to fold in.
func (h *Handler) Bundle(ctx context.Context, m Message) (Message, error) {
	switch m.Dest.Type {
	case notification.DestSMS, notification.DestVoice, notification.DestEmail:
	default:
		return m, nil
	}
	if m.Kind != notification.KindAlert || m.ContactMethodID == "" || m.ServiceID == "" {
		return m, nil
	}
	rows, err := h.pool.Query(ctx, `UPDATE outgoing_messages SET status = 'bundled', detail = $4
		WHERE contact_method_id = $1 AND service_id = $2 AND kind = 'Alert' AND status = 'pending'
		  AND (due_at <= $3 OR detail = 'waiting for its bundle') AND id::text <> $5
		RETURNING alert_id`, m.ContactMethodID, m.ServiceID, h.clock.Now(), bundledInto+m.ID, m.ID)
	if err != nil {
		return m, fmt.Errorf("bundle messages: %w", err)
	}
	others, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return m, fmt.Errorf("bundle messages: %w", err)
	}
	if len(others) == 0 {
		return m, nil
	}
	// The bundle tells how many of the service's alerts await an answer.
	var unacked int
	if err := h.pool.QueryRow(ctx, `SELECT count(*) FROM open_alerts WHERE service_id = $1 AND status = 'triggered'`,
		m.ServiceID).Scan(&unacked); err != nil {
		return m, fmt.Errorf("bundle messages: %w", err)
	}
	count := strconv.Itoa(max(unacked, len(others)+1))
	// Kept in the row too, so that a retry sends the same bundle.
	if _, err := h.pool.Exec(ctx, `UPDATE outgoing_messages SET kind = 'AlertBundle', payload = payload || jsonb_build_object('count', $2::text)
		WHERE id::text = $1`, m.ID, count); err != nil {
		return m, fmt.Errorf("bundle messages: %w", err)
	}
	m.Kind = notification.KindAlertBundle
	p := make(map[string]string, len(m.Payload)+1)
	for k, v := range m.Payload {
		p[k] = v
	}
	p["count"] = count
	m.Payload = p
	return m, nil
}

// SMSBundleCode returns the reply code of a service's bundle for a phone
// number: the one it has, or the smallest unused from 100.
func (h *Handler) SMSBundleCode(ctx context.Context, phone, serviceID string) (int, error) {
	now := h.clock.Now()
	for range 5 {
		var code int
		err := h.pool.QueryRow(ctx, `UPDATE sms_reply_codes SET sent_at = $3 WHERE phone = $1 AND service_id = $2 RETURNING code`,
			phone, serviceID, now).Scan(&code)
		if err == nil {
			return code, nil
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return 0, fmt.Errorf("find bundle code: %w", err)
		}
		err = h.pool.QueryRow(ctx, `INSERT INTO sms_reply_codes (phone, code, service_id, sent_at)
			SELECT $1, min(c), $2, $3 FROM generate_series(100, 100 + (SELECT count(*) FROM sms_reply_codes WHERE phone = $1)) c
			WHERE c NOT IN (SELECT code FROM sms_reply_codes WHERE phone = $1)
			RETURNING code`, phone, serviceID, now).Scan(&code)
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == "23505" {
			continue
		}
		if err != nil {
			return 0, fmt.Errorf("allocate bundle code: %w", err)
		}
		return code, nil
	}
	return 0, errors.New("allocate bundle code: too much contention")
}

// SMSServiceByCode returns the service whose bundle has reply code code at
// phone, or "".
func (h *Handler) SMSServiceByCode(ctx context.Context, phone string, code int) (string, error) {
	var id string
	err := h.pool.QueryRow(ctx, `SELECT service_id::text FROM sms_reply_codes WHERE phone = $1 AND code = $2 AND service_id IS NOT NULL`,
		phone, code).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	return id, err
}
