package commands

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/oncallhq/goalert/domain"
	"github.com/oncallhq/goalert/domain/escalation"
	"github.com/oncallhq/goalert/domain/rotation"
	"github.com/oncallhq/goalert/domain/schedule"
	"github.com/oncallhq/goalert/domain/user"
	"github.com/oncallhq/goalert/events"
)

// ErrUserNotDeleted is CleanUpDeletedUser asked about a user who is still
// there.
var ErrUserNotDeleted = domain.Conflict("user_not_deleted", "the user has not been deleted")

// cleanUpTimeout bounds the clean-up DeleteUser runs after the deletion.
// It outlives the caller's context: a client hanging up right after the
// deletion must not leave the user on call somewhere.
const cleanUpTimeout = 30 * time.Second

// removal is one kind of clean-up after a user is deleted: find lists what
// still refers to the user ($1 is the user id), remove takes the user out
// of one of them as its own command, and gone is what remove returns when
// that thing went away meanwhile, which leaves nothing to do.
type removal struct {
	what   string
	find   string
	remove func(ctx context.Context, id, userID string) (Result, error)
	gone   error
}

func (h *Handler) removals() []removal {
	return []removal{
		{
			what: "escalation policy",
			find: `SELECT DISTINCT policy_id::text FROM escalation_policy_steps
				WHERE actions @> jsonb_build_array(jsonb_build_object('type', '` + escalation.ActionUser + `',
					'args', jsonb_build_object('user_id', $1::text))) ORDER BY 1`,
			remove: h.removeFromPolicy,
			gone:   escalation.ErrNotFound,
		},
		{
			what:   "rotation",
			find:   `SELECT DISTINCT rotation_id FROM rotation_participants WHERE user_id = $1 ORDER BY 1`,
			remove: h.removeFromRotation,
			gone:   rotation.ErrNotFound,
		},
		{
			what: "schedule",
			find: `SELECT DISTINCT schedule_id FROM schedule_rules WHERE target_type = '` + string(schedule.TargetUser) + `'
				AND target_id = $1 ORDER BY 1`,
			remove: func(ctx context.Context, scheduleID, userID string) (Result, error) {
				return h.UpdateScheduleTarget(ctx, scheduleID, schedule.TargetRules{Kind: schedule.TargetUser, ID: userID})
			},
			gone: schedule.ErrNotFound,
		},
		{
			what: "user override",
			find: `SELECT id FROM schedule_overrides WHERE add_user_id = $1 OR remove_user_id = $1 ORDER BY id`,
			remove: func(ctx context.Context, overrideID, _ string) (Result, error) {
				return h.DeleteUserOverride(ctx, overrideID)
			},
			gone: schedule.ErrOverrideNotFound,
		},
		{
			// The reservations, unlike the read models, change with the
			// commands that create and revoke subscriptions.
			what: "calendar subscription",
			find: `SELECT key FROM reservations WHERE scope = '` + scopeCalendarSubOwner + `' AND owner = $1 ORDER BY key`,
			remove: func(ctx context.Context, subID, _ string) (Result, error) {
				return h.DeleteCalendarSubscription(ctx, subID)
			},
			gone: schedule.ErrSubscriptionNotFound,
		},
	}
}

// CleanUpDeletedUser takes a deleted user out of everything that would
// otherwise page them or show them as a ghost, as GoAlert does when it
// deletes a user: it removes them from rotations (the next participant
// takes over from one on call; a rotation left empty has nobody on call),
// removes their schedule rules, deletes the user overrides that add or
// remove them, removes them from escalation policy steps, and revokes their
// calendar subscriptions. DeleteUser runs it after the deletion commits.
//
// Each removal is a command of its own, recorded by the rotation, schedule,
// policy or calendar with the deletion as its cause: the events carry the
// deletion's correlation id, and the id of the user.deleted event as their
// causation id.
//
// What refers to the user is found in the read models, which trail commits
// by a few milliseconds. They hold what was set up before the deletion;
// only a rotation, schedule or policy that gained the user in the instant
// before it could be missed. Running it again, which is always safe,
// catches that, and finishes a clean-up a failure interrupted: what is done
// already is not done twice. A failed removal does not stop the others;
// their errors are returned together.
//
// It returns user.ErrNotFound for a user that never existed and
// ErrUserNotDeleted for one still there.
func (h *Handler) CleanUpDeletedUser(ctx context.Context, userID string) error {
	_, err := h.cleanUpDeletedUser(ctx, userID)
	return err
}

