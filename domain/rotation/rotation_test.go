package rotation

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
	_ "time/tzdata"

	"github.com/oncallhq/goalert/domain"
)

var (
	chicago = mustLoad("America/Chicago")
	london  = mustLoad("Europe/London")
	sydney  = mustLoad("Australia/Sydney")
)

func mustLoad(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

// utc parses "2006-01-02 15:04" as UTC.
func utc(s string) time.Time {
	t, err := time.Parse("2006-01-02 15:04", s)
	if err != nil {
		panic(err)
	}
	return t
}

// local parses "2006-01-02 15:04" in loc; only for readings that exist once.
func local(loc *time.Location, s string) time.Time {
	t, err := time.ParseInLocation("2006-01-02 15:04", s, loc)
	if err != nil {
		panic(err)
	}
	return t
}

func fmtTimes(ts []time.Time) string {
	var b strings.Builder
	for i, t := range ts {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(t.UTC().Format("2006-01-02 15:04Z"))
	}
	return b.String()
}

func TestRotation_HandoffTimes(t *testing.T) {
	tests := []struct {
		name  string
		rot   Rotation
		from  time.Time
		count int
		want  []time.Time
	}{
		{
			name: "daily Chicago across spring forward keeps 09:00 local",
			rot:  Rotation{Type: Daily, ShiftLength: 1, Start: local(chicago, "2024-03-01 09:00"), Zone: chicago},
			from: local(chicago, "2024-03-08 12:00"), count: 3,
			want: []time.Time{utc("2024-03-09 15:00"), utc("2024-03-10 14:00"), utc("2024-03-11 14:00")},
		},
		{
			name: "daily Chicago across fall back keeps 09:00 local",
			rot:  Rotation{Type: Daily, ShiftLength: 1, Start: local(chicago, "2024-10-01 09:00"), Zone: chicago},
			from: local(chicago, "2024-11-02 12:00"), count: 2,
			want: []time.Time{utc("2024-11-03 15:00"), utc("2024-11-04 15:00")},
		},
		{
			name: "daily at a skipped reading hands off at the end of the gap",
			rot:  Rotation{Type: Daily, ShiftLength: 1, Start: local(chicago, "2024-03-01 02:30"), Zone: chicago},
			from: local(chicago, "2024-03-09 12:00"), count: 2,
			want: []time.Time{utc("2024-03-10 08:00"), utc("2024-03-11 07:30")},
		},
		{
			name: "daily at a repeated reading hands off at its first occurrence",
			rot:  Rotation{Type: Daily, ShiftLength: 1, Start: local(chicago, "2024-10-01 01:30"), Zone: chicago},
			from: local(chicago, "2024-11-02 12:00"), count: 2,
			want: []time.Time{utc("2024-11-03 06:30"), utc("2024-11-04 07:30")},
		},
		{
			name: "2-day London across BST start",
			rot:  Rotation{Type: Daily, ShiftLength: 2, Start: local(london, "2024-03-27 08:00"), Zone: london},
			from: local(london, "2024-03-27 08:00"), count: 3,
			want: []time.Time{utc("2024-03-29 08:00"), utc("2024-03-31 07:00"), utc("2024-04-02 07:00")},
		},
		{
			name: "daily Sydney across AEDT start",
			rot:  Rotation{Type: Daily, ShiftLength: 1, Start: local(sydney, "2024-09-01 08:00"), Zone: sydney},
			from: local(sydney, "2024-10-05 09:00"), count: 2,
			want: []time.Time{utc("2024-10-05 21:00"), utc("2024-10-06 21:00")},
		},
		{
			name: "weekly London Sunday 01:30 on the BST start and end nights",
			rot:  Rotation{Type: Weekly, ShiftLength: 1, Start: local(london, "2024-03-24 01:30"), Zone: london},
			from: local(london, "2024-03-24 01:30"), count: 2,
			want: []time.Time{utc("2024-03-31 01:00"), utc("2024-04-07 00:30")},
		},
		{
			name: "weekly London on the BST end night takes the first 01:30",
			rot:  Rotation{Type: Weekly, ShiftLength: 1, Start: local(london, "2024-10-20 01:30"), Zone: london},
			from: local(london, "2024-10-20 01:30"), count: 2,
			want: []time.Time{utc("2024-10-27 00:30"), utc("2024-11-03 01:30")},
		},
		{
			name: "weekly Sydney across AEST return keeps Monday 09:00",
			rot:  Rotation{Type: Weekly, ShiftLength: 1, Start: local(sydney, "2024-03-25 09:00"), Zone: sydney},
			from: local(sydney, "2024-03-25 09:00"), count: 2,
			want: []time.Time{utc("2024-03-31 22:00"), utc("2024-04-07 23:00")},
		},
		{
			name: "hourly Chicago spring forward: the skipped 02:00 merges into 03:00",
			rot:  Rotation{Type: Hourly, ShiftLength: 1, Start: local(chicago, "2024-03-10 00:00"), Zone: chicago},
			from: local(chicago, "2024-03-10 00:00"), count: 3,
			want: []time.Time{utc("2024-03-10 07:00"), utc("2024-03-10 08:00"), utc("2024-03-10 09:00")},
		},
		{
			name: "hourly Chicago fall back: the 01:00 shift lasts two hours",
			rot:  Rotation{Type: Hourly, ShiftLength: 1, Start: local(chicago, "2024-11-03 00:00"), Zone: chicago},
			from: local(chicago, "2024-11-03 00:00"), count: 3,
			want: []time.Time{utc("2024-11-03 06:00"), utc("2024-11-03 08:00"), utc("2024-11-03 09:00")},
		},
		{
			name: "2-hour Sydney spring forward: 02:00 becomes 03:00",
			rot:  Rotation{Type: Hourly, ShiftLength: 2, Start: local(sydney, "2024-10-05 00:00"), Zone: sydney},
			from: local(sydney, "2024-10-05 23:00"), count: 3,
			want: []time.Time{utc("2024-10-05 14:00"), utc("2024-10-05 16:00"), utc("2024-10-05 17:00")},
		},
		{
			name: "hourly Sydney fall back",
			rot:  Rotation{Type: Hourly, ShiftLength: 1, Start: local(sydney, "2024-04-07 00:00"), Zone: sydney},
			from: local(sydney, "2024-04-07 00:30"), count: 3,
			want: []time.Time{utc("2024-04-06 14:00"), utc("2024-04-06 15:00"), utc("2024-04-06 17:00")},
		},
		{
			name: "hourly London spring forward with a 12-hour shift",
			rot:  Rotation{Type: Hourly, ShiftLength: 12, Start: local(london, "2024-03-30 08:00"), Zone: london},
			from: local(london, "2024-03-30 08:00"), count: 2,
			want: []time.Time{utc("2024-03-30 20:00"), utc("2024-03-31 07:00")},
		},
		{
			name: "monthly from the 31st in a leap year",
			rot:  Rotation{Type: Monthly, ShiftLength: 1, Start: local(chicago, "2024-01-31 09:00"), Zone: chicago},
			from: local(chicago, "2024-01-31 09:00"), count: 4,
			want: []time.Time{
				local(chicago, "2024-02-29 09:00"), local(chicago, "2024-03-31 09:00"),
				local(chicago, "2024-04-30 09:00"), local(chicago, "2024-05-31 09:00"),
			},
		},
		{
			name: "monthly from the 31st in a common year",
			rot:  Rotation{Type: Monthly, ShiftLength: 1, Start: local(london, "2023-01-31 09:00"), Zone: london},
			from: local(london, "2023-01-31 09:00"), count: 2,
			want: []time.Time{local(london, "2023-02-28 09:00"), local(london, "2023-03-31 09:00")},
		},
		{
			name: "quarterly from November 30",
			rot:  Rotation{Type: Monthly, ShiftLength: 3, Start: local(sydney, "2023-11-30 09:00"), Zone: sydney},
			from: local(sydney, "2023-12-01 00:00"), count: 3,
			want: []time.Time{local(sydney, "2024-02-29 09:00"), local(sydney, "2024-05-30 09:00"), local(sydney, "2024-08-30 09:00")},
		},
		{
			name: "yearly from February 29",
			rot:  Rotation{Type: Monthly, ShiftLength: 12, Start: local(chicago, "2024-02-29 00:00"), Zone: chicago},
			from: local(chicago, "2024-03-01 00:00"), count: 4,
			want: []time.Time{
				local(chicago, "2025-02-28 00:00"), local(chicago, "2026-02-28 00:00"),
				local(chicago, "2027-02-28 00:00"), local(chicago, "2028-02-29 00:00"),
			},
		},
		{
			name: "before Start the grid extends backwards",
			rot:  Rotation{Type: Daily, ShiftLength: 3, Start: local(chicago, "2024-01-10 09:00"), Zone: chicago},
			from: local(chicago, "2024-01-01 12:00"), count: 3,
			want: []time.Time{local(chicago, "2024-01-04 09:00"), local(chicago, "2024-01-07 09:00"), local(chicago, "2024-01-10 09:00")},
		},
		{
			name: "from exactly at a hand-off lists the following ones",
			rot:  Rotation{Type: Weekly, ShiftLength: 2, Start: local(chicago, "2024-01-01 09:00"), Zone: chicago},
			from: local(chicago, "2024-01-15 09:00"), count: 1,
			want: []time.Time{local(chicago, "2024-01-29 09:00")},
		},
		{
			name: "seconds in Start are ignored",
			rot:  Rotation{Type: Daily, ShiftLength: 1, Start: local(chicago, "2024-01-01 09:00").Add(42 * time.Second), Zone: chicago},
			from: local(chicago, "2024-01-01 09:00"), count: 1,
			want: []time.Time{local(chicago, "2024-01-02 09:00")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.rot.HandoffTimes(tt.from, tt.count)
			if fmtTimes(got) != fmtTimes(tt.want) {
				t.Errorf("HandoffTimes(%s, %d)\n got  %s\n want %s", tt.from, tt.count, fmtTimes(got), fmtTimes(tt.want))
			}
			// NextHandoff and ShiftAt agree with the list.
			if len(tt.want) > 0 {
				if got := tt.rot.NextHandoff(tt.from); !got.Equal(tt.want[0]) {
					t.Errorf("NextHandoff = %s, want %s", got.UTC(), tt.want[0].UTC())
				}
			}
			for i := 1; i < len(tt.want); i++ {
				mid := tt.want[i-1].Add(tt.want[i].Sub(tt.want[i-1]) / 2)
				s, e := tt.rot.ShiftAt(mid)
				if !s.Equal(tt.want[i-1]) || !e.Equal(tt.want[i]) {
					t.Errorf("ShiftAt(%s) = %s–%s, want %s–%s", mid.UTC(), s.UTC(), e.UTC(), tt.want[i-1].UTC(), tt.want[i].UTC())
				}
				if s, _ := tt.rot.ShiftAt(tt.want[i]); !s.Equal(tt.want[i]) {
					t.Errorf("ShiftAt(hand-off %s) starts %s, want the hand-off", tt.want[i].UTC(), s.UTC())
				}
			}
		})
	}
}

func TestRotation_HandoffsNeverDriftMonthly(t *testing.T) {
	rot := Rotation{Type: Monthly, ShiftLength: 1, Start: local(chicago, "2024-01-31 09:00"), Zone: chicago}
	hs := rot.HandoffTimes(rot.Start, 48)
	for _, h := range hs {
		l := h.In(chicago)
		last := time.Date(l.Year(), l.Month()+1, 0, 0, 0, 0, 0, time.UTC).Day()
		if l.Day() != last || l.Hour() != 9 || l.Minute() != 0 {
			t.Errorf("hand-off %s is not 09:00 on the last day of its month", l)
		}
	}
}

func TestRotation_ActiveAt(t *testing.T) {
	hourly := Rotation{Type: Hourly, ShiftLength: 1, Start: local(chicago, "2024-03-10 00:00"), Zone: chicago, Participants: []string{"a", "b", "c"}}
	weekly := Rotation{Type: Weekly, ShiftLength: 1, Start: local(london, "2024-01-01 09:00"), Zone: london, Participants: []string{"a", "b", "c", "d"}}
	tests := []struct {
		name     string
		rot      Rotation
		index    int
		anchorAt time.Time
		t        time.Time
		want     int
	}{
		{"at the anchor", weekly, 2, local(london, "2024-01-03 12:00"), local(london, "2024-01-03 12:00"), 2},
		{"before the first hand-off", weekly, 2, local(london, "2024-01-03 12:00"), local(london, "2024-01-08 08:59"), 2},
		{"at the first hand-off", weekly, 2, local(london, "2024-01-03 12:00"), local(london, "2024-01-08 09:00"), 3},
		{"wraps around", weekly, 2, local(london, "2024-01-03 12:00"), local(london, "2024-01-15 09:00"), 0},
		{"across BST start", weekly, 0, local(london, "2024-03-25 09:00"), local(london, "2024-04-01 09:00"), 1},
		{"anchored at a hand-off counts it as begun", weekly, 1, local(london, "2024-01-08 09:00"), local(london, "2024-01-14 12:00"), 1},
		{"backwards in time", weekly, 0, local(london, "2024-01-15 10:00"), local(london, "2024-01-08 10:00"), 3},
		{"backwards to just before a hand-off", weekly, 0, local(london, "2024-01-15 10:00"), local(london, "2024-01-15 08:59"), 3},
		{"a year later", weekly, 0, local(london, "2024-01-01 09:00"), local(london, "2025-01-06 09:00"), 53 % 4},
		{"hourly: the merged hand-off advances once", hourly, 0, local(chicago, "2024-03-10 00:00"), local(chicago, "2024-03-10 03:30"), 2},
		{"hourly: just before the gap", hourly, 0, local(chicago, "2024-03-10 00:00"), local(chicago, "2024-03-10 01:59"), 1},
		{"hourly: backwards over the gap", hourly, 2, local(chicago, "2024-03-10 03:30"), local(chicago, "2024-03-10 00:30"), 0},
		{"no participants", Rotation{Type: Daily, ShiftLength: 1, Zone: chicago}, 0, utc("2024-01-01 00:00"), utc("2024-02-01 00:00"), NoParticipant},
		{"ended rotation", weekly, NoParticipant, utc("2024-01-01 00:00"), utc("2024-02-01 00:00"), NoParticipant},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.rot.ActiveAt(tt.index, tt.anchorAt, tt.t); got != tt.want {
				t.Errorf("ActiveAt(%d, %s, %s) = %d, want %d", tt.index, tt.anchorAt, tt.t, got, tt.want)
			}
		})
	}
}

