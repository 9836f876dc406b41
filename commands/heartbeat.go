package commands

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/oncallhq/goalert/domain"
	"github.com/oncallhq/goalert/domain/alert"
	"github.com/oncallhq/goalert/domain/limits"
	"github.com/oncallhq/goalert/events"
)

// Heartbeat monitor rules.
const (
	MinHeartbeatTimeout = 5         // minutes
	MaxHeartbeatTimeout = 9000 * 60 // minutes (9000 hours)
)

// ErrHeartbeatNotFound: no such monitor.
var ErrHeartbeatNotFound = domain.NotFound("heartbeat_monitor_not_found", "heartbeat monitor not found")

var errTooManyHeartbeats = domain.Limit("heartbeat_monitors_per_service", "too many heartbeat monitors for this service")

// HeartbeatStream returns the stream id of monitor id.
func HeartbeatStream(id string) string { return events.StreamID("heartbeat", id) }

func checkHeartbeat(name string, timeout int, details string) error {
	if strings.TrimSpace(name) == "" {
		return domain.FieldError("name", "must not be empty")
	}
	if utf8.RuneCountInString(name) > 255 {
		return domain.FieldError("name", "must be at most 255 characters")
	}
	if timeout < MinHeartbeatTimeout || timeout > MaxHeartbeatTimeout {
		return domain.FieldErrorf("timeoutMinutes", "must be between %d and %d", MinHeartbeatTimeout, MaxHeartbeatTimeout)
	}
	if utf8.RuneCountInString(details) > alert.MaxDetailsLength {
		return domain.FieldErrorf("additionalDetails", "must be at most %d characters", alert.MaxDetailsLength)
	}
	return nil
}

// CreateHeartbeatMonitor adds a monitor to a service and returns its id,
// which is also its check-in secret.
func (h *Handler) CreateHeartbeatMonitor(ctx context.Context, serviceID, name string, timeoutMinutes int, details string) (string, Result, error) {
	name = strings.TrimSpace(name)
	if err := checkHeartbeat(name, timeoutMinutes, details); err != nil {
		return "", Result{}, err
	}
	id := uuid.NewString()
	res, err := h.Do(ctx, func(ctx context.Context, tx *Tx) error {
		if _, _, err := loadService(ctx, tx, serviceID); err != nil {
			return err
		}
		max, err := tx.Limit(ctx, limits.HeartbeatMonitorsPerService)
		if err != nil {
			return err
		}
		var n int
		if err := tx.tx.QueryRow(ctx, `SELECT count(*) FROM heartbeat_state WHERE service_id = $1`, serviceID).Scan(&n); err != nil {
			return err
		}
		if max >= 0 && n >= max {
			return errTooManyHeartbeats
		}
		if _, err := tx.tx.Exec(ctx, `INSERT INTO heartbeat_state (monitor_id, service_id, name, timeout_minutes, details)
			VALUES ($1, $2, $3, $4, $5)`, id, serviceID, name, timeoutMinutes, details); err != nil {
			return fmt.Errorf("add heartbeat monitor: %w", err)
		}
		return tx.Append(ctx, HeartbeatStream(id), 0, events.HeartbeatMonitorCreated{MonitorID: id, ServiceID: serviceID,
			Name: name, TimeoutMinutes: timeoutMinutes, AdditionalDetails: details})
	})
	if err != nil {
		return "", Result{}, err
	}
	return id, res, nil
}

// HeartbeatUpdate holds what to change (nil keeps a field).
type HeartbeatUpdate struct {
	Name              *string
	TimeoutMinutes    *int
	AdditionalDetails *string
	// MutedReason: a non-empty reason mutes the monitor, "" unmutes it.
	MutedReason *string
}

type hbRow struct {
	serviceID, name, details, state string
	timeout                         int
	muted                           bool
	lastBeat                        *time.Time
	alertID                         *int64
}

