package app_test

// Black-box tests of deleting a user: as in GoAlert, they leave every
// rotation, schedule, override, escalation step and calendar feed, so that
// nothing pages them or shows them any more.

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"github.com/oncallhq/goalert/cmd/goalert/app/apptest"
	"github.com/oncallhq/goalert/commands"
	"github.com/oncallhq/goalert/domain/escalation"
	"github.com/oncallhq/goalert/domain/rotation"
	"github.com/oncallhq/goalert/domain/schedule"
	"github.com/oncallhq/goalert/domain/user"
	"github.com/oncallhq/goalert/events"
	"github.com/oncallhq/goalert/projections/oncall"
	"github.com/oncallhq/goalert/projections/paging"
)

// onCallNow asks the command side who is on call now on a schedule or
// rotation.
func onCallNow(t *testing.T, h *apptest.Harness, kind, id string) []string {
	t.Helper()
	got, err := h.Commands.OnCallAt(context.Background(), kind, id, h.Clock.Now())
	if err != nil {
		t.Fatalf("on call on %s %s: %v", kind, id, err)
	}
	return got
}

// causedBy returns, by stream, the names of the events whose metadata
// names the event eventID as their cause, with the correlation ids they
// carry.
func causedBy(t *testing.T, h *apptest.Harness, eventID string) (map[string][]string, []string) {
	t.Helper()
	rows, err := h.Pool.Query(context.Background(), `SELECT stream_id, event_name, metadata->>'correlation_id', metadata->>'actor'
		FROM events WHERE metadata->>'causation_id' = $1 ORDER BY transaction_id, global_position`, eventID)
	if err != nil {
		t.Fatalf("read the log: %v", err)
	}
	defer rows.Close()
	byStream := map[string][]string{}
	var meta []string
	for rows.Next() {
		var stream, name, corr, actor string
		if err := rows.Scan(&stream, &name, &corr, &actor); err != nil {
			t.Fatalf("read the log: %v", err)
		}
		byStream[stream] = append(byStream[stream], name)
		meta = append(meta, corr+" "+actor)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("read the log: %v", err)
	}
	return byStream, slices.Compact(meta)
}

// deletion returns the id and correlation id of the event that deleted
// userID.
func deletion(t *testing.T, h *apptest.Harness, userID string) (id, correlation string) {
	t.Helper()
	if err := h.Pool.QueryRow(context.Background(), `SELECT event_id::text, metadata->>'correlation_id' FROM events
		WHERE stream_id = $1 AND event_name = $2`, user.Stream(userID), events.UserDeleted{}.EventName()).Scan(&id, &correlation); err != nil {
		t.Fatalf("find the deletion of %s: %v", userID, err)
	}
	return id, correlation
}

// deletionEvents counts the events of a user's stream and those their
// deletion caused.
func deletionEvents(t *testing.T, h *apptest.Harness, userID, deletionID string) int {
	t.Helper()
	var n int
	if err := h.Pool.QueryRow(context.Background(), `SELECT count(*) FROM events
		WHERE stream_id = $1 OR metadata->>'causation_id' = $2`, user.Stream(userID), deletionID).Scan(&n); err != nil {
		t.Fatalf("count events: %v", err)
	}
	return n
}

