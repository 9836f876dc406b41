package schedule

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/oncallhq/goalert/domain"
	"github.com/oncallhq/goalert/domain/notification"
	"github.com/oncallhq/goalert/domain/rotation"
	"github.com/oncallhq/goalert/events"
)

var (
	noLimits = Limits{Rules: -1, Targets: -1, Overrides: -1}
	defaults = Limits{Rules: 30, Targets: 10, Overrides: 35}
	settings = Settings{Name: "Ops", TimeZone: "UTC"}
)

func userTarget(id string, rules ...TargetRule) TargetRules {
	return TargetRules{Kind: TargetUser, ID: id, Rules: rules}
}

func tr(id, start, end string, w [7]bool) TargetRule {
	return TargetRule{ID: id, Rule: rule(start, end, w)}
}

// ok returns the events of a decision that must succeed.
func ok(t *testing.T) func([]events.Event, error) []events.Event {
	return func(evs []events.Event, err error) []events.Event {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return evs
	}
}

// created returns a schedule with ann on weekdays 09:00–17:00 and bob every
// night 17:00–09:00.
func created(t *testing.T) *Aggregate {
	t.Helper()
	return FromHistory(ok(t)(Create("s1", settings, []TargetRules{
		userTarget("ann", tr("r1", "09:00", "17:00", weekdays)),
		userTarget("bob", tr("r2", "17:00", "09:00", days(0, 1, 2, 3, 4, 5, 6))),
	}, defaults)))
}

func TestCreate(t *testing.T) {
	many := func(n int) []TargetRules {
		out := make([]TargetRules, n)
		for i := range out {
			out[i] = userTarget(fmt.Sprint("u", i), tr(fmt.Sprint("r", i), "09:00", "17:00", weekdays))
		}
		return out
	}
	manyRules := []TargetRule{tr("a", "01:00", "02:00", weekdays), tr("b", "02:00", "03:00", weekdays), tr("c", "03:00", "04:00", weekdays)}
	tests := []struct {
		name    string
		s       Settings
		targets []TargetRules
		lim     Limits
		wantErr error
		field   string
	}{
		{name: "valid", s: settings, targets: many(2), lim: defaults},
		{name: "no targets", s: settings, lim: defaults},
		{name: "empty name", s: Settings{TimeZone: "UTC"}, lim: defaults, field: "name"},
		{name: "unknown zone", s: Settings{Name: "x", TimeZone: "Nowhere/Town"}, lim: defaults, field: "timeZone"},
		{name: "targets limit", s: settings, targets: many(3), lim: Limits{Rules: 30, Targets: 2, Overrides: 35}, wantErr: ErrTooManyTargets},
		{name: "default targets limit", s: settings, targets: many(11), lim: defaults, wantErr: ErrTooManyTargets},
		{name: "rules limit", s: settings, targets: []TargetRules{userTarget("a", manyRules...)}, lim: Limits{Rules: 2, Targets: 10, Overrides: 35}, wantErr: ErrTooManyRules},
		{name: "unlimited", s: settings, targets: many(40), lim: noLimits},
		{name: "duplicate target", s: settings, targets: append(many(1), many(1)...), lim: defaults, field: "targets[1]"},
		{name: "bad target kind", s: settings, targets: []TargetRules{{Kind: "team", ID: "x", Rules: manyRules[:1]}}, lim: defaults, field: "targets[0].target.type"},
		{name: "rule without id", s: settings, targets: []TargetRules{userTarget("a", TargetRule{Rule: Always()})}, lim: defaults, field: "targets[0].rules[0].id"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			evs, err := Create("s1", tc.s, tc.targets, tc.lim)
			switch {
			case tc.wantErr != nil:
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err: got %v, want %v", err, tc.wantErr)
				}
			case tc.field != "":
				var de *domain.Error
				if !errors.As(err, &de) || de.Field != tc.field {
					t.Fatalf("err: got %v, want a field error on %s", err, tc.field)
				}
			case err != nil:
				t.Fatalf("Create: %v", err)
			default:
				if got := len(FromHistory(evs).Targets()); got != len(tc.targets) {
					t.Errorf("targets: got %d, want %d", got, len(tc.targets))
				}
			}
		})
	}
}

