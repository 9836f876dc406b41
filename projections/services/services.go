// Package services is the read model of services, their labels and their
// integration keys.
package services

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/oncallhq/goalert/events"
	"github.com/oncallhq/goalert/projections"
)

// Projection writes services, service_labels and integration_keys.
type Projection struct{}

var _ projections.Projection = Projection{}

func (Projection) Name() string { return "services" }

func (Projection) Handles() []string {
	return []string{
		events.ServiceCreated{}.EventName(), events.ServiceUpdated{}.EventName(),
		events.ServiceEscalationPolicyChanged{}.EventName(), events.ServiceMaintenanceSet{}.EventName(),
		events.ServiceLabelSet{}.EventName(), events.ServiceDeleted{}.EventName(),
		events.IntegrationKeyCreated{}.EventName(), events.IntegrationKeyDeleted{}.EventName(),
	}
}

func (Projection) Tables() []string {
	return []string{"integration_keys", "service_labels", "services"}
}

func (Projection) Apply(ctx context.Context, tx pgx.Tx, batch []projections.Event) error {
	b := &pgx.Batch{}
	for _, e := range batch {
		switch ev := e.Data.(type) {
		case events.ServiceCreated:
			b.Queue(`INSERT INTO services (id, name, description, escalation_policy_id, created_at) VALUES ($1, $2, $3, $4, $5)
				ON CONFLICT (id) DO NOTHING`, ev.ServiceID, ev.Name, ev.Description, ev.EscalationPolicyID, e.OccurredAt)
		case events.ServiceUpdated:
			b.Queue(`UPDATE services SET name = $2, description = $3 WHERE id = $1`, ev.ServiceID, ev.Name, ev.Description)
		case events.ServiceEscalationPolicyChanged:
			b.Queue(`UPDATE services SET escalation_policy_id = $2 WHERE id = $1`, ev.ServiceID, ev.EscalationPolicyID)
		case events.ServiceMaintenanceSet:
			var until *time.Time
			if !ev.ExpiresAt.IsZero() {
				until = &ev.ExpiresAt
			}
			b.Queue(`UPDATE services SET maintenance_expires_at = $2 WHERE id = $1`, ev.ServiceID, until)
		case events.ServiceLabelSet:
			if ev.Value == "" {
				b.Queue(`DELETE FROM service_labels WHERE service_id = $1 AND key = $2`, ev.ServiceID, ev.Key)
			} else {
				b.Queue(`INSERT INTO service_labels (service_id, key, value) VALUES ($1, $2, $3)
					ON CONFLICT (service_id, key) DO UPDATE SET value = excluded.value`, ev.ServiceID, ev.Key, ev.Value)
			}
		case events.ServiceDeleted:
			b.Queue(`DELETE FROM services WHERE id = $1`, ev.ServiceID)
		case events.IntegrationKeyCreated:
			b.Queue(`INSERT INTO integration_keys (id, service_id, name, type, external_system_name, created_at)
				VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO NOTHING`,
				ev.KeyID, ev.ServiceID, ev.Name, ev.Type, ev.ExternalSystemName, e.OccurredAt)
		case events.IntegrationKeyDeleted:
			b.Queue(`DELETE FROM integration_keys WHERE id = $1`, ev.KeyID)
		}
	}
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("services projection: %w", err)
	}
	return nil
}

// Service is a row of the read model.
type Service struct {
	ID                   string
	Name                 string
	Description          string
	EscalationPolicyID   string
	MaintenanceExpiresAt *time.Time
	CreatedAt            time.Time
}

// Key is an integration key.
type Key struct {
	ID                 string
	ServiceID          string
	Name               string
	Type               string
	ExternalSystemName string
	CreatedAt          time.Time
}

// Label is a service label.
type Label struct{ Key, Value string }

// Reader answers queries on the read model.
type Reader struct{ Pool *pgxpool.Pool }

// ErrNotFound is returned for what is not in the read model.
var ErrNotFound = errors.New("not found")

const selectService = `SELECT id::text, name, description, escalation_policy_id, maintenance_expires_at, created_at FROM services`

func scanService(row pgx.Row) (Service, error) {
	var s Service
	err := row.Scan(&s.ID, &s.Name, &s.Description, &s.EscalationPolicyID, &s.MaintenanceExpiresAt, &s.CreatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return s, ErrNotFound
	}
	return s, err
}

// Get returns the service with id.
func (r Reader) Get(ctx context.Context, id string) (Service, error) {
	return scanService(r.Pool.QueryRow(ctx, selectService+` WHERE id::text = $1`, id))
}

// Search returns services whose name contains search (case-insensitive),
// ordered by name, after the name `after`, at most limit.
func (r Reader) Search(ctx context.Context, search, after string, limit int) ([]Service, error) {
	rows, err := r.Pool.Query(ctx, selectService+` WHERE name ILIKE '%' || $1 || '%' AND lower(name) > lower($2)
		ORDER BY lower(name) LIMIT $3`, search, after, limit)
	if err != nil {
		return nil, fmt.Errorf("search services: %w", err)
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (Service, error) { return scanService(row) })
}

// Keys returns the integration keys of a service.
func (r Reader) Keys(ctx context.Context, serviceID string) ([]Key, error) {
	rows, err := r.Pool.Query(ctx, `SELECT id::text, service_id::text, name, type, external_system_name, created_at
		FROM integration_keys WHERE service_id::text = $1 ORDER BY name, id`, serviceID)
	if err != nil {
		return nil, fmt.Errorf("list keys: %w", err)
	}
	return pgx.CollectRows(rows, pgx.RowToStructByPos[Key])
}

// Key returns the integration key with id.
func (r Reader) Key(ctx context.Context, id string) (Key, error) {
	rows, err := r.Pool.Query(ctx, `SELECT id::text, service_id::text, name, type, external_system_name, created_at
		FROM integration_keys WHERE id::text = $1`, id)
	if err != nil {
		return Key{}, fmt.Errorf("get key: %w", err)
	}
	k, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByPos[Key])
	if errors.Is(err, pgx.ErrNoRows) {
		return k, ErrNotFound
	}
	return k, err
}

// Labels returns the labels of a service, by key.
func (r Reader) Labels(ctx context.Context, serviceID string) ([]Label, error) {
	rows, err := r.Pool.Query(ctx, `SELECT key, value FROM service_labels WHERE service_id::text = $1 ORDER BY key`, serviceID)
	if err != nil {
		return nil, fmt.Errorf("list labels: %w", err)
	}
	return pgx.CollectRows(rows, pgx.RowToStructByPos[Label])
}
