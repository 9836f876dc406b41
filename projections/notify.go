package projections

import (
	"context"
	"log/slog"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/jackc/pgx/v5/pgxpool"
)

// listen relays NOTIFYs from other processes to the local subscribers,
// reconnecting after errors.
func (r *Runner) listen(ctx context.Context) {
	for ctx.Err() == nil {
		err := r.listenOnce(ctx)
		if ctx.Err() != nil {
			return
		}
		r.log.Warn("event notification listener stopped; reconnecting", "err", err)
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

func (r *Runner) listenOnce(ctx context.Context) error {
	pooled, err := r.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	// A connection in LISTEN state must not go back to the pool.
	conn := pooled.Hijack()
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+notifyChannel); err != nil {
		return err
	}
	// Events committed while the listener was down are picked up now.
	r.wakeLocal()
	for {
		if _, err := conn.WaitForNotification(ctx); err != nil {
			return err
		}
		r.wakeLocal()
	}
}

// sendNotifications turns local commits into at most one NOTIFY every few
// milliseconds, for projection runners in other processes.
func (r *Runner) sendNotifications(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-r.pending:
		}
		if _, err := r.pool.Exec(ctx, "SELECT pg_notify($1, '')", notifyChannel); err != nil && ctx.Err() == nil {
			r.log.Warn("could not notify other instances of new events", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(2 * time.Millisecond):
		}
	}
}

// watermillLogger maps watermill's chatty info level to debug.
func watermillLogger(log *slog.Logger) watermill.LoggerAdapter {
	return watermill.NewSlogLoggerWithLevelMapping(log, map[slog.Level]slog.Level{
		slog.LevelInfo: slog.LevelDebug,
	})
}

// NotifyOthers tells the projection runners of other processes that
// events were committed, for writers that have no runner of their own
// (the admin CLI). Call it after the commit, never inside the writing
// transaction.
func NotifyOthers(ctx context.Context, pool *pgxpool.Pool) error {
	_, err := pool.Exec(ctx, "SELECT pg_notify($1, '')", notifyChannel)
	return err
}
