package commands

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/oncallhq/goalert/domain"
	"github.com/oncallhq/goalert/domain/escalation"
	"github.com/oncallhq/goalert/domain/limits"
	"github.com/oncallhq/goalert/domain/rotation"
	"github.com/oncallhq/goalert/domain/schedule"
	"github.com/oncallhq/goalert/domain/user"
	"github.com/oncallhq/goalert/events"
	"github.com/oncallhq/goalert/events/pgstore"
)

// Reservation scopes of rotations, schedules and calendar subscriptions.
// Besides unique names, they index what commands must find by id alone
// within their transaction: the schedule of an override, the schedules
// that target a rotation, and the subscription of a feed token.
const (
	scopeRotationName     = "rotation_name"
	scopeScheduleName     = "schedule_name"
	scopeOverride         = "user_override"         // override id -> schedule id
	scopeRotationTarget   = "schedule_rotation"     // "<rotation id>/<schedule id>" -> schedule id
	scopeCalendarToken    = "calendar_token"        // SHA-256 of the token -> subscription id
	scopeCalendarSubOwner = "calendar_subscription" // subscription id -> user id
)

func nameKey(name string) string { return strings.ToLower(strings.TrimSpace(name)) }

// reserveName claims name in scope for id, or returns taken.
func reserveName(ctx context.Context, tx *Tx, scope, name, id string, taken error) error {
	holder, err := tx.Reserve(ctx, scope, nameKey(name), id)
	if err != nil {
		return err
	}
	if holder != id {
		return taken
	}
	return nil
}

// rename moves id's claim on a name in scope from old to name.
func rename(ctx context.Context, tx *Tx, scope, old, name, id string, taken error) error {
	if nameKey(old) == nameKey(name) {
		return nil
	}
	if err := reserveName(ctx, tx, scope, name, id, taken); err != nil {
		return err
	}
	return tx.Release(ctx, scope, nameKey(old), id)
}

// requireUsers checks that every id names a live user; field is the input
// field the ids came from.
func requireUsers(ctx context.Context, tx *Tx, field string, ids ...string) error {
	checked := map[string]bool{}
	var errs []error
	for i, id := range ids {
		if checked[id] {
			continue
		}
		checked[id] = true
		_, _, err := loadUser(ctx, tx, id)
		switch {
		case errors.Is(err, user.ErrNotFound):
			f := field
			if len(ids) > 1 {
				f = fmt.Sprintf("%s[%d]", field, i)
			}
			errs = append(errs, domain.FieldErrorf(f, "no user with id %q", id))
		case err != nil:
			return err
		}
	}
	return errors.Join(errs...)
}

// ---- rotations ----

// CreateRotation is the command to add a rotation (GoAlert's
// createRotation).
type CreateRotation struct {
	Name        string
	Description string
	Type        string // hourly, daily, weekly or monthly
	ShiftLength int
	Start       time.Time
	TimeZone    string
	// UserIDs are the participants in hand-off order; the first is on
	// call from now.
	UserIDs []string
}

// CreateRotation adds a rotation and returns its id. A name in use is
// rotation.ErrNameTaken; more participants than the
// participants_per_rotation limit is rotation.ErrTooManyParticipants.
func (h *Handler) CreateRotation(ctx context.Context, c CreateRotation) (string, Result, error) {
	typ, err := rotation.ParseType(c.Type)
	if err != nil {
		return "", Result{}, err
	}
	id := uuid.NewString()
	res, err := h.Do(ctx, func(ctx context.Context, tx *Tx) error {
		max, err := tx.Limit(ctx, limits.ParticipantsPerRotation)
		if err != nil {
			return err
		}
		s := rotation.Settings{Name: c.Name, Description: c.Description, Type: typ, ShiftLength: c.ShiftLength, Start: c.Start, TimeZone: c.TimeZone}
		evs, err := rotation.Create(id, s, c.UserIDs, max, tx.Now())
		if err != nil {
			return err
		}
		if err := requireUsers(ctx, tx, "userIDs", c.UserIDs...); err != nil {
			return err
		}
		if err := reserveName(ctx, tx, scopeRotationName, c.Name, id, rotation.ErrNameTaken); err != nil {
			return err
		}
		return tx.Append(ctx, rotation.Stream(id), 0, evs...)
	})
	if err != nil {
		return "", Result{}, err
	}
	return id, res, nil
}

// UpdateRotation is the command to change a rotation (GoAlert's
// updateRotation). Nil fields are kept.
type UpdateRotation struct {
	ID          string
	Name        *string
	Description *string
	Type        *string
	ShiftLength *int
	Start       *time.Time
	TimeZone    *string
	// UserIDs, when not nil, replaces the participants (empty removes
	// them all).
	UserIDs []string
	// ActiveUserIndex, when set, makes that participant the one on call
	// from now until the next hand-off.
	ActiveUserIndex *int
}

