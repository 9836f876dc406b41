package app_test

// Black-box tests of on-call: schedules and rotations as escalation
// targets (paged through the webhook sink, with the test clock driving
// hand-offs), time travel from the event log, the on-call read model, and
// calendar feeds.

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-ical"
	"github.com/google/go-cmp/cmp"

	"github.com/oncallhq/goalert/cmd/goalert/app/apptest"
	"github.com/oncallhq/goalert/commands"
	"github.com/oncallhq/goalert/domain/escalation"
	"github.com/oncallhq/goalert/domain/schedule"
	"github.com/oncallhq/goalert/events"
	"github.com/oncallhq/goalert/projections/oncall"
)

// targetStep is a policy step paging a schedule or rotation.
func targetStep(delay int, kind, id string) commands.NewStep {
	arg := "schedule_id"
	if kind == escalation.ActionRotation {
		arg = "rotation_id"
	}
	return commands.NewStep{DelayMinutes: delay, Actions: []events.Dest{{Type: kind, Args: map[string]string{arg: id}}}}
}

func always(userID string) schedule.TargetRules {
	return schedule.TargetRules{Kind: schedule.TargetUser, ID: userID, Rules: []schedule.TargetRule{{Rule: schedule.Always()}}}
}

func (env *pagingEnv) schedule(t *testing.T, name string, targets ...schedule.TargetRules) string {
	t.Helper()
	id, _, err := env.h.Commands.CreateSchedule(context.Background(), commands.CreateSchedule{Name: name, TimeZone: "UTC", Targets: targets})
	if err != nil {
		t.Fatalf("create schedule %s: %v", name, err)
	}
	return id
}

