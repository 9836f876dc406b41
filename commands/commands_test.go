package commands_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/oncallhq/goalert/adapters/postgres/pgtest"
	"github.com/oncallhq/goalert/commands"
	"github.com/oncallhq/goalert/domain"
	"github.com/oncallhq/goalert/domain/clock"
	"github.com/oncallhq/goalert/domain/user"
	"github.com/oncallhq/goalert/events"
	"github.com/oncallhq/goalert/events/pgstore"
)

var now = time.Date(2026, 11, 24, 9, 30, 0, 0, time.UTC)

func newHandler(t *testing.T, opts ...commands.Option) *commands.Handler {
	t.Helper()
	return commands.New(pgtest.NewPool(t), pgstore.New(events.NewRegistry()), clock.NewManual(now), opts...)
}

// Concurrent updates of one stream all succeed: losers of a version race
// reload and decide again.
func TestHandler_UpdateRetriesOnConflict(t *testing.T) {
	h := newHandler(t)
	ctx := context.Background()
	id, _, err := h.CreateUser(ctx, commands.CreateUser{Name: "Ann", Role: user.RoleUser})
	if err != nil {
		t.Fatal(err)
	}
	const writers = 10
	var wg sync.WaitGroup
	var attempts atomic.Int64
	for i := 0; i < writers; i++ {
		wg.Go(func() {
			_, err := h.Update(ctx, user.Stream(id), func(hist commands.History, at time.Time) ([]events.Event, error) {
				attempts.Add(1)
				// A no-op rename is still an event; what matters is the version race.
				return []events.Event{events.UserCreated{UserID: id, Name: "Ann", Role: "user"}}, nil
			})
			if err != nil {
				t.Errorf("update: %v", err)
			}
		})
	}
	wg.Wait()
	v, err := h.Store().Version(ctx, h.Pool(), user.Stream(id))
	if err != nil {
		t.Fatal(err)
	}
	if v != writers+1 {
		t.Errorf("stream version: got %d, want %d (every update applied once)", v, writers+1)
	}
	if attempts.Load() <= writers {
		t.Logf("no conflicts happened this run (%d attempts)", attempts.Load())
	}
}

// A command that loses every race gives up after the retry bound with a
// domain error the edges can translate.
func TestHandler_GivesUpAfterRetries(t *testing.T) {
	h := newHandler(t, commands.MaxRetries(2))
	ctx := context.Background()
	stream := "thing-" + uuid.NewString()
	var calls int
	_, err := h.Do(ctx, func(ctx context.Context, tx *commands.Tx) error {
		calls++
		hist, err := tx.Load(ctx, stream)
		if err != nil {
			return err
		}
		// Another writer moves the stream between our load and our append.
		rec := events.Record{ID: uuid.Must(uuid.NewV7()), Event: events.UserCreated{UserID: "x"}, OccurredAt: now}
		if _, err := h.Store().Append(ctx, h.Pool(), stream, pgstore.Any, []events.Record{rec}); err != nil {
			return err
		}
		return tx.Append(ctx, stream, hist.Version, events.UserCreated{UserID: "y"})
	})
	if !errors.Is(err, domain.ErrConcurrentUpdate) {
		t.Fatalf("got %v, want ErrConcurrentUpdate", err)
	}
	if domain.KindOf(err) != domain.KindUnavailable {
		t.Errorf("kind: got %s, want unavailable", domain.KindOf(err))
	}
	if calls != 3 {
		t.Errorf("attempts: got %d, want 3 (one plus two retries)", calls)
	}
}

// Many concurrent sign-ups for one username: exactly one wins, every
// other is told the name is taken, and no half-created user remains.
func TestHandler_CreateUserUsernameIsUnique(t *testing.T) {
	h := newHandler(t)
	ctx := context.Background()
	const n = 20
	var wg sync.WaitGroup
	var won, taken atomic.Int64
	for i := 0; i < n; i++ {
		wg.Go(func() {
			_, _, err := h.CreateUser(ctx, commands.CreateUser{Name: "Dup", Role: user.RoleUser, Username: "dup", Password: "password1"})
			switch {
			case err == nil:
				won.Add(1)
			case errors.Is(err, user.ErrUsernameTaken):
				taken.Add(1)
			default:
				t.Errorf("create user: %v", err)
			}
		})
	}
	wg.Wait()
	if won.Load() != 1 || taken.Load() != n-1 {
		t.Errorf("got %d created and %d refused, want 1 and %d", won.Load(), taken.Load(), n-1)
	}
	var streams int
	if err := h.Pool().QueryRow(ctx, `SELECT count(*) FROM event_streams WHERE stream_id LIKE 'user-%'`).Scan(&streams); err != nil {
		t.Fatal(err)
	}
	if streams != 1 {
		t.Errorf("user streams: got %d, want 1", streams)
	}
}

func TestHandler_CreateUserValidates(t *testing.T) {
	h := newHandler(t)
	ctx := context.Background()
	tests := []struct {
		name  string
		cmd   commands.CreateUser
		field string
	}{
		{"empty name", commands.CreateUser{Name: " ", Role: user.RoleUser}, "name"},
		{"bad email", commands.CreateUser{Name: "A", Email: "not-an-email", Role: user.RoleUser}, "email"},
		{"bad role", commands.CreateUser{Name: "A", Role: "root"}, "role"},
		{"short password", commands.CreateUser{Name: "A", Role: user.RoleUser, Username: "a", Password: "short"}, "password"},
		{"space in username", commands.CreateUser{Name: "A", Role: user.RoleUser, Username: "a b", Password: "password1"}, "username"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := h.CreateUser(ctx, tc.cmd)
			var de *domain.Error
			if !errors.As(err, &de) || de.Kind != domain.KindInvalid || de.Field != tc.field {
				t.Fatalf("got %v, want an invalid-%s error", err, tc.field)
			}
		})
	}
	var n int
	_ = h.Pool().QueryRow(ctx, `SELECT count(*) FROM events`).Scan(&n)
	if n != 0 {
		t.Errorf("events written by refused commands: %d, want 0", n)
	}
}

// Events carry the command's time from the handler's clock and the actor
// from the context.
func TestHandler_RecordsClockAndActor(t *testing.T) {
	h := newHandler(t)
	ctx := events.WithMetadata(context.Background(), events.Metadata{Actor: "user:admin", Source: "web"})
	id, _, err := h.CreateUser(ctx, commands.CreateUser{Name: "Eve", Role: user.RoleUser})
	if err != nil {
		t.Fatal(err)
	}
	envs, err := h.Store().Load(ctx, h.Pool(), user.Stream(id), 1)
	if err != nil || len(envs) != 1 {
		t.Fatalf("load: %v (%d events)", err, len(envs))
	}
	e := envs[0]
	if !e.OccurredAt.Equal(now) || e.Metadata.Actor != "user:admin" || e.Metadata.Source != "web" || e.Metadata.CorrelationID == "" {
		t.Errorf("event: occurred %v, metadata %+v; want %v, actor user:admin, source web, a correlation id", e.OccurredAt, e.Metadata, now)
	}
}
