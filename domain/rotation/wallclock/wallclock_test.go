package wallclock

import (
	"fmt"
	"testing"
	"time"
	_ "time/tzdata"
)

func mustLoad(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatalf("load %s: %v", name, err)
	}
	return loc
}

// bruteAt is At by definition: the earliest instant, to the minute, whose
// reading is w or later. maxOff is the zone's largest UTC offset in seconds,
// which bounds how early that instant can be.
func bruteAt(w int64, loc *time.Location, maxOff int64) time.Time {
	for s := w*60 - maxOff - 3600; ; s += 60 {
		t := time.Unix(s, 0)
		if Of(t, loc) >= w {
			return t
		}
	}
}

// changes finds every offset change of loc in [from, to) by sampling each
// hour, independently of the time package's zone bounds.
func changes(from, to time.Time, loc *time.Location) (at []time.Time, delta []int) {
	_, prev := from.In(loc).Zone()
	for t := from; t.Before(to); t = t.Add(time.Hour) {
		_, o := t.Add(time.Hour).In(loc).Zone()
		if o == prev {
			continue
		}
		for m := t; ; m = m.Add(time.Minute) {
			if _, om := m.In(loc).Zone(); om == o {
				at, delta = append(at, m), append(delta, o-prev)
				break
			}
		}
		prev = o
	}
	return at, delta
}

func TestAt_MatchesDefinitionAroundTransitions(t *testing.T) {
	zones := []string{
		"America/Chicago", "Europe/London", "Australia/Sydney",
		"Australia/Lord_Howe", // 30-minute changes
		"Pacific/Apia",        // skipped 2011-12-30 entirely
		"America/St_Johns", "Asia/Kolkata", "UTC",
	}
	for _, name := range zones {
		loc := mustLoad(t, name)
		checked := 0
		// Both within the zone tables and past their end (2037), where the
		// time package falls back on rules.
		for _, years := range [][2]int{{2011, 2013}, {2039, 2042}} {
			from := time.Date(years[0], 1, 1, 0, 0, 0, 0, time.UTC)
			to := time.Date(years[1], 1, 1, 0, 0, 0, 0, time.UTC)
			at, delta := changes(from, to, loc)
			var wantGaps []time.Time
			maxOff := int64(0)
			for i, c := range at {
				if delta[i] > 0 {
					wantGaps = append(wantGaps, c)
				}
				_, o := c.In(loc).Zone()
				maxOff = max(maxOff, int64(o), int64(o-delta[i]))
			}
			var gotGaps []time.Time
			for _, g := range Gaps(from, to, loc) {
				gotGaps = append(gotGaps, g.At.UTC())
				if want := Of(g.At, loc); g.To != want {
					t.Errorf("%s: gap at %s ends at reading %s, want %s", name, g.At, fmtW(g.To), fmtW(want))
				}
			}
			if fmt.Sprint(gotGaps) != fmt.Sprint(wantGaps) {
				t.Errorf("%s %d-%d: Gaps at\n%v\nwant\n%v", name, years[0], years[1], gotGaps, wantGaps)
			}
			for _, c := range at {
				for w := Of(c, loc) - 150; w <= Of(c, loc)+150; w++ {
					got, want := At(w, loc), bruteAt(w, loc, maxOff)
					if !got.Equal(want) {
						t.Fatalf("%s: At(%s) = %s, want %s", name, fmtW(w), got.In(loc), want.In(loc))
					}
					checked++
				}
			}
		}
		t.Logf("%s: %d readings checked", name, checked)
	}
}

func TestAt_Examples(t *testing.T) {
	chi := mustLoad(t, "America/Chicago")
	syd := mustLoad(t, "Australia/Sydney")
	lon := mustLoad(t, "Europe/London")
	tests := []struct {
		name string
		loc  *time.Location
		y    int
		m    time.Month
		d    int
		min  int64
		want time.Time
	}{
		{"Chicago gap", chi, 2024, 3, 10, 2*Hour + 30, time.Date(2024, 3, 10, 8, 0, 0, 0, time.UTC)},
		{"Chicago repeat takes first", chi, 2024, 11, 3, 1*Hour + 30, time.Date(2024, 11, 3, 6, 30, 0, 0, time.UTC)},
		{"Chicago after repeat", chi, 2024, 11, 3, 2 * Hour, time.Date(2024, 11, 3, 8, 0, 0, 0, time.UTC)},
		{"Sydney gap", syd, 2024, 10, 6, 2*Hour + 15, time.Date(2024, 10, 5, 16, 0, 0, 0, time.UTC)},
		{"Sydney repeat takes first", syd, 2024, 4, 7, 2*Hour + 30, time.Date(2024, 4, 6, 15, 30, 0, 0, time.UTC)},
		{"London gap", lon, 2024, 3, 31, 1*Hour + 30, time.Date(2024, 3, 31, 1, 0, 0, 0, time.UTC)},
		{"London repeat takes first", lon, 2024, 10, 27, 1*Hour + 30, time.Date(2024, 10, 27, 0, 30, 0, 0, time.UTC)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := At(DayOf(tt.y, tt.m, tt.d)*Day+tt.min, tt.loc); !got.Equal(tt.want) {
				t.Errorf("got %s, want %s", got.UTC(), tt.want)
			}
		})
	}
}

func TestWeekdayAndCivil(t *testing.T) {
	for _, d := range []time.Time{
		time.Date(1969, 12, 31, 23, 59, 0, 0, time.UTC),
		time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2024, 2, 29, 13, 7, 0, 0, time.UTC),
	} {
		w := Of(d, time.UTC)
		if got := Weekday(w); got != d.Weekday() {
			t.Errorf("Weekday(%s) = %s, want %s", d, got, d.Weekday())
		}
		y, m, day, min := Civil(w)
		if y != d.Year() || m != d.Month() || day != d.Day() || min != int64(d.Hour()*60+d.Minute()) {
			t.Errorf("Civil(%s) = %d-%d-%d %d", d, y, m, day, min)
		}
	}
}

func fmtW(w int64) string { return time.Unix(w*60, 0).UTC().Format("2006-01-02 15:04") }
