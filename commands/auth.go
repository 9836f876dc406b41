package commands

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"golang.org/x/crypto/bcrypt"

	"github.com/oncallhq/goalert/domain"
	"github.com/oncallhq/goalert/domain/user"
	"github.com/oncallhq/goalert/events"
	"github.com/oncallhq/goalert/events/pgstore"
)

// signingKeysStream holds the session signing keys.
const signingKeysStream = "auth-signing_keys"

// SigningKeys returns the stored session signing keys, encrypted, oldest
// first.
func (h *Handler) SigningKeys(ctx context.Context) ([]events.SigningKeyCreated, error) {
	envs, err := h.store.Load(ctx, h.pool, signingKeysStream, 1)
	if err != nil {
		return nil, err
	}
	evs := make([]events.Event, 0, len(envs))
	for _, env := range envs {
		e, err := h.store.Registry().DecodeEnvelope(env)
		if err != nil {
			return nil, err
		}
		evs = append(evs, e)
	}
	return foldSigningKeys(evs), nil
}

// AddFirstSigningKey stores k if no key exists yet. When several instances
// start at once exactly one key is stored; every caller should then use
// SigningKeys.
func (h *Handler) AddFirstSigningKey(ctx context.Context, k events.SigningKeyCreated) error {
	_, err := h.Do(ctx, func(ctx context.Context, tx *Tx) error {
		return tx.Append(ctx, signingKeysStream, pgstore.NoStream, k)
	})
	if errors.Is(err, domain.ErrConcurrentUpdate) {
		return nil // another instance stored its key first
	}
	return err
}

// ErrBadCredentials is the one answer to a wrong username or password, so
// the reply does not tell which was wrong.
var ErrBadCredentials = &domain.Error{Kind: domain.KindUnauthorized, Code: "bad_credentials", Message: "unknown username or wrong password"}

// SignIn checks a username and password and starts a session. The
// credentials are read from the write side (the username reservation and
// the user's stream), so a user added a moment ago by another process can
// sign in at once. A refusal is recorded (audit) and returned as
// ErrBadCredentials.
func (h *Handler) SignIn(ctx context.Context, username, password, userAgent, ip string) (sessionID, userID string, err error) {
	userID, hash, err := h.credentials(ctx, username)
	if err != nil {
		return "", "", err
	}
	if hash == "" || bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) != nil {
		reason := "wrong password"
		if hash == "" {
			reason = "unknown username"
		}
		_, rerr := h.Do(ctx, func(ctx context.Context, tx *Tx) error {
			return tx.Append(ctx, "signin-"+username, pgstore.Any, events.SignInFailed{Username: username, Provider: "basic", Reason: reason, IP: ip})
		})
		return "", "", errors.Join(ErrBadCredentials, rerr)
	}
	sessionID = uuid.NewString()
	_, err = h.Do(ctx, func(ctx context.Context, tx *Tx) error {
		if _, err := tx.tx.Exec(ctx, `INSERT INTO auth_sessions (id, user_id, created_at) VALUES ($1, $2, $3)`, sessionID, userID, tx.Now()); err != nil {
			return fmt.Errorf("record session: %w", err)
		}
		return tx.Append(ctx, "session-"+sessionID, pgstore.NoStream,
			events.SessionStarted{SessionID: sessionID, UserID: userID, Provider: "basic", UserAgent: userAgent, IP: ip})
	})
	if err != nil {
		return "", "", err
	}
	return sessionID, userID, nil
}

// credentials returns the user holding username and their password hash;
// an empty hash when there is no such live user.
func (h *Handler) credentials(ctx context.Context, username string) (userID, hash string, err error) {
	err = h.pool.QueryRow(ctx, `SELECT owner FROM reservations WHERE scope = $1 AND key = $2`, scopeUsername, username).Scan(&userID)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", "", nil
	}
	if err != nil {
		return "", "", fmt.Errorf("look up username: %w", err)
	}
	envs, err := h.store.Load(ctx, h.pool, user.Stream(userID), 1)
	if err != nil {
		return "", "", err
	}
	for _, env := range envs {
		e, err := h.store.Registry().DecodeEnvelope(env)
		if err != nil {
			return "", "", err
		}
		switch e := e.(type) {
		case events.UserBasicAuthSet:
			hash = e.PasswordHash
		case events.UserDeleted:
			hash = ""
		}
	}
	return userID, hash, nil
}

// EndSession signs a session out; ending an ended session is a no-op.
func (h *Handler) EndSession(ctx context.Context, sessionID string) (Result, error) {
	return h.Do(ctx, func(ctx context.Context, tx *Tx) error {
		var userID string
		err := tx.tx.QueryRow(ctx, `UPDATE auth_sessions SET ended_at = $2 WHERE id = $1 AND ended_at IS NULL
			RETURNING user_id::text`, sessionID, tx.Now()).Scan(&userID)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("end session: %w", err)
		}
		return tx.Append(ctx, "session-"+sessionID, pgstore.Any, events.SessionEnded{SessionID: sessionID, UserID: userID})
	})
}

// LiveSession returns the user of a session that has not ended, with the
// user's current name and role; ok is false for an ended or unknown
// session or a deleted user.
func (h *Handler) LiveSession(ctx context.Context, sessionID string) (userID, name, role string, ok bool, err error) {
	err = h.pool.QueryRow(ctx, `SELECT u.id::text, u.name, u.role FROM auth_sessions s JOIN users u ON u.id = s.user_id
		WHERE s.id = $1 AND s.ended_at IS NULL`, sessionID).Scan(&userID, &name, &role)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", "", "", false, nil
	}
	if err != nil {
		return "", "", "", false, fmt.Errorf("check session: %w", err)
	}
	return userID, name, role, true, nil
}