// UpdateRotation applies the settings, then the participants, then the
// active participant, in one transaction; every change takes effect now.
func (h *Handler) UpdateRotation(ctx context.Context, u UpdateRotation) (Result, error) {
	return h.Do(ctx, func(ctx context.Context, tx *Tx) error {
		r, version, err := loadRotation(ctx, tx, u.ID)
		if err != nil {
			return err
		}
		max, err := tx.Limit(ctx, limits.ParticipantsPerRotation)
		if err != nil {
			return err
		}
		old := r.Settings()
		s := old
		if u.Name != nil {
			s.Name = *u.Name
		}
		if u.Description != nil {
			s.Description = *u.Description
		}
		if u.Type != nil {
			if s.Type, err = rotation.ParseType(*u.Type); err != nil {
				return err
			}
		}
		if u.ShiftLength != nil {
			s.ShiftLength = *u.ShiftLength
		}
		if u.Start != nil {
			s.Start = *u.Start
		}
		if u.TimeZone != nil {
			s.TimeZone = *u.TimeZone
		}
		var evs []events.Event
		decide := func(more []events.Event, err error) error {
			if err != nil {
				return err
			}
			for _, e := range more {
				r.Apply(e)
			}
			evs = append(evs, more...)
			return nil
		}
		if err := decide(r.Update(s, max, tx.Now())); err != nil {
			return err
		}
		if len(evs) > 0 {
			if err := rename(ctx, tx, scopeRotationName, old.Name, r.Name(), u.ID, rotation.ErrNameTaken); err != nil {
				return err
			}
		}
		if u.UserIDs != nil {
			if err := decide(r.SetParticipants(u.UserIDs, max, tx.Now())); err != nil {
				return err
			}
			if err := requireUsers(ctx, tx, "userIDs", u.UserIDs...); err != nil {
				return err
			}
		}
		if u.ActiveUserIndex != nil {
			if err := decide(r.SetActive(*u.ActiveUserIndex, tx.Now())); err != nil {
				return err
			}
		}
		return tx.Append(ctx, rotation.Stream(u.ID), version, evs...)
	})
}

// AddRotationParticipant appends a user to a rotation, effective now.
func (h *Handler) AddRotationParticipant(ctx context.Context, rotationID, userID string) (Result, error) {
	return h.Do(ctx, func(ctx context.Context, tx *Tx) error {
		r, version, err := loadRotation(ctx, tx, rotationID)
		if err != nil {
			return err
		}
		max, err := tx.Limit(ctx, limits.ParticipantsPerRotation)
		if err != nil {
			return err
		}
		evs, err := r.AddParticipant(userID, max, tx.Now())
		if err != nil {
			return err
		}
		if err := requireUsers(ctx, tx, "userID", userID); err != nil {
			return err
		}
		return tx.Append(ctx, rotation.Stream(rotationID), version, evs...)
	})
}

// RemoveRotationParticipant removes the participant at position pos (from
// 0), effective now.
func (h *Handler) RemoveRotationParticipant(ctx context.Context, rotationID string, pos int) (Result, error) {
	return h.Do(ctx, func(ctx context.Context, tx *Tx) error {
		r, version, err := loadRotation(ctx, tx, rotationID)
		if err != nil {
			return err
		}
		evs, err := r.RemoveParticipant(pos, tx.Now())
		if err != nil {
			return err
		}
		return tx.Append(ctx, rotation.Stream(rotationID), version, evs...)
	})
}

// DeleteRotation deletes a rotation and, as GoAlert does, the schedule
// rules that target it. Its name is free again.
func (h *Handler) DeleteRotation(ctx context.Context, id string) (Result, error) {
	return h.Do(ctx, func(ctx context.Context, tx *Tx) error {
		r, version, err := loadRotation(ctx, tx, id)
		if err != nil {
			return err
		}
		evs, err := r.Delete()
		if err != nil {
			return err
		}
		if err := tx.Release(ctx, scopeRotationName, nameKey(r.Name()), id); err != nil {
			return err
		}
		if err := tx.Append(ctx, rotation.Stream(id), version, evs...); err != nil {
			return err
		}
		rows, err := tx.tx.Query(ctx, `SELECT owner FROM reservations WHERE scope = $1 AND key LIKE $2`, scopeRotationTarget, id+"/%")
		if err != nil {
			return fmt.Errorf("find schedules of rotation %s: %w", id, err)
		}
		schedIDs, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return fmt.Errorf("find schedules of rotation %s: %w", id, err)
		}
		for _, sid := range schedIDs {
			err := h.changeSchedule(ctx, tx, sid, func(s *schedule.Aggregate, _ schedule.Limits) ([]events.Event, error) {
				return s.SetTargetRules(schedule.TargetRules{Kind: schedule.TargetRotation, ID: id}, schedule.Limits{Rules: -1, Targets: -1, Overrides: -1})
			})
			if err != nil && !errors.Is(err, schedule.ErrNotFound) {
				return err
			}
			if err := tx.Release(ctx, scopeRotationTarget, id+"/"+sid, sid); err != nil {
				return err
			}
		}
		return nil
	})
}

