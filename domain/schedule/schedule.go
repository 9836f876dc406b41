// Package schedule is the arithmetic of schedules: who is on call when,
// from targets with rules, user overrides and temporary schedules, with
// GoAlert's semantics.
//
// At any instant covered by a temporary schedule, its shifts alone say who
// is on call. Elsewhere, every target whose rules are active contributes:
// a user target its user, a rotation target the rotation's participant on
// call then. Overrides active at that instant are then applied: a remove
// takes its user off call, a replace swaps its removed user for its added
// one while the removed user is on call, and an add puts its user on call.
//
// Everything is computed over the requested window as unions, intersections
// and differences of intervals, never by stepping through time.
package schedule

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/oncallhq/goalert/domain"
	"github.com/oncallhq/goalert/domain/rotation"
)

// TargetKind is what a schedule target is.
type TargetKind string

const (
	TargetUser     TargetKind = "user"
	TargetRotation TargetKind = "rotation"
)

// ParseTargetKind returns the target kind named s.
func ParseTargetKind(s string) (TargetKind, error) {
	switch k := TargetKind(s); k {
	case TargetUser, TargetRotation:
		return k, nil
	}
	return "", domain.FieldErrorf("type", "unknown schedule target type %q (want user or rotation)", s)
}

// Target is a user or rotation on a schedule, on call while any of its rules
// is active. A target with no rules is never on call: in GoAlert a target
// exists only through its rules, and setting them to none removes it.
type Target struct {
	Kind  TargetKind
	ID    string
	Rules []Rule
}

// Override changes who is on call from Start until End: with only AddUserID
// it adds that user, with only RemoveUserID it removes that user, and with
// both it replaces RemoveUserID with AddUserID while RemoveUserID is on call.
type Override struct {
	ID           string
	Start, End   time.Time
	AddUserID    string
	RemoveUserID string
}

// Temporary is a temporary schedule: from Start until End, its Shifts alone
// say who is on call, and the schedule's rules and overrides do not apply.
type Temporary struct {
	Start, End time.Time
	Shifts     []Shift
}

// Shift is a span during which a user is on call.
type Shift struct {
	UserID     string
	Start, End time.Time
	// Truncated is set on a shift that goes on past the end of the window it
	// was computed for; its End is the end of the window.
	Truncated bool
}

// Spec is everything that decides who is on call on a schedule.
type Spec struct {
	Zone      *time.Location // UTC when nil
	Targets   []Target
	Overrides []Override
	Temporary []Temporary
}

// RotationShifts returns the shifts of the rotation with id from from until
// to, as rotation.Rotation.Shifts does; nil for an unknown rotation.
type RotationShifts func(id string, from, to time.Time) []rotation.Shift

// ErrOverrideConflict matches (with errors.Is) the error for overrides that
// overlap in time and involve the same user.
var ErrOverrideConflict = domain.Invalid("override_conflict", "overrides for the same user overlap")

// Shifts returns who is on call from from until to: per user, the spans they
// are on call, clipped to the window, with contiguous spans merged, ordered
// by start and then user ID. A span still going on at to is Truncated, as in
// GoAlert's Schedule.shifts. rotations resolves rotation targets; with nil,
// they contribute nobody.
func (s Spec) Shifts(from, to time.Time, rotations RotationShifts) []Shift {
	if !from.Before(to) {
		return nil
	}
	// One nanosecond past to shows who is still on call at to.
	end := to.Add(time.Nanosecond)
	onCall := s.onCall(from, end, rotations)
	zone := s.zone()
	var out []Shift
	for u, spans := range onCall {
		for _, sp := range spans {
			if !sp.s.Before(to) {
				continue // begins at to: outside the window
			}
			sh := Shift{UserID: u, Start: sp.s.In(zone), End: sp.e.In(zone)}
			if sp.e.After(to) {
				sh.End, sh.Truncated = to.In(zone), true
			}
			out = append(out, sh)
		}
	}
	slices.SortFunc(out, func(a, b Shift) int {
		if c := a.Start.Compare(b.Start); c != 0 {
			return c
		}
		if c := strings.Compare(a.UserID, b.UserID); c != 0 {
			return c
		}
		return a.End.Compare(b.End)
	})
	return out
}

// OnCallAt returns the IDs of the users on call at t, sorted, each once.
func (s Spec) OnCallAt(t time.Time, rotations RotationShifts) []string {
	var ids []string
	for u, spans := range s.onCall(t, t.Add(time.Nanosecond), rotations) {
		if len(spans) > 0 {
			ids = append(ids, u)
		}
	}
	slices.Sort(ids)
	return ids
}

func cmpShiftStart(a, b rotation.Shift) int { return a.Start.Compare(b.Start) }

func (s Spec) zone() *time.Location {
	if s.Zone == nil {
		return time.UTC
	}
	return s.Zone
}

