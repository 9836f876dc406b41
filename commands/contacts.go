package commands

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"math/big"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/oncallhq/goalert/domain/limits"
	"github.com/oncallhq/goalert/domain/notification"
	"github.com/oncallhq/goalert/domain/user"
	"github.com/oncallhq/goalert/events"
)

// scopeContactDest reserves a contact method destination: one contact
// method per destination across all users. The owner is
// "<user id>/<contact method id>", so a destination leads to its user.
const scopeContactDest = "contact_method_dest"

func contactOwner(userID, cmID string) string { return userID + "/" + cmID }

// NewContactMethod describes a contact method to add.
type NewContactMethod struct {
	UserID        string
	Name          string
	Dest          notification.Dest
	StatusUpdates bool
	// NewRuleDelay, when set, adds a notification rule with this delay in
	// the same command (GraphQL's newUserNotificationRule).
	NewRuleDelay *int
}

// AddContactMethod adds a contact method, disabled until verified, and
// returns its id.
func (h *Handler) AddContactMethod(ctx context.Context, c NewContactMethod) (string, Result, error) {
	dest, err := user.NormalizeDest(c.Dest)
	if err != nil {
		return "", Result{}, err
	}
	id := uuid.NewString()
	res, err := h.Do(ctx, func(ctx context.Context, tx *Tx) error {
		u, version, err := loadUser(ctx, tx, c.UserID)
		if err != nil {
			return err
		}
		max, err := tx.Limit(ctx, limits.ContactMethodsPerUser)
		if err != nil {
			return err
		}
		evs, err := u.AddContactMethod(id, strings.TrimSpace(c.Name), dest, c.StatusUpdates, max)
		if err != nil {
			return err
		}
		holder, err := tx.Reserve(ctx, scopeContactDest, user.DestKey(dest), contactOwner(c.UserID, id))
		if err != nil {
			return err
		}
		if holder != contactOwner(c.UserID, id) {
			return user.ErrDestTaken
		}
		if c.NewRuleDelay != nil {
			u.Apply(evs...)
			maxRules, err := tx.Limit(ctx, limits.NotificationRulesPerUser)
			if err != nil {
				return err
			}
			more, err := u.AddRule(uuid.NewString(), id, *c.NewRuleDelay, maxRules)
			if err != nil {
				return err
			}
			evs = append(evs, more...)
		}
		return tx.Append(ctx, user.Stream(c.UserID), version, evs...)
	})
	if err != nil {
		return "", Result{}, err
	}
	return id, res, nil
}

// UpdateContactMethod changes a contact method's name and status updates
// setting (nil leaves a field as it is).
func (h *Handler) UpdateContactMethod(ctx context.Context, userID, cmID string, name *string, statusUpdates *bool) (Result, error) {
	return h.updateUser(ctx, userID, func(u *user.User) ([]events.Event, error) {
		cm := u.ContactMethod(cmID)
		if cm == nil {
			return nil, user.ErrContactMethodNotFound
		}
		n, su := cm.Name, cm.StatusUpdates
		if name != nil {
			n = strings.TrimSpace(*name)
		}
		if statusUpdates != nil {
			su = *statusUpdates
		}
		return u.UpdateContactMethod(cmID, n, su)
	})
}

// RemoveContactMethod deletes a contact method and its rules, and frees
// its destination.
func (h *Handler) RemoveContactMethod(ctx context.Context, userID, cmID string) (Result, error) {
	return h.Do(ctx, func(ctx context.Context, tx *Tx) error {
		u, cm, version, err := loadContactMethod(ctx, tx, userID, cmID)
		if err != nil {
			return err
		}
		evs, err := u.RemoveContactMethod(cmID)
		if err != nil {
			return err
		}
		if err := tx.Release(ctx, scopeContactDest, user.DestKey(cm.Dest), contactOwner(userID, cmID)); err != nil {
			return err
		}
		if _, err := tx.tx.Exec(ctx, `UPDATE outgoing_messages SET status = 'cancelled', detail = 'contact method deleted'
			WHERE contact_method_id = $1 AND status = 'pending'`, cmID); err != nil {
			return fmt.Errorf("cancel messages: %w", err)
		}
		return tx.Append(ctx, user.Stream(userID), version, evs...)
	})
}

func newCode() (string, error) {
	n, err := rand.Int(rand.Reader, big.NewInt(900000))
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%06d", 100000+n.Int64()), nil
}

