package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/oncallhq/goalert/cmd/goalert/app"
	"github.com/oncallhq/goalert/commands"
	"github.com/oncallhq/goalert/domain/alert"
	"github.com/oncallhq/goalert/domain/service"
	"github.com/oncallhq/goalert/domain/user"
	"github.com/oncallhq/goalert/events"
)

// seedResult is the summary of the seed workload.
type seedResult struct {
	Workload     string         `json:"workload"`
	Events       int            `json:"events"`
	Streams      int            `json:"streams"`
	Seconds      float64        `json:"seconds"`
	Rate         float64        `json:"events_per_sec"`
	GuardSeconds float64        `json:"guard_seconds,omitempty"`
	ByName       map[string]int `json:"by_name"`
	LogMiB       float64        `json:"log_mib"`
}

func (r seedResult) String() string {
	s := fmt.Sprintf("seed: events=%d streams=%d rate=%.0f/s (%.1fs) users=%d services=%d alerts=%d log=%.0fMiB",
		r.Events, r.Streams, r.Rate, r.Seconds, r.ByName["user.created"], r.ByName["service.created"],
		r.ByName["alert.triggered"], r.LogMiB)
	if r.GuardSeconds > 0 {
		s += fmt.Sprintf(" guards=%.1fs", r.GuardSeconds)
	}
	return s
}

// seedOptions are the flags of the product log seeder, shared by seed and
// replay.
type seedOptions struct {
	events int
	chunk  int
	seed   uint64
	guards bool
}

func runSeed(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c common
	var o seedOptions
	fs := newFlags("seed", stderr, &c, false)
	addSeedFlags(fs, &o)
	fs.BoolVar(&o.guards, "guards", true, "rebuild the write-side guard tables from the seeded log, so the database is one the server can run on")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := positive(fs, map[string]float64{"events": float64(o.events), "chunk": float64(o.chunk)}); err != nil {
		return err
	}
	db, err := openDatabase(ctx, c, 2, stderr)
	if err != nil {
		return err
	}
	defer db.Close()
	res, err := seedProductLog(ctx, db.Pool, o)
	if err != nil {
		return err
	}
	return report(stdout, c.json, res.String(), res)
}

func addSeedFlags(fs *flag.FlagSet, o *seedOptions) {
	fs.IntVar(&o.events, "events", 1_000_000, "events to write")
	fs.IntVar(&o.chunk, "chunk", 20_000, "events per COPY transaction")
	fs.Uint64Var(&o.seed, "seed", 1, "random seed: the same seed and event count write the same log, but for its random ids")
}