// onCall returns, per user, the normalized spans within [from, to) during
// which the user is on call.
func (s Spec) onCall(from, to time.Time, rotations RotationShifts) map[string][]span {
	zone := s.zone()
	on := make(map[string][]span)

	var win []span
	for _, tg := range s.Targets {
		win = win[:0]
		for _, r := range tg.Rules {
			win = r.appendWindows(win, zone, from, to)
		}
		win = normalize(win)
		if len(win) == 0 {
			continue
		}
		switch tg.Kind {
		case TargetUser:
			on[tg.ID] = append(on[tg.ID], win...)
		case TargetRotation:
			if rotations == nil {
				continue
			}
			shifts := rotations(tg.ID, win[0].s, win[len(win)-1].e)
			if !slices.IsSortedFunc(shifts, cmpShiftStart) {
				shifts = slices.SortedFunc(slices.Values(shifts), cmpShiftStart)
			}
			j := 0
			for _, sh := range shifts {
				for j < len(win) && !win[j].e.After(sh.Start) {
					j++
				}
				for k := j; k < len(win) && win[k].s.Before(sh.End); k++ {
					if w := win[k].clip(sh.Start, sh.End); !w.empty() {
						on[sh.UserID] = append(on[sh.UserID], w)
					}
				}
			}
		}
	}
	for u, l := range on {
		on[u] = normalize(l)
	}

	s.applyOverrides(on, from, to)
	s.applyTemporary(on, from, to)
	return on
}

// applyOverrides applies the overrides to on, which holds who the rules put
// on call: removes and replaces act on that, then adds are laid on top.
func (s Spec) applyOverrides(on map[string][]span, from, to time.Time) {
	var removed, added map[string][]span
	for _, o := range s.Overrides {
		w := span{o.Start, o.End}.clip(from, to)
		if w.empty() {
			continue
		}
		if removed == nil {
			removed, added = make(map[string][]span), make(map[string][]span)
		}
		switch {
		case o.AddUserID != "" && o.RemoveUserID != "":
			act := intersect(nil, on[o.RemoveUserID], []span{w})
			removed[o.RemoveUserID] = append(removed[o.RemoveUserID], act...)
			added[o.AddUserID] = append(added[o.AddUserID], act...)
		case o.RemoveUserID != "":
			removed[o.RemoveUserID] = append(removed[o.RemoveUserID], w)
		case o.AddUserID != "":
			added[o.AddUserID] = append(added[o.AddUserID], w)
		}
	}
	for u, r := range removed {
		on[u] = subtract(on[u], normalize(r))
	}
	for u, a := range added {
		on[u] = normalize(append(on[u], a...))
	}
}

// applyTemporary replaces everything in on within the temporary schedules'
// windows with their shifts.
func (s Spec) applyTemporary(on map[string][]span, from, to time.Time) {
	var windows []span
	for _, tmp := range s.Temporary {
		if w := (span{tmp.Start, tmp.End}).clip(from, to); !w.empty() {
			windows = append(windows, w)
		}
	}
	if len(windows) == 0 {
		return
	}
	windows = normalize(windows)
	for u, l := range on {
		on[u] = subtract(l, windows)
	}
	for _, tmp := range s.Temporary {
		for _, sh := range tmp.Shifts {
			w := span{sh.Start, sh.End}.clip(tmp.Start, tmp.End).clip(from, to)
			if !w.empty() && sh.UserID != "" {
				on[sh.UserID] = normalize(append(on[sh.UserID], w))
			}
		}
	}
}

// Validate checks the targets, rules, overrides and temporary schedules of
// s; temporary schedules may not overlap each other. Problems come back as
// field errors joined together, with field paths such as
// "targets[0].rules[1].start"; overlapping overrides for the same user also
// match ErrOverrideConflict. System limits (rules, targets and overrides per
// schedule) are for the caller to enforce.
func (s Spec) Validate() error {
	var errs []error
	if s.Zone == nil {
		errs = append(errs, domain.FieldError("timeZone", "must be set"))
	}
	for i, tg := range s.Targets {
		errs = append(errs, prefixed(fmt.Sprintf("targets[%d]", i), tg.Validate()))
	}
	for i, o := range s.Overrides {
		errs = append(errs, prefixed(fmt.Sprintf("overrides[%d]", i), o.Validate()))
	}
	errs = append(errs, ValidateOverrides(s.Overrides))
	for i, tmp := range s.Temporary {
		errs = append(errs, prefixed(fmt.Sprintf("temporarySchedules[%d]", i), tmp.Validate()))
		for j := range i {
			if o := s.Temporary[j]; tmp.Start.Before(o.End) && o.Start.Before(tmp.End) {
				errs = append(errs, domain.FieldErrorf(fmt.Sprintf("temporarySchedules[%d]", i), "overlaps temporary schedule %d", j))
			}
		}
	}
	return errors.Join(errs...)
}

