// Package postgres connects to the database and keeps the connection errors
// an operator sees readable.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/oncallhq/goalert/migrations"
)

// Options tune the pool.
type Options struct {
	MaxConns int32 // 0 means pgxpool's default
	MinIdle  int32
	// Wait bounds how long Connect retries an unreachable server, logging
	// each attempt. 0 means a single attempt.
	Wait   time.Duration
	Logger *slog.Logger
}

// Connect parses url, opens a pool and checks that the server answers. A
// malformed URL fails at once; an unreachable server is retried until
// opts.Wait has passed.
func Connect(ctx context.Context, url string, opts Options) (*pgxpool.Pool, error) {
	if url == "" {
		return nil, errors.New("no database URL given (--db-url or GOALERT_DB_URL)")
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("invalid database URL: %w", stripURL(err))
	}
	if opts.MaxConns > 0 {
		cfg.MaxConns = opts.MaxConns
	}
	if opts.MinIdle > 0 {
		cfg.MinIdleConns = opts.MinIdle
	}
	cfg.ConnConfig.RuntimeParams["application_name"] = "goalert"
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open database pool: %w", err)
	}
	deadline := time.Now().Add(opts.Wait)
	for attempt := 1; ; attempt++ {
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err = pool.Ping(pctx)
		cancel()
		if err == nil {
			return pool, nil
		}
		if ctx.Err() != nil || time.Now().After(deadline) || !retryable(err) {
			pool.Close()
			return nil, fmt.Errorf("connect to database %s: %w", describe(cfg.ConnConfig), err)
		}
		if opts.Logger != nil {
			opts.Logger.Warn("database not reachable yet; retrying", "attempt", attempt, "err", err)
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

// Migrate applies pending migrations through one connection of pool.
func Migrate(ctx context.Context, pool *pgxpool.Pool) (int, error) {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return 0, fmt.Errorf("acquire connection for migrations: %w", err)
	}
	defer conn.Release()
	return migrations.Apply(ctx, conn.Conn())
}

// retryable says whether a connection error may go away by itself (server
// starting, network blip) rather than being a configuration mistake.
func retryable(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		// 57P03: the server is starting up; anything else from the server
		// (bad password, unknown database) will not fix itself.
		return pgErr.Code == "57P03"
	}
	return true
}

func describe(c *pgx.ConnConfig) string {
	host := c.Host
	if c.Port != 0 && len(host) > 0 && host[0] != '/' {
		host = fmt.Sprintf("%s:%d", host, c.Port)
	}
	return fmt.Sprintf("%q (host %s, user %s)", c.Database, host, c.User)
}

// stripURL keeps a parse error from echoing the password back.
func stripURL(err error) error {
	var pe *pgconn.ParseConfigError
	if errors.As(err, &pe) {
		return errors.New("cannot parse connection string (check the scheme, host and port)")
	}
	return err
}
