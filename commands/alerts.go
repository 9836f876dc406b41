package commands

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/oncallhq/goalert/domain/alert"
	"github.com/oncallhq/goalert/domain/limits"
	"github.com/oncallhq/goalert/domain/service"
	"github.com/oncallhq/goalert/events"
	"github.com/oncallhq/goalert/events/pgstore"
)

// AlertRef identifies the alert a command acted on.
type AlertRef struct {
	ID        int64 // 0 when a close or acknowledge by dedup key matched nothing
	ServiceID string
	IsNew     bool
}

// IngestAction is what an integration asks for.
type IngestAction string

const (
	IngestTrigger     IngestAction = "trigger"
	IngestClose       IngestAction = "close"
	IngestAcknowledge IngestAction = "acknowledge"
)

// Ingest is an alert action arriving through an integration key.
type Ingest struct {
	Token   string
	Type    service.KeyType // the endpoint's key type; the token's must match
	Action  IngestAction
	Summary string
	Details string
	Dedup   string
	Meta    map[string]string
}

// Ingest resolves the integration key and applies the action in one
// transaction, so a key deleted a moment ago is already refused. An
// unknown token or one of another type is ErrKeyRejected. A close or
// acknowledge that matches no open alert succeeds with ID 0.
func (h *Handler) Ingest(ctx context.Context, in Ingest) (AlertRef, Result, error) {
	if in.Action == IngestTrigger || in.Action == "" {
		if _, err := uuid.Parse(in.Token); err != nil {
			return AlertRef{}, Result{}, ErrKeyRejected
		}
		ft, err := h.newFastTrigger(ctx, in.Token, in)
		if err != nil {
			return AlertRef{}, Result{}, err
		}
		out, err := h.submit(ctx, ft)
		if err != nil {
			return AlertRef{}, Result{}, err
		}
		if !out.retry {
			return out.ref, Result{Last: out.last}, nil
		}
		// A duplicate of an open alert (or a race with one): the general
		// path records it.
	}
	var ref AlertRef
	res, err := h.Do(ctx, func(ctx context.Context, tx *Tx) error {
		svcID, err := resolveKey(ctx, tx, in.Token, in.Type)
		if err != nil {
			return err
		}
		n := alert.New{ServiceID: svcID, Summary: in.Summary, Details: in.Details, Dedup: in.Dedup, Source: sourceOf(in.Type),
			IntegrationKeyID: in.Token, Meta: in.Meta}
		switch in.Action {
		case IngestClose, IngestAcknowledge:
			ref, err = actByDedup(ctx, tx, n, in.Action)
		default:
			ref, err = trigger(ctx, tx, n)
		}
		return err
	})
	return ref, res, err
}

func sourceOf(t service.KeyType) string {
	if t == service.KeyPagerDuty {
		return alert.SourcePagerDuty
	}
	return string(t)
}

func resolveKey(ctx context.Context, tx *Tx, token string, want service.KeyType) (string, error) {
	if _, err := uuid.Parse(token); err != nil {
		return "", ErrKeyRejected
	}
	var svcID, typ string
	err := tx.tx.QueryRow(ctx, `SELECT service_id::text, type FROM integration_key_tokens WHERE token = $1`, token).Scan(&svcID, &typ)
	if errors.Is(err, pgx.ErrNoRows) || (err == nil && typ != string(want)) {
		return "", ErrKeyRejected
	}
	if err != nil {
		return "", fmt.Errorf("look up integration key: %w", err)
	}
	return svcID, nil
}

// CreateAlert triggers an alert on a service directly (GraphQL, people).
func (h *Handler) CreateAlert(ctx context.Context, n alert.New) (AlertRef, Result, error) {
	var ref AlertRef
	res, err := h.Do(ctx, func(ctx context.Context, tx *Tx) error {
		if _, _, err := loadService(ctx, tx, n.ServiceID); err != nil {
			return err
		}
		n.Source, n.IntegrationKeyID = alert.SourceManual, ""
		var err error
		ref, err = trigger(ctx, tx, n)
		return err
	})
	return ref, res, err
}