func TestAggregate_SetTargetRules(t *testing.T) {
	s := created(t)
	if evs := ok(t)(s.SetTargetRules(userTarget("ann", tr("r1", "09:00", "17:00", weekdays)), defaults)); len(evs) != 0 {
		t.Errorf("the same rules again: decided %v, want nothing", evs)
	}
	evs := ok(t)(s.SetTargetRules(userTarget("ann"), defaults))
	for _, e := range evs {
		s.Apply(e)
	}
	if got := s.Spec().OnCallAt(utc("2026-03-02 10:00"), nil); len(got) != 0 {
		t.Errorf("after removing ann's rules, on call Monday 10:00: got %v, want nobody", got)
	}
	if evs := ok(t)(s.SetTargetRules(userTarget("zed"), defaults)); len(evs) != 0 {
		t.Errorf("removing a target that is not there: decided %v, want nothing", evs)
	}
	// A schedule over a lowered limit can still shrink.
	if _, err := s.SetTargetRules(userTarget("bob"), Limits{Rules: 0, Targets: 0, Overrides: 0}); err != nil {
		t.Errorf("removing a target over the limit: %v", err)
	}
}

func TestAggregate_AddOverride(t *testing.T) {
	now := utc("2026-03-02 08:00")
	s := created(t)
	first := Override{ID: "o1", Start: utc("2026-03-02 09:00"), End: utc("2026-03-02 12:00"), AddUserID: "cat", RemoveUserID: "ann"}
	for _, e := range ok(t)(s.AddOverride(first, defaults, now)) {
		s.Apply(e)
	}
	tests := []struct {
		name    string
		o       Override
		lim     Limits
		wantErr error
		field   string
	}{
		{name: "same user, overlapping", o: Override{ID: "o2", Start: utc("2026-03-02 11:00"), End: utc("2026-03-02 13:00"), AddUserID: "cat"}, lim: defaults, wantErr: ErrOverrideConflict},
		{name: "removed user, overlapping", o: Override{ID: "o2", Start: utc("2026-03-02 08:00"), End: utc("2026-03-02 10:00"), RemoveUserID: "ann"}, lim: defaults, wantErr: ErrOverrideConflict},
		{name: "same user, touching", o: Override{ID: "o2", Start: utc("2026-03-02 12:00"), End: utc("2026-03-02 13:00"), AddUserID: "cat"}, lim: defaults},
		{name: "other users, overlapping", o: Override{ID: "o2", Start: utc("2026-03-02 10:00"), End: utc("2026-03-02 11:00"), AddUserID: "dan"}, lim: defaults},
		{name: "ended already", o: Override{ID: "o2", Start: utc("2026-03-01 10:00"), End: utc("2026-03-01 11:00"), AddUserID: "dan"}, lim: defaults, field: "end"},
		{name: "no user", o: Override{ID: "o2", Start: utc("2026-03-02 10:00"), End: utc("2026-03-02 11:00")}, lim: defaults, field: "addUserID"},
		{name: "end before start", o: Override{ID: "o2", Start: utc("2026-03-02 11:00"), End: utc("2026-03-02 10:00"), AddUserID: "dan"}, lim: defaults, field: "end"},
		{name: "limit", o: Override{ID: "o2", Start: utc("2026-03-03 10:00"), End: utc("2026-03-03 11:00"), AddUserID: "dan"}, lim: Limits{Overrides: 1}, wantErr: ErrTooManyOverrides},
		{name: "same id", o: Override{ID: "o1", Start: utc("2026-03-03 10:00"), End: utc("2026-03-03 11:00"), AddUserID: "dan"}, lim: defaults, field: "id"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.AddOverride(tc.o, tc.lim, now)
			switch {
			case tc.wantErr != nil:
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err: got %v, want %v", err, tc.wantErr)
				}
			case tc.field != "":
				var de *domain.Error
				if !errors.As(err, &de) || de.Field != tc.field {
					t.Fatalf("err: got %v, want a field error on %s", err, tc.field)
				}
			case err != nil:
				t.Fatalf("AddOverride: %v", err)
			}
		})
	}
	t.Run("replace applies", func(t *testing.T) {
		if got := s.Spec().OnCallAt(utc("2026-03-02 10:00"), nil); !cmp.Equal(got, []string{"cat"}) {
			t.Errorf("Monday 10:00: got %v, want [cat]", got)
		}
	})
	t.Run("remove", func(t *testing.T) {
		if _, err := s.RemoveOverride("nope"); !errors.Is(err, ErrOverrideNotFound) {
			t.Errorf("removing an unknown override: got %v, want %v", err, ErrOverrideNotFound)
		}
		for _, e := range ok(t)(s.RemoveOverride("o1")) {
			s.Apply(e)
		}
		if got := s.Spec().OnCallAt(utc("2026-03-02 10:00"), nil); !cmp.Equal(got, []string{"ann"}) {
			t.Errorf("after removing the override, Monday 10:00: got %v, want [ann]", got)
		}
	})
}

