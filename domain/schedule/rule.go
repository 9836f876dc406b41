package schedule

import (
	"errors"
	"time"

	"github.com/oncallhq/goalert/domain"
	"github.com/oncallhq/goalert/domain/rotation/wallclock"
)

// Rule is when a schedule target is on call: a shift from Start to End, on
// the wall clock of the schedule's zone, beginning on each day whose
// Weekdays flag is set.
//
// The weekday is the day the shift starts. End before Start crosses
// midnight into the next day; End equal to Start is a shift from Start until
// Start the next day (23 or 25 hours on a daylight-saving change day). Every
// day with End equal to Start is always on; no day set is never. A Start or
// End the clock skips that day is the end of the gap; one it repeats is its
// first occurrence.
type Rule struct {
	Start, End Clock
	// Weekdays is indexed by time.Weekday: Sunday first, like GoAlert's
	// weekdayFilter.
	Weekdays [7]bool
}

// Always returns the rule that is always on: 00:00 to 00:00 every day. It is
// GoAlert's rule when none of start, end and weekdayFilter is given.
func Always() Rule {
	return Rule{Weekdays: [7]bool{true, true, true, true, true, true, true}}
}

// AlwaysOn reports whether r covers all of time.
func (r Rule) AlwaysOn() bool { return r.Start == r.End && r.Weekdays == Always().Weekdays }

// NeverOn reports whether r covers no time at all.
func (r Rule) NeverOn() bool { return r.Weekdays == [7]bool{} }

// Validate returns field errors ("start", "end") for times of day out of
// range.
func (r Rule) Validate() error {
	var errs []error
	if !r.Start.valid() {
		errs = append(errs, domain.FieldErrorf("start", "time of day out of range: %d minutes", int(r.Start)))
	}
	if !r.End.valid() {
		errs = append(errs, domain.FieldErrorf("end", "time of day out of range: %d minutes", int(r.End)))
	}
	return errors.Join(errs...)
}

// appendWindows appends r's shifts in zone that overlap [from, to) to dst,
// clipped to it, in time order.
func (r Rule) appendWindows(dst []span, zone *time.Location, from, to time.Time) []span {
	switch {
	case r.NeverOn():
		return dst
	case r.AlwaysOn():
		return append(dst, span{from, to})
	}
	// A shift spans at most a day of readings, so the ones overlapping the
	// window start between the day before from's reading and to's day; one
	// more day each side covers nights when clocks go back across midnight.
	first := floorDiv(wallclock.Of(from, zone), wallclock.Day) - 2
	last := floorDiv(wallclock.Of(to, zone), wallclock.Day) + 1
	start, end := int64(r.Start), int64(r.End)
	if end <= start {
		end += wallclock.Day
	}
	for d := first; d <= last; d++ {
		if !r.Weekdays[wallclock.Weekday(d*wallclock.Day)] {
			continue
		}
		w := span{wallclock.At(d*wallclock.Day+start, zone), wallclock.At(d*wallclock.Day+end, zone)}.clip(from, to)
		if !w.empty() {
			dst = append(dst, w)
		}
	}
	return dst
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}