func loadRotation(ctx context.Context, tx *Tx, id string) (*rotation.Aggregate, int64, error) {
	if _, err := uuid.Parse(id); err != nil {
		return nil, 0, rotation.ErrNotFound
	}
	hist, err := tx.Load(ctx, rotation.Stream(id))
	if err != nil {
		return nil, 0, err
	}
	r := rotation.FromHistory(hist.Events)
	if !r.Exists() {
		return nil, 0, rotation.ErrNotFound
	}
	return r, hist.Version, nil
}

// ---- schedules ----

// CreateSchedule is the command to add a schedule with its targets
// (GoAlert's createSchedule). Rules without an id get one.
type CreateSchedule struct {
	Name        string
	Description string
	TimeZone    string
	Targets     []schedule.TargetRules
}

// CreateSchedule adds a schedule and returns its id. A name in use is
// schedule.ErrNameTaken; targets must be live users and rotations; the
// rules_per_schedule and targets_per_schedule limits apply.
func (h *Handler) CreateSchedule(ctx context.Context, c CreateSchedule) (string, Result, error) {
	id := uuid.NewString()
	targets := make([]schedule.TargetRules, len(c.Targets))
	for i, t := range c.Targets {
		targets[i] = withRuleIDs(t, nil)
	}
	res, err := h.Do(ctx, func(ctx context.Context, tx *Tx) error {
		lim, err := scheduleLimits(ctx, tx)
		if err != nil {
			return err
		}
		evs, err := schedule.Create(id, schedule.Settings{Name: c.Name, Description: c.Description, TimeZone: c.TimeZone}, targets, lim)
		if err != nil {
			return err
		}
		for i, t := range targets {
			if err := h.requireTarget(ctx, tx, fmt.Sprintf("targets[%d].target", i), id, t); err != nil {
				return err
			}
		}
		if err := reserveName(ctx, tx, scopeScheduleName, c.Name, id, schedule.ErrNameTaken); err != nil {
			return err
		}
		return tx.Append(ctx, schedule.Stream(id), 0, evs...)
	})
	if err != nil {
		return "", Result{}, err
	}
	return id, res, nil
}

// withRuleIDs gives every rule of t without an id one: the id of an
// identical rule the target has (have), so that sending the same rules
// again changes nothing, or a new one.
func withRuleIDs(t schedule.TargetRules, have []schedule.TargetRule) schedule.TargetRules {
	used := map[string]bool{}
	for _, r := range t.Rules {
		used[r.ID] = r.ID != ""
	}
	rules := make([]schedule.TargetRule, len(t.Rules))
	for i, r := range t.Rules {
		for _, h := range have {
			if r.ID == "" && h.Rule == r.Rule && !used[h.ID] {
				r.ID, used[h.ID] = h.ID, true
			}
		}
		if r.ID == "" {
			r.ID = uuid.NewString()
		}
		rules[i] = r
	}
	t.Rules = rules
	return t
}

// requireTarget checks that a target with rules is a live user or
// rotation, and indexes a rotation target so that deleting the rotation
// finds the schedule.
func (h *Handler) requireTarget(ctx context.Context, tx *Tx, field, scheduleID string, t schedule.TargetRules) error {
	if len(t.Rules) == 0 {
		if t.Kind == schedule.TargetRotation {
			return tx.Release(ctx, scopeRotationTarget, t.ID+"/"+scheduleID, scheduleID)
		}
		return nil
	}
	switch t.Kind {
	case schedule.TargetUser:
		return requireUsers(ctx, tx, field+".id", t.ID)
	case schedule.TargetRotation:
		if _, _, err := loadRotation(ctx, tx, t.ID); errors.Is(err, rotation.ErrNotFound) {
			return domain.FieldErrorf(field+".id", "no rotation with id %q", t.ID)
		} else if err != nil {
			return err
		}
		_, err := tx.Reserve(ctx, scopeRotationTarget, t.ID+"/"+scheduleID, scheduleID)
		return err
	}
	return nil
}

