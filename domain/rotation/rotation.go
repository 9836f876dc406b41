// Package rotation is the arithmetic of rotations: when hand-offs happen and
// who is on call between them.
//
// Hand-offs follow the wall clock of the rotation's zone. For hourly, daily
// and weekly rotations the n-th hand-off is when the clock reads Start's
// reading plus n×ShiftLength hours, days or weeks of wall-clock time, as
// GoAlert does; a daily rotation that hands off at 09:00 does so at 09:00 on
// both sides of a daylight-saving change, and an hourly one keeps to its
// wall-clock grid (a 1-hour shift across a fall-back night lasts two hours).
// Monthly rotations hand off on Start's day of the month at Start's time of
// day, every ShiftLength months; in a month too short for that day, on its
// last day. Each hand-off is computed from Start, so a rotation that starts
// on January 31 hands off on February 28 (29 in a leap year), then March 31,
// April 30, May 31: it never drifts to the 28th.
//
// A reading the clock skips (02:30 on a night that jumps from 02:00 to 03:00)
// hands off at the end of the gap; a reading it repeats hands off at its
// first occurrence. When two hand-offs land on the same instant, which only
// a gap at least one shift long can cause, they count as one.
//
// Who is on call is anchored: participant Index is on call at instant At,
// and the rotation moves to the next participant at every hand-off after At.
// The anchor is set when the first participant joins, when an admin picks
// the active participant, and whenever the participants change.
package rotation

import (
	"errors"
	"fmt"
	"time"

	"github.com/oncallhq/goalert/domain"
	"github.com/oncallhq/goalert/domain/rotation/wallclock"
)

// Type is the unit of a rotation's shift length.
type Type string

const (
	Hourly  Type = "hourly"
	Daily   Type = "daily"
	Weekly  Type = "weekly"
	Monthly Type = "monthly"
)

// ParseType returns the rotation type named s.
func ParseType(s string) (Type, error) {
	switch t := Type(s); t {
	case Hourly, Daily, Weekly, Monthly:
		return t, nil
	}
	return "", domain.FieldErrorf("type", "unknown rotation type %q (want hourly, daily, weekly or monthly)", s)
}

// Shift lengths allowed, in units of the rotation's type.
const (
	MinShiftLength = 1
	MaxShiftLength = 9000
)

// DefaultMaxParticipants is the participants_per_rotation limit before an
// admin changes it.
const DefaultMaxParticipants = 50

// NoParticipant is the active index of a rotation nobody is in: one that has
// not started yet, or has ended because its last participant was removed.
const NoParticipant = -1

// ErrTooManyParticipants is returned by Validate past the participant limit.
var ErrTooManyParticipants = domain.Limit("participants_per_rotation", "too many participants in this rotation")

// Rotation is a rotation's definition.
type Rotation struct {
	Type        Type
	ShiftLength int
	// Start anchors the hand-off grid; only its reading in Zone matters, to
	// the minute (seconds are ignored).
	Start time.Time
	Zone  *time.Location
	// Participants are user IDs in hand-off order; a user may appear more
	// than once.
	Participants []string
}

// Shift is a span during which one participant is on call.
type Shift struct {
	UserID     string
	Start, End time.Time
}

// Anchor pins who is on call: the participant at Index is on call at At,
// and the rotation advances one participant per hand-off after At. Index is
// NoParticipant when the rotation has nobody in it.
type Anchor struct {
	Index int
	At    time.Time
}

// Validate checks r against GoAlert's rules. maxParticipants is the
// participants_per_rotation limit; a negative value means unlimited. Bad
// fields come back as field errors joined together; too many participants
// is ErrTooManyParticipants.
func (r Rotation) Validate(maxParticipants int) error {
	var errs []error
	if _, err := ParseType(string(r.Type)); err != nil {
		errs = append(errs, err)
	}
	if r.ShiftLength < MinShiftLength || r.ShiftLength > MaxShiftLength {
		errs = append(errs, domain.FieldErrorf("shiftLength", "must be between %d and %d, got %d", MinShiftLength, MaxShiftLength, r.ShiftLength))
	}
	if r.Start.IsZero() {
		errs = append(errs, domain.FieldError("start", "must be set"))
	}
	if r.Zone == nil {
		errs = append(errs, domain.FieldError("timeZone", "must be set"))
	}
	for i, id := range r.Participants {
		if id == "" {
			errs = append(errs, domain.FieldErrorf(fmt.Sprintf("userIDs[%d]", i), "must be a user ID"))
		}
	}
	if maxParticipants >= 0 && len(r.Participants) > maxParticipants {
		errs = append(errs, fmt.Errorf("%d participants, limit %d: %w", len(r.Participants), maxParticipants, ErrTooManyParticipants))
	}
	return errors.Join(errs...)
}

