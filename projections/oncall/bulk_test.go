package oncall_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/oncallhq/goalert/commands"
	"github.com/oncallhq/goalert/domain/schedule"
	"github.com/oncallhq/goalert/domain/user"
	"github.com/oncallhq/goalert/projections/oncall"
)

// OnCallNow answers for every schedule what OnCallUsers answers for each.
func TestReader_OnCallNowMatchesOneByOne(t *testing.T) {
	f := newFixture(t)
	sched, _, _ := f.history(t)
	ctx := context.Background()
	// A second schedule on the same rotation, and one with no one on call.
	targets, err := f.reader.Targets(ctx, sched)
	if err != nil {
		t.Fatal(err)
	}
	var rules []schedule.TargetRules
	for _, tg := range targets {
		tr := schedule.TargetRules{Kind: tg.Kind, ID: tg.ID}
		for _, r := range tg.Rules {
			tr.Rules = append(tr.Rules, schedule.TargetRule{Rule: r.Rule})
		}
		rules = append(rules, tr)
	}
	must[string](t)(f.h.CreateSchedule(ctx, commands.CreateSchedule{Name: "Copy", TimeZone: "UTC", Targets: rules}))
	must[string](t)(f.h.CreateSchedule(ctx, commands.CreateSchedule{Name: "Empty", TimeZone: "UTC"}))
	f.settle(t)
	for step := range 48 {
		now := f.clock.Now().Add(time.Duration(step) * 37 * time.Minute)
		all, err := f.reader.OnCallNow(ctx, now)
		if err != nil {
			t.Fatal(err)
		}
		list, err := f.reader.Schedules(ctx, "", "", 100)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range list {
			one, err := f.reader.OnCallUsers(ctx, oncall.SubjectSchedule, s.ID, now)
			if err != nil {
				t.Fatal(err)
			}
			slices.Sort(one)
			if !slices.Equal(all[s.ID], one) && !(len(one) == 0 && all[s.ID] == nil) {
				t.Fatalf("%s at %s: OnCallNow says %v, OnCallUsers %v", s.Name, now, all[s.ID], one)
			}
		}
	}
}

// BenchmarkOnCallNow1000Schedules: who is on call now on 1,000 schedules
// (each a rotation on weekday business hours and a user at other times,
// with an override), read from the read model.
func BenchmarkOnCallNow1000Schedules(b *testing.B) {
	f := newFixture(b)
	ctx := context.Background()
	var users []string
	for i := range 20 {
		id, _, err := f.h.CreateUser(ctx, commands.CreateUser{Name: fmt.Sprintf("u%d", i), Role: user.RoleUser})
		if err != nil {
			b.Fatal(err)
		}
		users = append(users, id)
	}
	var rots []string
	for i := range 10 {
		id, _, err := f.h.CreateRotation(ctx, commands.CreateRotation{Name: fmt.Sprintf("r%d", i), Type: "weekly", ShiftLength: 1,
			Start: t0, TimeZone: "America/Chicago", UserIDs: users[i : i+10]})
		if err != nil {
			b.Fatal(err)
		}
		rots = append(rots, id)
	}
	weekdays := [7]bool{false, true, true, true, true, true, false}
	for i := range 1000 {
		id, _, err := f.h.CreateSchedule(ctx, commands.CreateSchedule{Name: fmt.Sprintf("s%d", i), TimeZone: "Europe/London", Targets: []schedule.TargetRules{
			{Kind: schedule.TargetRotation, ID: rots[i%10], Rules: []schedule.TargetRule{{Rule: schedule.Rule{Start: schedule.NewClock(9, 0), End: schedule.NewClock(17, 0), Weekdays: weekdays}}}},
			{Kind: schedule.TargetUser, ID: users[i%20], Rules: []schedule.TargetRule{{Rule: schedule.Rule{Start: schedule.NewClock(17, 0), End: schedule.NewClock(9, 0), Weekdays: [7]bool{true, true, true, true, true, true, true}}}}},
		}})
		if err != nil {
			b.Fatal(err)
		}
		now := f.clock.Now()
		if _, _, err := f.h.CreateUserOverride(ctx, commands.CreateUserOverride{ScheduleID: id, Start: now.Add(time.Hour), End: now.Add(3 * time.Hour),
			AddUserID: users[(i+5)%20]}); err != nil {
			b.Fatal(err)
		}
	}
	f.settle(b)
	now := f.clock.Now().Add(2 * time.Hour)
	b.ResetTimer()
	for b.Loop() {
		all, err := f.reader.OnCallNow(ctx, now)
		if err != nil {
			b.Fatal(err)
		}
		if len(all) != 1000 {
			b.Fatalf("on call on %d schedules, want 1000", len(all))
		}
	}
}
