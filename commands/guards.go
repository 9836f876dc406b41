package commands

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/oncallhq/goalert/events"
	"github.com/oncallhq/goalert/events/pgstore"
)

// guardTables are the write-side tables commands keep next to the log.
// RebuildGuards locks them all, so that no command changes a guard while
// it is recomputed.
const guardTables = "reservations, open_alerts, integration_key_tokens, system_limits, auth_sessions, config_values, escalation_state, heartbeat_state"

// serviceNameKey is the reservation key of a service name: names are
// unique regardless of case and surrounding spaces.
func serviceNameKey(name string) string { return strings.ToLower(strings.TrimSpace(name)) }

// sameServiceName reports whether a rename keeps the name's reservation.
func sameServiceName(a, b string) bool {
	return strings.EqualFold(strings.TrimSpace(a), strings.TrimSpace(b))
}

// RebuildGuards recomputes the write-side guard tables (the username and
// service name reservations, open_alerts, integration_key_tokens,
// system_limits, auth_sessions and config_values) from the event log, and moves
// alert_id_seq past every alert id in the log. It is what makes an
// imported log writable: the commands trust these tables, not the log.
//
// It runs in one transaction that first locks the guard tables: a command
// that has not written its guard rows yet waits, and one that has is
// committed before the log is read, so the result matches the log even
// while the server runs. Reservations of other scopes are left alone.
func RebuildGuards(ctx context.Context, pool *pgxpool.Pool, store *pgstore.Store) error {
	// Repeatable read takes its snapshot at the first query, after the
	// lock: every guard writer that got in first is in it.
	opts := pgx.TxOptions{IsoLevel: pgx.RepeatableRead}
	err := pgx.BeginTxFunc(ctx, pool, opts, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "LOCK TABLE "+guardTables+" IN EXCLUSIVE MODE"); err != nil {
			return fmt.Errorf("lock guard tables: %w", err)
		}
		g := newGuardState()
		if err := g.fold(ctx, tx, store); err != nil {
			return err
		}
		return g.write(ctx, tx)
	})
	if err != nil {
		return fmt.Errorf("rebuild guard tables: %w", err)
	}
	return nil
}

// claim is a reservation: the key an owner holds, since when, and the
// name it was derived from.
type claim struct {
	key  string
	at   time.Time
	name string
}

type keyToken struct {
	serviceID, keyType string
}

type openAlert struct {
	serviceID, dedupKey, status string
}

type authSession struct {
	userID  string
	created time.Time
	ended   *time.Time
}

// guardState is the guard tables' content, built by folding the log.
type guardState struct {
	usernames     map[string]claim // by user id
	serviceNames  map[string]claim // by service id
	tokens        map[string]keyToken
	keysOfService map[string][]string
	alerts        map[int64]openAlert
	maxAlertID    int64
	limits        map[string]int
	sessions      map[string]*authSession
	config        map[string]events.ConfigValueSet
	paging        *pagingGuards
	now           time.Time
}

func newGuardState() *guardState {
	return &guardState{
		usernames: map[string]claim{}, serviceNames: map[string]claim{},
		tokens: map[string]keyToken{}, keysOfService: map[string][]string{},
		alerts: map[int64]openAlert{}, limits: map[string]int{}, sessions: map[string]*authSession{},
		config: map[string]events.ConfigValueSet{}, paging: newPagingGuards(), now: time.Now(),
	}
}

// guardEvents are the events that move a guard; the rest of the log is
// not read.
var guardEvents = []string{
	events.UserBasicAuthSet{}.EventName(), events.UserDeleted{}.EventName(),
	events.ServiceCreated{}.EventName(), events.ServiceUpdated{}.EventName(), events.ServiceDeleted{}.EventName(),
	events.IntegrationKeyCreated{}.EventName(), events.IntegrationKeyDeleted{}.EventName(),
	events.AlertTriggered{}.EventName(), events.AlertAcknowledged{}.EventName(),
	events.AlertEscalationRequested{}.EventName(), events.AlertClosed{}.EventName(),
	events.SystemLimitSet{}.EventName(), events.ConfigValueSet{}.EventName(),
	events.SessionStarted{}.EventName(), events.SessionEnded{}.EventName(),
}