// CloseMatchingAlert closes the open alert of a service with n's dedup key
// (given or derived from summary and details); nothing matching is not an
// error.
func (h *Handler) CloseMatchingAlert(ctx context.Context, n alert.New) (AlertRef, Result, error) {
	var ref AlertRef
	res, err := h.Do(ctx, func(ctx context.Context, tx *Tx) error {
		if _, _, err := loadService(ctx, tx, n.ServiceID); err != nil {
			return err
		}
		var err error
		ref, err = actByDedup(ctx, tx, n, IngestClose)
		return err
	})
	return ref, res, err
}

// trigger creates the open alert for n's dedup key, or records a
// duplicate of the one that exists.
func trigger(ctx context.Context, tx *Tx, n alert.New) (AlertRef, error) {
	n, err := n.Normalize()
	if err != nil {
		return AlertRef{}, err
	}
	key := n.DedupKey()
	var id int64
	// Concurrent triggers with one key serialize on the unique index: the
	// first inserts, the others wait for it to commit and insert nothing.
	err = tx.tx.QueryRow(ctx, `INSERT INTO open_alerts (alert_id, service_id, dedup_key, status)
		VALUES (nextval('alert_id_seq'), $1, $2, 'triggered')
		ON CONFLICT (service_id, dedup_key) DO NOTHING RETURNING alert_id`, n.ServiceID, key).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return duplicate(ctx, tx, n.ServiceID, key)
	}
	if err != nil {
		return AlertRef{}, fmt.Errorf("open alert: %w", err)
	}
	if err := checkUnacked(ctx, tx, n.ServiceID); err != nil {
		return AlertRef{}, err
	}
	if err := tx.Append(ctx, alert.Stream(id), 0, alert.Trigger(id, n)...); err != nil {
		return AlertRef{}, err
	}
	if err := startEscalation(ctx, tx, id, n.ServiceID); err != nil {
		return AlertRef{}, err
	}
	return AlertRef{ID: id, ServiceID: n.ServiceID, IsNew: true}, nil
}

// checkUnacked enforces the unacknowledged-alerts limit, counting at most
// limit+1 rows so an unlimited or large limit stays cheap.
func checkUnacked(ctx context.Context, tx *Tx, serviceID string) error {
	lim, err := tx.Limit(ctx, limits.UnackedAlertsPerService)
	if err != nil || lim < 0 {
		return err
	}
	var n int
	if err := tx.tx.QueryRow(ctx, `SELECT count(*) FROM (SELECT 1 FROM open_alerts
		WHERE service_id = $1 AND status = 'triggered' LIMIT $2) x`, serviceID, lim+1).Scan(&n); err != nil {
		return fmt.Errorf("count unacknowledged alerts: %w", err)
	}
	if n > lim {
		return alert.ErrTooManyUnacked
	}
	return nil
}

func duplicate(ctx context.Context, tx *Tx, serviceID, key string) (AlertRef, error) {
	id, err := openAlertID(ctx, tx, serviceID, key)
	if err != nil {
		return AlertRef{}, err
	}
	if id == 0 {
		// Closed between our insert attempt and this read: try again.
		return AlertRef{}, errRetry
	}
	a, version, err := loadAlert(ctx, tx, id)
	if err != nil {
		return AlertRef{}, err
	}
	if err := tx.Append(ctx, alert.Stream(id), version, a.Duplicate(tx.Now())...); err != nil {
		return AlertRef{}, err
	}
	return AlertRef{ID: id, ServiceID: serviceID}, nil
}

func openAlertID(ctx context.Context, tx *Tx, serviceID, key string) (int64, error) {
	var id int64
	err := tx.tx.QueryRow(ctx, `SELECT alert_id FROM open_alerts WHERE service_id = $1 AND dedup_key = $2`, serviceID, key).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("find open alert: %w", err)
	}
	return id, nil
}

// actByDedup closes or acknowledges the open alert with n's dedup key.
func actByDedup(ctx context.Context, tx *Tx, n alert.New, action IngestAction) (AlertRef, error) {
	n, err := n.Normalize()
	if err != nil {
		return AlertRef{}, err
	}
	id, err := openAlertID(ctx, tx, n.ServiceID, n.DedupKey())
	if err != nil || id == 0 {
		return AlertRef{ServiceID: n.ServiceID}, err
	}
	var act func(*alert.Alert) ([]events.Event, error)
	if action == IngestClose {
		act = (*alert.Alert).Close
	} else {
		act = (*alert.Alert).Acknowledge
	}
	err = updateAlert(ctx, tx, id, act)
	if errors.Is(err, alert.ErrAlreadyAcknowledged) {
		err = nil // an integration repeating itself
	}
	return AlertRef{ID: id, ServiceID: n.ServiceID}, err
}

