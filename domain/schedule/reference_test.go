package schedule

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/oncallhq/goalert/domain/rotation"
)

// TestSpec_MatchesMinuteByMinute compares Shifts and OnCallAt with a direct
// minute-by-minute reading of the rules (GoAlert's own way), on random
// schedules in UTC, where wall-clock and absolute time agree.
func TestSpec_MatchesMinuteByMinute(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	users := []string{"u0", "u1", "u2", "u3", "u4"}
	pick := func() string { return users[rng.IntN(len(users))] }
	base := utc("2024-02-26 00:00")
	at := func(maxMin int) time.Time { return base.Add(time.Duration(rng.IntN(maxMin)/15*15) * time.Minute) }

	for iter := range 150 {
		rots := map[string]rotationState{}
		for i, typ := range []rotation.Type{rotation.Hourly, rotation.Daily, rotation.Weekly} {
			n := 1 + rng.IntN(4)
			parts := make([]string, n)
			for j := range parts {
				parts[j] = pick()
			}
			rots[fmt.Sprint("r", i)] = rotationState{
				rot: rotation.Rotation{Type: typ, ShiftLength: 1 + rng.IntN(12), Start: at(20 * 24 * 60), Zone: time.UTC, Participants: parts},
				// Participant changes re-anchor mid-shift.
				anchor: rotation.Anchor{Index: rng.IntN(n), At: base.Add(time.Duration(rng.IntN(20*24*60)) * time.Minute)},
			}
		}
		var spec Spec
		for range 1 + rng.IntN(4) {
			tg := Target{Kind: TargetUser, ID: pick()}
			if rng.IntN(2) == 0 {
				tg = Target{Kind: TargetRotation, ID: fmt.Sprint("r", rng.IntN(len(rots)))}
			}
			for range rng.IntN(4) {
				var r Rule
				r.Start, r.End = Clock(rng.IntN(96)*15), Clock(rng.IntN(96)*15)
				if rng.IntN(4) == 0 {
					r.End = r.Start
				}
				for d := range r.Weekdays {
					r.Weekdays[d] = rng.IntN(3) > 0
				}
				tg.Rules = append(tg.Rules, r)
			}
			spec.Targets = append(spec.Targets, tg)
		}
		for range rng.IntN(7) {
			s := at(12 * 24 * 60)
			o := Override{Start: s, End: s.Add(time.Duration(1+rng.IntN(48)) * 15 * time.Minute)}
			switch rng.IntN(3) {
			case 0:
				o.AddUserID = pick()
			case 1:
				o.RemoveUserID = pick()
			default:
				o.AddUserID, o.RemoveUserID = pick(), pick()
			}
			spec.Overrides = append(spec.Overrides, o)
		}
		for range rng.IntN(3) {
			s := at(12 * 24 * 60)
			tmp := Temporary{Start: s, End: s.Add(time.Duration(1+rng.IntN(96)) * 15 * time.Minute)}
			for range rng.IntN(4) {
				ss := at(12 * 24 * 60)
				tmp.Shifts = append(tmp.Shifts, Shift{UserID: pick(), Start: ss, End: ss.Add(time.Duration(1+rng.IntN(96)) * 15 * time.Minute)})
			}
			spec.Temporary = append(spec.Temporary, tmp)
		}

		from := base.Add(time.Duration(24*60+rng.IntN(24*60)) * time.Minute)
		to := from.Add(time.Duration(1+rng.IntN(4*24*60)) * time.Minute)
		if rng.IntN(2) == 0 {
			// On the grid of every change, so that some begin or end at the
			// window's edges.
			from, to = from.Truncate(15*time.Minute), to.Truncate(15*time.Minute).Add(15*time.Minute)
		}
		lookup := rotationsOf(rots)
		got := spec.Shifts(from, to, lookup)

		// Invariants: inside the window, one entry per contiguous span.
		last := map[string]time.Time{}
		for _, s := range got {
			if s.Start.Before(from) || s.End.After(to) || !s.Start.Before(s.End) {
				t.Fatalf("iter %d: shift %+v outside the window %s–%s", iter, s, from, to)
			}
			if e, ok := last[s.UserID]; ok && !e.Before(s.Start) {
				t.Fatalf("iter %d: shifts of %s not merged:%s", iter, s.UserID, fmtShifts(got))
			}
			last[s.UserID] = s.End
			if want := s.End.Equal(to) && slices.Contains(refOnCall(spec, rots, to), s.UserID); s.Truncated != want {
				t.Fatalf("iter %d: %+v truncated %v, want %v", iter, s, s.Truncated, want)
			}
		}

		for m := from; m.Before(to); m = m.Add(time.Minute) {
			want := refOnCall(spec, rots, m)
			var fromShifts []string
			for _, s := range got {
				if !s.Start.After(m) && s.End.After(m) {
					fromShifts = append(fromShifts, s.UserID)
				}
			}
			slices.Sort(fromShifts)
			if !slices.Equal(fromShifts, want) {
				t.Fatalf("iter %d at %s: Shifts say %v, reference %v\nspec %+v\nshifts:%s", iter, m, fromShifts, want, spec, fmtShifts(got))
			}
			if m.Minute()%37 == 0 {
				if on := spec.OnCallAt(m, lookup); !slices.Equal(on, want) {
					t.Fatalf("iter %d at %s: OnCallAt %v, reference %v", iter, m, on, want)
				}
			}
		}
	}
}

