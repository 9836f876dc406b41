package commands_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/oncallhq/goalert/commands"
	"github.com/oncallhq/goalert/domain"
	"github.com/oncallhq/goalert/domain/clock"
	"github.com/oncallhq/goalert/domain/escalation"
	"github.com/oncallhq/goalert/domain/rotation"
	"github.com/oncallhq/goalert/domain/schedule"
	"github.com/oncallhq/goalert/domain/user"
)

func TestHandler_OnCallCommands(t *testing.T) {
	h := newHandler(t)
	ctx := context.Background()
	newUser := func(name string) string {
		id, _, err := h.CreateUser(ctx, commands.CreateUser{Name: name, Role: user.RoleUser})
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	ann, bob := newUser("Ann"), newUser("Bob")
	rot, _, err := h.CreateRotation(ctx, commands.CreateRotation{Name: "Primary", Type: "weekly", ShiftLength: 1, Start: now,
		TimeZone: "America/New_York", UserIDs: []string{ann, bob}})
	if err != nil {
		t.Fatal(err)
	}
	sched, _, err := h.CreateSchedule(ctx, commands.CreateSchedule{Name: "Ops", TimeZone: "UTC", Targets: []schedule.TargetRules{
		{Kind: schedule.TargetRotation, ID: rot, Rules: []schedule.TargetRule{{Rule: schedule.Always()}}}}})
	if err != nil {
		t.Fatal(err)
	}

	t.Run("names are unique, case aside", func(t *testing.T) {
		_, _, err := h.CreateRotation(ctx, commands.CreateRotation{Name: " primary", Type: "daily", ShiftLength: 1, Start: now, TimeZone: "UTC"})
		if !errors.Is(err, rotation.ErrNameTaken) {
			t.Errorf("rotation: got %v, want %v", err, rotation.ErrNameTaken)
		}
		_, _, err = h.CreateSchedule(ctx, commands.CreateSchedule{Name: "OPS", TimeZone: "UTC"})
		if !errors.Is(err, schedule.ErrNameTaken) {
			t.Errorf("schedule: got %v, want %v", err, schedule.ErrNameTaken)
		}
	})
	t.Run("participants must be users", func(t *testing.T) {
		_, _, err := h.CreateRotation(ctx, commands.CreateRotation{Name: "Ghosts", Type: "daily", ShiftLength: 1, Start: now,
			TimeZone: "UTC", UserIDs: []string{ann, "6f1c1a43-1c4e-4b55-a2c4-4f0e9c1e3b7a"}})
		var de *domain.Error
		if !errors.As(err, &de) || de.Field != "userIDs[1]" {
			t.Errorf("got %v, want a field error on userIDs[1]", err)
		}
	})
	t.Run("resolves who is on call", func(t *testing.T) {
		for _, kind := range []string{escalation.ActionSchedule, escalation.ActionRotation} {
			id := sched
			if kind == escalation.ActionRotation {
				id = rot
			}
			got, err := h.OnCallAt(ctx, kind, id, now.Add(time.Hour))
			if err != nil || !slices.Equal(got, []string{ann}) {
				t.Errorf("%s: got %v (%v), want [ann]", kind, got, err)
			}
			got, err = h.OnCallAt(ctx, kind, id, now.Add(8*24*time.Hour))
			if err != nil || !slices.Equal(got, []string{bob}) {
				t.Errorf("%s a week on: got %v (%v), want [bob]", kind, got, err)
			}
		}
		if got, err := h.OnCallAt(ctx, escalation.ActionSchedule, "nosuch", now); err != nil || got != nil {
			t.Errorf("unknown schedule: got %v (%v), want nobody", got, err)
		}
	})
	t.Run("overrides", func(t *testing.T) {
		o := commands.CreateUserOverride{ScheduleID: sched, Start: now, End: now.Add(time.Hour), AddUserID: bob, RemoveUserID: ann}
		id, _, err := h.CreateUserOverride(ctx, o)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := h.CreateUserOverride(ctx, o); !errors.Is(err, schedule.ErrOverrideConflict) {
			t.Errorf("the same override again: got %v, want %v", err, schedule.ErrOverrideConflict)
		}
		if got, _ := h.OnCallAt(ctx, escalation.ActionSchedule, sched, now.Add(time.Minute)); !slices.Equal(got, []string{bob}) {
			t.Errorf("during the override: got %v, want [bob]", got)
		}
		if sid, err := h.UserOverrideSchedule(ctx, id); err != nil || sid != sched {
			t.Errorf("override's schedule: got %q (%v), want %q", sid, err, sched)
		}
		if _, err := h.DeleteUserOverride(ctx, id); err != nil {
			t.Fatal(err)
		}
		if _, err := h.DeleteUserOverride(ctx, id); !errors.Is(err, schedule.ErrOverrideNotFound) {
			t.Errorf("deleting twice: got %v, want %v", err, schedule.ErrOverrideNotFound)
		}
	})
	t.Run("calendar subscriptions", func(t *testing.T) {
		if _, err := h.SetSystemLimit(ctx, "calendar_subscriptions_per_user", 1); err != nil {
			t.Fatal(err)
		}
		id, token, _, err := h.CreateCalendarSubscription(ctx, commands.CreateCalendarSubscription{UserID: ann, Name: "Phone", ScheduleID: sched})
		if err != nil {
			t.Fatal(err)
		}
		if _, _, _, err := h.CreateCalendarSubscription(ctx, commands.CreateCalendarSubscription{UserID: ann, Name: "Laptop"}); !errors.Is(err, schedule.ErrTooManySubscriptions) {
			t.Errorf("past the limit: got %v, want %v", err, schedule.ErrTooManySubscriptions)
		}
		sub, err := h.CalendarSubscriptionByToken(ctx, token)
		if err != nil || sub.ID != id || sub.UserID != ann || sub.TokenHash == token {
			t.Errorf("by token: got %+v (%v), want subscription %s of ann, token kept hashed", sub, err, id)
		}
		if _, err := h.DeleteCalendarSubscription(ctx, id); err != nil {
			t.Fatal(err)
		}
		if _, err := h.CalendarSubscriptionByToken(ctx, token); !errors.Is(err, schedule.ErrSubscriptionNotFound) {
			t.Errorf("revoked token: got %v, want %v", err, schedule.ErrSubscriptionNotFound)
		}
	})
	t.Run("deleting a rotation removes it from schedules", func(t *testing.T) {
		h.Clock().(*clock.Manual).Advance(2 * time.Hour)
		if _, err := h.DeleteRotation(ctx, rot); err != nil {
			t.Fatal(err)
		}
		if got, err := h.OnCallAt(ctx, escalation.ActionSchedule, sched, now.Add(3*time.Hour)); err != nil || len(got) != 0 {
			t.Errorf("schedule after its rotation was deleted: got %v (%v), want nobody", got, err)
		}
		// Its rule went with it, and the name is free again.
		if _, err := h.UpdateScheduleTarget(ctx, sched, schedule.TargetRules{Kind: schedule.TargetRotation, ID: rot}); err != nil {
			t.Errorf("removing the gone target: %v", err)
		}
		if _, _, err := h.CreateRotation(ctx, commands.CreateRotation{Name: "Primary", Type: "daily", ShiftLength: 1, Start: now, TimeZone: "UTC"}); err != nil {
			t.Errorf("reusing the deleted rotation's name: %v", err)
		}
		if got, err := h.OnCallAsOf(ctx, escalation.ActionSchedule, sched, now.Add(time.Minute)); err != nil || !slices.Equal(got, []string{ann}) {
			t.Errorf("time travel to before the deletion: got %v (%v), want [ann]", got, err)
		}
	})
}
