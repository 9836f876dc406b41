package main

import (
	"context"
	"errors"
)

// The CLI layer (main.go, flags.go, dev.go) parses flags into Config and calls
// these actions. They hold the product behaviour; the CLI holds none.

// runServe applies migrations and serves until ctx is cancelled.
func runServe(ctx context.Context, cfg Config, s Streams) error {
	return errors.New("serve: not wired")
}

// runMigrate applies pending migrations and returns.
func runMigrate(ctx context.Context, cfg Config, s Streams) error {
	return errors.New("migrate: not wired")
}

// runAddUser creates a user with basic-auth credentials (or adds credentials
// to an existing user when opts.UserID is set).
func runAddUser(ctx context.Context, cfg Config, opts AddUserOptions, s Streams) error {
	return errors.New("add-user: not wired")
}