// refOnCall is who is on call at t by GoAlert's reading of the rules at one
// instant: temporary schedule, else rules, then overrides (removes and
// replaces against the rules' users, then adds). Only valid in UTC.
func refOnCall(spec Spec, rots map[string]rotationState, t time.Time) []string {
	set := map[string]bool{}
	temp := false
	for _, tmp := range spec.Temporary {
		if !in(t, tmp.Start, tmp.End) {
			continue
		}
		temp = true
		for _, s := range tmp.Shifts {
			if in(t, s.Start, s.End) {
				set[s.UserID] = true
			}
		}
	}
	if !temp {
		base := map[string]bool{}
		for _, tg := range spec.Targets {
			if !slices.ContainsFunc(tg.Rules, func(r Rule) bool { return refActive(r, t) }) {
				continue
			}
			switch tg.Kind {
			case TargetUser:
				base[tg.ID] = true
			case TargetRotation:
				r := rots[tg.ID]
				base[r.rot.Participants[r.rot.ActiveAt(r.anchor.Index, r.anchor.At, t)]] = true
			}
		}
		removed, added := map[string]bool{}, map[string]bool{}
		for _, o := range spec.Overrides {
			if !in(t, o.Start, o.End) {
				continue
			}
			switch {
			case o.AddUserID != "" && o.RemoveUserID != "":
				if base[o.RemoveUserID] {
					removed[o.RemoveUserID], added[o.AddUserID] = true, true
				}
			case o.RemoveUserID != "":
				removed[o.RemoveUserID] = true
			default:
				added[o.AddUserID] = true
			}
		}
		for u := range base {
			if !removed[u] {
				set[u] = true
			}
		}
		for u := range added {
			set[u] = true
		}
	}
	var out []string
	for u := range set {
		out = append(out, u)
	}
	slices.Sort(out)
	return out
}

func in(t, start, end time.Time) bool { return !t.Before(start) && t.Before(end) }

// refActive is GoAlert's rule test at one instant, in UTC.
func refActive(r Rule, t time.Time) bool {
	if r.NeverOn() {
		return false
	}
	if r.AlwaysOn() {
		return true
	}
	c := Clock(t.Hour()*60 + t.Minute())
	wd := t.Weekday()
	prev := (wd + 6) % 7
	if r.Start >= r.End {
		return (r.Weekdays[wd] && c >= r.Start) || (r.Weekdays[prev] && c < r.End)
	}
	return r.Weekdays[wd] && c >= r.Start && c < r.End
}

func TestRefActive_Sanity(t *testing.T) {
	// The reference itself, on the examples from the rule tests.
	r := rule("22:00", "02:00", days(time.Friday))
	var on []string
	for _, s := range []string{"2024-01-05 21:59", "2024-01-05 22:00", "2024-01-06 01:59", "2024-01-06 02:00", "2024-01-06 23:00"} {
		if refActive(r, utc(s)) {
			on = append(on, s)
		}
	}
	if got := strings.Join(on, ", "); got != "2024-01-05 22:00, 2024-01-06 01:59" {
		t.Errorf("active at %s", got)
	}
}
