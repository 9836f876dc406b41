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

// Rebuild empties the projection named name and replays the whole log into
// it in large batches, each batch (read-model writes and checkpoint) in one
// transaction. It is safe while the live subscriber runs: both take the
// projection's checkpoint row lock, so whichever holds it continues from
// where the other stopped. progress may be nil.
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
	if err := r.reset(ctx, p); err != nil {
		return RebuildStats{}, err
	}
	var st RebuildStats
	var at events.Checkpoint
	handles := handledSet(p)
	bp := forRebuild(p)
	// The next batch is read while this one is applied (see rebuildBatch).
	// A read still running when the rebuild ends is waited for, so that
	// nothing uses the pool after Rebuild returns.
	var ahead <-chan readBatch
	defer func() {
		if ahead != nil {
			<-ahead
		}
	}()
	for {
		// Taken before the batch's transaction begins: the read ahead needs
		// a connection of its own, and with a pool of one, waiting for it
		// inside the transaction would never end.
		var pre *readBatch
		if ahead != nil {
			rb := <-ahead
			pre, ahead = &rb, nil
		}
		n, applied, last, next, err := r.rebuildBatch(ctx, bp, handles, batchSize, pre)
		if err != nil {
			return st, fmt.Errorf("rebuild %s: %w", name, err)
		}
		ahead = next
		st.Applied += applied
		if last.After(at) {
			// The batch passed over the other projections' events
			// without reading them; counting them (an index-only scan)
			// keeps Events the whole log's count, as progress reports
			// and the replay summary show it.
			passed, err := r.store.CountBetween(ctx, r.pool, at, last)
			if err != nil {
				return st, fmt.Errorf("rebuild %s: %w", name, err)
			}
			st.Events += passed
			at = last
			if progress != nil {
				progress(st.Events, last)
			}
		}
		if n == batchSize {
			continue
		}
		if !target.After(at) {
			break
		}
		select {
		case <-ctx.Done():
			return st, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	st.Duration = time.Since(start)
	return st, nil
}

func (r *Runner) reset(ctx context.Context, p Projection) error {
	return pgx.BeginFunc(ctx, r.pool, func(tx pgx.Tx) error {
		if _, err := lockCheckpoint(ctx, tx, p.Name()); err != nil {
			return err
		}
		for _, t := range p.Tables() {
			if _, err := tx.Exec(ctx, "TRUNCATE "+pgx.Identifier{t}.Sanitize()+" CASCADE"); err != nil {
				return fmt.Errorf("empty %s: %w", t, err)
			}
		}
		if _, err := tx.Exec(ctx, `DELETE FROM projection_stream_versions WHERE projection = $1`, p.Name()); err != nil {
			return fmt.Errorf("forget applied versions: %w", err)
		}
		return saveCheckpoint(ctx, tx, p.Name(), events.Checkpoint{})
	})
}

// readBatch is a batch of a projection's events read from a checkpoint.
type readBatch struct {
	from, next events.Checkpoint // next: where the following batch starts
	envs       []events.Envelope
	err        error
}

// readAhead reads the batch after from in the background, outside any
// transaction. The events it returns are settled (below the snapshot's
// xmin), so reading them before the checkpoint is locked changes nothing,
// provided the checkpoint is still from when they are applied.
func (r *Runner) readAhead(ctx context.Context, from events.Checkpoint, names []string, size int) <-chan readBatch {
	out := make(chan readBatch, 1)
	go func() {
		envs, next, err := r.store.ReadNamedAfter(ctx, r.pool, from, names, size)
		out <- readBatch{from: from, next: next, envs: envs, err: err}
	}()
	return out
}

// rebuildBatch applies the next batch of events p handles, and moves its
// checkpoint past them; past the other events too, up to the newest
// readable one, when the batch is the last that can be read now. read is
// the number of events of the batch, last the checkpoint saved (the one
// found when there was nothing to do).
//
// pre, when set, is the batch read ahead; it is used when it starts at the
// locked checkpoint, and read again otherwise (the live subscriber moved
// the checkpoint meanwhile). After a full batch the following one is read
// ahead, returned as next, while this one is applied: the query, and the
// scanning of its rows, then overlap with the database applying this
// batch rather than wait for it.
func (r *Runner) rebuildBatch(ctx context.Context, p Projection, handles map[string]bool, size int, pre *readBatch) (read, applied int, last events.Checkpoint, next <-chan readBatch, err error) {
	err = pgx.BeginFunc(ctx, r.pool, func(tx pgx.Tx) error {
		// A batch lost in a crash is read and applied again from the
		// checkpoint committed with it, so the commit need not wait for
		// the disk: rebuilds commit hundreds of large batches.
		if _, err := tx.Exec(ctx, `SET LOCAL synchronous_commit = off`); err != nil {
			return fmt.Errorf("relax commit: %w", err)
		}
		cp, err := lockCheckpoint(ctx, tx, p.Name())
		if err != nil {
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
		read, last = len(rb.envs), cp
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
		last = rb.next
		return saveCheckpoint(ctx, tx, p.Name(), rb.next)
	})
	if err != nil && next != nil {
		// The read ahead starts where this failed batch would have ended.
		<-next
		next = nil
	}
	return read, applied, last, next, err
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
