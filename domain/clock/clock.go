// Package clock is the product's only source of time. Domain decisions take
// time as an argument; commands, projections and the engine read it from a
// Clock, so tests can drive it and a development server can run it faster.
package clock

import (
	"context"
	"sort"
	"sync"
	"time"
)

// Clock tells the time and waits for it.
type Clock interface {
	Now() time.Time
	// Until blocks until the clock reaches t or ctx ends, and reports which
	// happened: nil when t was reached, ctx.Err() otherwise.
	Until(ctx context.Context, t time.Time) error
}

// System is the wall clock.
type System struct{}

func (System) Now() time.Time { return time.Now() }

func (System) Until(ctx context.Context, t time.Time) error {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err()
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Scaled runs Speed times faster than the wall clock from the moment it was
// made. It exists so that a development server shows a 15-minute escalation
// in seconds; production uses System.
type Scaled struct {
	origin time.Time
	start  time.Time
	speed  float64
}

// NewScaled returns a clock that starts at the current time and advances
// speed times as fast as the wall clock. A speed below 1 is treated as 1.
func NewScaled(speed float64) *Scaled {
	if speed < 1 {
		speed = 1
	}
	now := time.Now()
	return &Scaled{origin: now, start: now, speed: speed}
}

func (s *Scaled) Now() time.Time {
	elapsed := time.Since(s.start)
	return s.origin.Add(time.Duration(float64(elapsed) * s.speed))
}

func (s *Scaled) Until(ctx context.Context, t time.Time) error {
	d := t.Sub(s.Now())
	return System{}.Until(ctx, time.Now().Add(time.Duration(float64(d)/s.speed)))
}

// Manual is a clock that moves only when told to. Waiters blocked in Until
// are released as soon as Set or Advance reaches their time.
type Manual struct {
	mu      sync.Mutex
	now     time.Time
	waiters []waiter
}

type waiter struct {
	at time.Time
	ch chan struct{}
}

// NewManual returns a Manual clock reading t.
func NewManual(t time.Time) *Manual { return &Manual{now: t} }

func (m *Manual) Now() time.Time {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.now
}

// Advance moves the clock forward by d.
func (m *Manual) Advance(d time.Duration) { m.Set(m.Now().Add(d)) }

// Set moves the clock to t. Moving it backwards is allowed (it releases no
// waiter) because tests of past-time queries need it.
func (m *Manual) Set(t time.Time) {
	m.mu.Lock()
	m.now = t
	var keep []waiter
	var due []waiter
	for _, w := range m.waiters {
		if !w.at.After(t) {
			due = append(due, w)
		} else {
			keep = append(keep, w)
		}
	}
	m.waiters = keep
	m.mu.Unlock()
	sort.Slice(due, func(i, j int) bool { return due[i].at.Before(due[j].at) })
	for _, w := range due {
		close(w.ch)
	}
}

// Waiters reports how many callers are blocked in Until; tests use it to
// know that a timer has been armed before they advance the clock.
func (m *Manual) Waiters() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.waiters)
}

func (m *Manual) Until(ctx context.Context, t time.Time) error {
	m.mu.Lock()
	if !t.After(m.now) {
		m.mu.Unlock()
		return ctx.Err()
	}
	w := waiter{at: t, ch: make(chan struct{})}
	m.waiters = append(m.waiters, w)
	m.mu.Unlock()
	select {
	case <-w.ch:
		return nil
	case <-ctx.Done():
		m.mu.Lock()
		for i, x := range m.waiters {
			if x.ch == w.ch {
				m.waiters = append(m.waiters[:i], m.waiters[i+1:]...)
				break
			}
		}
		m.mu.Unlock()
		return ctx.Err()
	}
}
