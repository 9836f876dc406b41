// Package engine runs the paging engine: it moves due alerts through their
// escalation policies, watches heartbeat monitors, and sends the outgoing
// message queue through the providers. Every piece of work is claimed in
// Postgres (SKIP LOCKED), so any number of instances can run it and each
// piece is done by exactly one.
package engine

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/oncallhq/goalert/commands"
	"github.com/oncallhq/goalert/domain/clock"
	"github.com/oncallhq/goalert/domain/notification"
)

// Config assembles an engine.
type Config struct {
	Commands *commands.Handler
	Clock    clock.Clock
	Log      *slog.Logger
	// Senders deliver messages, by destination type.
	Senders map[string]notification.Sender
	// Render turns a queued message into what a provider sends.
	Render func(ctx context.Context, m commands.Message) (notification.Message, error)
	// Idempotent reports whether a provider recognises a repeated message
	// by its id, so that a send whose outcome is unknown may be repeated.
	Idempotent func(destType string) bool
	// SendWorkers bounds concurrent sends (default 64).
	SendWorkers int
	// Escalators is the number of goroutines escalating alerts (default 4).
	Escalators int
	// Poll is how often the engine looks for work another instance queued
	// (default 250 ms); work queued by this instance wakes it at once.
	Poll time.Duration
	// SendTimeout bounds one provider call (default 10 s).
	SendTimeout time.Duration
	// Bundles reports whether alert pages to rate-limited contact methods
	// are bundled (General.DisableMessageBundles off); nil means no.
	Bundles func() bool
	// Region is --region-name: of the instances of one region, only the
	// one holding the region's sender lock sends messages; all of them
	// escalate alerts and watch heartbeats.
	Region string
}

// Engine is a running paging engine.
type Engine struct {
	cfg    Config
	wake   chan struct{}
	cycles atomic.Int64
	sem    chan struct{}
	wg     sync.WaitGroup
	lock   *sendLock
}

// New returns an engine; Run starts it.
func New(cfg Config) *Engine {
	if cfg.SendWorkers <= 0 {
		cfg.SendWorkers = 64
	}
	if cfg.Escalators <= 0 {
		cfg.Escalators = 4
	}
	if cfg.Poll <= 0 {
		cfg.Poll = 250 * time.Millisecond
	}
	if cfg.SendTimeout <= 0 {
		cfg.SendTimeout = 10 * time.Second
	}
	if cfg.Idempotent == nil {
		cfg.Idempotent = func(string) bool { return false }
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Region == "" {
		cfg.Region = "default"
	}
	e := &Engine{cfg: cfg, wake: make(chan struct{}, 1), sem: make(chan struct{}, cfg.SendWorkers)}
	e.lock = &sendLock{pool: cfg.Commands.Pool(), region: cfg.Region, wake: e.Wake}
	return e
}

// Wake makes the engine look for work now.
func (e *Engine) Wake() {
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// Sender reports whether this instance is its region's sender.
func (e *Engine) Sender() bool { return e.lock.held.Load() }

// Cycles counts completed passes over all work; /health/engine reports
// healthy once one has completed.
func (e *Engine) Cycles() int64 { return e.cycles.Load() }

// escalationBatch is how many due alerts one transaction escalates.
const escalationBatch = 16

// claimLease is how long a claimed message is this instance's to send.
// A process that dies while sending leaves it to be reclaimed after this.
const claimLease = time.Minute

// Run works until ctx ends, then waits for sends in flight.
func (e *Engine) Run(ctx context.Context) error {
	defer e.wg.Wait()
	lockDone := make(chan struct{})
	go func() { e.lock.run(ctx); close(lockDone) }()
	defer func() { <-lockDone }()
	for ctx.Err() == nil {
		e.pass(ctx)
		e.cycles.Add(1)
		e.sleep(ctx)
	}
	return nil
}

// pass does all work that is due now.
func (e *Engine) pass(ctx context.Context) {
	esc, hb, err := e.cfg.Commands.Due(ctx)
	if err != nil && ctx.Err() == nil {
		e.cfg.Log.Warn("look for due work", "err", err)
		esc, hb = true, true
	}
	if esc {
		e.escalate(ctx)
	}
	if hb {
		e.heartbeats(ctx)
	}
	e.send(ctx)
	// On-call notifications are queued after the sends of this pass, so
	// that they never delay a page; what they queue goes in the next pass.
	if n := e.onCallNotifications(ctx); n > 0 {
		e.Wake()
	}
}

func (e *Engine) escalate(ctx context.Context) {
	var wg sync.WaitGroup
	for range e.cfg.Escalators {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				n, err := e.cfg.Commands.EscalateDue(ctx, escalationBatch)
				if err != nil {
					if ctx.Err() == nil {
						e.cfg.Log.Error("escalate alerts", "err", err)
					}
					return
				}
				if n == 0 {
					return
				}
			}
		}()
	}
	wg.Wait()
}

func (e *Engine) heartbeats(ctx context.Context) {
	for ctx.Err() == nil {
		found, err := e.cfg.Commands.ExpireHeartbeat(ctx)
		if err != nil {
			if ctx.Err() == nil {
				e.cfg.Log.Error("check heartbeat monitors", "err", err)
			}
			return
		}
		if !found {
			return
		}
	}
}

