package projections

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/oncallhq/goalert/events"
)

// BulkApplier is implemented by projections that have a faster way to
// apply the large batches of a rebuild. ApplyBulk must leave the read
// model exactly as Apply would; Rebuild uses it instead of Apply, and the
// live subscriber, whose batches are small, keeps Apply.
type BulkApplier interface {
	ApplyBulk(ctx context.Context, tx pgx.Tx, batch []Event) error
}

// bulk makes a projection's ApplyBulk its Apply.
type bulk struct {
	Projection
	b BulkApplier
}

func (p bulk) Apply(ctx context.Context, tx pgx.Tx, batch []Event) error {
	return p.b.ApplyBulk(ctx, tx, batch)
}

// selfIdempotentBulk keeps the SelfIdempotent mark through the wrapping,
// which decides how the runner guards against applying an event twice.
type selfIdempotentBulk struct{ bulk }

func (selfIdempotentBulk) IdempotentByVersion() {}

// forRebuild returns p as a rebuild applies it: through ApplyBulk when it
// has one.
func forRebuild(p Projection) Projection {
	b, ok := p.(BulkApplier)
	switch _, self := p.(SelfIdempotent); {
	case !ok:
		return p
	case self:
		return selfIdempotentBulk{bulk{p, b}}
	}
	return bulk{p, b}
}

// RebuildStats reports a rebuild.
type RebuildStats struct {
	Events   int // events of the log the rebuild went past, its own or not
	Applied  int // events the projection handled
	Duration time.Duration
}

// Progress is told after each rebuild batch.
type Progress func(read int, last events.Checkpoint)

// Rebuild replays the whole log into a new read model for the projection
// named name, built beside the live one in large batches, and swaps it in
// atomically once it has caught up with the log (see shadow.go). It is
// safe while the server runs: readers see the old model until the swap
// commits and the new one after, the live subscriber keeps the old model
// current meanwhile and continues from the new model's checkpoint, and no
// event appended during the rebuild is lost or applied twice. A rebuild
// that fails, or whose ctx ends, leaves the live model as it was. progress
// may be nil.
func (r *Runner) Rebuild(ctx context.Context, name string, batchSize int, progress Progress) (RebuildStats, error) {
	p, ok := r.Lookup(name)
	if !ok {
		return RebuildStats{}, fmt.Errorf("unknown projection %q", name)
	}
	if batchSize <= 0 {
		batchSize = 5000
	}
	start := time.Now()
	// Everything committed before the rebuild starts must be in the result.
	// A short batch is not the end: a transaction still open elsewhere on
	// the server holds readers back, and its end releases the rest.
	target, err := r.store.LastCommitted(ctx, r.pool)
	if err != nil {
		return RebuildStats{}, err
	}
	sh, err := r.openShadow(ctx, p)
	if err != nil {
		return RebuildStats{}, fmt.Errorf("rebuild %s: %w", name, err)
	}
	defer sh.close(ctx, r.log)
	rb := &rebuild{r: r, sh: sh, p: forRebuild(p), handles: handledSet(p), size: batchSize, target: target, progress: progress}
	// The read ahead still running when the rebuild ends is waited for, so
	// that nothing uses the pool after Rebuild returns.
	defer rb.drain()
	if err := rb.catchUp(ctx); err != nil {
		return rb.st, fmt.Errorf("rebuild %s: %w", name, err)
	}
	if err := r.analyze(ctx, sh); err != nil {
		return rb.st, fmt.Errorf("rebuild %s: %w", name, err)
	}
	for attempt := 1; ; attempt++ {
		applied, cp, err := r.swapIn(ctx, sh, rb.p, rb.handles, batchSize)
		if err == nil {
			sh.cp, sh.swapped = cp, true
			rb.st.Applied += applied
			if err := rb.count(ctx); err != nil {
				return rb.st, fmt.Errorf("rebuild %s: %w", name, err)
			}
			break
		}
		if !retrySwap(err) || attempt >= swapAttempts || ctx.Err() != nil {
			return rb.st, fmt.Errorf("rebuild %s: swap the rebuilt read model in: %w", name, err)
		}
		r.log.Warn("could not swap the rebuilt read model in yet; retrying", "projection", name, "attempt", attempt, "err", err)
		select {
		case <-ctx.Done():
			return rb.st, ctx.Err()
		case <-time.After(min(50*time.Millisecond<<min(attempt, 6), 2*time.Second)):
		}
		// Meanwhile the log went on: the next swap's tail stays short.
		if err := rb.catchUp(ctx); err != nil {
			return rb.st, fmt.Errorf("rebuild %s: %w", name, err)
		}
	}
	rb.st.Duration = time.Since(start)
	return rb.st, nil
}