func lockHeartbeat(ctx context.Context, tx *Tx, id string) (hbRow, error) {
	var r hbRow
	if _, err := uuid.Parse(id); err != nil {
		return r, ErrHeartbeatNotFound
	}
	err := tx.tx.QueryRow(ctx, `SELECT service_id::text, name, details, state, timeout_minutes, muted, last_beat, alert_id
		FROM heartbeat_state WHERE monitor_id = $1 FOR UPDATE`, id).
		Scan(&r.serviceID, &r.name, &r.details, &r.state, &r.timeout, &r.muted, &r.lastBeat, &r.alertID)
	if errors.Is(err, pgx.ErrNoRows) {
		return r, ErrHeartbeatNotFound
	}
	return r, err
}

// UpdateHeartbeatMonitor changes a monitor.
func (h *Handler) UpdateHeartbeatMonitor(ctx context.Context, id string, u HeartbeatUpdate) (Result, error) {
	return h.Do(ctx, func(ctx context.Context, tx *Tx) error {
		r, err := lockHeartbeat(ctx, tx, id)
		if err != nil {
			return err
		}
		hist, err := tx.Load(ctx, HeartbeatStream(id))
		if err != nil {
			return err
		}
		muted := ""
		for _, e := range hist.Events {
			if e, ok := e.(events.HeartbeatMonitorUpdated); ok {
				muted = e.MutedReason
			}
		}
		ev := events.HeartbeatMonitorUpdated{MonitorID: id, Name: r.name, TimeoutMinutes: r.timeout, AdditionalDetails: r.details, MutedReason: muted}
		if u.Name != nil {
			ev.Name = strings.TrimSpace(*u.Name)
		}
		if u.TimeoutMinutes != nil {
			ev.TimeoutMinutes = *u.TimeoutMinutes
		}
		if u.AdditionalDetails != nil {
			ev.AdditionalDetails = *u.AdditionalDetails
		}
		if u.MutedReason != nil {
			ev.MutedReason = strings.TrimSpace(*u.MutedReason)
		}
		if err := checkHeartbeat(ev.Name, ev.TimeoutMinutes, ev.AdditionalDetails); err != nil {
			return err
		}
		if _, err := tx.tx.Exec(ctx, `UPDATE heartbeat_state SET name = $2, timeout_minutes = $3, details = $4, muted = $5,
			due_at = CASE WHEN last_beat IS NOT NULL AND state = 'healthy' THEN last_beat + make_interval(mins => $3) ELSE due_at END
			WHERE monitor_id = $1`, id, ev.Name, ev.TimeoutMinutes, ev.AdditionalDetails, ev.MutedReason != ""); err != nil {
			return err
		}
		tx.work = true
		return tx.Append(ctx, HeartbeatStream(id), hist.Version, ev)
	})
}

// DeleteHeartbeatMonitor deletes a monitor; check-ins to it then fail.
func (h *Handler) DeleteHeartbeatMonitor(ctx context.Context, id string) (Result, error) {
	return h.Do(ctx, func(ctx context.Context, tx *Tx) error {
		if _, err := lockHeartbeat(ctx, tx, id); err != nil {
			return err
		}
		if _, err := tx.tx.Exec(ctx, `DELETE FROM heartbeat_state WHERE monitor_id = $1`, id); err != nil {
			return err
		}
		return tx.Append(ctx, HeartbeatStream(id), -1, events.HeartbeatMonitorDeleted{MonitorID: id})
	})
}

// HeartbeatBeat records a check-in: the monitor is healthy until its
// timeout passes again, and the alert its expiry raised is closed.
func (h *Handler) HeartbeatBeat(ctx context.Context, id string) (Result, error) {
	return h.Do(ctx, func(ctx context.Context, tx *Tx) error {
		r, err := lockHeartbeat(ctx, tx, id)
		if err != nil {
			return err
		}
		if _, err := tx.tx.Exec(ctx, `UPDATE heartbeat_state SET last_beat = $2, due_at = $3, state = 'healthy', alert_id = NULL
			WHERE monitor_id = $1`, id, tx.now, tx.now.Add(time.Duration(r.timeout)*time.Minute)); err != nil {
			return err
		}
		tx.work = true
		if r.state == "healthy" {
			return nil
		}
		if r.alertID != nil {
			tx.meta = heartbeatMeta(tx.meta, id, r.name)
			err := updateAlert(ctx, tx, *r.alertID, (*alert.Alert).Close)
			if err != nil && !errors.Is(err, alert.ErrClosed) && !errors.Is(err, alert.ErrNotFound) {
				return err
			}
		}
		return tx.Append(ctx, HeartbeatStream(id), -1, events.HeartbeatMonitorHealthy{MonitorID: id})
	})
}

