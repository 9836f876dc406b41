package commands

import (
	"context"
	"fmt"

	"github.com/oncallhq/goalert/domain/config"
	"github.com/oncallhq/goalert/events"
	"github.com/oncallhq/goalert/events/pgstore"
)

// Reseal re-encrypts one sealed secret with the current data encryption
// key; changed is false when it already is (then sealed is returned as is).
type Reseal func(sealed string) (resealed string, changed bool, err error)

// ReEncryptSecrets seals again, with the current data encryption key, every
// secret still sealed with the old key (or stored unencrypted while a key
// is configured): the admin config's secrets and the session signing keys.
// The log keeps the old ciphertexts (events are never rewritten); new
// events carry the new ones and are what every instance reads from then
// on, so the old key can be retired once this has run. It returns how
// many secrets it sealed again.
func (h *Handler) ReEncryptSecrets(ctx context.Context, reseal Reseal) (int, error) {
	n := 0
	_, err := h.Do(ctx, func(ctx context.Context, tx *Tx) error {
		n = 0
		if _, err := tx.tx.Exec(ctx, `LOCK TABLE config_values IN SHARE ROW EXCLUSIVE MODE`); err != nil {
			return fmt.Errorf("lock config: %w", err)
		}
		rows, err := tx.tx.Query(ctx, `SELECT id, value FROM config_values WHERE encrypted ORDER BY id`)
		if err != nil {
			return fmt.Errorf("read config: %w", err)
		}
		type secret struct{ id, value string }
		var secrets []secret
		for rows.Next() {
			var s secret
			if err := rows.Scan(&s.id, &s.value); err != nil {
				rows.Close()
				return err
			}
			secrets = append(secrets, s)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		var evs []events.Event
		for _, s := range secrets {
			v, changed, err := reseal(s.value)
			if err != nil {
				return fmt.Errorf("config value %s: %w", s.id, err)
			}
			if !changed {
				continue
			}
			if _, err := tx.tx.Exec(ctx, `UPDATE config_values SET value = $2 WHERE id = $1`, s.id, v); err != nil {
				return err
			}
			evs = append(evs, events.ConfigValueSet{ID: s.id, Value: v, Encrypted: true})
		}
		if err := tx.Append(ctx, config.Stream, pgstore.Any, evs...); err != nil {
			return err
		}
		n = len(evs)

		keys, version, err := signingKeys(ctx, tx)
		if err != nil {
			return err
		}
		var resealed []events.Event
		for _, k := range keys {
			v, changed, err := reseal(k.EncryptedPrivateKey)
			if err != nil {
				return fmt.Errorf("signing key %s: %w", k.KeyID, err)
			}
			if changed {
				resealed = append(resealed, events.SigningKeyResealed{KeyID: k.KeyID, EncryptedPrivateKey: v})
			}
		}
		n += len(resealed)
		return tx.Append(ctx, signingKeysStream, version, resealed...)
	})
	return n, err
}

// signingKeys folds the signing key stream: each key with its newest
// sealing, oldest key first.
func signingKeys(ctx context.Context, tx *Tx) ([]events.SigningKeyCreated, int64, error) {
	hist, err := tx.Load(ctx, signingKeysStream)
	if err != nil {
		return nil, 0, err
	}
	return foldSigningKeys(hist.Events), hist.Version, nil
}

func foldSigningKeys(evs []events.Event) []events.SigningKeyCreated {
	var out []events.SigningKeyCreated
	for _, e := range evs {
		switch e := e.(type) {
		case events.SigningKeyCreated:
			out = append(out, e)
		case events.SigningKeyResealed:
			for i := range out {
				if out[i].KeyID == e.KeyID {
					out[i].EncryptedPrivateKey = e.EncryptedPrivateKey
				}
			}
		}
	}
	return out
}
