package commands

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/oncallhq/goalert/domain"
	"github.com/oncallhq/goalert/domain/limits"
	"github.com/oncallhq/goalert/domain/service"
	"github.com/oncallhq/goalert/events"
)

const scopeServiceName = "service_name"

// NewKey describes an integration key to create.
type NewKey struct {
	Name               string
	Type               string
	ExternalSystemName string
}

// CreateService is the command to add a service with its first keys.
type CreateService struct {
	Name               string
	Description        string
	EscalationPolicyID string
	Keys               []NewKey
}

// CreateService adds a service and returns its id and its keys' ids (the
// keys' tokens), in the order given.
func (h *Handler) CreateService(ctx context.Context, c CreateService) (string, []string, Result, error) {
	id := uuid.NewString()
	keyIDs := make([]string, len(c.Keys))
	for i := range keyIDs {
		keyIDs[i] = uuid.NewString()
	}
	res, err := h.Do(ctx, func(ctx context.Context, tx *Tx) error {
		evs, err := service.Create(id, c.Name, c.Description, c.EscalationPolicyID)
		if err != nil {
			return err
		}
		if err := reserveServiceName(ctx, tx, c.Name, id); err != nil {
			return err
		}
		maxKeys, err := tx.Limit(ctx, limits.IntegrationKeysPerService)
		if err != nil {
			return err
		}
		svc := service.FromHistory(evs)
		for i, k := range c.Keys {
			more, err := addKey(ctx, tx, svc, keyIDs[i], k, maxKeys)
			if err != nil {
				return err
			}
			evs = append(evs, more...)
		}
		return tx.Append(ctx, service.Stream(id), 0, evs...)
	})
	if err != nil {
		return "", nil, Result{}, err
	}
	return id, keyIDs, res, nil
}

func addKey(ctx context.Context, tx *Tx, svc *service.Service, keyID string, k NewKey, maxKeys int) ([]events.Event, error) {
	t, err := service.ParseKeyType(k.Type)
	if err != nil {
		return nil, err
	}
	evs, err := svc.AddKey(keyID, k.Name, t, k.ExternalSystemName, maxKeys)
	if err != nil {
		return nil, err
	}
	svc.Apply(evs...)
	if _, err := tx.tx.Exec(ctx, `INSERT INTO integration_key_tokens (token, service_id, type) VALUES ($1, $2, $3)`,
		keyID, svc.ID(), string(t)); err != nil {
		return nil, fmt.Errorf("record key token: %w", err)
	}
	return evs, nil
}

func reserveServiceName(ctx context.Context, tx *Tx, name, id string) error {
	holder, err := tx.Reserve(ctx, scopeServiceName, serviceNameKey(name), id)
	if err != nil {
		return err
	}
	if holder != id {
		return service.ErrNameTaken
	}
	return nil
}

// loadService loads a live service for a command.
func loadService(ctx context.Context, tx *Tx, id string) (*service.Service, int64, error) {
	if _, err := uuid.Parse(id); err != nil {
		return nil, 0, service.ErrNotFound
	}
	hist, err := tx.Load(ctx, service.Stream(id))
	if err != nil {
		return nil, 0, err
	}
	svc := service.FromHistory(hist.Events)
	if !svc.Exists() {
		return nil, 0, service.ErrNotFound
	}
	return svc, hist.Version, nil
}

// UpdateService changes what is set in u.
type UpdateService struct {
	ID                   string
	Name                 *string
	Description          *string
	EscalationPolicyID   *string
	MaintenanceExpiresAt *time.Time // zero time ends maintenance
}

// UpdateService applies u.
func (h *Handler) UpdateService(ctx context.Context, u UpdateService) (Result, error) {
	return h.Do(ctx, func(ctx context.Context, tx *Tx) error {
		svc, version, err := loadService(ctx, tx, u.ID)
		if err != nil {
			return err
		}
		var evs []events.Event
		if u.Name != nil || u.Description != nil {
			name, desc := svc.Name(), svc.Description()
			if u.Name != nil {
				name = *u.Name
			}
			if u.Description != nil {
				desc = *u.Description
			}
			more, err := svc.Update(name, desc)
			if err != nil {
				return err
			}
			if u.Name != nil && !sameServiceName(name, svc.Name()) {
				if err := reserveServiceName(ctx, tx, name, svc.ID()); err != nil {
					return err
				}
				if err := tx.Release(ctx, scopeServiceName, serviceNameKey(svc.Name()), svc.ID()); err != nil {
					return err
				}
			}
			evs = append(evs, more...)
		}
		if u.EscalationPolicyID != nil {
			more, err := svc.SetPolicy(*u.EscalationPolicyID)
			if err != nil {
				return err
			}
			evs = append(evs, more...)
		}
		if u.MaintenanceExpiresAt != nil {
			more, err := svc.SetMaintenance(*u.MaintenanceExpiresAt, tx.Now())
			if err != nil {
				return err
			}
			evs = append(evs, more...)
		}
		if err := tx.Append(ctx, service.Stream(svc.ID()), version, evs...); err != nil {
			return err
		}
		return followService(ctx, tx, svc.ID(), evs)
	})
}