// ExpireHeartbeat handles at most one monitor whose timeout has passed:
// it raises (or deduplicates into) the monitor's alert unless muted. It
// reports whether it found one.
func (h *Handler) ExpireHeartbeat(ctx context.Context) (bool, error) {
	found := false
	_, err := h.Do(ctx, func(ctx context.Context, tx *Tx) error {
		found = false
		var id string
		err := tx.tx.QueryRow(ctx, `SELECT monitor_id::text FROM heartbeat_state WHERE due_at <= $1
			ORDER BY due_at LIMIT 1 FOR UPDATE SKIP LOCKED`, tx.now).Scan(&id)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		found = true
		r, err := lockHeartbeat(ctx, tx, id)
		if err != nil {
			return err
		}
		ev := events.HeartbeatMonitorExpired{MonitorID: id}
		if r.lastBeat != nil {
			ev.LastBeat = *r.lastBeat
		}
		if !r.muted {
			details := "Last heartbeat: " + ev.LastBeat.UTC().Format(time.RFC3339)
			if r.details != "" {
				details += "\n\n" + r.details
			}
			n, err := alert.New{ServiceID: r.serviceID, Summary: fmt.Sprintf("Heartbeat monitor '%s' expired.", r.name),
				Details: details, Dedup: id, Source: alert.SourceHeartbeat}.Normalize()
			if err != nil {
				return err
			}
			tx.meta = heartbeatMeta(tx.meta, id, r.name)
			// A savepoint: a trigger refused by the unacknowledged-alerts
			// limit must leave nothing behind, and the expiry is still
			// recorded.
			sp, err := tx.tx.Begin(ctx)
			if err != nil {
				return err
			}
			outer := tx.tx
			tx.tx = sp
			ref, err := trigger(ctx, tx, n)
			tx.tx = outer
			switch {
			case errors.Is(err, alert.ErrTooManyUnacked):
				if err := sp.Rollback(ctx); err != nil {
					return err
				}
			case err != nil:
				return err
			default:
				if err := sp.Commit(ctx); err != nil {
					return err
				}
				ev.AlertID = ref.ID
			}
		}
		if _, err := tx.tx.Exec(ctx, `UPDATE heartbeat_state SET state = 'unhealthy', due_at = NULL, alert_id = nullif($2, 0)
			WHERE monitor_id = $1`, id, ev.AlertID); err != nil {
			return err
		}
		return tx.Append(ctx, HeartbeatStream(id), -1, ev)
	})
	return found, err
}

// HeartbeatStatus is a monitor's live state.
type HeartbeatStatus struct {
	State    string // inactive, healthy, unhealthy
	LastBeat *time.Time
}

// HeartbeatState returns a monitor's live state.
func (h *Handler) HeartbeatState(ctx context.Context, id string) (HeartbeatStatus, error) {
	var s HeartbeatStatus
	if _, err := uuid.Parse(id); err != nil {
		return s, ErrHeartbeatNotFound
	}
	err := h.pool.QueryRow(ctx, `SELECT state, last_beat FROM heartbeat_state WHERE monitor_id = $1`, id).Scan(&s.State, &s.LastBeat)
	if errors.Is(err, pgx.ErrNoRows) {
		return s, ErrHeartbeatNotFound
	}
	return s, err
}

func heartbeatMeta(m events.Metadata, id, name string) events.Metadata {
	m.Actor, m.ActorName, m.Source = "heartbeat:"+id, name, "heartbeat"
	return m
}
