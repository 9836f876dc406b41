package commands

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"golang.org/x/crypto/bcrypt"

	"github.com/oncallhq/goalert/domain"
	"github.com/oncallhq/goalert/domain/user"
	"github.com/oncallhq/goalert/events"
)

// Reservation scopes for user invariants.
const scopeUsername = "username"

// CreateUser is the command to add a user, optionally with basic-auth
// credentials.
type CreateUser struct {
	Name     string
	Email    string
	Role     user.Role
	Username string // with Password, sets basic-auth credentials
	Password string
}

// CreateUser adds a user and returns its id. A username already in use is
// user.ErrUsernameTaken.
func (h *Handler) CreateUser(ctx context.Context, c CreateUser) (string, Result, error) {
	hash, err := hashPassword(c.Username, c.Password)
	if err != nil {
		return "", Result{}, err
	}
	id := uuid.NewString()
	res, err := h.Do(ctx, func(ctx context.Context, tx *Tx) error {
		evs, err := user.Create(id, c.Name, c.Email, c.Role)
		if err != nil {
			return err
		}
		if c.Username != "" {
			more, err := user.FromHistory(evs).SetBasicAuth(c.Username, hash)
			if err != nil {
				return err
			}
			evs = append(evs, more...)
			if err := reserveUsername(ctx, tx, c.Username, id); err != nil {
				return err
			}
		}
		return tx.Append(ctx, user.Stream(id), 0, evs...)
	})
	if err != nil {
		return "", Result{}, err
	}
	return id, res, nil
}

// SetBasicAuth gives an existing user a username and password.
func (h *Handler) SetBasicAuth(ctx context.Context, userID, username, password string) (Result, error) {
	if _, err := uuid.Parse(userID); err != nil {
		return Result{}, domain.FieldErrorf("user-id", "%q is not a user id", userID)
	}
	hash, err := hashPassword(username, password)
	if err != nil {
		return Result{}, err
	}
	return h.Do(ctx, func(ctx context.Context, tx *Tx) error {
		hist, err := tx.Load(ctx, user.Stream(userID))
		if err != nil {
			return err
		}
		evs, err := user.FromHistory(hist.Events).SetBasicAuth(username, hash)
		if err != nil {
			return err
		}
		if err := reserveUsername(ctx, tx, username, userID); err != nil {
			return err
		}
		return tx.Append(ctx, user.Stream(userID), hist.Version, evs...)
	})
}

func reserveUsername(ctx context.Context, tx *Tx, username, userID string) error {
	holder, err := tx.Reserve(ctx, scopeUsername, username, userID)
	if err != nil {
		return err
	}
	if holder != userID {
		return user.ErrUsernameTaken
	}
	return nil
}

func hashPassword(username, password string) (string, error) {
	if username == "" {
		return "", nil
	}
	if err := user.ValidatePassword(password); err != nil {
		return "", err
	}
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return string(h), nil
}

// UpdateUser changes what is set of a user's name, email and role.
func (h *Handler) UpdateUser(ctx context.Context, id string, name, email *string, role *user.Role) (Result, error) {
	return h.updateUser(ctx, id, func(u *user.User) ([]events.Event, error) {
		n, e, r := u.Name(), u.Email(), u.Role()
		if name != nil {
			n = *name
		}
		if email != nil {
			e = *email
		}
		if role != nil {
			r = *role
		}
		return u.Update(n, e, r)
	})
}

// DeleteUser deletes a user, frees their username and their contact
// methods' destinations, then runs CleanUpDeletedUser. The deletion stands
// even when the clean-up fails; its error is returned with the Result of
// what was written. Deleting a user deleted before runs the clean-up again
// (finishing one that was interrupted) and is not an error; a user that
// never existed is user.ErrNotFound.
func (h *Handler) DeleteUser(ctx context.Context, id string) (Result, error) {
	res, err := h.Do(ctx, func(ctx context.Context, tx *Tx) error {
		u, version, err := loadUser(ctx, tx, id)
		if err != nil {
			return err
		}
		evs, err := u.Delete()
		if err != nil {
			return err
		}
		if u.Username() != "" {
			if err := tx.Release(ctx, scopeUsername, u.Username(), id); err != nil {
				return err
			}
		}
		for _, cm := range u.ContactMethods() {
			if err := tx.Release(ctx, scopeContactDest, user.DestKey(cm.Dest), contactOwner(id, cm.ID)); err != nil {
				return err
			}
		}
		return tx.Append(ctx, user.Stream(id), version, evs...)
	})
	if err != nil && !errors.Is(err, user.ErrNotFound) {
		return Result{}, err
	}
	// A user not found may have been deleted before: the clean-up tells
	// them from one that never existed, which it reports as
	// user.ErrNotFound.
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanUpTimeout)
	defer cancel()
	more, err := h.cleanUpDeletedUser(cctx, id)
	if more.Last.After(res.Last) {
		res = more
	}
	return res, err
}

func (h *Handler) updateUser(ctx context.Context, id string, decide func(*user.User) ([]events.Event, error)) (Result, error) {
	return h.Do(ctx, func(ctx context.Context, tx *Tx) error {
		u, version, err := loadUser(ctx, tx, id)
		if err != nil {
			return err
		}
		evs, err := decide(u)
		if err != nil {
			return err
		}
		return tx.Append(ctx, user.Stream(id), version, evs...)
	})
}

func loadUser(ctx context.Context, tx *Tx, id string) (*user.User, int64, error) {
	if _, err := uuid.Parse(id); err != nil {
		return nil, 0, user.ErrNotFound
	}
	hist, err := tx.Load(ctx, user.Stream(id))
	if err != nil {
		return nil, 0, err
	}
	u := user.FromHistoryAt(hist.Events, hist.At)
	if !u.Exists() {
		return nil, 0, user.ErrNotFound
	}
	return u, hist.Version, nil
}