// cleanUpDeletedUser is CleanUpDeletedUser, with the checkpoint of the
// last event written.
func (h *Handler) cleanUpDeletedUser(ctx context.Context, userID string) (Result, error) {
	ctx, err := h.deletionCause(ctx, userID)
	if err != nil {
		return Result{}, err
	}
	// What refers to the user is found through read models: first let
	// them reach everything committed so far, so that something set up a
	// moment before the deletion is not missed.
	if h.readModels != nil {
		head, err := h.store.LastCommitted(ctx, h.pool)
		if err != nil {
			return Result{}, err
		}
		if err := h.readModels(ctx, head); err != nil {
			return Result{}, fmt.Errorf("wait for the read models: %w", err)
		}
	}
	var res Result
	var errs []error
	for _, r := range h.removals() {
		rows, err := h.pool.Query(ctx, r.find, userID)
		if err != nil {
			errs = append(errs, fmt.Errorf("find each %s of the user: %w", r.what, err))
			continue
		}
		ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			errs = append(errs, fmt.Errorf("find each %s of the user: %w", r.what, err))
			continue
		}
		for _, id := range ids {
			done, err := r.remove(ctx, id, userID)
			if err != nil && !errors.Is(err, r.gone) {
				errs = append(errs, fmt.Errorf("remove the user from %s %s: %w", r.what, id, err))
			}
			if done.Last.After(res.Last) {
				res = done
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return res, fmt.Errorf("clean up after deleting user %s: %w", userID, err)
	}
	return res, nil
}

// deletionCause returns ctx with the metadata of the clean-up of a deleted
// user: the caller's actor (or, without one, the deletion's), the
// deletion's correlation id, and the user.deleted event as the cause.
func (h *Handler) deletionCause(ctx context.Context, userID string) (context.Context, error) {
	if _, err := uuid.Parse(userID); err != nil {
		return nil, user.ErrNotFound
	}
	envs, err := h.store.Load(ctx, h.pool, user.Stream(userID), 1)
	if err != nil {
		return nil, err
	}
	if len(envs) == 0 {
		return nil, user.ErrNotFound
	}
	i := slices.IndexFunc(envs, func(e events.Envelope) bool { return e.Name == events.UserDeleted{}.EventName() })
	if i < 0 {
		return nil, ErrUserNotDeleted
	}
	del := envs[i]
	meta := events.MetadataFrom(ctx)
	if meta.Actor == "" {
		meta.Actor, meta.ActorName, meta.Source = del.Metadata.Actor, del.Metadata.ActorName, del.Metadata.Source
	}
	if del.Metadata.CorrelationID != "" {
		meta.CorrelationID = del.Metadata.CorrelationID
	}
	meta.CausationID = del.ID.String()
	return events.WithMetadata(ctx, meta), nil
}

// removeFromRotation removes every position a user holds in a rotation,
// effective now, as RemoveRotationParticipant would one by one.
func (h *Handler) removeFromRotation(ctx context.Context, rotationID, userID string) (Result, error) {
	return h.Do(ctx, func(ctx context.Context, tx *Tx) error {
		r, version, err := loadRotation(ctx, tx, rotationID)
		if err != nil {
			return err
		}
		parts := r.Definition().Participants
		var evs []events.Event
		// From the last position down, so the positions still to remove
		// do not move.
		for pos := len(parts) - 1; pos >= 0; pos-- {
			if parts[pos] != userID {
				continue
			}
			more, err := r.RemoveParticipant(pos, tx.Now())
			if err != nil {
				return err
			}
			for _, e := range more {
				r.Apply(e)
			}
			evs = append(evs, more...)
		}
		return tx.Append(ctx, rotation.Stream(rotationID), version, evs...)
	})
}

// removeFromPolicy takes a user out of the targets of every step of a
// policy. A step left without targets stays, as in GoAlert.
func (h *Handler) removeFromPolicy(ctx context.Context, policyID, userID string) (Result, error) {
	return h.Do(ctx, func(ctx context.Context, tx *Tx) error {
		p, version, err := loadPolicy(ctx, tx, policyID)
		if err != nil {
			return err
		}
		var evs []events.Event
		for _, s := range p.Steps() {
			acts := slices.DeleteFunc(slices.Clone(s.Actions), func(a events.Dest) bool {
				return a.Type == escalation.ActionUser && a.Args["user_id"] == userID
			})
			if len(acts) == len(s.Actions) {
				continue
			}
			// No limit: fewer targets must go through even where an admin
			// has since lowered the limit below what the step has.
			more, err := p.UpdateStep(s.ID, s.DelayMinutes, acts, -1)
			if err != nil {
				return err
			}
			evs = append(evs, more...)
		}
		return tx.Append(ctx, escalation.Stream(policyID), version, evs...)
	})
}
