package schedule

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/oncallhq/goalert/domain"
	"github.com/oncallhq/goalert/domain/rotation"
)

func TestSpec_Shifts_RotationTargets(t *testing.T) {
	daily := rotationState{
		rot: rotation.Rotation{Type: rotation.Daily, ShiftLength: 1, Start: local(chicago, "2024-03-01 09:00"), Zone: chicago,
			Participants: []string{"a", "b", "c"}},
		anchor: rotation.Anchor{Index: 0, At: local(chicago, "2024-03-08 09:00")},
	}
	rots := rotationsOf(map[string]rotationState{"daily": daily})
	tests := []struct {
		name      string
		targets   []Target
		rotations RotationShifts
		from, to  time.Time
		want      []Shift
	}{
		{
			name:    "daily rotation, always on, across spring forward",
			targets: []Target{{Kind: TargetRotation, ID: "daily", Rules: []Rule{Always()}}},
			from:    local(chicago, "2024-03-09 00:00"), to: local(chicago, "2024-03-12 00:00"),
			want: []Shift{
				sh("a", "2024-03-09 06:00", "2024-03-09 15:00"),
				sh("b", "2024-03-09 15:00", "2024-03-10 14:00"),
				sh("c", "2024-03-10 14:00", "2024-03-11 14:00"),
				sh("a", "2024-03-11 14:00", "2024-03-12 05:00+"),
			},
		},
		{
			name:    "rotation during a weekday-morning rule, hand-off inside the window",
			targets: []Target{{Kind: TargetRotation, ID: "daily", Rules: []Rule{rule("08:00", "12:00", weekdays)}}},
			from:    local(chicago, "2024-03-11 00:00"), to: local(chicago, "2024-03-13 00:00"),
			want: []Shift{
				sh("c", "2024-03-11 13:00", "2024-03-11 14:00"),
				sh("a", "2024-03-11 14:00", "2024-03-11 17:00"),
				sh("a", "2024-03-12 13:00", "2024-03-12 14:00"),
				sh("b", "2024-03-12 14:00", "2024-03-12 17:00"),
			},
		},
		{
			name: "a user on call through a user target and a rotation is merged",
			targets: []Target{
				{Kind: TargetRotation, ID: "daily", Rules: []Rule{rule("08:00", "12:00", weekdays)}},
				{Kind: TargetUser, ID: "a", Rules: []Rule{rule("12:00", "13:00", weekdays)}},
			},
			from: local(chicago, "2024-03-11 00:00"), to: local(chicago, "2024-03-12 00:00"),
			want: []Shift{
				sh("c", "2024-03-11 13:00", "2024-03-11 14:00"),
				sh("a", "2024-03-11 14:00", "2024-03-11 18:00"),
			},
		},
		{
			name:    "a rotation target without rules is never on call",
			targets: []Target{{Kind: TargetRotation, ID: "daily"}},
			from:    local(chicago, "2024-03-09 00:00"), to: local(chicago, "2024-03-12 00:00"),
		},
		{
			name:    "an unknown rotation contributes nobody",
			targets: []Target{{Kind: TargetRotation, ID: "gone", Rules: []Rule{Always()}}},
			from:    local(chicago, "2024-03-09 00:00"), to: local(chicago, "2024-03-12 00:00"),
		},
		{
			name:      "without a rotation lookup, rotations contribute nobody",
			targets:   []Target{{Kind: TargetRotation, ID: "daily", Rules: []Rule{Always()}}},
			rotations: func(string, time.Time, time.Time) []rotation.Shift { return nil },
			from:      local(chicago, "2024-03-09 00:00"), to: local(chicago, "2024-03-12 00:00"),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := rots
			if tt.rotations != nil {
				r = tt.rotations
			}
			got := Spec{Zone: chicago, Targets: tt.targets}.Shifts(tt.from, tt.to, r)
			if fmtShifts(got) != fmtShifts(tt.want) {
				t.Errorf("got:%s\nwant:%s", fmtShifts(got), fmtShifts(tt.want))
			}
		})
	}
}