// TestRotation_ActiveAtMatchesHandoffs checks ActiveAt against counting the
// listed hand-offs, across a year of DST changes in several zones.
func TestRotation_ActiveAtMatchesHandoffs(t *testing.T) {
	for _, zone := range []*time.Location{chicago, london, sydney, mustLoad("Australia/Lord_Howe")} {
		for _, typ := range []Type{Hourly, Daily, Weekly, Monthly} {
			for _, n := range []int{1, 2, 5} {
				rot := Rotation{Type: typ, ShiftLength: n, Start: local(zone, "2024-01-05 01:30"), Zone: zone, Participants: []string{"a", "b", "c", "d", "e", "f", "g"}}
				anchorAt := local(zone, "2024-01-07 17:10")
				hs := rot.HandoffTimes(anchorAt, 400)
				for i := 0; i < len(hs); i += 7 {
					probe := hs[i].Add(-time.Minute)
					if got, want := rot.ActiveAt(3, anchorAt, probe), (3+i)%7; got != want {
						t.Fatalf("%s %s×%d: ActiveAt(%s) = %d, want %d", zone, typ, n, probe.UTC(), got, want)
					}
					if got, want := rot.ActiveAt(3, anchorAt, hs[i]), (3+i+1)%7; got != want {
						t.Fatalf("%s %s×%d: ActiveAt(%s) = %d, want %d", zone, typ, n, hs[i].UTC(), got, want)
					}
					// And back again.
					if got := rot.ActiveAt((3+i+1)%7, hs[i], anchorAt); got != 3 {
						t.Fatalf("%s %s×%d: ActiveAt back from %s = %d, want 3", zone, typ, n, hs[i].UTC(), got)
					}
				}
				for i := 1; i < len(hs); i++ {
					if !hs[i].After(hs[i-1]) {
						t.Fatalf("%s %s×%d: hand-offs not increasing: %s then %s", zone, typ, n, hs[i-1], hs[i])
					}
				}
			}
		}
	}
}

