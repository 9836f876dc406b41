// Package migrations holds the database schema as embedded SQL files,
// applied in order by tern on every start and by `goalert migrate`.
package migrations

import (
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"sort"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/tern/v2/migrate"
)

//go:embed *.sql
var files embed.FS

const versionTable = "public.schema_version"

// Apply brings the database reached by conn up to the latest schema. It
// holds an advisory lock meanwhile, so concurrent starts are safe. It
// returns the number of migrations applied.
func Apply(ctx context.Context, conn *pgx.Conn) (applied int, err error) {
	m, err := migrate.NewMigrator(ctx, conn, versionTable)
	if err != nil {
		return 0, fmt.Errorf("prepare migrations: %w", err)
	}
	if err := m.LoadMigrations(files); err != nil {
		return 0, fmt.Errorf("load migrations: %w", err)
	}
	before, err := m.GetCurrentVersion(ctx)
	if err != nil {
		return 0, fmt.Errorf("read schema version: %w", err)
	}
	if err := m.Migrate(ctx); err != nil {
		return 0, fmt.Errorf("apply migrations: %w", err)
	}
	after, err := m.GetCurrentVersion(ctx)
	if err != nil {
		return 0, fmt.Errorf("read schema version: %w", err)
	}
	return int(after - before), nil
}

// Latest is the number of the newest migration.
func Latest() int {
	names, _ := fs.Glob(files, "*.sql")
	return len(names)
}

// Hash identifies the schema: it changes whenever a migration file does.
// Test harnesses key their template databases on it.
func Hash() string {
	names, _ := fs.Glob(files, "*.sql")
	sort.Strings(names)
	h := sha256.New()
	for _, n := range names {
		b, _ := files.ReadFile(n)
		h.Write([]byte(n))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}