func TestSpec_Shifts_Overrides(t *testing.T) {
	alice := Target{Kind: TargetUser, ID: "alice", Rules: []Rule{rule("09:00", "17:00", Always().Weekdays)}}
	add := func(u, s, e string) Override { return Override{AddUserID: u, Start: utc(s), End: utc(e)} }
	remove := func(u, s, e string) Override { return Override{RemoveUserID: u, Start: utc(s), End: utc(e)} }
	replace := func(r, a, s, e string) Override {
		return Override{RemoveUserID: r, AddUserID: a, Start: utc(s), End: utc(e)}
	}
	tests := []struct {
		name      string
		overrides []Override
		want      []Shift
	}{
		{"no overrides", nil, []Shift{sh("alice", "2024-01-01 09:00", "2024-01-01 17:00")}},
		{
			"add another user adjacent to a shift",
			[]Override{add("bob", "2024-01-01 17:00", "2024-01-01 19:00")},
			[]Shift{sh("alice", "2024-01-01 09:00", "2024-01-01 17:00"), sh("bob", "2024-01-01 17:00", "2024-01-01 19:00")},
		},
		{
			"add the same user adjacent after a shift extends it",
			[]Override{add("alice", "2024-01-01 17:00", "2024-01-01 19:00")},
			[]Shift{sh("alice", "2024-01-01 09:00", "2024-01-01 19:00")},
		},
		{
			"add the same user adjacent before a shift extends it",
			[]Override{add("alice", "2024-01-01 07:00", "2024-01-01 09:00")},
			[]Shift{sh("alice", "2024-01-01 07:00", "2024-01-01 17:00")},
		},
		{
			"add someone already on call changes nothing",
			[]Override{add("alice", "2024-01-01 10:00", "2024-01-01 11:00")},
			[]Shift{sh("alice", "2024-01-01 09:00", "2024-01-01 17:00")},
		},
		{
			"remove partially overlapping the end",
			[]Override{remove("alice", "2024-01-01 16:00", "2024-01-01 18:00")},
			[]Shift{sh("alice", "2024-01-01 09:00", "2024-01-01 16:00")},
		},
		{
			"remove partially overlapping the start",
			[]Override{remove("alice", "2024-01-01 08:00", "2024-01-01 10:00")},
			[]Shift{sh("alice", "2024-01-01 10:00", "2024-01-01 17:00")},
		},
		{
			"remove in the middle splits the shift",
			[]Override{remove("alice", "2024-01-01 12:00", "2024-01-01 13:00")},
			[]Shift{sh("alice", "2024-01-01 09:00", "2024-01-01 12:00"), sh("alice", "2024-01-01 13:00", "2024-01-01 17:00")},
		},
		{
			"remove someone never on call changes nothing",
			[]Override{remove("bob", "2024-01-01 08:00", "2024-01-01 20:00")},
			[]Shift{sh("alice", "2024-01-01 09:00", "2024-01-01 17:00")},
		},
		{
			"replace starting exactly when the shift starts",
			[]Override{replace("alice", "bob", "2024-01-01 09:00", "2024-01-01 12:00")},
			[]Shift{sh("bob", "2024-01-01 09:00", "2024-01-01 12:00"), sh("alice", "2024-01-01 12:00", "2024-01-01 17:00")},
		},
		{
			"replace starting exactly when the shift ends does nothing",
			[]Override{replace("alice", "bob", "2024-01-01 17:00", "2024-01-01 20:00")},
			[]Shift{sh("alice", "2024-01-01 09:00", "2024-01-01 17:00")},
		},
		{
			"replace ending exactly when the shift starts does nothing",
			[]Override{replace("alice", "bob", "2024-01-01 07:00", "2024-01-01 09:00")},
			[]Shift{sh("alice", "2024-01-01 09:00", "2024-01-01 17:00")},
		},
		{
			"replace covering the shift applies only while the removed user is on call",
			[]Override{replace("alice", "bob", "2024-01-01 08:00", "2024-01-01 18:00")},
			[]Shift{sh("bob", "2024-01-01 09:00", "2024-01-01 17:00")},
		},
		{
			"replace overlapping the end of the shift",
			[]Override{replace("alice", "bob", "2024-01-01 16:00", "2024-01-01 18:00")},
			[]Shift{sh("alice", "2024-01-01 09:00", "2024-01-01 16:00"), sh("bob", "2024-01-01 16:00", "2024-01-01 17:00")},
		},
		{
			"replace of a user not on call does nothing",
			[]Override{replace("carol", "bob", "2024-01-01 10:00", "2024-01-01 11:00")},
			[]Shift{sh("alice", "2024-01-01 09:00", "2024-01-01 17:00")},
		},
		{
			"removes apply before adds",
			[]Override{remove("alice", "2024-01-01 10:00", "2024-01-01 11:00"), add("alice", "2024-01-01 10:00", "2024-01-01 11:00")},
			[]Shift{sh("alice", "2024-01-01 09:00", "2024-01-01 17:00")},
		},
		{
			"an add running past the window end is truncated",
			[]Override{add("bob", "2024-01-01 23:00", "2024-01-02 02:00")},
			[]Shift{sh("alice", "2024-01-01 09:00", "2024-01-01 17:00"), sh("bob", "2024-01-01 23:00", "2024-01-02 00:00+")},
		},
		{
			"an add beginning at the window end is outside it",
			[]Override{add("bob", "2024-01-02 00:00", "2024-01-02 02:00")},
			[]Shift{sh("alice", "2024-01-01 09:00", "2024-01-01 17:00")},
		},
		{
			"an add that began before the window starts with it",
			[]Override{add("bob", "2023-12-31 22:00", "2024-01-01 02:00")},
			[]Shift{sh("bob", "2024-01-01 00:00", "2024-01-01 02:00"), sh("alice", "2024-01-01 09:00", "2024-01-01 17:00")},
		},
		{
			"overrides outside the window are ignored",
			[]Override{remove("alice", "2024-01-02 09:00", "2024-01-02 17:00"), add("bob", "2023-12-31 09:00", "2024-01-01 00:00")},
			[]Shift{sh("alice", "2024-01-01 09:00", "2024-01-01 17:00")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := Spec{Zone: time.UTC, Targets: []Target{alice}, Overrides: tt.overrides}
			got := spec.Shifts(utc("2024-01-01 00:00"), utc("2024-01-02 00:00"), nil)
			if fmtShifts(got) != fmtShifts(tt.want) {
				t.Errorf("got:%s\nwant:%s", fmtShifts(got), fmtShifts(tt.want))
			}
		})
	}
}