func fmtShifts(ss []Shift) string {
	var b strings.Builder
	for _, s := range ss {
		fmt.Fprintf(&b, "%s %s–%s; ", s.UserID, s.Start.UTC().Format("01-02 15:04"), s.End.UTC().Format("01-02 15:04"))
	}
	return b.String()
}

func TestRotation_Shifts(t *testing.T) {
	weekly := Rotation{Type: Weekly, ShiftLength: 1, Start: local(chicago, "2024-03-04 09:00"), Zone: chicago, Participants: []string{"a", "b", "c"}}
	tests := []struct {
		name     string
		rot      Rotation
		index    int
		anchorAt time.Time
		from, to time.Time
		want     []Shift
	}{
		{
			name: "weekly across spring forward, clipped to the window",
			rot:  weekly, index: 0, anchorAt: local(chicago, "2024-03-04 09:00"),
			from: local(chicago, "2024-03-06 00:00"), to: local(chicago, "2024-03-20 00:00"),
			want: []Shift{
				{"a", local(chicago, "2024-03-06 00:00"), local(chicago, "2024-03-11 09:00")},
				{"b", local(chicago, "2024-03-11 09:00"), local(chicago, "2024-03-18 09:00")},
				{"c", local(chicago, "2024-03-18 09:00"), local(chicago, "2024-03-20 00:00")},
			},
		},
		{
			name: "consecutive shifts of the same user merge",
			rot: Rotation{Type: Daily, ShiftLength: 1, Start: local(london, "2024-01-01 09:00"), Zone: london,
				Participants: []string{"a", "a", "b"}},
			index: 0, anchorAt: local(london, "2024-01-01 09:00"),
			from: local(london, "2024-01-01 09:00"), to: local(london, "2024-01-07 09:00"),
			want: []Shift{
				{"a", local(london, "2024-01-01 09:00"), local(london, "2024-01-03 09:00")},
				{"b", local(london, "2024-01-03 09:00"), local(london, "2024-01-04 09:00")},
				{"a", local(london, "2024-01-04 09:00"), local(london, "2024-01-06 09:00")},
				{"b", local(london, "2024-01-06 09:00"), local(london, "2024-01-07 09:00")},
			},
		},
		{
			name: "hourly across fall back",
			rot: Rotation{Type: Hourly, ShiftLength: 1, Start: local(sydney, "2024-04-07 00:00"), Zone: sydney,
				Participants: []string{"a", "b"}},
			index: 0, anchorAt: local(sydney, "2024-04-07 00:00"),
			from: utc("2024-04-06 13:00"), to: utc("2024-04-06 18:00"),
			want: []Shift{
				{"a", utc("2024-04-06 13:00"), utc("2024-04-06 14:00")},
				{"b", utc("2024-04-06 14:00"), utc("2024-04-06 15:00")},
				{"a", utc("2024-04-06 15:00"), utc("2024-04-06 17:00")},
				{"b", utc("2024-04-06 17:00"), utc("2024-04-06 18:00")},
			},
		},
		{
			name: "a single participant is on call throughout",
			rot: Rotation{Type: Hourly, ShiftLength: 1, Start: local(sydney, "2024-04-07 00:00"), Zone: sydney,
				Participants: []string{"a"}},
			index: 0, anchorAt: local(sydney, "2024-04-07 00:00"),
			from: utc("2024-01-01 00:00"), to: utc("2025-01-01 00:00"),
			want: []Shift{{"a", utc("2024-01-01 00:00"), utc("2025-01-01 00:00")}},
		},
		{
			name: "anchor set by hand mid-shift",
			rot:  weekly, index: 2, anchorAt: local(chicago, "2024-03-13 15:00"),
			from: local(chicago, "2024-03-13 15:00"), to: local(chicago, "2024-03-25 09:00"),
			want: []Shift{
				{"c", local(chicago, "2024-03-13 15:00"), local(chicago, "2024-03-18 09:00")},
				{"a", local(chicago, "2024-03-18 09:00"), local(chicago, "2024-03-25 09:00")},
			},
		},
		{
			name: "empty window",
			rot:  weekly, index: 0, anchorAt: local(chicago, "2024-03-04 09:00"),
			from: local(chicago, "2024-03-06 00:00"), to: local(chicago, "2024-03-06 00:00"),
		},
		{
			name: "no participants",
			rot:  Rotation{Type: Weekly, ShiftLength: 1, Start: local(chicago, "2024-03-04 09:00"), Zone: chicago},
			from: local(chicago, "2024-03-06 00:00"), to: local(chicago, "2024-03-26 00:00"),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.rot.Shifts(tt.index, tt.anchorAt, tt.from, tt.to)
			if fmtShifts(got) != fmtShifts(tt.want) {
				t.Errorf("Shifts\n got  %s\n want %s", fmtShifts(got), fmtShifts(tt.want))
			}
		})
	}
}

