// Package commands runs the product's commands: each loads the aggregates it
// needs from the event log, asks the domain to decide, and appends the
// resulting events in one short transaction, together with the reservations
// that guard invariants spanning streams.
package commands

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/oncallhq/goalert/domain"
	"github.com/oncallhq/goalert/domain/clock"
	"github.com/oncallhq/goalert/events"
	"github.com/oncallhq/goalert/events/pgstore"
)

// Handler executes commands against the event log.
type Handler struct {
	pool    *pgxpool.Pool
	store   *pgstore.Store
	clock   clock.Clock
	retries int
	// committed is told of every committed write, so that projections in
	// this process wake at once instead of waiting for their next poll.
	committed func(events.Checkpoint)
	// group, when set, batches ingest triggers into shared transactions.
	group *groupCommit
	// work is told after a commit that gave the engine something to do
	// (a new alert, a queued message), so it acts at once.
	work func()
	// onCall resolves schedule and rotation targets.
	onCall OnCallResolver
	// readModels waits until the read models have passed a checkpoint.
	readModels func(context.Context, events.Checkpoint) error
}

// Option configures a Handler.
type Option func(*Handler)

// OnCommit registers fn to be called after every transaction that wrote
// events, with the checkpoint of its last event.
func OnCommit(fn func(events.Checkpoint)) Option { return func(h *Handler) { h.committed = fn } }

// OnWork registers fn to be called after every transaction that gave the
// paging engine work: an alert to escalate, a message to send.
func OnWork(fn func()) Option { return func(h *Handler) { h.work = fn } }

// WithReadModels lets commands that find their work through read models
// wait until those have caught up with a checkpoint.
func WithReadModels(wait func(context.Context, events.Checkpoint) error) Option {
	return func(h *Handler) { h.readModels = wait }
}

// MaxRetries bounds how many times a command is re-run after losing a race
// with another writer (default 8).
func MaxRetries(n int) Option { return func(h *Handler) { h.retries = n } }

// New returns a Handler.
func New(pool *pgxpool.Pool, store *pgstore.Store, c clock.Clock, opts ...Option) *Handler {
	h := &Handler{pool: pool, store: store, clock: c, retries: 8, committed: func(events.Checkpoint) {}, work: func() {}}
	for _, o := range opts {
		o(h)
	}
	return h
}

// Clock returns the handler's clock.
func (h *Handler) Clock() clock.Clock { return h.clock }

// Store returns the event store.
func (h *Handler) Store() *pgstore.Store { return h.store }

// Pool returns the database pool.
func (h *Handler) Pool() *pgxpool.Pool { return h.pool }

// Result says what a command wrote.
type Result struct {
	// Last is the checkpoint of the last event written; read models that
	// have reached it reflect the command. Zero when nothing was written.
	Last events.Checkpoint
}

// Wrote reports whether the command appended anything.
func (r Result) Wrote() bool { return r.Last != (events.Checkpoint{}) }

// Do runs fn in a transaction and commits it. When an append inside fn
// loses a race with another writer (or Postgres reports a serialization
// failure or deadlock), the transaction is rolled back and fn runs again
// with fresh state, up to the retry bound; then Do returns
// domain.ErrConcurrentUpdate. Any other error from fn rolls back and is
// returned as is.
//
// fn must keep the transaction short: no network calls, no waiting.
func (h *Handler) Do(ctx context.Context, fn func(ctx context.Context, tx *Tx) error) (Result, error) {
	meta := events.MetadataFrom(ctx)
	if meta.CorrelationID == "" {
		meta.CorrelationID = uuid.NewString()
		ctx = events.WithMetadata(ctx, meta)
	}
	var lastErr error
	for attempt := 0; attempt <= h.retries; attempt++ {
		if attempt > 0 {
			// Jitter spreads out writers that collided, so they do not
			// collide again in lock step.
			d := time.Duration(rand.IntN(1<<min(attempt, 6))) * time.Millisecond
			select {
			case <-ctx.Done():
				return Result{}, ctx.Err()
			case <-time.After(d):
			}
		}
		res, work, err := h.attempt(ctx, meta, fn)
		if err == nil {
			if res.Wrote() {
				h.committed(res.Last)
			}
			if work {
				h.work()
			}
			return res, nil
		}
		if !retryable(err) {
			return Result{}, err
		}
		lastErr = err
	}
	return Result{}, fmt.Errorf("%w (%d attempts, last: %v)", domain.ErrConcurrentUpdate, h.retries+1, lastErr)
}

func (h *Handler) attempt(ctx context.Context, meta events.Metadata, fn func(context.Context, *Tx) error) (res Result, work bool, err error) {
	ptx, err := h.pool.Begin(ctx)
	if err != nil {
		return Result{}, false, fmt.Errorf("begin transaction: %w", err)
	}
	defer func() {
		if err != nil {
			_ = ptx.Rollback(context.WithoutCancel(ctx))
		}
	}()
	tx := &Tx{tx: ptx, h: h, now: h.clock.Now(), meta: meta}
	if err := fn(ctx, tx); err != nil {
		return Result{}, false, err
	}
	if err := ptx.Commit(ctx); err != nil {
		return Result{}, false, fmt.Errorf("commit: %w", err)
	}
	return Result{Last: tx.last}, tx.work, nil
}

func retryable(err error) bool {
	if errors.Is(err, pgstore.ErrConflict) {
		return true
	}
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && (pgErr.Code == "40001" || pgErr.Code == "40P01")
}

