package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/oncallhq/goalert/adapters/postgres/pgtest"
	"github.com/oncallhq/goalert/cmd/goalert/app"
	"github.com/oncallhq/goalert/commands"
	"github.com/oncallhq/goalert/domain/clock"
	"github.com/oncallhq/goalert/domain/schedule"
	"github.com/oncallhq/goalert/domain/user"
)

// `goalert oncall` answers from the log with the configuration of the
// instant asked about, by current or former name.
func TestOncall(t *testing.T) {
	url := pgtest.NewURL(t)
	pool, err := pgxpool.New(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	t0 := time.Date(2026, 5, 4, 9, 0, 0, 0, time.UTC)
	clk := clock.NewManual(t0)
	h := commands.New(pool, app.NewStore(), clk)
	ctx := context.Background()
	newUser := func(name string) string {
		id, _, err := h.CreateUser(ctx, commands.CreateUser{Name: name, Role: user.RoleUser})
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	ann, bob := newUser("Ann"), newUser("Bob")
	rot, _, err := h.CreateRotation(ctx, commands.CreateRotation{Name: "Daily", Type: "daily", ShiftLength: 1, Start: t0,
		TimeZone: "UTC", UserIDs: []string{ann, bob}})
	if err != nil {
		t.Fatal(err)
	}
	sched, _, err := h.CreateSchedule(ctx, commands.CreateSchedule{Name: "Primary", TimeZone: "UTC", Targets: []schedule.TargetRules{
		{Kind: schedule.TargetRotation, ID: rot, Rules: []schedule.TargetRule{{Rule: schedule.Always()}}}}})
	if err != nil {
		t.Fatal(err)
	}
	// A day later the schedule is renamed and switched to bob alone.
	clk.Advance(25 * time.Hour)
	name := "Renamed"
	if _, err := h.UpdateSchedule(ctx, sched, &name, nil, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := h.UpdateScheduleTarget(ctx, sched, schedule.TargetRules{Kind: schedule.TargetRotation, ID: rot}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.UpdateScheduleTarget(ctx, sched, schedule.TargetRules{Kind: schedule.TargetUser, ID: bob, Rules: []schedule.TargetRule{{Rule: schedule.Always()}}}); err != nil {
		t.Fatal(err)
	}

	at := t0.Add(2 * time.Hour).Format(time.RFC3339)
	r := mustRun(t, "oncall", "--db-url", url, "--schedule", "primary", "--at", at)
	if !strings.Contains(r.stdout, ann) || !strings.Contains(r.stdout, "Ann") || strings.Contains(r.stdout, bob) {
		t.Errorf("on call at %s by the old name: got\n%s\nwant Ann alone", at, r.stdout)
	}
	r = mustRun(t, "oncall", "--db-url", url, "--schedule", "Renamed", "--at", t0.Add(26*time.Hour).Format(time.RFC3339), "--json")
	var rep oncallReport
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("--json: %v in %q", err, r.stdout)
	}
	if rep.ID != sched || len(rep.Users) != 1 || rep.Users[0].ID != bob || rep.Users[0].Name != "Bob" {
		t.Errorf("--json after the change: got %+v, want bob on %s", rep, sched)
	}
	r = mustRun(t, "oncall", "--db-url", url, "--rotation", rot, "--at", t0.Add(30*time.Hour).Format(time.RFC3339))
	if !strings.Contains(r.stdout, "Bob") {
		t.Errorf("rotation by id on its second day: got\n%s\nwant Bob", r.stdout)
	}
	r = mustRun(t, "oncall", "--db-url", url, "--schedule", "Renamed", "--at", t0.Format(time.RFC3339),
		"--until", t0.Add(48*time.Hour).Format(time.RFC3339), "--json")
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, sh := range rep.Shifts {
		got = append(got, sh.Name+" "+sh.Start.Format("02 15:04")+"-"+sh.End.Format("02 15:04"))
	}
	want := "Ann 04 09:00-05 09:00; Bob 05 09:00-06 09:00"
	if strings.Join(got, "; ") != want {
		t.Errorf("shifts: got %q, want %q", strings.Join(got, "; "), want)
	}

	for _, bad := range [][]string{
		{"oncall", "--db-url", url},
		{"oncall", "--db-url", url, "--schedule", "x", "--rotation", "y"},
		{"oncall", "--db-url", url, "--schedule", "Renamed", "--at", "yesterday"},
	} {
		if r := goalert(t, nil, bad...); r.code != 2 {
			t.Errorf("goalert %v: exit %d, want 2 (usage)", bad[1:], r.code)
		}
	}
	if r := goalert(t, nil, "oncall", "--db-url", url, "--schedule", "nosuch"); r.code != 1 || !strings.Contains(r.stderr, "not found") {
		t.Errorf("unknown schedule: exit %d, stderr %q; want 1 and not found", r.code, r.stderr)
	}
	if r := goalert(t, nil, "oncall", "-h"); r.code != 0 || !strings.Contains(r.stdout, "Usage:\n  goalert oncall") || !strings.Contains(r.stdout, "--json") {
		t.Errorf("oncall -h: exit %d, stdout:\n%s", r.code, r.stdout)
	}
}