// fold applies every committed guard event in log order. It reads every
// committed row of the snapshot rather than pages below the snapshot's
// xmin (as ReadAfter does): a transaction still open would otherwise hide
// later, committed events whose guard rows already exist.
func (g *guardState) fold(ctx context.Context, tx pgx.Tx, store *pgstore.Store) error {
	rows, err := tx.Query(ctx, `SELECT `+pgstore.Columns+` FROM events
		WHERE event_name = ANY($1) ORDER BY events.transaction_id, events.global_position`, append(guardEvents, pagingGuardEvents...))
	if err != nil {
		return fmt.Errorf("read the log: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		env, err := pgstore.Scan(rows)
		if err != nil {
			return fmt.Errorf("read the log: %w", err)
		}
		e, err := store.Registry().DecodeEnvelope(env)
		if err != nil {
			return fmt.Errorf("event %s of %s: %w", env.ID, env.StreamID, err)
		}
		g.apply(e, env.OccurredAt)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read the log: %w", err)
	}
	return nil
}

// apply mirrors, event by event, the guard writes the commands make
// alongside the same events.
func (g *guardState) apply(e events.Event, at time.Time) {
	g.paging.apply(e, at)
	switch e := e.(type) {
	case events.UserBasicAuthSet:
		g.usernames[e.UserID] = claim{key: e.Username, at: at}
	case events.UserDeleted:
		delete(g.usernames, e.UserID)
	case events.ServiceCreated:
		g.serviceNames[e.ServiceID] = claim{key: serviceNameKey(e.Name), at: at, name: e.Name}
	case events.ServiceUpdated:
		g.renameService(e.ServiceID, e.Name, at)
	case events.ServiceDeleted:
		delete(g.serviceNames, e.ServiceID)
		for _, k := range g.keysOfService[e.ServiceID] {
			delete(g.tokens, k)
		}
		delete(g.keysOfService, e.ServiceID)
	case events.IntegrationKeyCreated:
		g.tokens[e.KeyID] = keyToken{e.ServiceID, e.Type}
		g.keysOfService[e.ServiceID] = append(g.keysOfService[e.ServiceID], e.KeyID)
	case events.IntegrationKeyDeleted:
		delete(g.tokens, e.KeyID)
	default:
		g.applyAlertOrConfig(e, at)
	}
}

// renameService moves a service's name reservation the way UpdateService
// does: only when the name changed other than in case or spacing.
func (g *guardState) renameService(id, name string, at time.Time) {
	c, ok := g.serviceNames[id]
	if !ok {
		return
	}
	if sameServiceName(name, c.name) {
		c.name = name
	} else {
		c = claim{key: serviceNameKey(name), at: at, name: name}
	}
	g.serviceNames[id] = c
}

func (g *guardState) applyAlertOrConfig(e events.Event, at time.Time) {
	switch e := e.(type) {
	case events.AlertTriggered:
		g.alerts[e.AlertID] = openAlert{e.ServiceID, e.DedupKey, "triggered"}
		g.maxAlertID = max(g.maxAlertID, e.AlertID)
	case events.AlertAcknowledged:
		g.setAlertStatus(e.AlertID, "active")
	case events.AlertEscalationRequested:
		g.setAlertStatus(e.AlertID, "triggered")
	case events.AlertClosed:
		delete(g.alerts, e.AlertID)
	case events.SystemLimitSet:
		g.limits[e.LimitID] = e.Value
	case events.ConfigValueSet:
		g.config[e.ID] = e
	case events.SessionStarted:
		g.sessions[e.SessionID] = &authSession{userID: e.UserID, created: at}
	case events.SessionEnded:
		if s, ok := g.sessions[e.SessionID]; ok && s.ended == nil {
			s.ended = &at
		}
	}
}

func (g *guardState) setAlertStatus(id int64, status string) {
	if a, ok := g.alerts[id]; ok {
		a.status = status
		g.alerts[id] = a
	}
}

// write replaces the guard tables' content with g. DELETE rather than
// TRUNCATE: readers with an older snapshot keep seeing the old rows.
func (g *guardState) write(ctx context.Context, tx pgx.Tx) error {
	for _, q := range []string{
		`DELETE FROM reservations WHERE scope IN ('` + scopeUsername + `', '` + scopeServiceName + `', '` +
			scopeContactDest + `', '` + scopePolicyName + `')`,
		`DELETE FROM escalation_state`, `DELETE FROM heartbeat_state`,
		`DELETE FROM open_alerts`, `DELETE FROM integration_key_tokens`,
		`DELETE FROM system_limits`, `DELETE FROM auth_sessions`, `DELETE FROM config_values`,
	} {
		if _, err := tx.Exec(ctx, q); err != nil {
			return fmt.Errorf("empty guard table: %w", err)
		}
	}
	tables := []struct {
		name string
		cols []string
		rows [][]any
	}{
		{"reservations", []string{"scope", "key", "owner", "created_at"}, append(g.reservationRows(), g.paging.reservationRows()...)},
		{"escalation_state", []string{"alert_id", "service_id", "policy_id", "step", "repeat", "due_at", "last_escalation", "escalation_seq"},
			g.paging.escalationRows(g.alerts, g.now)},
		{"heartbeat_state", []string{"monitor_id", "service_id", "name", "timeout_minutes", "details", "muted", "state", "due_at", "alert_id"},
			g.paging.heartbeatRows(g.now)},
		{"open_alerts", []string{"alert_id", "service_id", "dedup_key", "status"}, g.alertRows()},
		{"integration_key_tokens", []string{"token", "service_id", "type"}, g.tokenRows()},
		{"system_limits", []string{"id", "value"}, g.limitRows()},
		{"auth_sessions", []string{"id", "user_id", "created_at", "ended_at"}, g.sessionRows()},
		{"config_values", []string{"id", "value", "encrypted"}, g.configRows()},
	}
	for _, t := range tables {
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{t.name}, t.cols, pgx.CopyFromRows(t.rows)); err != nil {
			return fmt.Errorf("fill %s: %w", t.name, err)
		}
	}
	return g.advanceAlertIDs(ctx, tx)
}