func scheduleLimits(ctx context.Context, tx *Tx) (schedule.Limits, error) {
	var lim schedule.Limits
	var err error
	if lim.Rules, err = tx.Limit(ctx, limits.RulesPerSchedule); err != nil {
		return lim, err
	}
	if lim.Targets, err = tx.Limit(ctx, limits.TargetsPerSchedule); err != nil {
		return lim, err
	}
	lim.Overrides, err = tx.Limit(ctx, limits.UserOverridesPerSchedule)
	return lim, err
}

func loadSchedule(ctx context.Context, tx *Tx, id string) (*schedule.Aggregate, int64, error) {
	if _, err := uuid.Parse(id); err != nil {
		return nil, 0, schedule.ErrNotFound
	}
	hist, err := tx.Load(ctx, schedule.Stream(id))
	if err != nil {
		return nil, 0, err
	}
	s := schedule.FromHistory(hist.Events)
	if !s.Exists() {
		return nil, 0, schedule.ErrNotFound
	}
	return s, hist.Version, nil
}

// changeSchedule loads a live schedule, decides and appends, inside tx.
func (h *Handler) changeSchedule(ctx context.Context, tx *Tx, id string, decide func(*schedule.Aggregate, schedule.Limits) ([]events.Event, error)) error {
	s, version, err := loadSchedule(ctx, tx, id)
	if err != nil {
		return err
	}
	lim, err := scheduleLimits(ctx, tx)
	if err != nil {
		return err
	}
	evs, err := decide(s, lim)
	if err != nil {
		return err
	}
	return tx.Append(ctx, schedule.Stream(id), version, evs...)
}

// UpdateSchedule changes what is set of a schedule's name, description and
// time zone. A new zone applies to the rules from now on.
func (h *Handler) UpdateSchedule(ctx context.Context, id string, name, description, timeZone *string) (Result, error) {
	return h.Do(ctx, func(ctx context.Context, tx *Tx) error {
		return h.changeSchedule(ctx, tx, id, func(s *schedule.Aggregate, _ schedule.Limits) ([]events.Event, error) {
			st := s.Settings()
			if name != nil {
				st.Name = *name
			}
			if description != nil {
				st.Description = *description
			}
			if timeZone != nil {
				st.TimeZone = *timeZone
			}
			evs, err := s.Update(st)
			if err != nil || len(evs) == 0 {
				return evs, err
			}
			return evs, rename(ctx, tx, scopeScheduleName, s.Name(), st.Name, id, schedule.ErrNameTaken)
		})
	})
}

// UpdateScheduleTarget sets the full rule list of one target of a schedule
// (GoAlert's updateScheduleTarget); no rules removes the target. Rules
// without an id get one.
func (h *Handler) UpdateScheduleTarget(ctx context.Context, scheduleID string, t schedule.TargetRules) (Result, error) {
	return h.Do(ctx, func(ctx context.Context, tx *Tx) error {
		return h.changeSchedule(ctx, tx, scheduleID, func(s *schedule.Aggregate, lim schedule.Limits) ([]events.Event, error) {
			t := withRuleIDs(t, s.Target(t.Kind, t.ID))
			evs, err := s.SetTargetRules(t, lim)
			if err != nil || len(evs) == 0 {
				return evs, err
			}
			return evs, h.requireTarget(ctx, tx, "target", scheduleID, t)
		})
	})
}

// DeleteSchedule deletes a schedule; its name is free again.
func (h *Handler) DeleteSchedule(ctx context.Context, id string) (Result, error) {
	return h.Do(ctx, func(ctx context.Context, tx *Tx) error {
		return h.changeSchedule(ctx, tx, id, func(s *schedule.Aggregate, _ schedule.Limits) ([]events.Event, error) {
			evs, err := s.Delete()
			if err != nil {
				return nil, err
			}
			if err := tx.Release(ctx, scopeScheduleName, nameKey(s.Name()), id); err != nil {
				return nil, err
			}
			for _, rid := range s.RotationIDs() {
				if err := tx.Release(ctx, scopeRotationTarget, rid+"/"+id, id); err != nil {
					return nil, err
				}
			}
			for _, o := range s.Overrides() {
				if err := tx.Release(ctx, scopeOverride, o.ID, id); err != nil {
					return nil, err
				}
			}
			return evs, nil
		})
	})
}

// CreateUserOverride is the command to add, remove or replace a user on a
// schedule for a while (GoAlert's createUserOverride).
type CreateUserOverride struct {
	ScheduleID   string
	Start, End   time.Time
	AddUserID    string
	RemoveUserID string
}

