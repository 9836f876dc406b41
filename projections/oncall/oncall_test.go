package oncall_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"github.com/oncallhq/goalert/adapters/postgres/pgtest"
	"github.com/oncallhq/goalert/commands"
	"github.com/oncallhq/goalert/domain/clock"
	"github.com/oncallhq/goalert/domain/escalation"
	"github.com/oncallhq/goalert/domain/schedule"
	"github.com/oncallhq/goalert/domain/user"
	"github.com/oncallhq/goalert/events"
	"github.com/oncallhq/goalert/events/pgstore"
	"github.com/oncallhq/goalert/projections"
	"github.com/oncallhq/goalert/projections/oncall"
)

var t0 = time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC) // a Monday

type fixture struct {
	h      *commands.Handler
	clock  *clock.Manual
	runner *projections.Runner
	reader oncall.Reader
	pool   interface {
		Query(context.Context, string, ...any) (pgx.Rows, error)
	}
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	pool := pgtest.NewPool(t)
	store := pgstore.New(events.NewRegistry())
	runner := projections.NewRunner(pool, store, slog.New(slog.NewTextHandler(io.Discard, nil)), oncall.Projection{})
	clk := clock.NewManual(t0)
	f := &fixture{h: commands.New(pool, store, clk, commands.OnCommit(runner.Notify)), clock: clk, runner: runner,
		reader: oncall.Reader{Pool: pool}, pool: pool}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = runner.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return f
}

func (f *fixture) settle(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// The newest event, visible or not yet to readers in log order: a
	// transaction open elsewhere in the cluster holds the log's head back.
	var xid, pos int64
	err := f.h.Pool().QueryRow(ctx, `SELECT transaction_id::text::bigint, global_position FROM events
		ORDER BY events.transaction_id DESC, events.global_position DESC LIMIT 1`).Scan(&xid, &pos)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.runner.WaitFor(ctx, events.Checkpoint{TransactionID: uint64(xid), Position: pos}); err != nil {
		t.Fatalf("projection did not catch up: %v", err)
	}
}

