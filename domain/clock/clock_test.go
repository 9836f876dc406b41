package clock

import (
	"context"
	"testing"
	"time"
)

func TestManual_Until(t *testing.T) {
	start := time.Date(2026, 3, 8, 1, 0, 0, 0, time.UTC)
	c := NewManual(start)
	done := make(chan error, 1)
	go func() { done <- c.Until(context.Background(), start.Add(15*time.Minute)) }()

	for c.Waiters() == 0 {
		time.Sleep(time.Millisecond)
	}
	c.Advance(14 * time.Minute)
	select {
	case err := <-done:
		t.Fatalf("Until returned %v before its time", err)
	case <-time.After(20 * time.Millisecond):
	}
	c.Advance(time.Minute)
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Until: got %v, want nil", err)
		}
	case <-time.After(time.Second):
		t.Fatal("Until did not return after the clock reached its time")
	}
	if got, want := c.Now(), start.Add(15*time.Minute); !got.Equal(want) {
		t.Errorf("Now: got %v, want %v", got, want)
	}
}

func TestManual_UntilCancelled(t *testing.T) {
	c := NewManual(time.Unix(0, 0))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Until(ctx, time.Unix(3600, 0)) }()
	for c.Waiters() == 0 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-done; err != context.Canceled {
		t.Fatalf("got %v, want context.Canceled", err)
	}
	if n := c.Waiters(); n != 0 {
		t.Errorf("waiters after cancel: got %d, want 0", n)
	}
}

func TestScaled_RunsFaster(t *testing.T) {
	c := NewScaled(600)
	t0 := c.Now()
	time.Sleep(10 * time.Millisecond)
	if got := c.Now().Sub(t0); got < 5*time.Second {
		t.Errorf("600x clock advanced %v in 10ms of wall time, want at least 5s", got)
	}
}