func (e *Engine) onCallNotifications(ctx context.Context) int {
	total := 0
	for ctx.Err() == nil {
		n, err := e.cfg.Commands.NotifyOnCall(ctx)
		if err != nil {
			if ctx.Err() == nil {
				e.cfg.Log.Error("on-call notifications", "err", err)
			}
			return total
		}
		if n == 0 {
			return total
		}
		total += n
	}
	return total
}

func (e *Engine) send(ctx context.Context) {
	if !e.lock.held.Load() {
		return // another instance of the region sends
	}
	for ctx.Err() == nil {
		free := cap(e.sem) - len(e.sem)
		if free == 0 {
			return // the sends in flight wake the engine when they finish
		}
		msgs, err := e.cfg.Commands.ClaimMessages(ctx, min(free, 100), claimLease)
		if err != nil {
			if ctx.Err() == nil {
				e.cfg.Log.Error("claim messages", "err", err)
			}
			return
		}
		msgs = e.oneOfEachBundle(ctx, msgs)
		for _, m := range msgs {
			e.sem <- struct{}{}
			e.wg.Add(1)
			go func() {
				defer func() { <-e.sem; e.wg.Done(); e.Wake() }()
				e.deliver(context.WithoutCancel(ctx), m)
			}()
		}
		if len(msgs) == 0 {
			return
		}
	}
}

// oneOfEachBundle keeps, of the claimed pages that would be bundled
// together (same rate-limited contact method, same service), only the
// first, and puts the others back for a moment: the first's delivery folds
// them into its bundle (see commands.Bundle), or, when it is held back by a
// rate limit, they come round again.
func (e *Engine) oneOfEachBundle(ctx context.Context, msgs []commands.Message) []commands.Message {
	if e.cfg.Bundles == nil || !e.cfg.Bundles() {
		return msgs
	}
	seen := map[string]bool{}
	out := msgs[:0]
	for _, m := range msgs {
		if m.Kind == notification.KindAlert && m.ContactMethodID != "" && m.ServiceID != "" && !m.Stale &&
			(m.Dest.Type == notification.DestSMS || m.Dest.Type == notification.DestVoice || m.Dest.Type == notification.DestEmail) {
			k := m.ContactMethodID + "|" + m.ServiceID
			if seen[k] {
				if err := e.cfg.Commands.Postpone(ctx, m, e.cfg.Clock.Now().Add(bundleWait), "waiting for its bundle"); err != nil {
					e.cfg.Log.Error("postpone message", "err", err)
				}
				continue
			}
			seen[k] = true
		}
		out = append(out, m)
	}
	return out
}

// bundleWait is how long a page set aside for a bundle waits before it is
// looked at again.
const bundleWait = 2 * time.Second

// deliver sends one claimed message and records the outcome.
func (e *Engine) deliver(ctx context.Context, m commands.Message) {
	log := e.cfg.Log.With("message", m.ID, "kind", m.Kind, "dest", m.Dest.Type)
	record := func(o commands.Outcome) {
		if err := e.cfg.Commands.RecordOutcome(ctx, m, o); err != nil {
			// The lease runs out and the message is reclaimed as stale.
			log.Error("record message outcome", "err", err)
		}
	}
	if m.Stale && !e.cfg.Idempotent(m.Dest.Type) {
		record(commands.Outcome{Err: errors.New("the sender stopped while sending; it may have gone out")})
		return
	}
	if until, err := e.cfg.Commands.Throttle(ctx, m); err != nil {
		log.Error("rate limit check", "err", err)
	} else if !until.IsZero() {
		if err := e.cfg.Commands.Postpone(ctx, m, until, "rate limited"); err != nil {
			log.Error("postpone message", "err", err)
		}
		return
	}
	if e.cfg.Bundles != nil && e.cfg.Bundles() {
		b, err := e.cfg.Commands.Bundle(ctx, m)
		if err != nil {
			log.Error("bundle messages", "err", err)
		} else {
			m = b
		}
	}
	s := e.cfg.Senders[m.Dest.Type]
	if s == nil {
		record(commands.Outcome{Status: notification.Status{State: notification.StateFailed, Detail: "no provider for " + m.Dest.Type}})
		return
	}
	msg, err := e.cfg.Render(ctx, m)
	if err != nil {
		record(commands.Outcome{Status: notification.Status{State: notification.StateFailed, Detail: "render: " + err.Error()}})
		return
	}
	sctx, cancel := context.WithTimeout(ctx, e.cfg.SendTimeout)
	st, err := s.Send(sctx, msg)
	cancel()
	if err != nil {
		log.Warn("send failed", "err", err, "temporary", notification.IsTemporary(err), "attempt", m.Attempts)
	}
	record(commands.Outcome{Status: st, Err: err})
}

// sleep waits for a wake-up, the next due time, or the poll interval.
func (e *Engine) sleep(ctx context.Context) {
	next, err := e.cfg.Commands.NextDue(ctx)
	if err != nil && ctx.Err() == nil {
		e.cfg.Log.Warn("next due time", "err", err)
	}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	due := make(chan struct{})
	if !next.IsZero() {
		go func() {
			if e.cfg.Clock.Until(wctx, next) == nil {
				close(due)
			}
		}()
	}
	t := time.NewTimer(e.cfg.Poll)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-e.wake:
	case <-due:
	case <-t.C:
	}
}