// SetServiceLabel sets (or with an empty value removes) a label.
func (h *Handler) SetServiceLabel(ctx context.Context, serviceID, key, value string) (Result, error) {
	return h.Do(ctx, func(ctx context.Context, tx *Tx) error {
		svc, version, err := loadService(ctx, tx, serviceID)
		if err != nil {
			return err
		}
		evs, err := svc.SetLabel(key, value)
		if err != nil {
			return err
		}
		return tx.Append(ctx, service.Stream(serviceID), version, evs...)
	})
}

// DeleteService deletes a service and its integration keys; the name is
// free again.
func (h *Handler) DeleteService(ctx context.Context, id string) (Result, error) {
	return h.Do(ctx, func(ctx context.Context, tx *Tx) error {
		svc, version, err := loadService(ctx, tx, id)
		if err != nil {
			return err
		}
		evs, err := svc.Delete()
		if err != nil {
			return err
		}
		if _, err := tx.tx.Exec(ctx, `DELETE FROM integration_key_tokens WHERE service_id = $1`, id); err != nil {
			return fmt.Errorf("revoke key tokens: %w", err)
		}
		if err := tx.Release(ctx, scopeServiceName, serviceNameKey(svc.Name()), id); err != nil {
			return err
		}
		return tx.Append(ctx, service.Stream(id), version, evs...)
	})
}

// CreateIntegrationKey adds a key to a service and returns its id (the
// token).
func (h *Handler) CreateIntegrationKey(ctx context.Context, serviceID string, k NewKey) (string, Result, error) {
	keyID := uuid.NewString()
	res, err := h.Do(ctx, func(ctx context.Context, tx *Tx) error {
		svc, version, err := loadService(ctx, tx, serviceID)
		if err != nil {
			return err
		}
		maxKeys, err := tx.Limit(ctx, limits.IntegrationKeysPerService)
		if err != nil {
			return err
		}
		evs, err := addKey(ctx, tx, svc, keyID, k, maxKeys)
		if err != nil {
			return err
		}
		return tx.Append(ctx, service.Stream(serviceID), version, evs...)
	})
	if err != nil {
		return "", Result{}, err
	}
	return keyID, res, nil
}

// DeleteIntegrationKey deletes a key; requests with its token fail from the
// moment this commits.
func (h *Handler) DeleteIntegrationKey(ctx context.Context, keyID string) (Result, error) {
	if _, err := uuid.Parse(keyID); err != nil {
		return Result{}, service.ErrKeyNotFound
	}
	return h.Do(ctx, func(ctx context.Context, tx *Tx) error {
		var serviceID string
		err := tx.tx.QueryRow(ctx, `DELETE FROM integration_key_tokens WHERE token = $1 RETURNING service_id::text`, keyID).Scan(&serviceID)
		if err != nil {
			return notFoundOr(err, service.ErrKeyNotFound)
		}
		svc, version, err := loadService(ctx, tx, serviceID)
		if err != nil {
			return err
		}
		evs, err := svc.DeleteKey(keyID)
		if err != nil {
			return err
		}
		return tx.Append(ctx, service.Stream(serviceID), version, evs...)
	})
}

// KeyOwner is the service an integration key token belongs to.
type KeyOwner struct {
	ServiceID string
	Type      service.KeyType
}

// ErrKeyRejected is the answer to an unknown token or a key of the wrong
// type for the endpoint; ingest endpoints turn it into 401.
var ErrKeyRejected = &domain.Error{Kind: domain.KindUnauthorized, Code: "invalid_integration_key", Message: "unknown integration key, or a key of another type"}

// followService keeps the engine's state in step with a service change:
// a new escalation policy restarts every open alert at step 0 (the
// acknowledged ones wait there), and the end of maintenance releases the
// escalations it held.
func followService(ctx context.Context, tx *Tx, serviceID string, evs []events.Event) error {
	for _, e := range evs {
		var q string
		switch e := e.(type) {
		case events.ServiceEscalationPolicyChanged:
			q = `UPDATE escalation_state s SET step = -1, repeat = 0, policy_id = '', forced = false, held = false,
				due_at = CASE WHEN o.status = 'triggered' THEN $2::timestamptz END
				FROM open_alerts o WHERE o.alert_id = s.alert_id AND s.service_id = $1`
		case events.ServiceMaintenanceSet:
			if e.ExpiresAt.After(tx.now) {
				continue // held escalations are found when they fall due
			}
			q = `UPDATE escalation_state SET held = false, due_at = $2 WHERE service_id = $1 AND held`
		default:
			continue
		}
		if _, err := tx.tx.Exec(ctx, q, serviceID, tx.now); err != nil {
			return fmt.Errorf("update escalations of service: %w", err)
		}
		tx.work = true
	}
	return nil
}