// History is a stream as loaded by a command.
type History struct {
	Stream  string
	Version int64 // 0 when the stream does not exist
	Events  []events.Event
	// At holds when each event occurred.
	At []time.Time
}

// Update is the common command shape: load stream, decide with its history
// and the current time, append what was decided with the version loaded as
// the expected version. decide returning no events writes nothing.
func (h *Handler) Update(ctx context.Context, stream string, decide func(h History, now time.Time) ([]events.Event, error)) (Result, error) {
	return h.Do(ctx, func(ctx context.Context, tx *Tx) error {
		hist, err := tx.Load(ctx, stream)
		if err != nil {
			return err
		}
		evs, err := decide(hist, tx.Now())
		if err != nil {
			return err
		}
		return tx.Append(ctx, stream, hist.Version, evs...)
	})
}

// Tx is one attempt of a command: a short Postgres transaction.
type Tx struct {
	tx   pgx.Tx
	h    *Handler
	now  time.Time
	meta events.Metadata
	last events.Checkpoint
	work bool
}

// Now is the time of this attempt, read once from the handler's clock, so
// every event of one command carries the same time.
func (t *Tx) Now() time.Time { return t.now }

// Metadata is what the events of this command record about their cause.
func (t *Tx) Metadata() events.Metadata { return t.meta }

// Querier gives read access inside the transaction, for checks that read
// models answer better than streams (a limit count, say).
func (t *Tx) Querier() pgstore.Querier { return t.tx }

// Load returns the decoded history of stream.
func (t *Tx) Load(ctx context.Context, stream string) (History, error) {
	envs, err := t.h.store.Load(ctx, t.tx, stream, 1)
	if err != nil {
		return History{}, err
	}
	hist := History{Stream: stream, Events: make([]events.Event, 0, len(envs))}
	for _, env := range envs {
		e, err := t.h.store.Registry().DecodeEnvelope(env)
		if err != nil {
			return History{}, fmt.Errorf("load %s: %w", stream, err)
		}
		hist.Events = append(hist.Events, e)
		hist.At = append(hist.At, env.OccurredAt)
		hist.Version = env.Version
	}
	return hist, nil
}

// Append writes evs to stream if it is still at version expected (0 for a
// stream that must not exist yet). Appending nothing is a no-op.
func (t *Tx) Append(ctx context.Context, stream string, expected int64, evs ...events.Event) error {
	if len(evs) == 0 {
		return nil
	}
	recs := make([]events.Record, len(evs))
	for i, e := range evs {
		id, err := uuid.NewV7()
		if err != nil {
			return fmt.Errorf("event id: %w", err)
		}
		recs[i] = events.Record{ID: id, Event: e, Metadata: t.meta, OccurredAt: t.now}
	}
	a, err := t.h.store.Append(ctx, t.tx, stream, expected, recs)
	if err != nil {
		return err
	}
	if a.Last.After(t.last) {
		t.last = a.Last
	}
	return nil
}

// Reserve claims key in scope for owner, unless another owner holds it. It
// returns the holder: owner when the claim succeeded or was already ours,
// someone else's id otherwise. Concurrent claims of one key serialize on
// its row, so exactly one owner wins.
func (t *Tx) Reserve(ctx context.Context, scope, key, owner string) (holder string, err error) {
	err = t.tx.QueryRow(ctx, `
		WITH ins AS (
			INSERT INTO reservations (scope, key, owner) VALUES ($1, $2, $3)
			ON CONFLICT (scope, key) DO NOTHING RETURNING owner
		)
		SELECT owner FROM ins
		UNION ALL
		SELECT owner FROM reservations WHERE scope = $1 AND key = $2
		LIMIT 1`, scope, key, owner).Scan(&holder)
	if errors.Is(err, pgx.ErrNoRows) {
		// A competing claim committed after this statement's snapshot was
		// taken: the insert waited for it and skipped, and the read cannot
		// see it. A retry, with a new snapshot, sees the holder.
		return "", &pgstore.ConflictError{Stream: "reservation:" + scope}
	}
	if err != nil {
		return "", fmt.Errorf("reserve %s %q: %w", scope, key, err)
	}
	return holder, nil
}

// Holder returns who holds key in scope, or "" if it is free.
func (t *Tx) Holder(ctx context.Context, scope, key string) (string, error) {
	var holder string
	err := t.tx.QueryRow(ctx, `SELECT owner FROM reservations WHERE scope = $1 AND key = $2`, scope, key).Scan(&holder)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("look up reservation %s %q: %w", scope, key, err)
	}
	return holder, nil
}

// Release frees key in scope if owner holds it.
func (t *Tx) Release(ctx context.Context, scope, key, owner string) error {
	if _, err := t.tx.Exec(ctx, `DELETE FROM reservations WHERE scope = $1 AND key = $2 AND owner = $3`, scope, key, owner); err != nil {
		return fmt.Errorf("release %s %q: %w", scope, key, err)
	}
	return nil
}

// NextID takes the next value of a Postgres sequence (integer ids that
// people type, such as alert numbers).
func (t *Tx) NextID(ctx context.Context, sequence string) (int64, error) {
	var id int64
	if err := t.tx.QueryRow(ctx, `SELECT nextval($1::regclass)`, sequence).Scan(&id); err != nil {
		return 0, fmt.Errorf("next %s: %w", sequence, err)
	}
	return id, nil
}

// notFoundOr turns a missing row into nf and wraps any other error.
func notFoundOr(err, nf error) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return nf
	}
	return fmt.Errorf("%v: %w", nf, err)
}