func TestSpec_Shifts_Temporary(t *testing.T) {
	weekly := rotationState{
		rot: rotation.Rotation{Type: rotation.Weekly, ShiftLength: 1, Start: local(chicago, "2024-03-04 09:00"), Zone: chicago,
			Participants: []string{"a", "b", "c"}},
		anchor: rotation.Anchor{Index: 0, At: local(chicago, "2024-03-04 09:00")},
	}
	rots := rotationsOf(map[string]rotationState{"weekly": weekly})
	base := Spec{
		Zone:    chicago,
		Targets: []Target{{Kind: TargetRotation, ID: "weekly", Rules: []Rule{Always()}}},
		Overrides: []Override{
			// Inside the temporary schedule: ignored.
			{AddUserID: "erin", Start: local(chicago, "2024-03-11 00:00"), End: local(chicago, "2024-03-11 06:00")},
			// Straddling its end: applies after it.
			{RemoveUserID: "b", AddUserID: "frank", Start: local(chicago, "2024-03-12 11:00"), End: local(chicago, "2024-03-12 14:00")},
		},
	}
	from, to := local(chicago, "2024-03-10 00:00"), local(chicago, "2024-03-13 00:00")

	t.Run("without it the rotation hands off Monday 09:00", func(t *testing.T) {
		want := []Shift{
			sh("a", "2024-03-10 06:00", "2024-03-11 14:00"),
			sh("erin", "2024-03-11 05:00", "2024-03-11 11:00"),
			sh("b", "2024-03-11 14:00", "2024-03-12 16:00"),
			sh("frank", "2024-03-12 16:00", "2024-03-12 19:00"),
			sh("b", "2024-03-12 19:00", "2024-03-13 05:00+"),
		}
		if got := base.Shifts(from, to, rots); fmtShifts(got) != fmtShifts(want) {
			t.Errorf("got:%s\nwant:%s", fmtShifts(got), fmtShifts(want))
		}
	})

	t.Run("spanning the hand-off it replaces rules and overrides", func(t *testing.T) {
		spec := base
		spec.Temporary = []Temporary{{
			Start: local(chicago, "2024-03-10 12:00"),
			End:   local(chicago, "2024-03-12 12:00"),
			Shifts: []Shift{
				{UserID: "carol", Start: local(chicago, "2024-03-10 12:00"), End: local(chicago, "2024-03-11 12:00")},
				{UserID: "dave", Start: local(chicago, "2024-03-11 12:00"), End: local(chicago, "2024-03-12 10:00")},
			},
		}}
		want := []Shift{
			sh("a", "2024-03-10 06:00", "2024-03-10 17:00"),
			sh("carol", "2024-03-10 17:00", "2024-03-11 17:00"),
			sh("dave", "2024-03-11 17:00", "2024-03-12 15:00"),
			// Nobody from 10:00 to 12:00; then the rotation, past the
			// hand-off it went through meanwhile, and the override's tail.
			sh("frank", "2024-03-12 17:00", "2024-03-12 19:00"),
			sh("b", "2024-03-12 19:00", "2024-03-13 05:00+"),
		}
		if got := spec.Shifts(from, to, rots); fmtShifts(got) != fmtShifts(want) {
			t.Errorf("got:%s\nwant:%s", fmtShifts(got), fmtShifts(want))
		}
		for _, c := range []struct {
			at   time.Time
			want []string
		}{
			{local(chicago, "2024-03-10 11:59"), []string{"a"}},
			{local(chicago, "2024-03-11 03:00"), []string{"carol"}},
			{local(chicago, "2024-03-12 11:00"), nil},
			{local(chicago, "2024-03-12 12:00"), []string{"frank"}},
		} {
			if got := spec.OnCallAt(c.at, rots); !slices.Equal(got, c.want) {
				t.Errorf("OnCallAt(%s) = %v, want %v", c.at, got, c.want)
			}
		}
	})

	t.Run("its shifts are clipped to its window", func(t *testing.T) {
		spec := Spec{Zone: chicago, Temporary: []Temporary{{
			Start:  local(chicago, "2024-03-10 12:00"),
			End:    local(chicago, "2024-03-10 13:00"),
			Shifts: []Shift{{UserID: "carol", Start: local(chicago, "2024-03-10 00:00"), End: local(chicago, "2024-03-11 00:00")}},
		}}}
		want := []Shift{sh("carol", "2024-03-10 17:00", "2024-03-10 18:00")}
		if got := spec.Shifts(from, to, nil); fmtShifts(got) != fmtShifts(want) {
			t.Errorf("got:%s\nwant:%s", fmtShifts(got), fmtShifts(want))
		}
	})
}