// CreateUserOverride adds an override and returns its id. It must end in
// the future; one that overlaps another override of the schedule involving
// a same user is schedule.ErrOverrideConflict; the
// user_overrides_per_schedule limit applies.
func (h *Handler) CreateUserOverride(ctx context.Context, c CreateUserOverride) (string, Result, error) {
	id := uuid.NewString()
	res, err := h.Do(ctx, func(ctx context.Context, tx *Tx) error {
		return h.changeSchedule(ctx, tx, c.ScheduleID, func(s *schedule.Aggregate, lim schedule.Limits) ([]events.Event, error) {
			o := schedule.Override{ID: id, Start: c.Start, End: c.End, AddUserID: c.AddUserID, RemoveUserID: c.RemoveUserID}
			evs, err := s.AddOverride(o, lim, tx.Now())
			if err != nil {
				return nil, err
			}
			if c.AddUserID != "" {
				if err := requireUsers(ctx, tx, "addUserID", c.AddUserID); err != nil {
					return nil, err
				}
			}
			if c.RemoveUserID != "" {
				if err := requireUsers(ctx, tx, "removeUserID", c.RemoveUserID); err != nil {
					return nil, err
				}
			}
			_, err = tx.Reserve(ctx, scopeOverride, id, c.ScheduleID)
			return evs, err
		})
	})
	if err != nil {
		return "", Result{}, err
	}
	return id, res, nil
}

// UserOverrideSchedule returns the schedule of an override;
// schedule.ErrOverrideNotFound when there is no such override.
func (h *Handler) UserOverrideSchedule(ctx context.Context, overrideID string) (string, error) {
	var sid string
	_, err := h.Do(ctx, func(ctx context.Context, tx *Tx) error {
		var err error
		sid, err = tx.Holder(ctx, scopeOverride, overrideID)
		return err
	})
	if err == nil && sid == "" {
		err = schedule.ErrOverrideNotFound
	}
	return sid, err
}

// DeleteUserOverride removes an override, found by its id alone.
func (h *Handler) DeleteUserOverride(ctx context.Context, overrideID string) (Result, error) {
	return h.Do(ctx, func(ctx context.Context, tx *Tx) error {
		sid, err := tx.Holder(ctx, scopeOverride, overrideID)
		if err != nil {
			return err
		}
		if sid == "" {
			return schedule.ErrOverrideNotFound
		}
		err = h.changeSchedule(ctx, tx, sid, func(s *schedule.Aggregate, _ schedule.Limits) ([]events.Event, error) {
			return s.RemoveOverride(overrideID)
		})
		if err != nil && !errors.Is(err, schedule.ErrNotFound) {
			return err
		}
		if err := tx.Release(ctx, scopeOverride, overrideID, sid); err != nil {
			return err
		}
		if errors.Is(err, schedule.ErrNotFound) {
			return schedule.ErrOverrideNotFound
		}
		return nil
	})
}

// SetTemporarySchedule is the command behind GoAlert's
// setTemporarySchedule: optionally clear [ClearStart, ClearEnd), then let
// Shifts alone say who is on call from Start until End.
type SetTemporarySchedule struct {
	ScheduleID           string
	ClearStart, ClearEnd time.Time
	Start, End           time.Time
	Shifts               []schedule.Shift
}

// SetTemporarySchedule sets a temporary schedule; its users must exist.
func (h *Handler) SetTemporarySchedule(ctx context.Context, c SetTemporarySchedule) (Result, error) {
	return h.Do(ctx, func(ctx context.Context, tx *Tx) error {
		return h.changeSchedule(ctx, tx, c.ScheduleID, func(s *schedule.Aggregate, _ schedule.Limits) ([]events.Event, error) {
			evs, err := s.SetTemporary(schedule.Temporary{Start: c.Start, End: c.End, Shifts: c.Shifts}, c.ClearStart, c.ClearEnd, tx.Now())
			if err != nil {
				return nil, err
			}
			ids := make([]string, len(c.Shifts))
			for i, sh := range c.Shifts {
				ids[i] = sh.UserID
			}
			return evs, requireUsers(ctx, tx, "shifts.userID", ids...)
		})
	})
}

// ClearTemporarySchedules cuts a schedule's temporary schedules back to
// outside [start, end) (GoAlert's clearTemporarySchedules).
func (h *Handler) ClearTemporarySchedules(ctx context.Context, scheduleID string, start, end time.Time) (Result, error) {
	return h.Do(ctx, func(ctx context.Context, tx *Tx) error {
		return h.changeSchedule(ctx, tx, scheduleID, func(s *schedule.Aggregate, _ schedule.Limits) ([]events.Event, error) {
			return s.ClearTemporary(start, end)
		})
	})
}