func TestUserDelete_leavesNoGhosts(t *testing.T) {
	env := newPagingEnv(t)
	h := env.h
	ctx := context.Background()
	ann := env.pagedUser(t, "ann")
	bob := env.pagedUser(t, "bob")
	carl := env.pagedUser(t, "carl")

	// Bob is on call on the rotation, a target of Ops, added to Backup by
	// an override, a target of the policy's step, and subscribed to his
	// shifts.
	rot, _, err := h.Commands.CreateRotation(ctx, commands.CreateRotation{Name: "Primary", Type: "daily", ShiftLength: 1,
		Start: apptest.Start, TimeZone: "UTC", UserIDs: []string{bob, carl}})
	if err != nil {
		t.Fatal(err)
	}
	ops := env.schedule(t, "Ops", always(ann), always(bob))
	backup := env.schedule(t, "Backup", always(carl))
	now := h.Clock.Now()
	override, _, err := h.Commands.CreateUserOverride(ctx, commands.CreateUserOverride{ScheduleID: backup,
		Start: now, End: now.Add(4 * time.Hour), AddUserID: bob})
	if err != nil {
		t.Fatal(err)
	}
	sub, _, _, err := h.Commands.CreateCalendarSubscription(ctx, commands.CreateCalendarSubscription{UserID: bob, Name: "My shifts"})
	if err != nil {
		t.Fatal(err)
	}
	all := step(5, bob)
	for _, s := range []commands.NewStep{targetStep(5, escalation.ActionSchedule, ops), targetStep(5, escalation.ActionRotation, rot),
		targetStep(5, escalation.ActionSchedule, backup)} {
		all.Actions = append(all.Actions, s.Actions...)
	}
	ep := env.policy(t, "Everyone", 0, all)
	_, key := env.service(t, "Checkout", ep)

	before := trigger(t, h, key, "before", "")
	env.idle(t)
	for _, who := range []string{"/ann", "/bob", "/carl"} {
		if got := env.pages(who); !slices.Equal(got, []int64{before.AlertID}) {
			t.Fatalf("%s's pages before the deletion: got %v, want [%d]", who[1:], got, before.AlertID)
		}
	}

	// The clean-up finds what refers to bob in the read models, after
	// waiting for them to hold everything set up before the deletion.
	actx := events.WithMetadata(ctx, events.Metadata{Actor: "user:" + env.admin.ID, ActorName: "Admin", Source: "web"})
	if _, err := h.Commands.DeleteUser(actx, bob); err != nil {
		t.Fatalf("delete bob: %v", err)
	}
	settle(t, h)
	now = h.Clock.Now()

	t.Run("the rotation hands over to the next participant", func(t *testing.T) {
		if got := onCallNow(t, h, escalation.ActionRotation, rot); !slices.Equal(got, []string{carl}) {
			t.Errorf("on call: got %v, want carl", got)
		}
		got, err := oncall.Reader{Pool: h.Pool}.Rotation(ctx, rot)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got.Participants, []string{carl}) || got.ActiveIndexAt(now) != 0 {
			t.Errorf("read model: got participants %v, active %d; want [carl], 0", got.Participants, got.ActiveIndexAt(now))
		}
	})
	t.Run("the schedule no longer lists them", func(t *testing.T) {
		targets, err := oncall.Reader{Pool: h.Pool}.Targets(ctx, ops)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, tg := range targets {
			ids = append(ids, string(tg.Kind)+":"+tg.ID)
		}
		if want := []string{"user:" + ann}; !slices.Equal(ids, want) {
			t.Errorf("targets: got %v, want %v", ids, want)
		}
		if got := onCallNow(t, h, escalation.ActionSchedule, ops); !slices.Equal(got, []string{ann}) {
			t.Errorf("on call: got %v, want ann", got)
		}
	})
	t.Run("the override is gone", func(t *testing.T) {
		if _, err := h.Commands.UserOverrideSchedule(ctx, override); !errors.Is(err, schedule.ErrOverrideNotFound) {
			t.Errorf("override: got %v, want %v", err, schedule.ErrOverrideNotFound)
		}
		if _, err := (oncall.Reader{Pool: h.Pool}).Override(ctx, override); !errors.Is(err, oncall.ErrNotFound) {
			t.Errorf("override in the read model: got %v, want %v", err, oncall.ErrNotFound)
		}
		if got := onCallNow(t, h, escalation.ActionSchedule, backup); !slices.Equal(got, []string{carl}) {
			t.Errorf("on call on Backup: got %v, want carl", got)
		}
	})
	t.Run("the policy step no longer targets them", func(t *testing.T) {
		steps, err := paging.Reader{Pool: h.Pool}.Steps(ctx, ep)
		if err != nil {
			t.Fatal(err)
		}
		if len(steps) != 1 {
			t.Fatalf("steps: got %d, want the one step", len(steps))
		}
		want := all.Actions[1:]
		if d := cmp.Diff(want, steps[0].Actions); d != "" {
			t.Errorf("step targets (-want +got):\n%s", d)
		}
	})
	t.Run("their calendar feed is revoked", func(t *testing.T) {
		if _, err := h.Commands.CalendarSubscription(ctx, sub); !errors.Is(err, schedule.ErrSubscriptionNotFound) {
			t.Errorf("subscription: got %v, want %v", err, schedule.ErrSubscriptionNotFound)
		}
	})
	t.Run("each removal names the deletion as its cause", func(t *testing.T) {
		delID, delCorr := deletion(t, h, bob)
		got, meta := causedBy(t, h, delID)
		want := map[string][]string{
			escalation.Stream(ep):             {events.EscalationStepUpdated{}.EventName()},
			rotation.Stream(rot):              {events.RotationParticipantsSet{}.EventName()},
			schedule.Stream(ops):              {events.ScheduleTargetRulesSet{}.EventName()},
			schedule.Stream(backup):           {events.ScheduleOverrideRemoved{}.EventName()},
			schedule.SubscriptionsStream(bob): {events.CalendarSubscriptionDeleted{}.EventName()},
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("events caused by the deletion (-want +got):\n%s", d)
		}
		if wantMeta := []string{delCorr + " user:" + env.admin.ID}; !slices.Equal(meta, wantMeta) {
			t.Errorf("correlation and actor: got %q, want %q", meta, wantMeta)
		}
	})
	t.Run("a new alert pages the remaining users only", func(t *testing.T) {
		after := trigger(t, h, key, "after", "")
		env.idle(t)
		for _, who := range []string{"/ann", "/carl"} {
			if got := env.pages(who); !slices.Equal(got, []int64{before.AlertID, after.AlertID}) {
				t.Errorf("%s's pages: got %v, want [%d %d]", who[1:], got, before.AlertID, after.AlertID)
			}
		}
		if got := env.pages("/bob"); !slices.Equal(got, []int64{before.AlertID}) {
			t.Errorf("bob's pages: got %v, want only the one before the deletion, %d", got, before.AlertID)
		}
	})
	t.Run("running it again changes nothing", func(t *testing.T) {
		delID, _ := deletion(t, h, bob)
		n := deletionEvents(t, h, bob, delID)
		if err := h.Commands.CleanUpDeletedUser(ctx, bob); err != nil {
			t.Errorf("clean up again: %v", err)
		}
		res, err := h.Commands.DeleteUser(ctx, bob)
		if err != nil || res.Wrote() {
			t.Errorf("delete again: got wrote=%v, %v; want nothing written and no error", res.Wrote(), err)
		}
		if got := deletionEvents(t, h, bob, delID); got != n {
			t.Errorf("events: got %d, want still %d", got, n)
		}
	})
	t.Run("only a deleted user is cleaned up", func(t *testing.T) {
		if err := h.Commands.CleanUpDeletedUser(ctx, ann); !errors.Is(err, commands.ErrUserNotDeleted) {
			t.Errorf("ann, still there: got %v, want %v", err, commands.ErrUserNotDeleted)
		}
		nobody := uuid.NewString()
		if err := h.Commands.CleanUpDeletedUser(ctx, nobody); !errors.Is(err, user.ErrNotFound) {
			t.Errorf("clean up a user that never was: got %v, want %v", err, user.ErrNotFound)
		}
		if _, err := h.Commands.DeleteUser(ctx, nobody); !errors.Is(err, user.ErrNotFound) {
			t.Errorf("delete a user that never was: got %v, want %v", err, user.ErrNotFound)
		}
	})
}

