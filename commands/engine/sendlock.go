package engine

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// sendLock makes one instance per region the sender: it holds a Postgres
// session advisory lock on a connection of its own for as long as it
// lives. If the holder dies its connection closes, the lock is released,
// and another instance of the region takes it within a retry interval.
type sendLock struct {
	pool   *pgxpool.Pool
	region string
	held   atomic.Bool
	wake   func()
}

// sendLockRetry is how often an instance that is not the sender tries to
// become it.
const sendLockRetry = time.Second

func (l *sendLock) run(ctx context.Context) {
	for ctx.Err() == nil {
		l.hold(ctx)
		select {
		case <-ctx.Done():
		case <-time.After(sendLockRetry):
		}
	}
}

// hold takes the lock if it is free and keeps it until the connection
// fails or ctx ends.
func (l *sendLock) hold(ctx context.Context) {
	c, err := l.pool.Acquire(ctx)
	if err != nil {
		return
	}
	// A connection holding a session lock never goes back to the pool.
	conn := c.Hijack()
	defer conn.Close(context.WithoutCancel(ctx))
	var ok bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock(hashtext('goalert-sender'), hashtext($1))`, l.region).Scan(&ok); err != nil || !ok {
		return
	}
	l.held.Store(true)
	defer l.held.Store(false)
	l.wake()
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(sendLockRetry):
		}
		if err := conn.Ping(ctx); err != nil {
			return
		}
	}
}
