// Package users is the read model of users and their basic-auth logins.
package users

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/oncallhq/goalert/events"
	"github.com/oncallhq/goalert/projections"
)

// Projection writes the users and user_basic_auth tables.
type Projection struct{}

var _ projections.Projection = Projection{}

func (Projection) Name() string { return "users" }

func (Projection) Handles() []string {
	return []string{events.UserCreated{}.EventName(), events.UserBasicAuthSet{}.EventName(),
		events.UserUpdated{}.EventName(), events.UserDeleted{}.EventName()}
}

func (Projection) Tables() []string { return []string{"user_basic_auth", "users"} }

func (Projection) Apply(ctx context.Context, tx pgx.Tx, batch []projections.Event) error {
	b := &pgx.Batch{}
	for _, e := range batch {
		switch ev := e.Data.(type) {
		case events.UserCreated:
			b.Queue(`INSERT INTO users (id, name, email, role, created_at) VALUES ($1, $2, $3, $4, $5)
				ON CONFLICT (id) DO NOTHING`, ev.UserID, ev.Name, ev.Email, ev.Role, e.OccurredAt)
		case events.UserBasicAuthSet:
			b.Queue(`INSERT INTO user_basic_auth (user_id, username, password_hash) VALUES ($1, $2, $3)
				ON CONFLICT (user_id) DO UPDATE SET username = excluded.username, password_hash = excluded.password_hash`,
				ev.UserID, ev.Username, ev.PasswordHash)
		case events.UserUpdated:
			b.Queue(`UPDATE users SET name = $2, email = $3, role = $4 WHERE id = $1`, ev.UserID, ev.Name, ev.Email, ev.Role)
		case events.UserDeleted:
			b.Queue(`DELETE FROM users WHERE id = $1`, ev.UserID)
		}
	}
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("users projection: %w", err)
	}
	return nil
}

// User is a row of the read model.
type User struct {
	ID        string
	Name      string
	Email     string
	Role      string
	Username  string // empty without basic auth
	CreatedAt time.Time
}

// Reader answers queries on the read model.
type Reader struct{ Pool *pgxpool.Pool }

// ErrNotFound is returned for a user that is not in the read model.
var ErrNotFound = errors.New("user not found")

const selectUser = `SELECT u.id::text, u.name, u.email, u.role, coalesce(b.username, ''), u.created_at
	FROM users u LEFT JOIN user_basic_auth b ON b.user_id = u.id`

func scanUser(row pgx.Row) (User, error) {
	var u User
	err := row.Scan(&u.ID, &u.Name, &u.Email, &u.Role, &u.Username, &u.CreatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return u, ErrNotFound
	}
	return u, err
}

// ByID returns the user with id.
func (r Reader) ByID(ctx context.Context, id string) (User, error) {
	return scanUser(r.Pool.QueryRow(ctx, selectUser+` WHERE u.id::text = $1`, id))
}

// ByUsername returns the user who signs in as username.
func (r Reader) ByUsername(ctx context.Context, username string) (User, error) {
	return scanUser(r.Pool.QueryRow(ctx, selectUser+` WHERE b.username = $1`, username))
}

// PasswordHash returns the bcrypt hash of username's password.
func (r Reader) PasswordHash(ctx context.Context, username string) (userID, hash string, err error) {
	err = r.Pool.QueryRow(ctx, `SELECT user_id::text, password_hash FROM user_basic_auth WHERE username = $1`, username).Scan(&userID, &hash)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", "", ErrNotFound
	}
	return userID, hash, err
}

// Search returns users whose name or email contains search, ordered by
// name then id, after the user (afterName, afterID), at most limit.
func (r Reader) Search(ctx context.Context, search, afterName, afterID string, limit int) ([]User, error) {
	rows, err := r.Pool.Query(ctx, selectUser+` WHERE (u.name ILIKE '%' || $1 || '%' OR u.email ILIKE '%' || $1 || '%')
		AND (lower(u.name), u.id::text) > (lower($2), $3) ORDER BY lower(u.name), u.id::text LIMIT $4`, search, afterName, afterID, limit)
	if err != nil {
		return nil, fmt.Errorf("search users: %w", err)
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (User, error) { return scanUser(row) })
}