func TestAggregate_Temporary(t *testing.T) {
	now := utc("2026-03-01 00:00")
	s := created(t)
	tmp := Temporary{Start: utc("2026-03-02 00:00"), End: utc("2026-03-04 00:00"), Shifts: []Shift{
		{UserID: "tim", Start: utc("2026-03-02 00:00"), End: utc("2026-03-03 00:00")},
		{UserID: "tom", Start: utc("2026-03-03 00:00"), End: utc("2026-03-04 00:00")},
	}}
	for _, e := range ok(t)(s.SetTemporary(tmp, time.Time{}, time.Time{}, now)) {
		s.Apply(e)
	}
	onCall := func(at string) []string { return s.Spec().OnCallAt(utc(at), nil) }
	if got := onCall("2026-03-02 10:00"); !cmp.Equal(got, []string{"tim"}) {
		t.Errorf("in the temporary schedule: got %v, want [tim]", got)
	}
	// Clearing the second day leaves the first.
	for _, e := range ok(t)(s.ClearTemporary(utc("2026-03-03 00:00"), utc("2026-03-05 00:00"))) {
		s.Apply(e)
	}
	if got := onCall("2026-03-03 10:00"); !cmp.Equal(got, []string{"ann"}) {
		t.Errorf("after clearing: got %v, want the rules' [ann]", got)
	}
	if got := onCall("2026-03-02 10:00"); !cmp.Equal(got, []string{"tim"}) {
		t.Errorf("before the cleared span: got %v, want [tim]", got)
	}
	if evs := ok(t)(s.ClearTemporary(utc("2026-03-10 00:00"), utc("2026-03-11 00:00"))); len(evs) != 0 {
		t.Errorf("clearing where there is nothing: decided %v", evs)
	}
	if _, err := s.SetTemporary(Temporary{Start: utc("2026-02-01 00:00"), End: utc("2026-02-02 00:00")}, time.Time{}, time.Time{}, now); err == nil {
		t.Error("a temporary schedule in the past: want an error")
	}
}

