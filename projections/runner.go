package projections

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	wsql "github.com/ThreeDotsLabs/watermill-sql/v4/pkg/sql"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/oncallhq/goalert/events"
	"github.com/oncallhq/goalert/events/pgstore"
)

// notifyChannel is the Postgres channel that tells other processes new
// events were committed. It is a wake-up hint only: a fallback poll covers
// a lost notification.
const notifyChannel = "goalert_events"

// Runner runs projections and answers questions about their progress.
type Runner struct {
	pool        *pgxpool.Pool
	store       *pgstore.Store
	log         *slog.Logger
	projections []Projection

	// BatchSize bounds a live batch (one transaction); FallbackPoll is how
	// long an idle subscriber waits without a wake-up before polling.
	BatchSize    int
	FallbackPoll time.Duration

	mu      sync.Mutex
	wakers  []chan struct{}
	pending chan struct{} // debounced cross-process notification
}

// NewRunner returns a runner for ps.
func NewRunner(pool *pgxpool.Pool, store *pgstore.Store, log *slog.Logger, ps ...Projection) *Runner {
	return &Runner{
		pool: pool, store: store, log: log, projections: ps,
		BatchSize: 250, FallbackPoll: 500 * time.Millisecond,
		pending: make(chan struct{}, 1),
	}
}

// Projections returns the projections the runner knows.
func (r *Runner) Projections() []Projection { return r.projections }

// Lookup returns the projection named name.
func (r *Runner) Lookup(name string) (Projection, bool) {
	for _, p := range r.projections {
		if p.Name() == name {
			return p, true
		}
	}
	return nil, false
}

// Notify tells the runner that events were committed: local subscribers
// wake at once, and other processes are told through a debounced NOTIFY
// sent outside any append transaction (a NOTIFY inside appends serializes
// their commits).
func (r *Runner) Notify(events.Checkpoint) {
	r.wakeLocal()
	select {
	case r.pending <- struct{}{}:
	default:
	}
}

func (r *Runner) wakeLocal() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, w := range r.wakers {
		select {
		case w <- struct{}{}:
		default:
		}
	}
}

func (r *Runner) newWaker() chan struct{} {
	w := make(chan struct{}, 1)
	r.mu.Lock()
	r.wakers = append(r.wakers, w)
	r.mu.Unlock()
	return w
}

func (r *Runner) dropWaker(w chan struct{}) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.wakers = slices.DeleteFunc(r.wakers, func(x chan struct{}) bool { return x == w })
}

// Run feeds every projection until ctx ends, and relays wake-ups between
// processes. It returns nil on cancellation.
func (r *Runner) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	wg.Go(func() { r.listen(ctx) })
	wg.Go(func() { r.sendNotifications(ctx) })
	for _, p := range r.projections {
		wg.Go(func() { r.runProjection(ctx, p) })
	}
	wg.Wait()
	return nil
}

// RunNotifier only tells other processes of local commits, for instances
// that write events but do not run projections (--api-only).
func (r *Runner) RunNotifier(ctx context.Context) error {
	r.sendNotifications(ctx)
	return nil
}