// SendVerification sends a new 6-digit code to a contact method. It is
// refused within a minute of the last test or verification message.
func (h *Handler) SendVerification(ctx context.Context, userID, cmID string) (Result, error) {
	code, err := newCode()
	if err != nil {
		return Result{}, err
	}
	return h.Do(ctx, func(ctx context.Context, tx *Tx) error {
		u, cm, version, err := loadContactMethod(ctx, tx, userID, cmID)
		if err != nil {
			return err
		}
		msgID, err := tx.enqueue(ctx, queued{Kind: notification.KindVerification, UserID: userID, ContactMethodID: cmID,
			Dest: events.Dest{Type: cm.Dest.Type, Args: cm.Dest.Args}, Payload: map[string]string{"code": code}})
		if err != nil {
			return err
		}
		evs, err := u.SendVerification(cmID, code, msgID, tx.Now())
		if err != nil {
			return err
		}
		return tx.Append(ctx, user.Stream(userID), version, evs...)
	})
}

// VerifyContactMethod enables a contact method when code is the unexpired
// code sent last.
func (h *Handler) VerifyContactMethod(ctx context.Context, userID, cmID, code string) (Result, error) {
	return h.Do(ctx, func(ctx context.Context, tx *Tx) error {
		u, version, err := loadUser(ctx, tx, userID)
		if err != nil {
			return err
		}
		evs, err := u.Verify(cmID, code, tx.Now())
		if err != nil {
			return err
		}
		return tx.Append(ctx, user.Stream(userID), version, evs...)
	})
}

// TestContactMethod sends a test message to an enabled contact method, at
// most one test or verification message a minute.
func (h *Handler) TestContactMethod(ctx context.Context, userID, cmID string) (Result, error) {
	return h.Do(ctx, func(ctx context.Context, tx *Tx) error {
		u, cm, version, err := loadContactMethod(ctx, tx, userID, cmID)
		if err != nil {
			return err
		}
		if cm.Disabled {
			return user.ErrContactMethodDisabled
		}
		msgID, err := tx.enqueue(ctx, queued{Kind: notification.KindTest, UserID: userID, ContactMethodID: cmID,
			Dest: events.Dest{Type: cm.Dest.Type, Args: cm.Dest.Args}})
		if err != nil {
			return err
		}
		evs, err := u.SendTest(cmID, msgID, tx.Now())
		if err != nil {
			return err
		}
		return tx.Append(ctx, user.Stream(userID), version, evs...)
	})
}

// AddNotificationRule adds a rule and returns its id.
func (h *Handler) AddNotificationRule(ctx context.Context, userID, cmID string, delay int) (string, Result, error) {
	id := uuid.NewString()
	res, err := h.Do(ctx, func(ctx context.Context, tx *Tx) error {
		u, version, err := loadUser(ctx, tx, userID)
		if err != nil {
			return err
		}
		max, err := tx.Limit(ctx, limits.NotificationRulesPerUser)
		if err != nil {
			return err
		}
		evs, err := u.AddRule(id, cmID, delay, max)
		if err != nil {
			return err
		}
		return tx.Append(ctx, user.Stream(userID), version, evs...)
	})
	if err != nil {
		return "", Result{}, err
	}
	return id, res, nil
}

// RemoveNotificationRule deletes a rule.
func (h *Handler) RemoveNotificationRule(ctx context.Context, userID, ruleID string) (Result, error) {
	return h.updateUser(ctx, userID, func(u *user.User) ([]events.Event, error) { return u.RemoveRule(ruleID) })
}

// ContactOwner returns the user and contact method that own a destination,
// or empty strings.
func (h *Handler) ContactOwner(ctx context.Context, d notification.Dest) (userID, cmID string, err error) {
	var owner string
	err = h.pool.QueryRow(ctx, `SELECT owner FROM reservations WHERE scope = $1 AND key = $2`, scopeContactDest, user.DestKey(d)).Scan(&owner)
	if err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return "", "", nil
		}
		return "", "", err
	}
	userID, cmID, _ = strings.Cut(owner, "/")
	return userID, cmID, nil
}

// SetEnabledByNumber disables (STOP) or enables (START) every SMS and
// voice contact method with phone number number.
func (h *Handler) SetEnabledByNumber(ctx context.Context, number string, enabled bool) error {
	reason := "stop"
	if enabled {
		reason = "start"
	}
	for _, t := range []string{notification.DestSMS, notification.DestVoice} {
		uid, cmID, err := h.ContactOwner(ctx, notification.Dest{Type: t, Args: map[string]string{notification.ArgPhoneNumber: number}})
		if err != nil {
			return err
		}
		if uid == "" {
			continue
		}
		if _, err := h.updateUser(ctx, uid, func(u *user.User) ([]events.Event, error) {
			return u.SetEnabled(cmID, enabled, reason)
		}); err != nil {
			return err
		}
	}
	return nil
}

// loadContactMethod loads a live user and one of their contact methods.
func loadContactMethod(ctx context.Context, tx *Tx, userID, cmID string) (*user.User, *user.ContactMethod, int64, error) {
	u, version, err := loadUser(ctx, tx, userID)
	if err != nil {
		return nil, nil, 0, err
	}
	cm := u.ContactMethod(cmID)
	if cm == nil {
		return nil, nil, 0, user.ErrContactMethodNotFound
	}
	return u, cm, version, nil
}