// ShiftAt returns the hand-offs around t: the last one at or before t and
// the first one after it.
func (r Rotation) ShiftAt(t time.Time) (start, end time.Time) {
	g := r.grid()
	k := g.index(t)
	return g.handoff(k), g.handoff(k + 1)
}

// NextHandoff returns the first hand-off after t.
func (r Rotation) NextHandoff(t time.Time) time.Time {
	g := r.grid()
	return g.handoff(g.index(t) + 1)
}

// HandoffTimes returns the next count hand-offs after from, as GoAlert's
// calcRotationHandoffTimes and Rotation.nextHandoffTimes list them.
func (r Rotation) HandoffTimes(from time.Time, count int) []time.Time {
	if count <= 0 {
		return nil
	}
	g := r.grid()
	out := make([]time.Time, 0, count)
	k := g.index(from)
	prev := from
	for len(out) < count {
		k++
		h := g.handoff(k)
		if h.After(prev) {
			out = append(out, h)
			prev = h
		}
	}
	return out
}

// ActiveAt returns the index in Participants of who is on call at t, given
// that anchorIndex was on call at anchorAt. It works both ways in time. It
// returns NoParticipant when there are no participants or anchorIndex is
// NoParticipant.
func (r Rotation) ActiveAt(anchorIndex int, anchorAt, t time.Time) int {
	n := len(r.Participants)
	if n == 0 || anchorIndex < 0 {
		return NoParticipant
	}
	if n == 1 {
		return 0
	}
	return mod(int64(anchorIndex)+r.grid().handoffsBetween(anchorAt, t), int64(n))
}

// Shifts returns who is on call from from until to, given that anchorIndex
// was on call at anchorAt, in time order. Shifts are clipped to the window,
// and consecutive shifts of the same user are merged into one. It returns
// nil when nobody is in the rotation or the window is empty.
func (r Rotation) Shifts(anchorIndex int, anchorAt, from, to time.Time) []Shift {
	idx := r.ActiveAt(anchorIndex, anchorAt, from)
	if idx == NoParticipant || !from.Before(to) {
		return nil
	}
	if r.singleUser() {
		return []Shift{{UserID: r.Participants[0], Start: from, End: to}}
	}
	g := r.grid()
	n := len(r.Participants)
	var out []Shift
	start := from
	for k := g.index(from) + 1; start.Before(to); k++ {
		h := g.handoff(k)
		if !h.After(start) {
			continue // a hand-off merged into the previous one
		}
		end := h
		if end.After(to) {
			end = to
		}
		u := r.Participants[idx]
		if last := len(out) - 1; last >= 0 && out[last].UserID == u {
			out[last].End = end
		} else {
			out = append(out, Shift{UserID: u, Start: start, End: end})
		}
		start = end
		idx = (idx + 1) % n
	}
	return out
}

// Reanchor returns the anchor equivalent to a at instant at: who is on call
// then. A change to the rotation's participants or hand-off grid must be
// preceded by re-anchoring at the moment of the change, so that the change
// only affects what follows.
func (r Rotation) Reanchor(a Anchor, at time.Time) Anchor {
	return Anchor{Index: r.ActiveAt(a.Index, a.At, at), At: at}
}

// AddParticipant appends userID at now. The first participant starts the
// rotation: it is on call from now.
func (r Rotation) AddParticipant(userID string, a Anchor, now time.Time) (Rotation, Anchor) {
	next := r.Reanchor(a, now)
	if len(r.Participants) == 0 || next.Index == NoParticipant {
		next.Index = 0
	}
	r.Participants = append(r.Participants[:len(r.Participants):len(r.Participants)], userID)
	return r, next
}