func TestRotation_RemoveParticipant(t *testing.T) {
	base := Rotation{Type: Daily, ShiftLength: 1, Start: local(chicago, "2024-01-01 09:00"), Zone: chicago,
		Participants: []string{"a", "b", "c", "d"}}
	anchor := Anchor{Index: 0, At: local(chicago, "2024-01-01 09:00")}
	now := local(chicago, "2024-01-03 15:00") // c is on call (index 2)
	tests := []struct {
		name      string
		rot       Rotation
		pos       int
		wantParts string
		wantIndex int
		wantUser  string // on call at now after the change
		wantNext  string // on call after the next hand-off
	}{
		{"before the active one", base, 0, "b,c,d", 1, "c", "d"},
		{"the active one: the next takes over", base, 2, "a,b,d", 2, "d", "a"},
		{"after the active one", base, 3, "a,b,c", 2, "c", "a"},
		{"the active last one wraps to the first", Rotation{Type: Daily, ShiftLength: 1, Start: base.Start, Zone: chicago,
			Participants: []string{"a", "b", "c"}}, 2, "a,b", 0, "a", "b"},
		{"the only one ends the rotation", Rotation{Type: Daily, ShiftLength: 1, Start: base.Start, Zone: chicago,
			Participants: []string{"c"}}, 0, "", NoParticipant, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := strings.Join(tt.rot.Participants, ",")
			got, a, err := tt.rot.RemoveParticipant(tt.pos, anchor, now)
			if err != nil {
				t.Fatalf("RemoveParticipant: %v", err)
			}
			if after := strings.Join(tt.rot.Participants, ","); after != before {
				t.Errorf("the original rotation changed: %s, was %s", after, before)
			}
			if p := strings.Join(got.Participants, ","); p != tt.wantParts {
				t.Errorf("participants = %q, want %q", p, tt.wantParts)
			}
			if a.Index != tt.wantIndex || !a.At.Equal(now) {
				t.Errorf("anchor = %d at %s, want %d at %s", a.Index, a.At, tt.wantIndex, now)
			}
			shifts := got.Shifts(a.Index, a.At, now, local(chicago, "2024-01-04 12:00"))
			var users []string
			for _, s := range shifts {
				users = append(users, s.UserID)
			}
			want := []string{}
			if tt.wantUser != "" {
				want = []string{tt.wantUser, tt.wantNext}
			}
			if strings.Join(users, ",") != strings.Join(want, ",") {
				t.Errorf("on call from now: %v, want %v (%s)", users, want, fmtShifts(shifts))
			}
			if len(shifts) == 2 && !shifts[0].End.Equal(local(chicago, "2024-01-04 09:00")) {
				t.Errorf("the first shift ends %s, want the regular hand-off", shifts[0].End)
			}
		})
	}

	t.Run("out of range", func(t *testing.T) {
		_, _, err := base.RemoveParticipant(4, anchor, now)
		var de *domain.Error
		if !errors.As(err, &de) || de.Field != "position" {
			t.Errorf("err = %v, want a field error on position", err)
		}
	})
}