// SetOnCallNotificationRule adds (empty r.ID) or replaces an on-call
// notification rule of a schedule and returns its id.
func (h *Handler) SetOnCallNotificationRule(ctx context.Context, scheduleID string, r schedule.NotificationRule) (string, Result, error) {
	if r.ID == "" {
		r.ID = uuid.NewString()
	}
	res, err := h.Do(ctx, func(ctx context.Context, tx *Tx) error {
		return h.changeSchedule(ctx, tx, scheduleID, func(s *schedule.Aggregate, _ schedule.Limits) ([]events.Event, error) {
			return s.SetNotificationRule(r)
		})
	})
	if err != nil {
		return "", Result{}, err
	}
	return r.ID, res, nil
}

// RemoveOnCallNotificationRule removes an on-call notification rule.
func (h *Handler) RemoveOnCallNotificationRule(ctx context.Context, scheduleID, ruleID string) (Result, error) {
	return h.Do(ctx, func(ctx context.Context, tx *Tx) error {
		return h.changeSchedule(ctx, tx, scheduleID, func(s *schedule.Aggregate, _ schedule.Limits) ([]events.Event, error) {
			return s.RemoveNotificationRule(ruleID)
		})
	})
}

// ---- calendar subscriptions ----

// CreateCalendarSubscription is the command to subscribe a user to an iCal
// feed of their shifts.
type CreateCalendarSubscription struct {
	UserID string
	Name   string
	// ScheduleID limits the feed to one schedule; empty means every
	// schedule the user is on.
	ScheduleID      string
	FullSchedule    bool
	ReminderMinutes []int
}

// CreateCalendarSubscription adds a subscription and returns its id and
// its secret token, which is shown this once: only its hash is kept. The
// calendar_subscriptions_per_user limit applies.
func (h *Handler) CreateCalendarSubscription(ctx context.Context, c CreateCalendarSubscription) (id, token string, res Result, err error) {
	id = uuid.NewString()
	var secret [32]byte
	if _, err := rand.Read(secret[:]); err != nil {
		return "", "", Result{}, fmt.Errorf("calendar token: %w", err)
	}
	token = base64.RawURLEncoding.EncodeToString(secret[:])
	hash := TokenHash(token)
	res, err = h.Do(ctx, func(ctx context.Context, tx *Tx) error {
		if err := requireUsers(ctx, tx, "userID", c.UserID); err != nil {
			return err
		}
		if c.ScheduleID != "" {
			if _, _, err := loadSchedule(ctx, tx, c.ScheduleID); errors.Is(err, schedule.ErrNotFound) {
				return domain.FieldErrorf("scheduleID", "no schedule with id %q", c.ScheduleID)
			} else if err != nil {
				return err
			}
		}
		hist, err := tx.Load(ctx, schedule.SubscriptionsStream(c.UserID))
		if err != nil {
			return err
		}
		max, err := tx.Limit(ctx, limits.CalendarSubscriptionsPerUser)
		if err != nil {
			return err
		}
		evs, err := schedule.SubscriptionsFromHistory(c.UserID, hist.Events).Create(schedule.Subscription{ID: id, Name: c.Name,
			ScheduleID: c.ScheduleID, FullSchedule: c.FullSchedule, ReminderMinutes: c.ReminderMinutes, TokenHash: hash}, max)
		if err != nil {
			return err
		}
		if _, err := tx.Reserve(ctx, scopeCalendarToken, hash, id); err != nil {
			return err
		}
		if _, err := tx.Reserve(ctx, scopeCalendarSubOwner, id, c.UserID); err != nil {
			return err
		}
		return tx.Append(ctx, schedule.SubscriptionsStream(c.UserID), hist.Version, evs...)
	})
	if err != nil {
		return "", "", Result{}, err
	}
	return id, token, res, nil
}

// TokenHash is how a calendar token is kept: its SHA-256, in hex.
func TokenHash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// CalendarSubscription returns a live subscription by id;
// schedule.ErrSubscriptionNotFound when it does not exist or was revoked.
func (h *Handler) CalendarSubscription(ctx context.Context, id string) (schedule.Subscription, error) {
	var sub schedule.Subscription
	_, err := h.Do(ctx, func(ctx context.Context, tx *Tx) error {
		var err error
		sub, _, _, err = loadSubscription(ctx, tx, id)
		return err
	})
	return sub, err
}

// CalendarSubscriptionByToken returns the live subscription whose feed
// token is token; schedule.ErrSubscriptionNotFound for an unknown or
// revoked one. A revocation takes effect as soon as it commits.
func (h *Handler) CalendarSubscriptionByToken(ctx context.Context, token string) (schedule.Subscription, error) {
	var sub schedule.Subscription
	_, err := h.Do(ctx, func(ctx context.Context, tx *Tx) error {
		id, err := tx.Holder(ctx, scopeCalendarToken, TokenHash(token))
		if err != nil {
			return err
		}
		if id == "" {
			return schedule.ErrSubscriptionNotFound
		}
		sub, _, _, err = loadSubscription(ctx, tx, id)
		return err
	})
	return sub, err
}