func loadAlert(ctx context.Context, tx *Tx, id int64) (*alert.Alert, int64, error) {
	envs, err := tx.h.store.Load(ctx, tx.tx, alert.Stream(id), 1)
	if err != nil {
		return nil, 0, err
	}
	evs := make([]events.Event, len(envs))
	for i, env := range envs {
		if evs[i], err = tx.h.store.Registry().DecodeEnvelope(env); err != nil {
			return nil, 0, fmt.Errorf("load alert %d: %w", id, err)
		}
	}
	a := alert.FromHistory(envs, evs)
	if a == nil {
		return nil, 0, alert.ErrNotFound
	}
	return a, int64(len(envs)), nil
}

// updateAlert applies one decision to alert id and keeps open_alerts in
// step with the alert's status.
func updateAlert(ctx context.Context, tx *Tx, id int64, decide func(*alert.Alert) ([]events.Event, error)) error {
	a, version, err := loadAlert(ctx, tx, id)
	if err != nil {
		return err
	}
	evs, err := decide(a)
	if err != nil {
		return err
	}
	if err := tx.Append(ctx, alert.Stream(id), version, evs...); err != nil {
		return err
	}
	for _, e := range evs {
		var q string
		switch e.(type) {
		case events.AlertAcknowledged:
			q = `UPDATE open_alerts SET status = 'active' WHERE alert_id = $1`
		case events.AlertEscalationRequested:
			q = `UPDATE open_alerts SET status = 'triggered' WHERE alert_id = $1`
		case events.AlertClosed:
			q = `DELETE FROM open_alerts WHERE alert_id = $1`
		default:
			continue
		}
		if _, err := tx.tx.Exec(ctx, q, id); err != nil {
			return fmt.Errorf("update open alert %d: %w", id, err)
		}
	}
	return followAlert(ctx, tx, a, evs)
}

// AcknowledgeAlert acknowledges alert id. It returns alert.ErrNotFound,
// alert.ErrClosed or alert.ErrAlreadyAcknowledged when it cannot.
func (h *Handler) AcknowledgeAlert(ctx context.Context, id int64) (Result, error) {
	return h.Do(ctx, func(ctx context.Context, tx *Tx) error {
		return updateAlert(ctx, tx, id, (*alert.Alert).Acknowledge)
	})
}

// CloseAlert closes alert id. It returns alert.ErrNotFound or
// alert.ErrClosed when it cannot.
func (h *Handler) CloseAlert(ctx context.Context, id int64) (Result, error) {
	return h.Do(ctx, func(ctx context.Context, tx *Tx) error {
		return updateAlert(ctx, tx, id, (*alert.Alert).Close)
	})
}

// EscalateAlert requests the next escalation step for alert id now. It
// returns alert.ErrNotFound or alert.ErrClosed when it cannot.
func (h *Handler) EscalateAlert(ctx context.Context, id int64) (Result, error) {
	return h.Do(ctx, func(ctx context.Context, tx *Tx) error {
		return updateAlert(ctx, tx, id, (*alert.Alert).RequestEscalation)
	})
}

// errRetry makes Do run the command again with fresh state.
var errRetry = &pgstoreConflict{}

type pgstoreConflict struct{}

func (*pgstoreConflict) Error() string { return "state changed during the command; retrying" }
func (*pgstoreConflict) Is(target error) bool {
	return target == pgstore.ErrConflict
}

// OpenAlertIDs returns the ids of a service's open alerts, only the
// unacknowledged ones when unackedOnly.
func (h *Handler) OpenAlertIDs(ctx context.Context, serviceID string, unackedOnly bool) ([]int64, error) {
	if _, err := uuid.Parse(serviceID); err != nil {
		return nil, service.ErrNotFound
	}
	rows, err := h.pool.Query(ctx, `SELECT alert_id FROM open_alerts WHERE service_id = $1
		AND (NOT $2 OR status = 'triggered') ORDER BY alert_id`, serviceID, unackedOnly)
	if err != nil {
		return nil, fmt.Errorf("list open alerts: %w", err)
	}
	return pgx.CollectRows(rows, pgx.RowTo[int64])
}