func TestSpec_OnCallAt(t *testing.T) {
	rots := rotationsOf(map[string]rotationState{
		"r": {
			rot: rotation.Rotation{Type: rotation.Hourly, ShiftLength: 8, Start: utc("2024-01-01 00:00"), Zone: time.UTC,
				Participants: []string{"bob", "alice"}},
			anchor: rotation.Anchor{Index: 0, At: utc("2024-01-01 00:00")},
		},
	})
	spec := Spec{
		Zone: time.UTC,
		Targets: []Target{
			{Kind: TargetUser, ID: "alice", Rules: []Rule{rule("09:00", "17:00", weekdays)}},
			{Kind: TargetRotation, ID: "r", Rules: []Rule{Always()}},
		},
		Overrides: []Override{{AddUserID: "carol", Start: utc("2024-01-01 16:00"), End: utc("2024-01-01 18:00")}},
	}
	tests := []struct {
		at   time.Time
		want []string
	}{
		{utc("2024-01-01 07:59"), []string{"bob"}},
		{utc("2024-01-01 08:00"), []string{"alice"}}, // the rotation hands off to alice
		{utc("2024-01-01 09:00"), []string{"alice"}}, // and her rule begins: listed once
		{utc("2024-01-01 16:00"), []string{"alice", "bob", "carol"}},
		{utc("2024-01-01 17:00"), []string{"bob", "carol"}},
		{utc("2024-01-01 18:00"), []string{"bob"}},
		{utc("2024-01-06 12:00"), []string{"bob"}}, // Saturday
	}
	for _, tt := range tests {
		got := spec.OnCallAt(tt.at, rots)
		if !slices.Equal(got, tt.want) {
			t.Errorf("OnCallAt(%s) = %v, want %v", tt.at, got, tt.want)
		}
		var fromShifts []string
		for _, s := range spec.Shifts(tt.at.Add(-time.Hour), tt.at.Add(time.Hour), rots) {
			if !s.Start.After(tt.at) && s.End.After(tt.at) && !slices.Contains(fromShifts, s.UserID) {
				fromShifts = append(fromShifts, s.UserID)
			}
		}
		slices.Sort(fromShifts)
		if !slices.Equal(got, fromShifts) {
			t.Errorf("OnCallAt(%s) = %v, but Shifts say %v", tt.at, got, fromShifts)
		}
	}
}