func TestRotation_AddParticipantAndSetActive(t *testing.T) {
	rot := Rotation{Type: Daily, ShiftLength: 1, Start: local(chicago, "2024-01-01 09:00"), Zone: chicago}
	t0 := local(chicago, "2024-01-01 12:00")
	rot, a := rot.AddParticipant("a", Anchor{Index: NoParticipant}, t0)
	if a.Index != 0 || !a.At.Equal(t0) {
		t.Fatalf("first participant: anchor %+v, want 0 at %s", a, t0)
	}
	t1 := local(chicago, "2024-01-03 12:00")
	rot, a = rot.AddParticipant("b", a, t1)
	if got := rot.ActiveAt(a.Index, a.At, t1); got != 0 {
		t.Errorf("after adding b, active at once = %d, want 0 (a stays on call)", got)
	}
	if got := rot.ActiveAt(a.Index, a.At, local(chicago, "2024-01-04 09:00")); got != 1 {
		t.Errorf("after the hand-off, active = %d, want 1", got)
	}
	a, err := rot.SetActive(1, t1)
	if err != nil || a.Index != 1 || !a.At.Equal(t1) {
		t.Errorf("SetActive(1) = %+v, %v", a, err)
	}
	if _, err := rot.SetActive(2, t1); domain.KindOf(err) != domain.KindInvalid {
		t.Errorf("SetActive(2) err = %v, want invalid", err)
	}
}