func TestAggregate_SetNotificationRule(t *testing.T) {
	s := created(t)
	slack := events.Dest{Type: notification.DestSlackChannel, Args: map[string]string{notification.ArgSlackChannelID: "C1"}}
	tests := []struct {
		name  string
		r     NotificationRule
		field string
	}{
		{name: "on change", r: NotificationRule{ID: "n1", Dest: slack}},
		{name: "at a time", r: NotificationRule{ID: "n1", Dest: slack, HasTime: true, Time: NewClock(9, 0), Weekdays: weekdays}},
		{name: "webhook", r: NotificationRule{ID: "n1", Dest: events.Dest{Type: notification.DestWebhook, Args: map[string]string{"webhook_url": "https://x"}}}},
		{name: "SMS is not a channel", r: NotificationRule{ID: "n1", Dest: events.Dest{Type: notification.DestSMS}}, field: "dest.type"},
		{name: "no channel id", r: NotificationRule{ID: "n1", Dest: events.Dest{Type: notification.DestSlackChannel}}, field: "dest.args"},
		{name: "time with no days", r: NotificationRule{ID: "n1", Dest: slack, HasTime: true, Time: NewClock(9, 0)}, field: "weekdayFilter"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			evs, err := s.SetNotificationRule(tc.r)
			if tc.field != "" {
				var de *domain.Error
				if !errors.As(err, &de) || de.Field != tc.field {
					t.Fatalf("err: got %v, want a field error on %s", err, tc.field)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			c := created(t)
			for _, e := range evs {
				c.Apply(e)
			}
			if d := cmp.Diff([]NotificationRule{tc.r}, c.NotificationRules()); d != "" {
				t.Errorf("rules (-want +got):\n%s", d)
			}
		})
	}
	if _, err := s.RemoveNotificationRule("nope"); !errors.Is(err, ErrNotificationRuleNotFound) {
		t.Errorf("removing an unknown rule: got %v", err)
	}
}

// timeline builds a timeline from decisions made at given instants.
type timelineBuilder struct {
	t  *testing.T
	tl Timeline
}

// schedule records a schedule decision made at at.
func (b *timelineBuilder) schedule(at time.Time) func([]events.Event, error) {
	return func(evs []events.Event, err error) {
		b.t.Helper()
		for _, e := range ok(b.t)(evs, err) {
			b.tl.Schedule.Events = append(b.tl.Schedule.Events, e)
			b.tl.Schedule.At = append(b.tl.Schedule.At, at)
		}
	}
}

// rotation records a decision of rotation id made at at.
func (b *timelineBuilder) rotation(id string, at time.Time) func([]events.Event, error) {
	return func(evs []events.Event, err error) {
		b.t.Helper()
		h := b.tl.Rotations[id]
		for _, e := range ok(b.t)(evs, err) {
			h.Events = append(h.Events, e)
			h.At = append(h.At, at)
		}
		b.tl.Rotations[id] = h
	}
}

func (b *timelineBuilder) current() *Aggregate { return FromHistory(b.tl.Schedule.Events) }

func fmtScheduleShifts(ss []Shift) string {
	var b strings.Builder
	for _, s := range ss {
		fmt.Fprintf(&b, "%s %s-%s", s.UserID, s.Start.UTC().Format("01-02 15:04"), s.End.UTC().Format("01-02 15:04"))
		if s.Truncated {
			b.WriteString("+")
		}
		b.WriteString("; ")
	}
	return b.String()
}

// Time travel: every instant is answered with the configuration of that
// instant, so later edits leave the past alone.
func TestTimeline(t *testing.T) {
	b := &timelineBuilder{t: t, tl: Timeline{Rotations: map[string]History{}}}
	t0 := utc("2026-03-01 00:00") // Sunday
	rs := rotation.Settings{Name: "R", Type: rotation.Daily, ShiftLength: 1, Start: utc("2026-03-01 09:00"), TimeZone: "UTC"}
	b.rotation("rot", t0)(rotation.Create("rot", rs, []string{"ann", "bob"}, 50, t0))
	b.schedule(t0)(Create("s1", settings, []TargetRules{{Kind: TargetRotation, ID: "rot", Rules: []TargetRule{{ID: "r1", Rule: Always()}}}}, defaults))

	// Monday 12:00: cat replaces whoever is on call from now on, and the
	// rotation's active participant is changed on Tuesday 12:00.
	t1 := utc("2026-03-02 12:00")
	b.schedule(t1)(b.current().SetTargetRules(userTarget("cat", TargetRule{ID: "r2", Rule: Always()}), defaults))
	b.schedule(t1)(b.current().SetTargetRules(TargetRules{Kind: TargetRotation, ID: "rot"}, defaults))
	t2 := utc("2026-03-03 12:00")
	rot := rotation.FromHistory(b.tl.Rotations["rot"].Events)
	b.rotation("rot", t2)(rot.SetActive(1, t2))

	for _, tc := range []struct {
		at   string
		want []string
	}{
		{"2026-02-28 12:00", nil},             // before the schedule existed
		{"2026-03-01 08:00", []string{"ann"}}, // created Sunday 00:00: ann from then
		{"2026-03-01 10:00", []string{"bob"}}, // the rotation handed off at 09:00
		{"2026-03-02 11:59", []string{"ann"}},
		{"2026-03-02 12:00", []string{"cat"}}, // the change applies from its instant on
		{"2026-03-04 00:00", []string{"cat"}},
	} {
		if got := b.tl.OnCallAt(utc(tc.at)); !cmp.Equal(got, tc.want) {
			t.Errorf("OnCallAt(%s): got %v, want %v", tc.at, got, tc.want)
		}
	}

	got := fmtScheduleShifts(b.tl.Shifts(utc("2026-03-01 00:00"), utc("2026-03-03 00:00")))
	want := "ann 03-01 00:00-03-01 09:00; bob 03-01 09:00-03-02 09:00; ann 03-02 09:00-03-02 12:00; cat 03-02 12:00-03-03 00:00+; "
	if got != want {
		t.Errorf("Shifts:\ngot  %s\nwant %s", got, want)
	}

	// A shift a change leaves alone runs through it as one.
	b2 := &timelineBuilder{t: t, tl: Timeline{Rotations: map[string]History{}}}
	b2.schedule(t0)(Create("s1", settings, []TargetRules{userTarget("ann", TargetRule{ID: "r1", Rule: Always()})}, defaults))
	b2.schedule(t1)(b2.current().Update(Settings{Name: "Renamed", TimeZone: "UTC"}))
	if got, want := fmtScheduleShifts(b2.tl.Shifts(t0, t2)), "ann 03-01 00:00-03-03 12:00+; "; got != want {
		t.Errorf("Shifts across a rename: got %s, want %s", got, want)
	}
	// Deleting ends every shift at the deletion.
	b2.schedule(t2)(b2.current().Delete())
	if got, want := fmtScheduleShifts(b2.tl.Shifts(t0, utc("2026-03-05 00:00"))), "ann 03-01 00:00-03-03 12:00; "; got != want {
		t.Errorf("Shifts across a deletion: got %s, want %s", got, want)
	}
}

func TestSubscriptions(t *testing.T) {
	subs := SubscriptionsFromHistory("u1", nil)
	sub := Subscription{ID: "c1", Name: "Phone", ReminderMinutes: []int{15, 5, 15}, TokenHash: "h1"}
	evs := ok(t)(subs.Create(sub, 1))
	for _, e := range evs {
		subs.Apply(e)
	}
	if got, _ := subs.Get("c1"); !cmp.Equal(got.ReminderMinutes, []int{5, 15}) {
		t.Errorf("reminders: got %v, want sorted and once each", got.ReminderMinutes)
	}
	if _, err := subs.Create(Subscription{ID: "c2", Name: "Laptop", TokenHash: "h2"}, 1); !errors.Is(err, ErrTooManySubscriptions) {
		t.Errorf("past the limit: got %v, want %v", err, ErrTooManySubscriptions)
	}
	for _, tc := range []struct {
		name string
		s    Subscription
	}{
		{"no name", Subscription{ID: "c2", TokenHash: "h"}},
		{"full schedule without one", Subscription{ID: "c2", Name: "x", TokenHash: "h", FullSchedule: true}},
		{"negative reminder", Subscription{ID: "c2", Name: "x", TokenHash: "h", ReminderMinutes: []int{-1}}},
	} {
		if _, err := subs.Create(tc.s, -1); domain.KindOf(err) != domain.KindInvalid {
			t.Errorf("%s: got %v, want an invalid-input error", tc.name, err)
		}
	}
	for _, e := range ok(t)(subs.Delete("c1")) {
		subs.Apply(e)
	}
	if _, err := subs.Delete("c1"); !errors.Is(err, ErrSubscriptionNotFound) {
		t.Errorf("deleting twice: got %v, want %v", err, ErrSubscriptionNotFound)
	}
}
