// Package wallclock does arithmetic on what clocks on the wall read in a time
// zone, and turns those readings back into instants, including readings that
// a daylight-saving change skips or repeats.
//
// A reading is a count of minutes since 1970-01-01 00:00 on the wall clock,
// so that adding 60 is "the same time one hour later on the wall" and adding
// 1440 is "the same time tomorrow", whatever the zone does in between.
package wallclock

import "time"

// Minutes per hour, day and week of wall-clock time.
const (
	Hour = 60
	Day  = 24 * Hour
	Week = 7 * Day
)

// Of returns what clocks in loc read at t, to the minute (seconds dropped).
func Of(t time.Time, loc *time.Location) int64 {
	_, off := t.In(loc).Zone()
	return floorDiv(t.Unix()+int64(off), 60)
}

// At returns the earliest instant at which clocks in loc read w or later.
//
// For a reading that exists once, that is the instant it shows. A reading
// repeated when clocks go back resolves to its first occurrence; a reading
// skipped when clocks go forward resolves to the end of the gap, the first
// instant after it (02:30 on a 02:00→03:00 night is 03:00).
func At(w int64, loc *time.Location) time.Time {
	sec := w * 60
	c := time.Unix(sec, 0).UTC()
	t := time.Date(c.Year(), c.Month(), c.Day(), c.Hour(), c.Minute(), 0, 0, loc)
	_, off := t.Zone()
	got := t.Unix() + int64(off)
	start, end := t.ZoneBounds()
	switch {
	case got < sec:
		// Skipped, and t lies before the gap: the gap ends where t's zone
		// period does.
		return end
	case got > sec:
		// Skipped, and t lies after the gap, which ends where t's period
		// begins.
		return start
	}
	// t shows w; an earlier occurrence can only be in the previous period,
	// when that one's offset was larger.
	if !start.IsZero() {
		_, prev := start.Add(-time.Second).Zone()
		if prev > off {
			if first := sec - int64(prev); first < start.Unix() {
				return time.Unix(first, 0).In(loc)
			}
		}
	}
	return t
}

// DayOf returns the day number (days since 1970-01-01) of the civil date
// y-m-d, normalizing out-of-range values as time.Date does.
func DayOf(y int, m time.Month, d int) int64 {
	return floorDiv(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix(), 86400)
}

// Civil returns the civil date and time of day (in minutes) of reading w.
func Civil(w int64) (y int, m time.Month, d int, minute int64) {
	t := time.Unix(w*60, 0).UTC()
	y, m, d = t.Date()
	return y, m, d, floorMod(w, Day)
}

// Weekday returns the day of the week of reading w.
func Weekday(w int64) time.Weekday {
	// Day 0, 1970-01-01, was a Thursday.
	return time.Weekday(floorMod(floorDiv(w, Day)+int64(time.Thursday), 7))
}

// Gap is a span of readings a zone skips: at instant At clocks jump from
// reading From to reading To, so readings from From up to To never show, and
// At resolves every reading from From to To inclusive.
type Gap struct {
	At       time.Time
	From, To int64
}

// Gaps returns the gaps of loc at instants in (a, b], in order.
func Gaps(a, b time.Time, loc *time.Location) []Gap {
	var gaps []Gap
	t := a.In(loc)
	for {
		end := nextPeriod(t)
		if end.IsZero() || end.After(b) {
			return gaps
		}
		_, before := end.Add(-time.Second).Zone()
		_, after := end.Zone()
		if after > before {
			gaps = append(gaps, Gap{
				At:   end,
				From: floorDiv(end.Unix()+int64(before), 60),
				To:   floorDiv(end.Unix()+int64(after), 60),
			})
		}
		t = end
	}
}

// nextPeriod returns an instant after t no later than the next offset change
// after t (normally that change), or the zero time when loc changes no more.
func nextPeriod(t time.Time) time.Time {
	_, end := t.ZoneBounds()
	if end.IsZero() || end.After(t) {
		return end
	}
	// Past the end of its table, the time package reports the period around
	// the last day of a leap year as ending before t. Step a day at a time,
	// looking for an offset change in each day by bisection.
	for {
		next := t.Add(24 * time.Hour)
		_, o1 := t.Zone()
		_, o2 := next.Zone()
		if o1 != o2 {
			lo, hi := t, next // offset o1 at lo, o2 at hi
			for hi.Sub(lo) > time.Second {
				mid := lo.Add(hi.Sub(lo) / 2).Truncate(time.Second)
				if _, o := mid.Zone(); o == o1 {
					lo = mid
				} else {
					hi = mid
				}
			}
			return hi
		}
		if _, end := next.ZoneBounds(); end.IsZero() || end.After(next) {
			return next
		}
		t = next
	}
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

func floorMod(a, b int64) int64 {
	return a - floorDiv(a, b)*b
}
