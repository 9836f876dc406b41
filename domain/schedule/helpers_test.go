package schedule

import (
	"errors"
	"fmt"
	"strings"
	"time"
	_ "time/tzdata"

	"github.com/oncallhq/goalert/domain"
	"github.com/oncallhq/goalert/domain/rotation"
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
func utc(s string) time.Time { return local(time.UTC, s) }

// local parses "2006-01-02 15:04" in loc; only for readings that exist once.
func local(loc *time.Location, s string) time.Time {
	t, err := time.ParseInLocation("2006-01-02 15:04", s, loc)
	if err != nil {
		panic(err)
	}
	return t
}

func days(ds ...time.Weekday) [7]bool {
	var w [7]bool
	for _, d := range ds {
		w[d] = true
	}
	return w
}

var weekdays = days(time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday)

func rule(start, end string, w [7]bool) Rule {
	s, err := ParseClock(start)
	if err != nil {
		panic(err)
	}
	e, err := ParseClock(end)
	if err != nil {
		panic(err)
	}
	return Rule{Start: s, End: e, Weekdays: w}
}

// sh is a shift in the tests' notation: times in UTC, "+" for truncated.
func sh(user, start, end string) Shift {
	s := Shift{UserID: user, Start: utc(start)}
	if cut, ok := strings.CutSuffix(end, "+"); ok {
		s.End, s.Truncated = utc(cut), true
	} else {
		s.End = utc(end)
	}
	return s
}

func fmtShifts(ss []Shift) string {
	var b strings.Builder
	for _, s := range ss {
		fmt.Fprintf(&b, "\n\t%s %s – %s", s.UserID, s.Start.UTC().Format("2006-01-02 15:04"), s.End.UTC().Format("2006-01-02 15:04"))
		if s.Truncated {
			b.WriteString(" (truncated)")
		}
	}
	if b.Len() == 0 {
		return "\n\t(none)"
	}
	return b.String()
}

type rotationState struct {
	rot    rotation.Rotation
	anchor rotation.Anchor
}

func rotationsOf(m map[string]rotationState) RotationShifts {
	return func(id string, from, to time.Time) []rotation.Shift {
		r, ok := m[id]
		if !ok {
			return nil
		}
		return r.rot.Shifts(r.anchor.Index, r.anchor.At, from, to)
	}
}

func fieldsOf(err error) []string {
	var out []string
	var walk func(error)
	walk = func(err error) {
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range j.Unwrap() {
				walk(e)
			}
			return
		}
		var de *domain.Error
		if errors.As(err, &de) {
			out = append(out, de.Field)
		}
	}
	if err != nil {
		walk(err)
	}
	return out
}
