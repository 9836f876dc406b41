package app

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"fmt"

	"github.com/oncallhq/goalert/adapters/auth/session"
	"github.com/oncallhq/goalert/adapters/keyring"
	"github.com/oncallhq/goalert/commands"
	"github.com/oncallhq/goalert/events"
)

// signingKeys returns the session signing keys, newest first, creating the
// first one on a new database. Keys are stored encrypted with the data
// encryption key; without one they are stored marked as plain text (as
// GoAlert does), and a warning says so.
func (a *App) signingKeys(ctx context.Context, kr *keyring.Keyring, cmds *commands.Handler) ([]ed25519.PrivateKey, error) {
	stored, err := cmds.SigningKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("load signing keys: %w", err)
	}
	if len(stored) == 0 {
		key, err := session.GenerateKey()
		if err != nil {
			return nil, err
		}
		blob, err := a.seal(kr, key)
		if err != nil {
			return nil, err
		}
		k := events.SigningKeyCreated{KeyID: session.KeyID(key.Public().(ed25519.PublicKey)), EncryptedPrivateKey: blob}
		if err := cmds.AddFirstSigningKey(ctx, k); err != nil {
			return nil, fmt.Errorf("store signing key: %w", err)
		}
		if stored, err = cmds.SigningKeys(ctx); err != nil {
			return nil, fmt.Errorf("load signing keys: %w", err)
		}
	}
	keys := make([]ed25519.PrivateKey, 0, len(stored))
	for i := len(stored) - 1; i >= 0; i-- {
		raw, _, err := kr.DecryptString(stored[i].EncryptedPrivateKey)
		if err != nil {
			return nil, fmt.Errorf("decrypt session signing key %s: %w", stored[i].KeyID, err)
		}
		if len(raw) != ed25519.PrivateKeySize {
			return nil, fmt.Errorf("session signing key %s is malformed", stored[i].KeyID)
		}
		keys = append(keys, ed25519.PrivateKey(raw))
	}
	return keys, nil
}

func (a *App) seal(kr *keyring.Keyring, secret []byte) (string, error) {
	if !kr.CanEncrypt() {
		a.log.Warn("no --data-encryption-key: secrets are stored unencrypted")
	}
	return SealSecret(kr, secret)
}

// SealSecret prepares a secret for storage: encrypted with the data
// encryption key, or, without one, marked as plain text (as GoAlert stores
// it then).
func SealSecret(kr *keyring.Keyring, secret []byte) (string, error) {
	if kr.CanEncrypt() {
		return kr.EncryptString(string(secret))
	}
	return base64.RawURLEncoding.EncodeToString(append([]byte{keyring.FormatPlaintext}, secret...)), nil
}