func TestValidateOverrides(t *testing.T) {
	o := func(id, add, remove, s, e string) Override {
		return Override{ID: id, AddUserID: add, RemoveUserID: remove, Start: utc(s), End: utc(e)}
	}
	tests := []struct {
		name      string
		overrides []Override
		fields    []string
	}{
		{"none", nil, nil},
		{"disjoint, same user", []Override{
			o("1", "bob", "", "2024-01-01 09:00", "2024-01-01 10:00"),
			o("2", "bob", "", "2024-01-01 11:00", "2024-01-01 12:00"),
		}, nil},
		{"touching, same user", []Override{
			o("1", "bob", "", "2024-01-01 09:00", "2024-01-01 10:00"),
			o("2", "", "bob", "2024-01-01 10:00", "2024-01-01 12:00"),
		}, nil},
		{"overlapping, different users", []Override{
			o("1", "bob", "", "2024-01-01 09:00", "2024-01-01 11:00"),
			o("2", "carol", "alice", "2024-01-01 10:00", "2024-01-01 12:00"),
		}, nil},
		{"overlapping adds of the same user", []Override{
			o("1", "bob", "", "2024-01-01 09:00", "2024-01-01 11:00"),
			o("2", "bob", "", "2024-01-01 10:00", "2024-01-01 12:00"),
		}, []string{"overrides[1]"}},
		{"replace overlapping an add of its added user", []Override{
			o("1", "bob", "alice", "2024-01-01 09:00", "2024-01-01 11:00"),
			o("2", "bob", "", "2024-01-01 10:00", "2024-01-01 12:00"),
		}, []string{"overrides[1]"}},
		{"replace overlapping a remove of its removed user", []Override{
			o("1", "bob", "alice", "2024-01-01 09:00", "2024-01-01 11:00"),
			o("2", "", "alice", "2024-01-01 10:00", "2024-01-01 12:00"),
		}, []string{"overrides[1]"}},
		{"chained replaces through one user", []Override{
			o("1", "bob", "alice", "2024-01-01 09:00", "2024-01-01 11:00"),
			o("2", "carol", "bob", "2024-01-01 10:00", "2024-01-01 12:00"),
		}, []string{"overrides[1]"}},
		{"later in time first in the list", []Override{
			o("1", "bob", "", "2024-01-01 10:00", "2024-01-01 12:00"),
			o("2", "bob", "", "2024-01-01 09:00", "2024-01-01 11:00"),
		}, []string{"overrides[1]"}},
		{"one long override containing two", []Override{
			o("1", "bob", "", "2024-01-01 00:00", "2024-01-02 00:00"),
			o("2", "bob", "", "2024-01-01 02:00", "2024-01-01 03:00"),
			o("3", "", "bob", "2024-01-01 05:00", "2024-01-01 06:00"),
		}, []string{"overrides[1]", "overrides[2]"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateOverrides(tt.overrides)
			if got := fieldsOf(err); !slices.Equal(got, tt.fields) {
				t.Fatalf("fields %v, want %v (err: %v)", got, tt.fields, err)
			}
			if tt.fields == nil {
				return
			}
			if !errors.Is(err, ErrOverrideConflict) || domain.KindOf(err) != domain.KindInvalid {
				t.Errorf("err = %v, want an invalid ErrOverrideConflict", err)
			}
			if !strings.Contains(err.Error(), "bob") && !strings.Contains(err.Error(), "alice") {
				t.Errorf("message %q names no user", err)
			}
		})
	}
}