func TestOnCall_schedulePagesWhoeverIsOnCall(t *testing.T) {
	env := newPagingEnv(t)
	ctx := context.Background()
	ann := env.pagedUser(t, "ann")
	bob := env.pagedUser(t, "bob")
	sched := env.schedule(t, "Primary", always(ann))
	ep := env.policy(t, "Via schedule", 0, targetStep(5, escalation.ActionSchedule, sched))
	_, key := env.service(t, "Checkout", ep)

	first := trigger(t, env.h, key, "first", "")
	env.idle(t)
	if got := env.pages("/ann"); !slices.Equal(got, []int64{first.AlertID}) {
		t.Fatalf("ann's pages: got %v, want [%d]", got, first.AlertID)
	}

	// From ten minutes on, bob stands in for ann for an hour.
	env.h.Clock.Advance(10 * time.Minute)
	now := env.h.Clock.Now()
	if _, _, err := env.h.Commands.CreateUserOverride(ctx, commands.CreateUserOverride{ScheduleID: sched,
		Start: now, End: now.Add(time.Hour), AddUserID: bob, RemoveUserID: ann}); err != nil {
		t.Fatal(err)
	}
	second := trigger(t, env.h, key, "second", "")
	env.idle(t)
	if got := env.pages("/bob"); !slices.Equal(got, []int64{second.AlertID}) {
		t.Errorf("bob's pages during the override: got %v, want [%d]", got, second.AlertID)
	}
	if got := env.pages("/ann"); !slices.Equal(got, []int64{first.AlertID}) {
		t.Errorf("ann's pages: got %v, want only the first alert %d", got, first.AlertID)
	}

	// The override ends: ann again.
	env.h.Clock.Advance(time.Hour)
	third := trigger(t, env.h, key, "third", "")
	env.idle(t)
	if got := env.pages("/ann"); !slices.Contains(got, third.AlertID) {
		t.Errorf("ann's pages after the override: got %v, want %d among them", got, third.AlertID)
	}

	// The read model agrees, and its history shows the hand-overs.
	settle(t, env.h)
	r := oncall.Reader{Pool: env.h.Pool}
	if got, err := r.OnCallUsers(ctx, oncall.SubjectSchedule, sched, env.h.Clock.Now()); err != nil || !slices.Equal(got, []string{ann}) {
		t.Errorf("read model on call now: got %v (%v), want [ann]", got, err)
	}
	hist, err := r.OnCallHistory(ctx, oncall.SubjectSchedule, sched, apptest.Start, env.h.Clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	want := []oncall.HistoryRow{{UserID: ann, Start: apptest.Start, End: now}, {UserID: bob, Start: now, End: now.Add(time.Hour)}, {UserID: ann, Start: now.Add(time.Hour)}}
	if d := cmp.Diff(want, hist, cmp.Comparer(time.Time.Equal)); d != "" {
		t.Errorf("on-call history (-want +got):\n%s", d)
	}
}

func TestOnCall_rotationFollowsHandoffs(t *testing.T) {
	env := newPagingEnv(t)
	ctx := context.Background()
	ann := env.pagedUser(t, "ann")
	bob := env.pagedUser(t, "bob")
	rot, _, err := env.h.Commands.CreateRotation(ctx, commands.CreateRotation{Name: "Hourly", Type: "hourly", ShiftLength: 1,
		Start: apptest.Start, TimeZone: "Europe/Berlin", UserIDs: []string{ann, bob}})
	if err != nil {
		t.Fatal(err)
	}
	// One step, repeated: the repeat an hour later reaches whoever is on
	// call then.
	ep := env.policy(t, "Via rotation", 1, targetStep(60, escalation.ActionRotation, rot))
	_, key := env.service(t, "Search", ep)

	a := trigger(t, env.h, key, "hand-off", "")
	env.idle(t)
	if got := env.pages("/ann"); !slices.Equal(got, []int64{a.AlertID}) {
		t.Fatalf("ann's pages: got %v, want [%d]", got, a.AlertID)
	}
	env.h.Clock.Advance(59 * time.Minute)
	env.idle(t)
	if got := env.pages("/bob"); len(got) != 0 {
		t.Fatalf("bob paged before the hand-off: %v", got)
	}
	env.h.Clock.Advance(time.Minute)
	env.idle(t)
	if got := env.pages("/bob"); !slices.Equal(got, []int64{a.AlertID}) {
		t.Fatalf("bob's pages after the hand-off: got %v, want [%d]", got, a.AlertID)
	}
	if got := env.pages("/ann"); len(got) != 1 {
		t.Errorf("ann's pages: got %v, want only the first", got)
	}

	// An admin makes ann the one on call again.
	idx := 0
	if _, err := env.h.Commands.UpdateRotation(ctx, commands.UpdateRotation{ID: rot, ActiveUserIndex: &idx}); err != nil {
		t.Fatal(err)
	}
	b := trigger(t, env.h, key, "after the switch", "")
	env.idle(t)
	if got := env.pages("/ann"); !slices.Contains(got, b.AlertID) {
		t.Errorf("ann's pages after being made active: got %v, want %d among them", got, b.AlertID)
	}
	settle(t, env.h)
	r := oncall.Reader{Pool: env.h.Pool}
	if got, err := r.Rotation(ctx, rot); err != nil || got.ActiveIndexAt(env.h.Clock.Now()) != 0 {
		t.Errorf("read model active index: got %+v (%v), want 0", got, err)
	}
}

// Time travel reads the past with the configuration of the past: a later
// change alters the future only.
func TestOnCall_timeTravel(t *testing.T) {
	env := newPagingEnv(t)
	ctx := context.Background()
	h := env.h
	ann := env.pagedUser(t, "ann")
	bob := env.pagedUser(t, "bob")
	rot, _, err := h.Commands.CreateRotation(ctx, commands.CreateRotation{Name: "Daily", Type: "daily", ShiftLength: 1,
		Start: apptest.Start, TimeZone: "UTC", UserIDs: []string{ann, bob}})
	if err != nil {
		t.Fatal(err)
	}
	sched := env.schedule(t, "Follow the rotation", schedule.TargetRules{Kind: schedule.TargetRotation, ID: rot,
		Rules: []schedule.TargetRule{{Rule: schedule.Always()}}})

	t0 := apptest.Start
	h.Clock.Advance(36 * time.Hour) // ann's day, then half of bob's
	past := t0.Add(30 * time.Hour)  // bob's shift
	window := [2]time.Time{t0, t0.Add(33 * time.Hour)}
	before := asOf(t, h, sched, rot, past, window)
	if !slices.Equal(before.schedule, []string{bob}) || !slices.Equal(before.rotation, []string{bob}) {
		t.Fatalf("on call at %s: got %+v, want bob", past, before)
	}

	// Now the rotation loses bob, the schedule gains a rule for bob on
	// every day, and is renamed.
	if _, err := h.Commands.UpdateRotation(ctx, commands.UpdateRotation{ID: rot, UserIDs: []string{ann}}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Commands.UpdateScheduleTarget(ctx, sched, always(bob)); err != nil {
		t.Fatal(err)
	}
	name := "Renamed"
	if _, err := h.Commands.UpdateSchedule(ctx, sched, &name, nil, nil); err != nil {
		t.Fatal(err)
	}
	after := asOf(t, h, sched, rot, past, window)
	if d := cmp.Diff(before, after, cmp.AllowUnexported(travel{}), cmp.Comparer(time.Time.Equal)); d != "" {
		t.Errorf("the past changed after a later edit (-before +after):\n%s", d)
	}
	now := h.Clock.Now()
	if got, err := h.Commands.OnCallAsOf(ctx, escalation.ActionSchedule, sched, now); err != nil || !slices.Equal(got, sorted(ann, bob)) {
		t.Errorf("on call now: got %v (%v), want ann and bob", got, err)
	}

	// The read model's history agrees with the log.
	settle(t, h)
	shifts, err := oncall.Reader{Pool: h.Pool}.Shifts(ctx, sched, window[0], window[1])
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(before.shifts, shifts, cmp.Comparer(time.Time.Equal)); d != "" {
		t.Errorf("read model shifts differ from the log's (-log +read model):\n%s", d)
	}
	hist, err := oncall.Reader{Pool: h.Pool}.OnCallHistory(ctx, oncall.SubjectRotation, rot, t0, now)
	if err != nil {
		t.Fatal(err)
	}
	// bob's day was cut short when he left the rotation; ann took over.
	wantRot := []oncall.HistoryRow{{UserID: ann, Start: t0, End: t0.Add(24 * time.Hour)}, {UserID: bob, Start: t0.Add(24 * time.Hour), End: now}, {UserID: ann, Start: now}}
	if d := cmp.Diff(wantRot, hist, cmp.Comparer(time.Time.Equal)); d != "" {
		t.Errorf("rotation history (-want +got):\n%s", d)
	}
}

func sorted(ids ...string) []string { slices.Sort(ids); return ids }

// travel is what time travel answers about one instant and one window.
type travel struct {
	schedule, rotation []string
	shifts             []schedule.Shift
}

func asOf(t *testing.T, h *apptest.Harness, sched, rot string, at time.Time, window [2]time.Time) travel {
	t.Helper()
	ctx := context.Background()
	var tr travel
	var err error
	if tr.schedule, err = h.Commands.OnCallAsOf(ctx, escalation.ActionSchedule, sched, at); err != nil {
		t.Fatal(err)
	}
	if tr.rotation, err = h.Commands.OnCallAsOf(ctx, escalation.ActionRotation, rot, at); err != nil {
		t.Fatal(err)
	}
	if tr.shifts, err = h.Commands.ShiftsAsOf(ctx, sched, window[0], window[1]); err != nil {
		t.Fatal(err)
	}
	return tr
}

func TestOnCall_calendarFeed(t *testing.T) {
	env := newPagingEnv(t)
	ctx := context.Background()
	h := env.h
	ann := env.pagedUser(t, "ann")
	sched := env.schedule(t, "Weekdays", schedule.TargetRules{Kind: schedule.TargetUser, ID: ann, Rules: []schedule.TargetRule{{
		Rule: schedule.Rule{Start: schedule.NewClock(9, 0), End: schedule.NewClock(17, 0),
			Weekdays: [7]bool{false, true, true, true, true, true, false}}}}})
	id, token, _, err := h.Commands.CreateCalendarSubscription(ctx, commands.CreateCalendarSubscription{UserID: ann, Name: "Work phone",
		ReminderMinutes: []int{10}})
	if err != nil {
		t.Fatal(err)
	}
	settle(t, h)
	feedURL := h.URL + "/api/v2/calendar?" + url.Values{"token": {token}}.Encode()

	r := send(t, newRequest(t, http.MethodGet, feedURL, nil))
	if r.Status != http.StatusOK || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/calendar") {
		t.Fatalf("feed: got %s (%s), want 200 text/calendar", r, r.Header.Get("Content-Type"))
	}
	cal, err := ical.NewDecoder(strings.NewReader(r.Body)).Decode()
	if err != nil {
		t.Fatalf("parse the feed: %v\n%s", err, r.Body)
	}
	evs := cal.Events()
	// About 52 weeks of 5 weekdays, starting on the Saturday the clock reads.
	if len(evs) < 255 || len(evs) > 262 {
		t.Fatalf("events a year ahead: got %d, want about 260", len(evs))
	}
	first := evs[0]
	start, _ := first.DateTimeStart(time.UTC)
	end, _ := first.DateTimeEnd(time.UTC)
	if want := time.Date(2026, 3, 9, 9, 0, 0, 0, time.UTC); !start.Equal(want) || !end.Equal(want.Add(8*time.Hour)) {
		t.Errorf("first shift: got %s to %s, want Monday 09:00 to 17:00", start, end)
	}
	if sum, _ := first.Props.Text(ical.PropSummary); !strings.Contains(sum, "Weekdays") {
		t.Errorf("summary %q does not name the schedule", sum)
	}
	var alarms int
	for _, c := range first.Children {
		if c.Name == ical.CompAlarm {
			if d, err := c.Props.Get(ical.PropTrigger).Duration(); err != nil || d != -10*time.Minute {
				t.Errorf("alarm trigger: got %v (%v), want -10m", d, err)
			}
			alarms++
		}
	}
	if alarms != 1 {
		t.Errorf("alarms: got %d, want 1", alarms)
	}
	_ = sched

	if got := send(t, newRequest(t, http.MethodGet, h.URL+"/api/v2/calendar?token=not-a-token", nil)); got.Status != http.StatusNotFound {
		t.Errorf("unknown token: got %s, want 404", got)
	}
	setConfig(t, h, env.admin.Token, "General.DisableCalendarSubscriptions", "true")
	if got := send(t, newRequest(t, http.MethodGet, feedURL, nil)); got.Status != http.StatusForbidden {
		t.Errorf("subscriptions disabled: got %s, want 403", got)
	}
	setConfig(t, h, env.admin.Token, "General.DisableCalendarSubscriptions", "false")
	if _, err := h.Commands.DeleteCalendarSubscription(ctx, id); err != nil {
		t.Fatal(err)
	}
	if got := send(t, newRequest(t, http.MethodGet, feedURL, nil)); got.Status != http.StatusNotFound {
		t.Errorf("revoked token: got %s, want 404", got)
	}
}