// Validate checks a target's kind, ID and rules.
func (tg Target) Validate() error {
	var errs []error
	if _, err := ParseTargetKind(string(tg.Kind)); err != nil {
		errs = append(errs, prefixed("target", err))
	}
	if tg.ID == "" {
		errs = append(errs, domain.FieldError("target.id", "must be set"))
	}
	for i, r := range tg.Rules {
		errs = append(errs, prefixed(fmt.Sprintf("rules[%d]", i), r.Validate()))
	}
	return errors.Join(errs...)
}

// Validate checks one override on its own: it must end after it starts,
// name at least one user, and not replace a user with themselves.
func (o Override) Validate() error {
	var errs []error
	if o.Start.IsZero() {
		errs = append(errs, domain.FieldError("start", "must be set"))
	}
	if !o.End.After(o.Start) {
		errs = append(errs, domain.FieldError("end", "must be after start"))
	}
	switch {
	case o.AddUserID == "" && o.RemoveUserID == "":
		errs = append(errs, domain.FieldError("addUserID", "set addUserID, removeUserID or both"))
	case o.AddUserID == o.RemoveUserID:
		errs = append(errs, domain.FieldError("addUserID", "must differ from removeUserID"))
	}
	return errors.Join(errs...)
}

// ValidateOverrides rejects overrides that overlap in time and involve a
// same user, added or removed, as GoAlert does; overrides that only touch
// (one ending when the other starts) do not overlap. Each conflict is a
// field error on the later override of the pair in the list
// ("overrides[i]"), matching ErrOverrideConflict.
func ValidateOverrides(overrides []Override) error {
	type use struct {
		i          int
		start, end time.Time
	}
	byUser := make(map[string][]use)
	for i, o := range overrides {
		u := use{i, o.Start, o.End}
		if o.AddUserID != "" {
			byUser[o.AddUserID] = append(byUser[o.AddUserID], u)
		}
		if o.RemoveUserID != "" && o.RemoveUserID != o.AddUserID {
			byUser[o.RemoveUserID] = append(byUser[o.RemoveUserID], u)
		}
	}
	type pair struct{ earlier, later int }
	conflicts := make(map[pair]string)
	for user, uses := range byUser {
		slices.SortFunc(uses, func(a, b use) int { return a.start.Compare(b.start) })
		// Compare each with the one so far that ends last.
		reach := 0
		for k := 1; k < len(uses); k++ {
			if uses[k].start.Before(uses[reach].end) {
				p := pair{min(uses[k].i, uses[reach].i), max(uses[k].i, uses[reach].i)}
				if prev, ok := conflicts[p]; !ok || user < prev {
					conflicts[p] = user
				}
			}
			if uses[k].end.After(uses[reach].end) {
				reach = k
			}
		}
	}
	pairs := make([]pair, 0, len(conflicts))
	for p := range conflicts {
		pairs = append(pairs, p)
	}
	slices.SortFunc(pairs, func(a, b pair) int {
		if a.later != b.later {
			return a.later - b.later
		}
		return a.earlier - b.earlier
	})
	var errs []error
	for _, p := range pairs {
		o, other := overrides[p.later], overrides[p.earlier]
		name := fmt.Sprintf("override %d", p.earlier)
		if other.ID != "" {
			name = fmt.Sprintf("override %s", other.ID)
		}
		e := domain.FieldErrorf(fmt.Sprintf("overrides[%d]", p.later),
			"%s to %s overlaps %s (%s to %s) for user %s",
			o.Start.Format(time.RFC3339), o.End.Format(time.RFC3339), name,
			other.Start.Format(time.RFC3339), other.End.Format(time.RFC3339), conflicts[p])
		e.Code = ErrOverrideConflict.Code
		errs = append(errs, e)
	}
	return errors.Join(errs...)
}

// Validate checks a temporary schedule: it must end after it starts, and
// each shift must name a user and lie within it.
func (tmp Temporary) Validate() error {
	var errs []error
	if tmp.Start.IsZero() {
		errs = append(errs, domain.FieldError("start", "must be set"))
	}
	if !tmp.End.After(tmp.Start) {
		errs = append(errs, domain.FieldError("end", "must be after start"))
	}
	for i, sh := range tmp.Shifts {
		field := fmt.Sprintf("shifts[%d]", i)
		switch {
		case sh.UserID == "":
			errs = append(errs, domain.FieldError(field+".userID", "must be set"))
		case !sh.End.After(sh.Start):
			errs = append(errs, domain.FieldError(field+".end", "must be after start"))
		case sh.Start.Before(tmp.Start) || sh.End.After(tmp.End):
			errs = append(errs, domain.FieldError(field, "must lie within the temporary schedule"))
		}
	}
	return errors.Join(errs...)
}

// prefixed returns err with every field error's field put under p.
func prefixed(p string, err error) error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var errs []error
		for _, e := range j.Unwrap() {
			errs = append(errs, prefixed(p, e))
		}
		return errors.Join(errs...)
	}
	var de *domain.Error
	if !errors.As(err, &de) || de.Field == "" {
		return err
	}
	c := *de
	c.Field = p + "." + de.Field
	return &c
}