func TestRotation_Validate(t *testing.T) {
	ok := Rotation{Type: Weekly, ShiftLength: 1, Start: local(chicago, "2024-01-01 09:00"), Zone: chicago, Participants: []string{"a", "b", "a"}}
	tests := []struct {
		name   string
		mutate func(*Rotation)
		max    int
		fields []string // field errors expected, in order
		limit  bool
	}{
		{"valid, a user twice", func(*Rotation) {}, DefaultMaxParticipants, nil, false},
		{"unknown type", func(r *Rotation) { r.Type = "yearly" }, DefaultMaxParticipants, []string{"type"}, false},
		{"shift length 0", func(r *Rotation) { r.ShiftLength = 0 }, DefaultMaxParticipants, []string{"shiftLength"}, false},
		{"shift length 9001", func(r *Rotation) { r.ShiftLength = 9001 }, DefaultMaxParticipants, []string{"shiftLength"}, false},
		{"shift length 9000", func(r *Rotation) { r.ShiftLength = 9000 }, DefaultMaxParticipants, nil, false},
		{"no start, no zone", func(r *Rotation) { r.Start, r.Zone = time.Time{}, nil }, DefaultMaxParticipants, []string{"start", "timeZone"}, false},
		{"empty user ID", func(r *Rotation) { r.Participants = []string{"a", ""} }, DefaultMaxParticipants, []string{"userIDs[1]"}, false},
		{"over the limit", func(*Rotation) {}, 2, nil, true},
		{"unlimited", func(r *Rotation) { r.Participants = make([]string, 500); fill(r.Participants) }, -1, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := ok
			r.Participants = append([]string(nil), ok.Participants...)
			tt.mutate(&r)
			err := r.Validate(tt.max)
			var fields []string
			for _, e := range flatten(err) {
				var de *domain.Error
				if errors.As(e, &de) && de.Field != "" {
					fields = append(fields, de.Field)
				}
			}
			if strings.Join(fields, ",") != strings.Join(tt.fields, ",") {
				t.Errorf("field errors %v, want %v (err: %v)", fields, tt.fields, err)
			}
			if got := errors.Is(err, ErrTooManyParticipants); got != tt.limit {
				t.Errorf("limit error %v, want %v (err: %v)", got, tt.limit, err)
			}
		})
	}
}

func TestParseType(t *testing.T) {
	for _, s := range []string{"hourly", "daily", "weekly", "monthly"} {
		if got, err := ParseType(s); err != nil || string(got) != s {
			t.Errorf("ParseType(%q) = %q, %v", s, got, err)
		}
	}
	if _, err := ParseType("Weekly"); domain.KindOf(err) != domain.KindInvalid {
		t.Errorf("ParseType(Weekly) err = %v, want invalid", err)
	}
}

func fill(ids []string) {
	for i := range ids {
		ids[i] = fmt.Sprint("u", i)
	}
}

func flatten(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}