// loadSubscription finds a live subscription by id, with its owner's
// subscriptions and their stream version.
func loadSubscription(ctx context.Context, tx *Tx, id string) (schedule.Subscription, *schedule.Subscriptions, int64, error) {
	uid, err := tx.Holder(ctx, scopeCalendarSubOwner, id)
	if err != nil {
		return schedule.Subscription{}, nil, 0, err
	}
	if uid == "" {
		return schedule.Subscription{}, nil, 0, schedule.ErrSubscriptionNotFound
	}
	hist, err := tx.Load(ctx, schedule.SubscriptionsStream(uid))
	if err != nil {
		return schedule.Subscription{}, nil, 0, err
	}
	all := schedule.SubscriptionsFromHistory(uid, hist.Events)
	sub, ok := all.Get(id)
	if !ok {
		return schedule.Subscription{}, nil, 0, schedule.ErrSubscriptionNotFound
	}
	return sub, all, hist.Version, nil
}

// DeleteCalendarSubscription revokes a subscription: its feed answers no
// more. Whether the caller may do so (its owner or an admin) is for the
// edge to check, with CalendarSubscription.
func (h *Handler) DeleteCalendarSubscription(ctx context.Context, id string) (Result, error) {
	return h.Do(ctx, func(ctx context.Context, tx *Tx) error {
		sub, all, version, err := loadSubscription(ctx, tx, id)
		if err != nil {
			return err
		}
		evs, err := all.Delete(id)
		if err != nil {
			return err
		}
		if err := tx.Release(ctx, scopeCalendarToken, sub.TokenHash, id); err != nil {
			return err
		}
		if err := tx.Release(ctx, scopeCalendarSubOwner, id, sub.UserID); err != nil {
			return err
		}
		return tx.Append(ctx, schedule.SubscriptionsStream(sub.UserID), version, evs...)
	})
}

// ---- who is on call ----

// history loads and decodes a stream with when each event occurred.
func (h *Handler) history(ctx context.Context, q pgstore.Querier, stream string) (schedule.History, error) {
	envs, err := h.store.Load(ctx, q, stream, 1)
	if err != nil {
		return schedule.History{}, err
	}
	hist := schedule.History{Events: make([]events.Event, 0, len(envs)), At: make([]time.Time, 0, len(envs))}
	for _, env := range envs {
		e, err := h.store.Registry().DecodeEnvelope(env)
		if err != nil {
			return schedule.History{}, fmt.Errorf("load %s: %w", stream, err)
		}
		hist.Events = append(hist.Events, e)
		hist.At = append(hist.At, env.OccurredAt)
	}
	return hist, nil
}

// timeline loads a schedule's history with the histories of every
// rotation it ever targeted.
func (h *Handler) timeline(ctx context.Context, scheduleID string) (schedule.Timeline, error) {
	var tl schedule.Timeline
	if _, err := uuid.Parse(scheduleID); err != nil {
		return tl, schedule.ErrNotFound
	}
	var err error
	if tl.Schedule, err = h.history(ctx, h.pool, schedule.Stream(scheduleID)); err != nil {
		return tl, err
	}
	if len(tl.Schedule.Events) == 0 {
		return tl, schedule.ErrNotFound
	}
	tl.Rotations = map[string]schedule.History{}
	for _, rid := range schedule.RotationsIn(tl.Schedule.Events) {
		if tl.Rotations[rid], err = h.history(ctx, h.pool, rotation.Stream(rid)); err != nil {
			return tl, err
		}
	}
	return tl, nil
}

func isScheduleKind(kind string) bool {
	return kind == escalation.ActionSchedule || kind == "schedule"
}

func isRotationKind(kind string) bool {
	return kind == escalation.ActionRotation || kind == string(schedule.TargetRotation)
}

