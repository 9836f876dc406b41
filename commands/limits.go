package commands

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/oncallhq/goalert/domain/limits"
)

// SetSystemLimit changes a system limit (admins only; the edge checks).
func (h *Handler) SetSystemLimit(ctx context.Context, id string, value int) (Result, error) {
	lid, err := limits.Parse(id)
	if err != nil {
		return Result{}, err
	}
	evs, err := limits.Set(lid, value)
	if err != nil {
		return Result{}, err
	}
	return h.Do(ctx, func(ctx context.Context, tx *Tx) error {
		if _, err := tx.tx.Exec(ctx, `INSERT INTO system_limits (id, value) VALUES ($1, $2)
			ON CONFLICT (id) DO UPDATE SET value = excluded.value`, string(lid), value); err != nil {
			return fmt.Errorf("record limit: %w", err)
		}
		return tx.Append(ctx, limits.Stream, -1, evs...)
	})
}

// Limit returns the current value of a system limit, read inside the
// command's transaction.
func (t *Tx) Limit(ctx context.Context, id limits.ID) (int, error) {
	var v int
	err := t.tx.QueryRow(ctx, `SELECT value FROM system_limits WHERE id = $1`, string(id)).Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
		return limits.Defaults[id], nil
	}
	if err != nil {
		return 0, fmt.Errorf("read limit %s: %w", id, err)
	}
	return v, nil
}

// SystemLimits returns every system limit's current value.
func (h *Handler) SystemLimits(ctx context.Context) (map[limits.ID]int, error) {
	out := map[limits.ID]int{}
	for id, v := range limits.Defaults {
		out[id] = v
	}
	rows, err := h.pool.Query(ctx, `SELECT id, value FROM system_limits`)
	if err != nil {
		return nil, fmt.Errorf("read system limits: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var v int
		if err := rows.Scan(&id, &v); err != nil {
			return nil, err
		}
		out[limits.ID(id)] = v
	}
	return out, rows.Err()
}
