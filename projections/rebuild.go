package projections

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/oncallhq/goalert/events"
)

// RebuildStats reports a rebuild.
type RebuildStats struct {
	Events   int // events read from the log
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
	for {
		n, applied, last, err := r.rebuildBatch(ctx, p, handles, batchSize)
		if err != nil {
			return st, fmt.Errorf("rebuild %s: %w", name, err)
		}
		st.Events += n
		st.Applied += applied
		if n > 0 {
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

func (r *Runner) rebuildBatch(ctx context.Context, p Projection, handles map[string]bool, size int) (read, applied int, last events.Checkpoint, err error) {
	err = pgx.BeginFunc(ctx, r.pool, func(tx pgx.Tx) error {
		cp, err := lockCheckpoint(ctx, tx, p.Name())
		if err != nil {
			return err
		}
		envs, err := r.store.ReadAfter(ctx, tx, cp, size)
		if err != nil {
			return err
		}
		read = len(envs)
		if read == 0 {
			return nil
		}
		last = envs[len(envs)-1].Checkpoint()
		if applied, err = r.applyBatch(ctx, tx, p, handles, envs); err != nil {
			return err
		}
		return saveCheckpoint(ctx, tx, p.Name(), last)
	})
	return read, applied, last, err
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
