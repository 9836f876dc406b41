package commands

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/oncallhq/goalert/domain/notification"
	"github.com/oncallhq/goalert/events"
)

// Message is a queued outgoing message as the sender sees it.
type Message struct {
	ID              string
	Kind            notification.Kind
	AlertID         int64
	ServiceID       string
	UserID          string
	ContactMethodID string
	Dest            notification.Dest
	// Payload holds what the message says, decided when it was queued:
	// summary, details, service name, a verification code...
	Payload  map[string]string
	DueAt    time.Time
	Attempts int
	// Stale: an earlier claim of this message ended without an outcome
	// (the process died while sending), so it may have gone out.
	Stale bool
}

// queued is a message to add to the queue.
type queued struct {
	Kind            notification.Kind
	DedupKey        string // empty: no deduplication
	AlertID         int64
	ServiceID       string
	UserID          string
	ContactMethodID string
	Dest            events.Dest
	Payload         map[string]string
	DueAt           time.Time
}

// enqueue adds q to the outgoing queue in the command's transaction, so it
// exists exactly when the events deciding it do. A message whose dedup key
// is queued already is not queued again. It returns the message id.
func (t *Tx) enqueue(ctx context.Context, q queued) (string, error) {
	id, err := uuid.NewV7()
	if err != nil {
		return "", err
	}
	if q.Payload == nil {
		q.Payload = map[string]string{}
	}
	payload, err := json.Marshal(q.Payload)
	if err != nil {
		return "", err
	}
	dest, err := json.Marshal(q.Dest)
	if err != nil {
		return "", err
	}
	if q.DueAt.IsZero() {
		q.DueAt = t.now
	}
	_, err = t.tx.Exec(ctx, `INSERT INTO outgoing_messages
		(id, kind, dedup_key, alert_id, service_id, user_id, contact_method_id, dest, payload, due_at, created_at)
		VALUES ($1, $2, nullif($3, ''), nullif($4, 0), nullif($5, '')::uuid, nullif($6, '')::uuid, nullif($7, '')::uuid, $8, $9, $10, $11)
		ON CONFLICT (dedup_key) DO NOTHING`,
		id, string(q.Kind), q.DedupKey, q.AlertID, q.ServiceID, q.UserID, q.ContactMethodID, dest, payload, q.DueAt, t.now)
	if err != nil {
		return "", fmt.Errorf("queue message: %w", err)
	}
	t.work = true
	return id.String(), nil
}

// WakeEngine tells the paging engine, once the transaction commits, that
// there is work.
func (t *Tx) WakeEngine() { t.work = true }

func notificationKind(s string) notification.Kind { return notification.Kind(s) }

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