// RemoveParticipant removes the participant at position pos at now. When
// that participant is on call, the one after it (or the first, after the
// last) takes over from now until the next hand-off. Removing the last
// participant ends the rotation: the anchor's Index becomes NoParticipant.
// A position out of range is a field error.
func (r Rotation) RemoveParticipant(pos int, a Anchor, now time.Time) (Rotation, Anchor, error) {
	n := len(r.Participants)
	if pos < 0 || pos >= n {
		return r, a, domain.FieldErrorf("position", "no participant at position %d (the rotation has %d)", pos, n)
	}
	cur := r.Reanchor(a, now)
	parts := make([]string, 0, n-1)
	parts = append(parts, r.Participants[:pos]...)
	r.Participants = append(parts, r.Participants[pos+1:]...)
	switch {
	case len(r.Participants) == 0:
		cur.Index = NoParticipant
	case cur.Index == NoParticipant:
		cur.Index = 0
	case pos < cur.Index:
		cur.Index--
	case pos == cur.Index:
		cur.Index %= len(r.Participants)
	}
	return r, cur, nil
}

// SetActive makes the participant at index the one on call, from now until
// the next hand-off. An index out of range is a field error.
func (r Rotation) SetActive(index int, now time.Time) (Anchor, error) {
	if index < 0 || index >= len(r.Participants) {
		return Anchor{}, domain.FieldErrorf("activeUserIndex", "no participant at position %d (the rotation has %d)", index, len(r.Participants))
	}
	return Anchor{Index: index, At: now}, nil
}

func (r Rotation) singleUser() bool {
	for _, id := range r.Participants[1:] {
		if id != r.Participants[0] {
			return false
		}
	}
	return true
}

// grid is a rotation's hand-off sequence: handoff(k) for every integer k,
// with handoff(0) at Start. It never decreases; adjacent entries are equal
// only where a gap swallowed a hand-off.
type grid struct {
	zone    *time.Location
	monthly bool
	w0      int64 // Start's reading
	step    int64 // minutes between readings, or months when monthly

	// monthly only: Start's month index (year×12 + month-1), day and time.
	m0     int64
	day    int
	minute int64
}

func (r Rotation) grid() grid {
	zone := r.Zone
	if zone == nil {
		zone = time.UTC
	}
	n := int64(max(r.ShiftLength, 1))
	g := grid{zone: zone, w0: wallclock.Of(r.Start, zone)}
	switch r.Type {
	case Hourly:
		g.step = n * wallclock.Hour
	case Weekly:
		g.step = n * wallclock.Week
	case Monthly:
		g.monthly, g.step = true, n
		y, m, d, min := wallclock.Civil(g.w0)
		g.m0, g.day, g.minute = int64(y)*12+int64(m-1), d, min
	default:
		g.step = n * wallclock.Day
	}
	return g
}

func (g grid) reading(k int64) int64 {
	if !g.monthly {
		return g.w0 + k*g.step
	}
	mi := g.m0 + k*g.step
	y, m := int(floorDiv(mi, 12)), time.Month(mod(mi, 12)+1)
	d := min(g.day, daysIn(y, m))
	return wallclock.DayOf(y, m, d)*wallclock.Day + g.minute
}

func (g grid) handoff(k int64) time.Time { return wallclock.At(g.reading(k), g.zone) }

// index returns the largest k with handoff(k) <= t.
func (g grid) index(t time.Time) int64 {
	w := wallclock.Of(t, g.zone)
	var k int64
	if g.monthly {
		y, m, _, _ := wallclock.Civil(w)
		k = floorDiv(int64(y)*12+int64(m-1)-g.m0, g.step)
	} else {
		k = floorDiv(w-g.w0, g.step)
	}
	for g.handoff(k).After(t) {
		k--
	}
	for !g.handoff(k + 1).After(t) {
		k++
	}
	return k
}

// handoffsBetween returns the number of distinct hand-off instants in
// (a, b], negated when b is before a.
func (g grid) handoffsBetween(a, b time.Time) int64 {
	if b.Before(a) {
		return -g.handoffsBetween(b, a)
	}
	n := g.index(b) - g.index(a)
	if g.monthly {
		return n // no zone skips a month
	}
	// Each gap in (a, b] takes every reading in [From, To] to the same
	// instant; all but one of them is not a hand-off of its own.
	for _, gap := range wallclock.Gaps(a, b, g.zone) {
		first := ceilDiv(gap.From-g.w0, g.step)
		last := floorDiv(gap.To-g.w0, g.step)
		if c := last - first + 1; c > 1 {
			n -= c - 1
		}
	}
	return n
}

func daysIn(y int, m time.Month) int {
	return time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

func ceilDiv(a, b int64) int64 { return -floorDiv(-a, b) }

func mod(a, b int64) int {
	return int(a - floorDiv(a, b)*b)
}