// OnCallAt returns the users on call at t on a schedule or rotation (kind
// escalation.ActionSchedule or ActionRotation, or plain "schedule" and
// "rotation"), sorted, computed from the configuration as it stands now.
// It is the resolver the paging engine uses (see WithOnCall); an unknown
// or deleted schedule or rotation has nobody on call.
func (h *Handler) OnCallAt(ctx context.Context, kind, id string, t time.Time) ([]string, error) {
	switch {
	case isRotationKind(kind):
		if _, err := uuid.Parse(id); err != nil {
			return nil, nil
		}
		hist, err := h.history(ctx, h.pool, rotation.Stream(id))
		if err != nil {
			return nil, err
		}
		if u := rotation.FromHistory(hist.Events).OnCallAt(t); u != "" {
			return []string{u}, nil
		}
		return nil, nil
	case isScheduleKind(kind):
		if _, err := uuid.Parse(id); err != nil {
			return nil, nil
		}
		hist, err := h.history(ctx, h.pool, schedule.Stream(id))
		if err != nil {
			return nil, err
		}
		s := schedule.FromHistory(hist.Events)
		if !s.Exists() {
			return nil, nil
		}
		rots := map[string]*rotation.Aggregate{}
		for _, rid := range s.RotationIDs() {
			rh, err := h.history(ctx, h.pool, rotation.Stream(rid))
			if err != nil {
				return nil, err
			}
			rots[rid] = rotation.FromHistory(rh.Events)
		}
		return s.Spec().OnCallAt(t, func(rid string, from, to time.Time) []rotation.Shift {
			return rots[rid].Shifts(from, to)
		}), nil
	}
	return nil, domain.FieldErrorf("kind", "unknown on-call target %q (want schedule or rotation)", kind)
}

// OnCallAsOf returns who was on call at the instant at, with the
// configuration of the schedule or rotation (and the schedule's rotations)
// as it stood then: only events that occurred at or before at count, so a
// later edit never rewrites the answer. A schedule or rotation that did
// not exist yet, or no longer did, has nobody on call.
func (h *Handler) OnCallAsOf(ctx context.Context, kind, id string, at time.Time) ([]string, error) {
	switch {
	case isRotationKind(kind):
		if _, err := uuid.Parse(id); err != nil {
			return nil, rotation.ErrNotFound
		}
		hist, err := h.history(ctx, h.pool, rotation.Stream(id))
		if err != nil {
			return nil, err
		}
		if len(hist.Events) == 0 {
			return nil, rotation.ErrNotFound
		}
		if u := rotation.AsOf(hist.Events, hist.At, at).OnCallAt(at); u != "" {
			return []string{u}, nil
		}
		return nil, nil
	case isScheduleKind(kind):
		tl, err := h.timeline(ctx, id)
		if err != nil {
			return nil, err
		}
		return tl.OnCallAt(at), nil
	}
	return nil, domain.FieldErrorf("kind", "unknown on-call target %q (want schedule or rotation)", kind)
}

// ShiftsAsOf returns a schedule's shifts from from until to, every instant
// computed with the configuration as it stood at that instant (instants
// after the last change use the present configuration), so that the past
// reads as it was lived. schedule.ErrNotFound when the schedule never
// existed.
func (h *Handler) ShiftsAsOf(ctx context.Context, scheduleID string, from, to time.Time) ([]schedule.Shift, error) {
	tl, err := h.timeline(ctx, scheduleID)
	if err != nil {
		return nil, err
	}
	return tl.Shifts(from, to), nil
}

// FindOnCallSubject returns the id of the schedule or rotation (kind as in
// OnCallAt) called nameOrID: an id, a current name, or the last name of
// one since deleted or renamed, newest first.
func (h *Handler) FindOnCallSubject(ctx context.Context, kind, nameOrID string) (string, error) {
	scope, stream, created, updated, nf := scopeScheduleName, schedule.Stream, events.ScheduleCreated{}.EventName(), events.ScheduleUpdated{}.EventName(), schedule.ErrNotFound
	if isRotationKind(kind) {
		scope, stream, created, updated, nf = scopeRotationName, rotation.Stream, events.RotationCreated{}.EventName(), events.RotationUpdated{}.EventName(), rotation.ErrNotFound
	} else if !isScheduleKind(kind) {
		return "", domain.FieldErrorf("kind", "unknown on-call target %q (want schedule or rotation)", kind)
	}
	if _, err := uuid.Parse(nameOrID); err == nil {
		v, err := h.store.Version(ctx, h.pool, stream(nameOrID))
		if err != nil {
			return "", err
		}
		if v > 0 {
			return nameOrID, nil
		}
	}
	var id string
	err := h.pool.QueryRow(ctx, `SELECT owner FROM reservations WHERE scope = $1 AND key = $2`, scope, nameKey(nameOrID)).Scan(&id)
	if err == nil {
		return id, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return "", fmt.Errorf("look up %q: %w", nameOrID, err)
	}
	var streamID string
	err = h.pool.QueryRow(ctx, `SELECT stream_id FROM events WHERE event_name IN ($1, $2)
		AND lower(btrim(payload->>'name')) = $3 ORDER BY global_position DESC LIMIT 1`, created, updated, nameKey(nameOrID)).Scan(&streamID)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nf
	}
	if err != nil {
		return "", fmt.Errorf("look up %q: %w", nameOrID, err)
	}
	_, id = events.SplitStreamID(streamID)
	return id, nil
}