func (g *guardState) reservationRows() [][]any {
	rows := make([][]any, 0, len(g.usernames)+len(g.serviceNames))
	for owner, c := range g.usernames {
		rows = append(rows, []any{scopeUsername, c.key, owner, c.at})
	}
	for owner, c := range g.serviceNames {
		rows = append(rows, []any{scopeServiceName, c.key, owner, c.at})
	}
	return rows
}

func (g *guardState) alertRows() [][]any {
	rows := make([][]any, 0, len(g.alerts))
	for id, a := range g.alerts {
		rows = append(rows, []any{id, a.serviceID, a.dedupKey, a.status})
	}
	return rows
}

func (g *guardState) tokenRows() [][]any {
	rows := make([][]any, 0, len(g.tokens))
	for token, k := range g.tokens {
		rows = append(rows, []any{token, k.serviceID, k.keyType})
	}
	return rows
}

func (g *guardState) limitRows() [][]any {
	rows := make([][]any, 0, len(g.limits))
	for id, v := range g.limits {
		rows = append(rows, []any{id, v})
	}
	return rows
}

func (g *guardState) sessionRows() [][]any {
	rows := make([][]any, 0, len(g.sessions))
	for id, s := range g.sessions {
		rows = append(rows, []any{id, s.userID, s.created, s.ended})
	}
	return rows
}

func (g *guardState) configRows() [][]any {
	rows := make([][]any, 0, len(g.config))
	for id, v := range g.config {
		rows = append(rows, []any{id, v.Value, v.Encrypted})
	}
	return rows
}

// advanceAlertIDs makes the next alert id larger than every id in the
// log. It never moves the sequence back: ids handed out to triggers that
// were refused, or that wait on the lock, must not be handed out again.
func (g *guardState) advanceAlertIDs(ctx context.Context, tx pgx.Tx) error {
	var last int64
	var called bool
	if err := tx.QueryRow(ctx, `SELECT last_value, is_called FROM alert_id_seq`).Scan(&last, &called); err != nil {
		return fmt.Errorf("read alert_id_seq: %w", err)
	}
	if !called {
		last-- // nothing handed out yet: last_value is the next id
	}
	if g.maxAlertID <= last {
		return nil
	}
	if _, err := tx.Exec(ctx, `SELECT setval('alert_id_seq', $1)`, g.maxAlertID); err != nil {
		return fmt.Errorf("advance alert_id_seq: %w", err)
	}
	return nil
}