// A deletion whose clean-up never ran (the process stopped in between) is
// finished by deleting the user again.
func TestUserDelete_finishesAnInterruptedCleanUp(t *testing.T) {
	h := apptest.New(t)
	ctx := context.Background()
	newUser := func(name string) string {
		id, _, err := h.Commands.CreateUser(ctx, commands.CreateUser{Name: name, Role: user.RoleUser})
		if err != nil {
			t.Fatalf("create %s: %v", name, err)
		}
		return id
	}
	ann, dan := newUser("Ann"), newUser("Dan")
	newRotation := func(name string, userIDs ...string) string {
		id, _, err := h.Commands.CreateRotation(ctx, commands.CreateRotation{Name: name, Type: "weekly", ShiftLength: 1,
			Start: apptest.Start, TimeZone: "UTC", UserIDs: userIDs})
		if err != nil {
			t.Fatalf("create rotation %s: %v", name, err)
		}
		return id
	}
	pair := newRotation("Pair", dan, ann, dan)
	solo := newRotation("Solo", dan)
	ep, _, _, err := h.Commands.CreatePolicy(ctx, commands.CreatePolicy{Name: "Dan first", Steps: []commands.NewStep{step(5, dan, ann)}})
	if err != nil {
		t.Fatal(err)
	}

	// The deletion commits, and nothing after it runs.
	if _, err := h.Commands.Update(ctx, user.Stream(dan), func(hist commands.History, _ time.Time) ([]events.Event, error) {
		return user.FromHistory(hist.Events).Delete()
	}); err != nil {
		t.Fatal(err)
	}
	settle(t, h)
	if got := onCallNow(t, h, escalation.ActionRotation, solo); !slices.Equal(got, []string{dan}) {
		t.Fatalf("on call on Solo before the clean-up: got %v, want dan", got)
	}

	if _, err := h.Commands.DeleteUser(ctx, dan); err != nil {
		t.Fatalf("delete dan again: %v", err)
	}
	settle(t, h)
	r := oncall.Reader{Pool: h.Pool}
	got, err := r.Rotation(ctx, pair)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.Participants, []string{ann}) {
		t.Errorf("Pair's participants: got %v, want [ann]", got.Participants)
	}
	if got := onCallNow(t, h, escalation.ActionRotation, pair); !slices.Equal(got, []string{ann}) {
		t.Errorf("on call on Pair: got %v, want ann", got)
	}
	if got := onCallNow(t, h, escalation.ActionRotation, solo); len(got) != 0 {
		t.Errorf("on call on Solo, left empty: got %v, want nobody", got)
	}
	steps, err := paging.Reader{Pool: h.Pool}.Steps(ctx, ep)
	if err != nil {
		t.Fatal(err)
	}
	if len(steps) != 1 {
		t.Fatalf("steps: got %d, want the one step", len(steps))
	}
	if d := cmp.Diff(step(5, ann).Actions, steps[0].Actions); d != "" {
		t.Errorf("step targets (-want +got):\n%s", d)
	}
}