// seedProductLog writes o.events events of the product's own types into
// the log with COPY, o.chunk per transaction, each transaction also moving
// the heads (event_streams) of the streams it wrote. It refuses a log that
// is not empty: the generated streams must start at version 1.
func seedProductLog(ctx context.Context, pool *pgxpool.Pool, o seedOptions) (seedResult, error) {
	res := seedResult{Workload: "seed", Events: o.events}
	var has bool
	if err := pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM events)`).Scan(&has); err != nil {
		return res, fmt.Errorf("check the log is empty: %w", err)
	}
	if has {
		return res, errors.New("the database already has events: seed writes into an empty log (use --fresh, or a freshly migrated database)")
	}
	g := newLogGen(o.seed, o.events)
	t0 := time.Now()
	rows := make([][]any, 0, o.chunk)
	heads := map[string]int64{}
	for written := 0; written < o.events; {
		rows = rows[:0]
		clear(heads)
		for len(rows) < o.chunk && written+len(rows) < o.events {
			r := g.next()
			rows = append(rows, r.values())
			heads[r.stream] = r.version
		}
		if err := writeChunk(ctx, pool, rows, heads); err != nil {
			return res, fmt.Errorf("seed events %d to %d: %w", written+1, written+len(rows), err)
		}
		written += len(rows)
	}
	res.Seconds = time.Since(t0).Seconds()
	res.Rate = float64(o.events) / res.Seconds
	res.Streams = len(g.versions)
	res.ByName = g.byName
	var size int64
	if err := pool.QueryRow(ctx, `SELECT pg_total_relation_size('events')`).Scan(&size); err != nil {
		return res, fmt.Errorf("measure the log: %w", err)
	}
	res.LogMiB = mib(size)
	if o.guards {
		t1 := time.Now()
		if err := commands.RebuildGuards(ctx, pool, app.NewStore()); err != nil {
			return res, err
		}
		res.GuardSeconds = time.Since(t1).Seconds()
	}
	// Fresh statistics: the replay's plans should not depend on whether
	// autovacuum got to the new table yet.
	if _, err := pool.Exec(ctx, `VACUUM ANALYZE events`); err != nil {
		return res, fmt.Errorf("vacuum the log: %w", err)
	}
	return res, nil
}

var seedColumns = []string{"stream_id", "stream_version", "event_id", "event_name", "schema_version", "payload", "metadata", "occurred_at"}

func writeChunk(ctx context.Context, pool *pgxpool.Pool, rows [][]any, heads map[string]int64) error {
	streams := make([]string, 0, len(heads))
	versions := make([]int64, 0, len(heads))
	for s, v := range heads {
		streams = append(streams, s)
		versions = append(versions, v)
	}
	return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"events"}, seedColumns, pgx.CopyFromRows(rows)); err != nil {
			return fmt.Errorf("copy events: %w", err)
		}
		_, err := tx.Exec(ctx, `
			INSERT INTO event_streams (stream_id, version, transaction_id)
			SELECT s, v, pg_current_xact_id() FROM unnest($1::text[], $2::bigint[]) AS u(s, v)
			ON CONFLICT (stream_id) DO UPDATE SET version = excluded.version, transaction_id = excluded.transaction_id`,
			streams, versions)
		if err != nil {
			return fmt.Errorf("move stream heads: %w", err)
		}
		return nil
	})
}

// genRow is one generated event, ready for COPY.
type genRow struct {
	stream  string
	version int64
	event   events.Event
	meta    []byte
	at      time.Time
}

func (r genRow) values() []any {
	payload, _ := json.Marshal(r.event) // the product's event structs always encode
	return []any{r.stream, r.version, uuid.Must(uuid.NewV7()), r.event.EventName(),
		int32(events.SchemaVersionOf(r.event)), payload, r.meta, r.at}
}

// logGen produces a plausible production log, event by event, in time
// order. The proportions follow a busy on-call installation: about one
// user per 2,000 events and one service per 10,000, sign-ins now and
// then, a little configuration churn, and the rest alert traffic. Alerts
// mostly arrive through integration keys; most are acknowledged before
// they close, some are closed by their monitor without an
// acknowledgement, some see duplicates or a manual escalation. About 150
// are open at any time, so alert streams interleave in the log as they do
// in production.
type logGen struct {
	rng      *rand.Rand
	now      time.Time
	versions map[string]int64
	byName   map[string]int

	users    []string
	services []genService
	open     []*genAlert
	nextID   int64
	maxOpen  int
	setup    []genRow // events made but not yet taken by next
	hash     string
}

type genService struct {
	id   string
	keys []string // integration key ids (tokens)
}

type genAlert struct {
	id      int64
	stream  string
	acked   bool
	dups    int
	service int
}

func newLogGen(seed uint64, total int) *logGen {
	g := &logGen{
		rng:      rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		now:      time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC),
		versions: map[string]int64{},
		byName:   map[string]int{},
		maxOpen:  300,
		// A bcrypt hash's shape and length; computing real ones would
		// time bcrypt, not the log.
		hash: "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy",
	}
	nUsers, nServices := max(2, total/2000), max(1, total/10000)
	admin := events.Metadata{Actor: "cli", ActorName: "root", Source: "cli"}
	for i := range nUsers {
		id := uuid.NewString()
		g.users = append(g.users, id)
		role := "user"
		if i < 3 {
			role = "admin"
		}
		name := fmt.Sprintf("User %d", i+1)
		g.emit(user.Stream(id), events.UserCreated{UserID: id, Name: name, Email: fmt.Sprintf("user%d@example.com", i+1), Role: role}, admin)
		g.emit(user.Stream(id), events.UserBasicAuthSet{UserID: id, Username: fmt.Sprintf("user%d", i+1), PasswordHash: g.hash}, admin)
	}
	for i := range nServices {
		id := uuid.NewString()
		by := g.person()
		s := genService{id: id}
		g.emit(service.Stream(id), events.ServiceCreated{ServiceID: id, Name: fmt.Sprintf("Service %d", i+1),
			Description: "Generated for the replay benchmark.", EscalationPolicyID: uuid.NewString()}, by)
		for k := range 1 + g.rng.IntN(3) {
			key := uuid.NewString()
			s.keys = append(s.keys, key)
			typ := []string{"generic", "grafana", "prometheusAlertmanager", "email"}[g.rng.IntN(4)]
			g.emit(service.Stream(id), events.IntegrationKeyCreated{ServiceID: id, KeyID: key, Name: fmt.Sprintf("%s %d", typ, k+1), Type: typ}, by)
		}
		g.emit(service.Stream(id), events.ServiceLabelSet{ServiceID: id, Key: "example.com/team", Value: "team-" + strconv.Itoa(i%7)}, by)
		g.services = append(g.services, s)
	}
	return g
}

// person returns the metadata of a random user acting through the web UI.
func (g *logGen) person() events.Metadata {
	i := g.rng.IntN(len(g.users))
	return events.Metadata{Actor: "user:" + g.users[i], ActorName: fmt.Sprintf("User %d", i+1), Source: "web"}
}

func (g *logGen) emit(stream string, e events.Event, m events.Metadata) {
	g.now = g.now.Add(time.Duration(1+g.rng.IntN(4000)) * time.Millisecond)
	g.versions[stream]++
	meta, _ := json.Marshal(m)
	g.setup = append(g.setup, genRow{stream: stream, version: g.versions[stream], event: e, meta: meta, at: g.now})
	g.byName[e.EventName()]++
}

// next returns the next event of the log: the setup events first, then
// generated traffic.
func (g *logGen) next() genRow {
	if len(g.setup) == 0 {
		g.traffic()
	}
	r := g.setup[0]
	g.setup = g.setup[1:]
	return r
}

// traffic emits the next step of activity: usually one alert event,
// sometimes a sign-in or a configuration change.
func (g *logGen) traffic() {
	switch roll := g.rng.Float64(); {
	case roll < 0.015:
		g.signIn()
		return
	case roll < 0.02:
		g.configChange()
		return
	}
	// An alert makes about three events, so a new one is due about every
	// third step. Fewer arrive as more are open, which holds the open
	// count near half of maxOpen.
	pNew := 0.68 * (1 - float64(len(g.open))/float64(g.maxOpen))
	if len(g.open) == 0 || g.rng.Float64() < pNew {
		g.triggerAlert()
		return
	}
	i := g.rng.IntN(len(g.open))
	a := g.open[i]
	roll := g.rng.Float64()
	switch {
	case !a.acked && roll < 0.08 && a.dups < 3:
		a.dups++
		g.emit(a.stream, events.AlertDeduplicated{AlertID: a.id}, g.keyActor(a.service))
	case !a.acked && roll < 0.82:
		a.acked = true
		m := g.person()
		m.Source = []string{"web", "sms", "voice", "slack"}[g.rng.IntN(4)]
		g.emit(a.stream, events.AlertAcknowledged{AlertID: a.id}, m)
	case a.acked && roll < 0.04:
		a.acked = false
		g.emit(a.stream, events.AlertEscalationRequested{AlertID: a.id}, g.person())
	default:
		// Closed by a person or by the monitor's resolve.
		m := g.keyActor(a.service)
		if g.rng.IntN(3) == 0 {
			m = g.person()
		}
		g.emit(a.stream, events.AlertClosed{AlertID: a.id}, m)
		g.open[i] = g.open[len(g.open)-1]
		g.open = g.open[:len(g.open)-1]
	}
}

func (g *logGen) keyActor(svc int) events.Metadata {
	keys := g.services[svc].keys
	return events.Metadata{Actor: "integration_key:" + keys[g.rng.IntN(len(keys))], Source: "generic"}
}

func (g *logGen) triggerAlert() {
	g.nextID++
	svc := g.rng.IntN(len(g.services))
	a := &genAlert{id: g.nextID, stream: alert.Stream(g.nextID), service: svc}
	n := alert.New{
		ServiceID: g.services[svc].id,
		Summary:   fmt.Sprintf("High error rate on host-%d (%d%% 5xx)", g.rng.IntN(500), 5+g.rng.IntN(60)),
		Details:   "Error rate above the threshold for 5 minutes.\nRunbook: https://wiki.example.com/runbooks/errors",
		Meta:      map[string]string{"host": "host-" + strconv.Itoa(g.rng.IntN(500))},
	}
	var m events.Metadata
	if g.rng.IntN(10) < 9 {
		keys := g.services[svc].keys
		n.IntegrationKeyID = keys[g.rng.IntN(len(keys))]
		n.Source = "generic"
		n.Dedup = "check-" + strconv.FormatInt(g.nextID, 10)
		m = events.Metadata{Actor: "integration_key:" + n.IntegrationKeyID, Source: "generic"}
	} else {
		n.Source = alert.SourceManual
		m = g.person()
	}
	n, _ = n.Normalize() // generated summaries and details are within the limits
	g.emit(a.stream, alert.Trigger(a.id, n)[0], m)
	g.open = append(g.open, a)
}

func (g *logGen) signIn() {
	i := g.rng.IntN(len(g.users))
	sid := uuid.NewString()
	g.emit("session-"+sid, events.SessionStarted{SessionID: sid, UserID: g.users[i], Provider: "basic",
		UserAgent: "Mozilla/5.0 (X11; Linux x86_64)", IP: "192.0.2." + strconv.Itoa(1+g.rng.IntN(250))},
		events.Metadata{Actor: "user:" + g.users[i], ActorName: fmt.Sprintf("User %d", i+1), Source: "web"})
}

func (g *logGen) configChange() {
	by := g.person()
	switch g.rng.IntN(3) {
	case 0:
		i := g.rng.IntN(len(g.users))
		id := g.users[i]
		g.emit(user.Stream(id), events.UserUpdated{UserID: id, Name: fmt.Sprintf("User %d", i+1),
			Email: fmt.Sprintf("user%d+%d@example.com", i+1, g.rng.IntN(100)), Role: "user"}, by)
	case 1:
		s := g.services[g.rng.IntN(len(g.services))]
		g.emit(service.Stream(s.id), events.ServiceLabelSet{ServiceID: s.id, Key: "example.com/tier", Value: strconv.Itoa(g.rng.IntN(3))}, by)
	default:
		s := g.services[g.rng.IntN(len(g.services))]
		until := time.Time{}
		if g.rng.IntN(2) == 0 {
			until = g.now.Add(time.Hour)
		}
		g.emit(service.Stream(s.id), events.ServiceMaintenanceSet{ServiceID: s.id, ExpiresAt: until}, by)
	}
}
