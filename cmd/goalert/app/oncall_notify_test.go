package app_test

import (
	"context"
	"testing"
	"time"

	"github.com/oncallhq/goalert/commands"
	"github.com/oncallhq/goalert/domain/notification"
	"github.com/oncallhq/goalert/domain/schedule"
	"github.com/oncallhq/goalert/events"
)

// onCallReports returns the on-call user names of each ScheduleOnCallUsers
// message the sink accepted at path.
func (env *pagingEnv) onCallReports(path string) [][]string {
	var out [][]string
	for _, r := range env.sink.Distinct() {
		if r.Path != path || r.Type() != "ScheduleOnCallUsers" {
			continue
		}
		var p struct{ Users []struct{ Name string } }
		_ = r.Decode(&p)
		names := []string{}
		for _, u := range p.Users {
			names = append(names, u.Name)
		}
		out = append(out, names)
	}
	return out
}

func TestOnCall_notificationRules(t *testing.T) {
	env := newPagingEnv(t)
	ctx := context.Background()
	ann := env.pagedUser(t, "ann")
	bob := env.pagedUser(t, "bob")
	sched := env.schedule(t, "Primary", always(ann))
	hook := func(path string) events.Dest {
		return events.Dest{Type: notification.DestWebhook, Args: map[string]string{notification.ArgWebhookURL: env.sink.URL + path}}
	}
	weekdays := [7]bool{true, true, true, true, true, true, true}
	if _, _, err := env.h.Commands.SetOnCallNotificationRule(ctx, sched, schedule.NotificationRule{Dest: hook("/changes")}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := env.h.Commands.SetOnCallNotificationRule(ctx, sched, schedule.NotificationRule{Dest: hook("/daily"),
		HasTime: true, Time: schedule.NewClock(9, 30), Weekdays: weekdays}); err != nil {
		t.Fatal(err)
	}
	settle(t, env.h)
	env.idle(t)
	if got := env.onCallReports("/changes"); len(got) != 0 {
		t.Fatalf("reported a change before any: %v", got)
	}

	// Bob stands in for ann from 09:10 to 10:10.
	now := env.h.Clock.Now()
	if _, _, err := env.h.Commands.CreateUserOverride(ctx, commands.CreateUserOverride{ScheduleID: sched,
		Start: now.Add(10 * time.Minute), End: now.Add(70 * time.Minute), AddUserID: bob, RemoveUserID: ann}); err != nil {
		t.Fatal(err)
	}
	settle(t, env.h)
	for range 4 { // to 09:20, past the hand-over, in steps the engine checks
		env.h.Clock.Advance(5 * time.Minute)
		env.idle(t)
	}
	got := env.onCallReports("/changes")
	if len(got) != 1 || len(got[0]) != 1 || got[0][0] != "bob" {
		t.Fatalf("change reports after the override began: got %v, want [[bob]]", got)
	}
	// 09:30: the daily report.
	env.h.Clock.Advance(10 * time.Minute)
	env.idle(t)
	if got := env.onCallReports("/daily"); len(got) != 1 || len(got[0]) != 1 || got[0][0] != "bob" {
		t.Fatalf("daily report at 09:30: got %v, want [[bob]]", got)
	}
	// Back to ann at 10:10; the next daily report is tomorrow.
	for range 9 {
		env.h.Clock.Advance(5 * time.Minute)
		env.idle(t)
	}
	if got := env.onCallReports("/changes"); len(got) != 2 || got[1][0] != "ann" {
		t.Fatalf("change reports after the override ended: got %v, want [[bob] [ann]]", got)
	}
	if got := env.onCallReports("/daily"); len(got) != 1 {
		t.Fatalf("daily reports before the next 09:30: got %d, want 1", len(got))
	}
}