func TestSpec_Validate(t *testing.T) {
	ok := Spec{
		Zone: chicago,
		Targets: []Target{
			{Kind: TargetUser, ID: "alice", Rules: []Rule{rule("09:00", "17:00", weekdays)}},
			{Kind: TargetRotation, ID: "r", Rules: []Rule{Always()}},
		},
		Overrides: []Override{{AddUserID: "bob", Start: utc("2024-01-01 00:00"), End: utc("2024-01-02 00:00")}},
		Temporary: []Temporary{{Start: utc("2024-02-01 00:00"), End: utc("2024-02-02 00:00"), Shifts: []Shift{
			{UserID: "carol", Start: utc("2024-02-01 00:00"), End: utc("2024-02-01 12:00")},
		}}},
	}
	if err := ok.Validate(); err != nil {
		t.Fatalf("valid spec: %v", err)
	}
	bad := Spec{
		Targets: []Target{
			{Kind: "team", ID: "x"},
			{Kind: TargetUser, Rules: []Rule{{Start: 1440, End: -1}}},
		},
		Overrides: []Override{
			{Start: utc("2024-01-01 00:00"), End: utc("2024-01-01 00:00")},
			{AddUserID: "bob", RemoveUserID: "bob", Start: utc("2024-01-01 00:00"), End: utc("2024-01-02 00:00")},
		},
		Temporary: []Temporary{
			{Start: utc("2024-02-01 00:00"), End: utc("2024-02-02 00:00"), Shifts: []Shift{
				{UserID: "carol", Start: utc("2024-01-31 00:00"), End: utc("2024-02-01 12:00")},
				{Start: utc("2024-02-01 00:00"), End: utc("2024-02-01 12:00")},
			}},
			{Start: utc("2024-02-01 12:00"), End: utc("2024-02-03 00:00")},
		},
	}
	want := []string{
		"timeZone",
		"targets[0].target.type",
		"targets[1].target.id", "targets[1].rules[0].start", "targets[1].rules[0].end",
		"overrides[0].end", "overrides[0].addUserID",
		"overrides[1].addUserID",
		"temporarySchedules[0].shifts[0]", "temporarySchedules[0].shifts[1].userID",
		"temporarySchedules[1]",
	}
	if got := fieldsOf(bad.Validate()); !slices.Equal(got, want) {
		t.Errorf("fields\n got  %v\n want %v", got, want)
	}
}

func TestParseTargetKind(t *testing.T) {
	for _, s := range []string{"user", "rotation"} {
		if k, err := ParseTargetKind(s); err != nil || string(k) != s {
			t.Errorf("ParseTargetKind(%q) = %q, %v", s, k, err)
		}
	}
	if _, err := ParseTargetKind("schedule"); domain.KindOf(err) != domain.KindInvalid {
		t.Errorf("ParseTargetKind(schedule) err = %v, want invalid", err)
	}
}