// rebuild is the state of one Rebuild.
type rebuild struct {
	r        *Runner
	sh       *shadow
	p        Projection // as forRebuild returns it
	handles  map[string]bool
	size     int
	target   events.Checkpoint
	progress Progress
	st       RebuildStats
	counted  events.Checkpoint // how far st.Events counts
	// ahead is the next batch, read while this one is applied (see
	// shadowBatch).
	ahead <-chan readBatch
}

// catchUp applies batches to the shadow until it has passed the rebuild's
// target and the last batch was short, all the log readable then.
func (rb *rebuild) catchUp(ctx context.Context) error {
	for {
		// Taken before the batch's transaction begins: the read ahead
		// needs a connection of its own, and with a pool of one, waiting
		// for it inside the transaction would never end.
		var pre *readBatch
		if rb.ahead != nil {
			b := <-rb.ahead
			pre, rb.ahead = &b, nil
		}
		n, applied, next, err := rb.r.shadowBatch(ctx, rb.sh, rb.p, rb.handles, rb.size, pre)
		if err != nil {
			return err
		}
		rb.ahead = next
		rb.st.Applied += applied
		if err := rb.count(ctx); err != nil {
			return err
		}
		if n == rb.size {
			continue
		}
		if !rb.target.After(rb.sh.cp) {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// count adds the events the shadow went past to st.Events, and tells the
// progress callback.
func (rb *rebuild) count(ctx context.Context) error {
	last := rb.sh.cp
	if !last.After(rb.counted) {
		return nil
	}
	// The batches passed over the other projections' events without
	// reading them; counting them (an index-only scan) keeps Events the
	// whole log's count, as progress reports and the replay summary show
	// it.
	passed, err := rb.r.store.CountBetween(ctx, rb.r.pool, rb.counted, last)
	if err != nil {
		return err
	}
	rb.st.Events += passed
	rb.counted = last
	if rb.progress != nil {
		rb.progress(rb.st.Events, last)
	}
	return nil
}

func (rb *rebuild) drain() {
	if rb.ahead != nil {
		<-rb.ahead
		rb.ahead = nil
	}
}

// readBatch is a batch of a projection's events read from a checkpoint.
type readBatch struct {
	from, next events.Checkpoint // next: where the following batch starts
	envs       []events.Envelope
	err        error
}

// readAhead reads the batch after from in the background, outside any
// transaction. The events it returns are settled (below the snapshot's
// xmin), so reading them early changes nothing, provided the shadow is
// still at from when they are applied.
func (r *Runner) readAhead(ctx context.Context, from events.Checkpoint, names []string, size int) <-chan readBatch {
	out := make(chan readBatch, 1)
	go func() {
		envs, next, err := r.store.ReadNamedAfter(ctx, r.pool, from, names, size)
		out <- readBatch{from: from, next: next, envs: envs, err: err}
	}()
	return out
}

// shadowBatch applies the next batch of events p handles to the shadow
// tables, and moves the shadow's checkpoint past them; past the other
// events too, up to the newest readable one, when the batch is the last
// that can be read now. read is the number of events of the batch.
//
// pre, when set, is the batch read ahead; it is used when it starts at the
// shadow's checkpoint, and read again otherwise. After a full batch the
// following one is read ahead, returned as next, while this one is
// applied: the query, and the scanning of its rows, then overlap with the
// database applying this batch rather than wait for it.
func (r *Runner) shadowBatch(ctx context.Context, sh *shadow, p Projection, handles map[string]bool, size int, pre *readBatch) (read, applied int, next <-chan readBatch, err error) {
	cp, to := sh.cp, sh.cp
	err = pgx.BeginFunc(ctx, r.pool, func(tx pgx.Tx) error {
		// A batch lost in a crash is lost with the whole shadow, which the
		// next rebuild starts again, so the commit need not wait for the
		// disk: rebuilds commit hundreds of large batches. The swap's
		// commit waits, and flushes them all.
		if err := setLocal(ctx, tx, "synchronous_commit", "off"); err != nil {
			return err
		}
		if err := sh.enter(ctx, tx); err != nil {
			return err
		}
		// Only the projection's own events are read: most projections
		// handle a small share of the log, and reading and decoding the
		// rest was most of a rebuild's time.
		var rb readBatch
		if pre != nil && pre.err == nil && pre.from == cp {
			rb = *pre
		} else {
			rb.from = cp
			rb.envs, rb.next, rb.err = r.store.ReadNamedAfter(ctx, tx, cp, p.Handles(), size)
		}
		if rb.err != nil {
			return rb.err
		}
		read = len(rb.envs)
		if !rb.next.After(cp) {
			return nil
		}
		if read == size {
			next = r.readAhead(ctx, rb.next, p.Handles(), size)
		}
		if read > 0 {
			if applied, err = r.applyBatch(ctx, tx, p, handles, rb.envs); err != nil {
				return err
			}
		}
		to = rb.next
		return nil
	})
	if err != nil {
		if next != nil {
			// The read ahead starts where this failed batch would have
			// ended.
			<-next
			next = nil
		}
		return read, 0, nil, err
	}
	sh.cp = to
	return read, applied, next, nil
}

// lockCheckpoint reads the projection's checkpoint, creating its row if
// needed, and locks it for the rest of tx.
func lockCheckpoint(ctx context.Context, tx pgx.Tx, name string) (events.Checkpoint, error) {
	if _, err := tx.Exec(ctx, `INSERT INTO projection_offsets (consumer_group, offset_acked, last_processed_transaction_id)
		VALUES ($1, 0, '0') ON CONFLICT DO NOTHING`, ConsumerGroup(name)); err != nil {
		return events.Checkpoint{}, fmt.Errorf("create checkpoint: %w", err)
	}
	var cp events.Checkpoint
	var xid string
	if err := tx.QueryRow(ctx, `SELECT last_processed_transaction_id::text, coalesce(offset_acked, 0)
		FROM projection_offsets WHERE consumer_group = $1 FOR UPDATE`, ConsumerGroup(name)).Scan(&xid, &cp.Position); err != nil {
		return cp, fmt.Errorf("lock checkpoint: %w", err)
	}
	var err error
	cp.TransactionID, err = strconv.ParseUint(xid, 10, 64)
	return cp, err
}

func saveCheckpoint(ctx context.Context, tx pgx.Tx, name string, cp events.Checkpoint) error {
	_, err := tx.Exec(ctx, `UPDATE projection_offsets SET offset_acked = $2, last_processed_transaction_id = $3::text::xid8
		WHERE consumer_group = $1`, ConsumerGroup(name), cp.Position, strconv.FormatUint(cp.TransactionID, 10))
	if err != nil {
		return fmt.Errorf("save checkpoint: %w", err)
	}
	return nil
}

func saveVersions(ctx context.Context, tx pgx.Tx, name string, latest map[string]int64) error {
	streams := make([]string, 0, len(latest))
	versions := make([]int64, 0, len(latest))
	for s, v := range latest {
		streams = append(streams, s)
		versions = append(versions, v)
	}
	_, err := tx.Exec(ctx, `
		INSERT INTO projection_stream_versions AS v (projection, stream_id, version)
		SELECT $1, s, ver FROM unnest($2::text[], $3::bigint[]) AS u(s, ver)
		ON CONFLICT (projection, stream_id) DO UPDATE SET version = excluded.version
		WHERE v.version < excluded.version`, name, streams, versions)
	if err != nil {
		return fmt.Errorf("record stream versions: %w", err)
	}
	return nil
}
