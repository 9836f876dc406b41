package commands

import (
	"context"
	"fmt"

	"github.com/oncallhq/goalert/domain/config"
	"github.com/oncallhq/goalert/events"
	"github.com/oncallhq/goalert/events/pgstore"
)

// SetConfig stores admin config values by GoAlert's ids (admins only; the
// edge checks). It is all or nothing: an unknown id, a value of the wrong
// type or a section enabled without what it needs is a field error, and
// nothing is stored. A secret given as config.Mask stays as it is.
//
// seal encrypts a secret; it runs before anything is written, so neither
// the event log nor config_values ever holds a secret in the clear. The
// events and the config_values rows that every instance reads commit
// together.
func (h *Handler) SetConfig(ctx context.Context, values map[string]string, seal func(string) (string, error)) (Result, error) {
	changes, err := config.Parse(values)
	if err != nil {
		return Result{}, err
	}
	for i, c := range changes {
		if !c.Secret || c.Value == "" {
			continue
		}
		sealed, err := seal(c.Value)
		if err != nil {
			return Result{}, fmt.Errorf("seal %s: %w", c.ID, err)
		}
		changes[i].Value, changes[i].Sealed = sealed, true
	}
	return h.Do(ctx, func(ctx context.Context, tx *Tx) error {
		// One config writer at a time (readers are not blocked), so the
		// log and config_values change in the same order and a check of
		// what a section needs sees the other writer's values.
		if _, err := tx.tx.Exec(ctx, `LOCK TABLE config_values IN SHARE ROW EXCLUSIVE MODE`); err != nil {
			return fmt.Errorf("lock config: %w", err)
		}
		cur, err := storedConfig(ctx, tx.tx)
		if err != nil {
			return err
		}
		evs, err := config.Set(cur, changes)
		if err != nil || len(evs) == 0 {
			return err
		}
		for _, e := range evs {
			v := e.(events.ConfigValueSet)
			if _, err := tx.tx.Exec(ctx, `INSERT INTO config_values (id, value, encrypted) VALUES ($1, $2, $3)
				ON CONFLICT (id) DO UPDATE SET value = excluded.value, encrypted = excluded.encrypted`,
				v.ID, v.Value, v.Encrypted); err != nil {
				return fmt.Errorf("record config value %s: %w", v.ID, err)
			}
		}
		return tx.Append(ctx, config.Stream, pgstore.Any, evs...)
	})
}

// Config returns every admin config value: the stored ones, with secrets
// opened by open, and the defaults for the rest. A secret that open
// cannot decrypt (a changed --data-encryption-key) is an error.
func (h *Handler) Config(ctx context.Context, open func(string) (string, error)) (config.Values, error) {
	rows, err := h.pool.Query(ctx, `SELECT id, value, encrypted FROM config_values`)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	defer rows.Close()
	vals := config.Defaults()
	for rows.Next() {
		var id, v string
		var encrypted bool
		if err := rows.Scan(&id, &v, &encrypted); err != nil {
			return nil, fmt.Errorf("read config: %w", err)
		}
		if _, ok := config.Lookup(id); !ok {
			// A setting an older or newer build knows; this one ignores it.
			continue
		}
		if encrypted {
			if v, err = open(v); err != nil {
				return nil, fmt.Errorf("open config value %s: %w", id, err)
			}
		}
		vals[id] = v
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	return vals, nil
}

// storedConfig returns config_values as stored, secrets sealed.
func storedConfig(ctx context.Context, q pgstore.Querier) (map[string]string, error) {
	rows, err := q.Query(ctx, `SELECT id, value FROM config_values`)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	defer rows.Close()
	cur := map[string]string{}
	for rows.Next() {
		var id, v string
		if err := rows.Scan(&id, &v); err != nil {
			return nil, fmt.Errorf("read config: %w", err)
		}
		cur[id] = v
	}
	return cur, rows.Err()
}
