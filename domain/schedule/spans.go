package schedule

import (
	"slices"
	"time"
)

// span is the half-open interval [s, e). Lists of spans are kept sorted and
// merged: no two overlap or touch.
type span struct{ s, e time.Time }

func (a span) empty() bool { return !a.s.Before(a.e) }

// clip returns a limited to [from, to).
func (a span) clip(from, to time.Time) span {
	if a.s.Before(from) {
		a.s = from
	}
	if a.e.After(to) {
		a.e = to
	}
	return a
}

// normalize sorts l and merges spans that overlap or touch, in place.
func normalize(l []span) []span {
	if len(l) < 2 {
		return l
	}
	if !slices.IsSortedFunc(l, cmpStart) {
		slices.SortFunc(l, cmpStart)
	}
	out := l[:1]
	for _, x := range l[1:] {
		last := &out[len(out)-1]
		if x.s.After(last.e) {
			out = append(out, x)
		} else if x.e.After(last.e) {
			last.e = x.e
		}
	}
	return out
}

func cmpStart(a, b span) int { return a.s.Compare(b.s) }

// intersect appends the parts of normalized lists a and b that are in both
// to dst.
func intersect(dst, a, b []span) []span {
	for i, j := 0, 0; i < len(a) && j < len(b); {
		s := later(a[i].s, b[j].s)
		e := earlier(a[i].e, b[j].e)
		if s.Before(e) {
			dst = append(dst, span{s, e})
		}
		if a[i].e.Before(b[j].e) {
			i++
		} else {
			j++
		}
	}
	return dst
}

// subtract returns the parts of normalized list a not in normalized list b.
func subtract(a, b []span) []span {
	var out []span
	j := 0
	for _, x := range a {
		for j < len(b) && !b[j].e.After(x.s) {
			j++
		}
		for k := j; k < len(b) && b[k].s.Before(x.e); k++ {
			if b[k].s.After(x.s) {
				out = append(out, span{x.s, b[k].s})
			}
			if b[k].e.After(x.s) {
				x.s = b[k].e
			}
		}
		if x.s.Before(x.e) {
			out = append(out, x)
		}
	}
	return out
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func earlier(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