func must[T any](t *testing.T) func(T, commands.Result, error) T {
	return func(v T, _ commands.Result, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func ok(t *testing.T) func(commands.Result, error) {
	return func(_ commands.Result, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
}

// history writes a few days of changes to a schedule and the rotation it
// uses, with the clock moving on between them.
func (f *fixture) history(t *testing.T) (sched, rot string, users []string) {
	ctx := context.Background()
	for _, name := range []string{"ann", "bob", "cat", "dan"} {
		users = append(users, must[string](t)(f.h.CreateUser(ctx, commands.CreateUser{Name: name, Role: user.RoleUser})))
	}
	ann, bob, cat, dan := users[0], users[1], users[2], users[3]
	rot = must[string](t)(f.h.CreateRotation(ctx, commands.CreateRotation{Name: "Follow the sun", Type: "hourly", ShiftLength: 8,
		Start: t0.Add(-time.Hour), TimeZone: "America/Chicago", UserIDs: []string{ann, bob, cat}}))
	weekdays := [7]bool{false, true, true, true, true, true, false}
	sched = must[string](t)(f.h.CreateSchedule(ctx, commands.CreateSchedule{Name: "Ops", TimeZone: "Europe/Berlin", Targets: []schedule.TargetRules{
		{Kind: schedule.TargetRotation, ID: rot, Rules: []schedule.TargetRule{{Rule: schedule.Rule{Start: schedule.NewClock(6, 0), End: schedule.NewClock(22, 0), Weekdays: weekdays}}}},
		{Kind: schedule.TargetUser, ID: dan, Rules: []schedule.TargetRule{{Rule: schedule.Rule{Start: schedule.NewClock(22, 0), End: schedule.NewClock(6, 0), Weekdays: [7]bool{true, true, true, true, true, true, true}}}}},
	}}))
	f.clock.Advance(5*time.Hour + 7*time.Minute)
	now := f.clock.Now()
	override := must[string](t)(f.h.CreateUserOverride(ctx, commands.CreateUserOverride{ScheduleID: sched,
		Start: now.Add(-time.Hour), End: now.Add(30 * time.Hour), AddUserID: dan, RemoveUserID: bob}))
	f.clock.Advance(26 * time.Hour)
	ok(t)(f.h.UpdateRotation(ctx, commands.UpdateRotation{ID: rot, UserIDs: []string{cat, ann}}))
	f.clock.Advance(3*time.Hour + 30*time.Minute)
	now = f.clock.Now()
	ok(t)(f.h.SetTemporarySchedule(ctx, commands.SetTemporarySchedule{ScheduleID: sched, Start: now.Add(2 * time.Hour), End: now.Add(12 * time.Hour),
		Shifts: []schedule.Shift{{UserID: bob, Start: now.Add(2 * time.Hour), End: now.Add(12 * time.Hour)}}}))
	f.clock.Advance(5 * time.Hour)
	ok(t)(f.h.DeleteUserOverride(ctx, override))
	idx := 1
	ok(t)(f.h.UpdateRotation(ctx, commands.UpdateRotation{ID: rot, ActiveUserIndex: &idx}))
	f.clock.Advance(9 * time.Hour)
	zone := "Asia/Tokyo"
	ok(t)(f.h.UpdateSchedule(ctx, sched, nil, nil, &zone))
	ok(t)(f.h.UpdateScheduleTarget(ctx, sched, schedule.TargetRules{Kind: schedule.TargetUser, ID: dan}))
	f.clock.Advance(20 * time.Hour)
	return sched, rot, users
}

// The read model's shifts, from its written history and its stored
// definitions, are those the event log gives by time travel.
func TestProjection_ShiftsMatchTheLog(t *testing.T) {
	f := newFixture(t)
	sched, rot, _ := f.history(t)
	f.settle(t)
	ctx := context.Background()
	now := f.clock.Now()
	from, to := t0.Add(-24*time.Hour), now.Add(72*time.Hour)

	want, err := f.h.ShiftsAsOf(ctx, sched, from, to)
	if err != nil {
		t.Fatal(err)
	}
	got, err := f.reader.Shifts(ctx, sched, from, to)
	if err != nil {
		t.Fatal(err)
	}
	if len(want) < 5 {
		t.Fatalf("the log's shifts look too few to compare: %v", want)
	}
	if d := cmp.Diff(want, got, cmp.Comparer(time.Time.Equal)); d != "" {
		t.Errorf("shifts (-log +read model):\n%s", d)
	}
	for _, at := range []time.Time{t0.Add(time.Hour), t0.Add(20 * time.Hour), t0.Add(33 * time.Hour), now} {
		wantOn, err := f.h.OnCallAsOf(ctx, escalation.ActionSchedule, sched, at)
		if err != nil {
			t.Fatal(err)
		}
		var gotOn []string
		for _, sh := range got {
			if !sh.Start.After(at) && (sh.End.After(at) || sh.Truncated) {
				gotOn = append(gotOn, sh.UserID)
			}
		}
		if d := cmp.Diff(sortedCopy(wantOn), sortedCopy(gotOn)); d != "" {
			t.Errorf("on call at %s (-log +read model):\n%s", at, d)
		}
	}
	nowOn, err := f.reader.OnCallUsers(ctx, oncall.SubjectSchedule, sched, now)
	if err != nil {
		t.Fatal(err)
	}
	wantNow, _ := f.h.OnCallAt(ctx, escalation.ActionSchedule, sched, now)
	if d := cmp.Diff(wantNow, nowOn); d != "" {
		t.Errorf("on call now (-commands +read model):\n%s", d)
	}
	rotOn, err := f.reader.OnCallUsers(ctx, oncall.SubjectRotation, rot, now)
	if err != nil {
		t.Fatal(err)
	}
	wantRot, _ := f.h.OnCallAt(ctx, escalation.ActionRotation, rot, now)
	if d := cmp.Diff(wantRot, rotOn); d != "" {
		t.Errorf("rotation on call now (-commands +read model):\n%s", d)
	}
}

func sortedCopy(s []string) []string {
	out := append([]string(nil), s...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

// A rebuild from the log, in small batches, writes the same rows.
func TestProjection_Rebuild(t *testing.T) {
	f := newFixture(t)
	f.history(t)
	ctx := context.Background()
	id, _, _, err := f.h.CreateCalendarSubscription(ctx, commands.CreateCalendarSubscription{UserID: mustUser(t, f), Name: "Phone", ReminderMinutes: []int{5}})
	if err != nil {
		t.Fatal(err)
	}
	_ = id
	f.settle(t)
	before := f.snapshot(t)
	if _, err := f.runner.Rebuild(ctx, oncall.Projection{}.Name(), 3, nil); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(before, f.snapshot(t)); d != "" {
		t.Errorf("after a rebuild (-live +rebuilt):\n%s", d)
	}
	if len(before["oncall_history"]) < 5 {
		t.Errorf("history rows: got %d, want a few", len(before["oncall_history"]))
	}
}

func mustUser(t *testing.T, f *fixture) string {
	return must[string](t)(f.h.CreateUser(context.Background(), commands.CreateUser{Name: "sub", Role: user.RoleUser}))
}

func (f *fixture) snapshot(t *testing.T) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, table := range (oncall.Projection{}).Tables() {
		rows, err := f.pool.Query(context.Background(), `SELECT row_to_json(t)::text FROM `+table+` t ORDER BY 1`)
		if err != nil {
			t.Fatal(err)
		}
		if out[table], err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
			t.Fatal(err)
		}
	}
	return out
}