// runProjection keeps one projection's subscriber running, restarting it
// after an error.
func (r *Runner) runProjection(ctx context.Context, p Projection) {
	log := r.log.With("projection", p.Name())
	for ctx.Err() == nil {
		err := r.consume(ctx, p)
		if ctx.Err() != nil {
			return
		}
		log.Error("projection stopped; restarting from its checkpoint", "err", err)
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

func (r *Runner) consume(ctx context.Context, p Projection) error {
	waker := r.newWaker()
	defer r.dropWaker(waker)

	// The subscriber shares its transaction, and so its connection, with
	// the handler. If it gave up on a message while the handler was still
	// running (on cancellation or an ack deadline), both would use the
	// connection at once. So its context ends only after the handler of
	// the current message has returned, and there is no ack deadline:
	// statements are bounded by statement_timeout instead.
	subCtx, stopSub := context.WithCancel(context.WithoutCancel(ctx))
	defer stopSub()
	noDeadline := time.Duration(0)
	sub, err := wsql.NewSubscriber(wsql.BeginnerFromPgx(r.pool), wsql.SubscriberConfig{
		ConsumerGroup:  ConsumerGroup(p.Name()),
		SchemaAdapter:  eventsSchema{batchSize: r.BatchSize},
		OffsetsAdapter: offsetsAdapter(),
		BackoffManager: &backoff{wake: waker, done: ctx.Done(), fallback: r.FallbackPoll, log: r.log},
		AckDeadline:    &noDeadline,
	}, watermillLogger(r.log))
	if err != nil {
		return fmt.Errorf("create subscriber: %w", err)
	}
	defer sub.Close()
	msgs, err := sub.Subscribe(subCtx, topic)
	if err != nil {
		return fmt.Errorf("subscribe: %w", err)
	}
	handles := handledSet(p)
	for {
		var msg *message.Message
		select {
		case <-ctx.Done():
			return ctx.Err()
		case m, ok := <-msgs:
			if !ok {
				return errors.New("subscription closed")
			}
			msg = m
		}
		if err := r.handle(msg, p, handles); err != nil {
			// No nack: watermill would re-deliver in the same transaction,
			// which may be dead (a lost connection) and would then fail
			// forever. The batch's transaction is poisoned, so ending the
			// subscription rolls it back, and the retry starts from the
			// checkpoint in a fresh transaction.
			return fmt.Errorf("apply %s: %w", msg.UUID, err)
		}
		msg.Ack()
	}
}

// handle applies one delivered batch inside the subscriber's transaction,
// which then commits the batch's writes and its checkpoint together. When
// anything fails, abortBatch poisons the transaction so that the commit
// rolls back instead (a watermill nack would re-deliver in the same
// transaction without undoing the failed attempt's writes).
func (r *Runner) handle(msg *message.Message, p Projection, handles map[string]bool) (err error) {
	ctx := msg.Context()
	wtx, ok := wsql.TxFromContext(ctx)
	if !ok {
		return errors.New("no transaction in message context")
	}
	ptx, ok := wtx.(*wsql.PgxTx)
	if !ok {
		return fmt.Errorf("unexpected transaction type %T", wtx)
	}
	tx := ptx.Tx
	defer func() {
		if err != nil {
			abortBatch(ctx, tx)
		}
	}()
	envs, err := envelopesOf(msg)
	if err != nil {
		return err
	}
	// Bounded here rather than by the subscriber's ack deadline: a timeout
	// fails the batch while the subscriber still waits for our answer.
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	_, err = r.applyBatch(ctx, tx, p, handles, envs)
	return err
}

// applyBatch applies envs, in log order, to p through tx: it skips events p
// does not handle and events at or below the stream version p already
// applied, then records the new versions. It reports how many it applied.
func (r *Runner) applyBatch(ctx context.Context, tx pgx.Tx, p Projection, handles map[string]bool, envs []events.Envelope) (int, error) {
	if _, ok := p.(SelfIdempotent); ok {
		return r.applyAll(ctx, tx, p, handles, envs)
	}
	var streams []string
	seen := map[string]bool{}
	for _, env := range envs {
		if handles[env.Name] && !seen[env.StreamID] {
			seen[env.StreamID] = true
			streams = append(streams, env.StreamID)
		}
	}
	if len(streams) == 0 {
		return 0, nil
	}
	applied, err := appliedVersions(ctx, tx, p.Name(), streams)
	if err != nil {
		return 0, err
	}
	batch := make([]Event, 0, len(envs))
	for _, env := range envs {
		if !handles[env.Name] || env.Version <= applied[env.StreamID] {
			continue
		}
		data, err := r.store.Registry().DecodeEnvelope(env)
		if err != nil {
			return 0, err
		}
		batch = append(batch, Event{Envelope: env, Data: data})
		applied[env.StreamID] = env.Version
	}
	if len(batch) == 0 {
		return 0, nil
	}
	if err := p.Apply(ctx, tx, batch); err != nil {
		return 0, err
	}
	latest := map[string]int64{}
	for _, e := range batch {
		latest[e.StreamID] = e.Version
	}
	return len(batch), saveVersions(ctx, tx, p.Name(), latest)
}

// applyAll applies every handled event of envs; p guards against
// re-application itself.
func (r *Runner) applyAll(ctx context.Context, tx pgx.Tx, p Projection, handles map[string]bool, envs []events.Envelope) (int, error) {
	batch := make([]Event, 0, len(envs))
	for _, env := range envs {
		if !handles[env.Name] {
			continue
		}
		data, err := r.store.Registry().DecodeEnvelope(env)
		if err != nil {
			return 0, err
		}
		batch = append(batch, Event{Envelope: env, Data: data})
	}
	if len(batch) == 0 {
		return 0, nil
	}
	return len(batch), p.Apply(ctx, tx, batch)
}

// appliedVersions returns the last version p applied of each stream.
func appliedVersions(ctx context.Context, tx pgx.Tx, projection string, streams []string) (map[string]int64, error) {
	rows, err := tx.Query(ctx, `SELECT stream_id, version FROM projection_stream_versions
		WHERE projection = $1 AND stream_id = ANY($2)`, projection, streams)
	if err != nil {
		return nil, fmt.Errorf("read applied versions: %w", err)
	}
	defer rows.Close()
	out := make(map[string]int64, len(streams))
	for rows.Next() {
		var s string
		var v int64
		if err := rows.Scan(&s, &v); err != nil {
			return nil, err
		}
		out[s] = v
	}
	return out, rows.Err()
}

// abortBatch makes tx fail, so that committing it rolls back. A statement
// that failed already did that; this covers a failure in Go code after
// writes had succeeded.
func abortBatch(ctx context.Context, tx pgx.Tx) {
	_, _ = tx.Exec(context.WithoutCancel(ctx), `DO $$ BEGIN RAISE EXCEPTION 'projection batch aborted'; END $$`)
}

func handledSet(p Projection) map[string]bool {
	m := map[string]bool{}
	for _, n := range p.Handles() {
		m[n] = true
	}
	return m
}

// Checkpoint returns how far the projection named name has read.
func (r *Runner) Checkpoint(ctx context.Context, name string) (events.Checkpoint, error) {
	var cp events.Checkpoint
	var xid string
	err := r.pool.QueryRow(ctx, `SELECT last_processed_transaction_id::text, coalesce(offset_acked, 0)
		FROM projection_offsets WHERE consumer_group = $1`, ConsumerGroup(name)).Scan(&xid, &cp.Position)
	if errors.Is(err, pgx.ErrNoRows) {
		return cp, nil
	}
	if err != nil {
		return cp, fmt.Errorf("read checkpoint of %s: %w", name, err)
	}
	cp.TransactionID, err = strconv.ParseUint(xid, 10, 64)
	return cp, err
}

// WaitFor blocks until every named projection (all when none are named)
// has read past cp, or ctx ends. Commands use it so that a caller reads its
// own writes.
func (r *Runner) WaitFor(ctx context.Context, cp events.Checkpoint, names ...string) error {
	if cp == (events.Checkpoint{}) {
		return nil
	}
	if len(names) == 0 {
		for _, p := range r.projections {
			names = append(names, p.Name())
		}
	}
	groups := make([]string, len(names))
	for i, n := range names {
		groups[i] = ConsumerGroup(n)
	}
	delay := time.Millisecond
	for {
		var behind int
		err := r.pool.QueryRow(ctx, `
			SELECT $1::int - count(*) FROM projection_offsets
			WHERE consumer_group = ANY($2)
			  AND (last_processed_transaction_id, coalesce(offset_acked, 0)) >= ($3::text::xid8, $4)`,
			len(groups), groups, strconv.FormatUint(cp.TransactionID, 10), cp.Position).Scan(&behind)
		if err != nil {
			return fmt.Errorf("wait for projections: %w", err)
		}
		if behind == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(delay):
		}
		delay = min(2*delay, 20*time.Millisecond)
	}
}

// backoff is the subscriber's BackoffManager: when a poll finds nothing it
// blocks until a wake-up or the fallback interval, then polls again at
// once. This gives sub-millisecond delivery without polling every few
// milliseconds, which would cost a transaction id per empty poll.
//
// A wake-up means events were committed, but they may still be held back
// by an older transaction anywhere on the server (readers stop below the
// snapshot's xmin). So after a wake-up that found nothing, it polls again
// after 5, 10, 20... ms, up to the fallback, rather than sleeping the
// whole fallback interval.
type backoff struct {
	wake     <-chan struct{}
	done     <-chan struct{}
	fallback time.Duration
	log      *slog.Logger
	retry    time.Duration // the next short re-poll after a wake-up; 0 when none is due
}

func (b *backoff) HandleError(_ watermill.LoggerAdapter, noMsg bool, err error) time.Duration {
	if err != nil {
		if isSerializationRace(err) {
			return 0 // another instance of the group moved the checkpoint; re-read it
		}
		b.log.Error("projection poll failed", "err", err)
		return time.Second
	}
	if !noMsg {
		b.retry = 0
		return 0
	}
	wait := b.fallback
	if b.retry > 0 {
		wait = b.retry
		b.retry *= 2
		if b.retry >= b.fallback {
			b.retry = 0
		}
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-b.wake:
		b.retry = 5 * time.Millisecond
	case <-t.C:
	case <-b.done:
	}
	return 0
}

func isSerializationRace(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && (pgErr.Code == "40001" || pgErr.Code == "40P01")
}
