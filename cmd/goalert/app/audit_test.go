package app_test

// Black-box tests of the audit queries (events, alertHistory) through the
// real HTTP server: who may read them, what the filters select, paging,
// and that password hashes never leave the server.

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/oncallhq/goalert/cmd/goalert/app/apptest"
	"github.com/oncallhq/goalert/domain/user"
	"github.com/oncallhq/goalert/events"
)

// eventNode is what GraphQL shows of an event.
type eventNode struct {
	ID         string  `json:"id"`
	Position   float64 `json:"position"`
	Stream     string  `json:"stream"`
	Version    int     `json:"version"`
	Name       string  `json:"name"`
	OccurredAt string  `json:"occurredAt"`
	Actor      string  `json:"actor"`
	ActorName  string  `json:"actorName"`
	Source     string  `json:"source"`
	Payload    string  `json:"payload"`
}

const eventFields = `id position stream version name occurredAt actor actorName source payload`

const eventsQuery = `query($in: EventSearchOptions) { events(input: $in) { nodes { ` + eventFields + ` } pageInfo { endCursor hasNextPage } } }`

type eventPage struct {
	Nodes    []eventNode
	PageInfo struct {
		EndCursor   *string
		HasNextPage bool
	}
}

// searchEvents runs the events query as the holder of token.
func searchEvents(t testing.TB, h *apptest.Harness, token string, in map[string]any) eventPage {
	t.Helper()
	var out struct{ Events eventPage }
	mustGQL(t, h, token, eventsQuery, map[string]any{"in": in}, &out)
	return out.Events
}

func names(nodes []eventNode) []string {
	out := make([]string, len(nodes))
	for i, n := range nodes {
		out[i] = n.Name
	}
	return out
}

func TestGraphQL_AuditEvents(t *testing.T) {
	t.Parallel()
	h := apptest.New(t)
	admin := newAccount(t, h, "Admin Ann", "ann", user.RoleAdmin)
	pat := newAccount(t, h, "Plain Pat", "pat", user.RoleUser)

	// Every change happens an hour after the one before on the server's
	// clock, so the time filters can pick them apart.
	h.Clock.Advance(time.Hour) // Start+1h: a service by Ann
	var svc struct{ CreateService struct{ ID string } }
	mustGQL(t, h, admin.Token, `mutation { createService(input: {name: "Billing", newIntegrationKeys: [{type: generic, name: "mon"}]}) { id } }`, nil, &svc)
	serviceID := svc.CreateService.ID

	h.Clock.Advance(time.Hour) // Start+2h: an alert by Pat
	a := createAlert(t, h, pat.Token, map[string]any{"serviceID": serviceID, "summary": "Invoices late"})

	h.Clock.Advance(time.Hour) // Start+3h: Ann acknowledges, then closes
	updateAlerts(t, h, bearer(admin.Token), "StatusAcknowledged", a.AlertID)
	updateAlerts(t, h, bearer(admin.Token), "StatusClosed", a.AlertID)

	h.Clock.Advance(time.Hour) // Start+4h: a user with a password, by Ann
	var cu struct{ CreateUser struct{ ID string } }
	mustGQL(t, h, admin.Token, `mutation { createUser(input: {username: "carl", password: "hunter2-hunter2", name: "Carl"}) { id } }`, nil, &cu)
	settle(t, h)

	alertStream := "alert-" + strconv.FormatInt(a.AlertID, 10)
	annActor := "user:" + admin.ID

	t.Run("entity prefix", func(t *testing.T) {
		page := searchEvents(t, h, admin.Token, map[string]any{"entity": "service-", "first": 100})
		if len(page.Nodes) == 0 {
			t.Fatal("events(entity: service-): no events")
		}
		for _, n := range page.Nodes {
			if !strings.HasPrefix(n.Stream, "service-") {
				t.Errorf("events(entity: service-): got an event of %s", n.Stream)
			}
		}
		created := page.Nodes[len(page.Nodes)-1]
		if created.Name != "service.created" || created.Stream != "service-"+serviceID || created.Version != 1 ||
			created.Actor != annActor || created.ActorName != "Admin Ann" || created.Source == "" {
			t.Errorf("oldest service event: got %+v, want service.created of %s by Admin Ann (%s)", created, serviceID, annActor)
		}
		var p events.ServiceCreated
		if err := json.Unmarshal([]byte(created.Payload), &p); err != nil || p.Name != "Billing" || p.ServiceID != serviceID {
			t.Errorf("service.created payload %q: want the service's JSON (%v)", created.Payload, err)
		}
		if !slices.Contains(names(page.Nodes), "service.integration_key_created") {
			t.Errorf("events(entity: service-): got %q, want the key's creation too", names(page.Nodes))
		}
	})

	t.Run("exact entity is newest first", func(t *testing.T) {
		page := searchEvents(t, h, admin.Token, map[string]any{"entity": alertStream})
		want := []string{"alert.closed", "alert.acknowledged", "alert.triggered"}
		if got := names(page.Nodes); !slices.Equal(got, want) {
			t.Fatalf("events(entity: %s): got %q, want %q", alertStream, got, want)
		}
		for i, n := range page.Nodes {
			if n.Stream != alertStream || n.Version != 3-i {
				t.Errorf("event %d: stream %s version %d, want %s version %d", i, n.Stream, n.Version, alertStream, 3-i)
			}
			if i > 0 && n.Position >= page.Nodes[i-1].Position {
				t.Errorf("event %d: position %v not before %v", i, n.Position, page.Nodes[i-1].Position)
			}
		}
		if page.PageInfo.HasNextPage {
			t.Error("three events on a page of 15: hasNextPage is true")
		}
		// alert-4 must not match alert-42.
		if got := searchEvents(t, h, admin.Token, map[string]any{"entity": alertStream + "0"}).Nodes; len(got) != 0 {
			t.Errorf("events(entity: %s0): got %q, want none", alertStream, names(got))
		}
	})

	t.Run("actor by id and by name", func(t *testing.T) {
		byID := searchEvents(t, h, admin.Token, map[string]any{"actor": "user:" + pat.ID, "first": 100})
		byName := searchEvents(t, h, admin.Token, map[string]any{"actor": "Plain Pat", "first": 100})
		for what, page := range map[string]eventPage{"user:" + pat.ID: byID, "Plain Pat": byName} {
			if got := names(page.Nodes); !slices.Contains(got, "alert.triggered") {
				t.Errorf("events(actor: %s): got %q, want Pat's alert.triggered", what, got)
			}
			for _, n := range page.Nodes {
				if n.Actor != "user:"+pat.ID {
					t.Errorf("events(actor: %s): got an event by %q (%s)", what, n.Actor, n.Name)
				}
			}
		}
		if len(byID.Nodes) != len(byName.Nodes) {
			t.Errorf("by id %d events, by name %d: want the same", len(byID.Nodes), len(byName.Nodes))
		}
		// Actor and entity combine.
		both := searchEvents(t, h, admin.Token, map[string]any{"actor": annActor, "entity": alertStream})
		if got, want := names(both.Nodes), []string{"alert.closed", "alert.acknowledged"}; !slices.Equal(got, want) {
			t.Errorf("events(actor: Ann, entity: %s): got %q, want %q", alertStream, got, want)
		}
	})

	t.Run("time window", func(t *testing.T) {
		at := func(d time.Duration) string { return apptest.Start.Add(d).Format(time.RFC3339) }
		page := searchEvents(t, h, admin.Token, map[string]any{"since": at(2 * time.Hour), "until": at(3 * time.Hour), "first": 100})
		if got, want := names(page.Nodes), []string{"alert.triggered"}; !slices.Equal(got, want) {
			t.Errorf("events from Start+2h until Start+3h: got %q, want %q", got, want)
		}
		for _, n := range searchEvents(t, h, admin.Token, map[string]any{"since": at(3 * time.Hour), "first": 100}).Nodes {
			if ts, err := time.Parse(time.RFC3339Nano, n.OccurredAt); err != nil || ts.Before(apptest.Start.Add(3*time.Hour)) {
				t.Errorf("events since Start+3h: got %s at %s", n.Name, n.OccurredAt)
			}
		}
		_, errs := gql(t, h, admin.Token, eventsQuery, map[string]any{"in": map[string]any{"since": at(3 * time.Hour), "until": at(time.Hour)}})
		wantGQLError(t, "events with until before since", errs, "INVALID_INPUT_VALUE")
	})

	t.Run("pages cover the log once, in order", func(t *testing.T) {
		all := searchEvents(t, h, admin.Token, map[string]any{"first": 100})
		if len(all.Nodes) < 10 || all.PageInfo.HasNextPage {
			t.Fatalf("events(first: 100): %d events, hasNextPage %v; want the whole small log", len(all.Nodes), all.PageInfo.HasNextPage)
		}
		var paged []eventNode
		after := ""
		for pages := 0; ; pages++ {
			if pages > len(all.Nodes) {
				t.Fatal("paging does not end")
			}
			p := searchEvents(t, h, admin.Token, map[string]any{"first": 3, "after": after})
			paged = append(paged, p.Nodes...)
			if !p.PageInfo.HasNextPage {
				break
			}
			if len(p.Nodes) != 3 || p.PageInfo.EndCursor == nil {
				t.Fatalf("a page before the last: %d events, cursor %v", len(p.Nodes), p.PageInfo.EndCursor)
			}
			after = *p.PageInfo.EndCursor
		}
		ids := func(ns []eventNode) []string {
			out := make([]string, len(ns))
			for i, n := range ns {
				out[i] = n.ID
			}
			return out
		}
		if !slices.Equal(ids(paged), ids(all.Nodes)) {
			t.Errorf("pages of 3 give %d events %q,\nwant the one page's %d %q", len(paged), names(paged), len(all.Nodes), names(all.Nodes))
		}
		_, errs := gql(t, h, admin.Token, eventsQuery, map[string]any{"in": map[string]any{"after": "bm90IGEgY3Vyc29y"}})
		wantGQLError(t, "events after a made-up cursor", errs, "INVALID_INPUT_VALUE")
	})

	t.Run("password hashes are masked", func(t *testing.T) {
		page := searchEvents(t, h, admin.Token, map[string]any{"entity": "user-", "first": 100})
		var sets int
		for _, n := range page.Nodes {
			if strings.Contains(n.Payload, "$2a$") || strings.Contains(n.Payload, "$2b$") {
				t.Errorf("%s of %s shows a bcrypt hash: %s", n.Name, n.Stream, n.Payload)
			}
			if n.Name != "user.basic_auth_set" {
				continue
			}
			sets++
			var p events.UserBasicAuthSet
			if err := json.Unmarshal([]byte(n.Payload), &p); err != nil || p.PasswordHash != events.Masked || p.Username == "" {
				t.Errorf("user.basic_auth_set payload %q: want the username and a masked hash (%v)", n.Payload, err)
			}
		}
		if sets != 3 { // ann, pat and carl
			t.Errorf("events(entity: user-): %d user.basic_auth_set events, want 3", sets)
		}
	})

	t.Run("plain users may not search the log", func(t *testing.T) {
		data, errs := gql(t, h, pat.Token, eventsQuery, map[string]any{"in": map[string]any{}})
		wantGQLError(t, "events as a plain user", errs, "FORBIDDEN")
		if string(data) != "null" {
			t.Errorf("events as a plain user: got data %s, want null", data)
		}
	})

	t.Run("alertHistory for every signed-in user", func(t *testing.T) {
		const q = `query($id: Int!) { alertHistory(id: $id) { ` + eventFields + ` } }`
		var out struct{ AlertHistory []eventNode }
		mustGQL(t, h, pat.Token, q, map[string]any{"id": a.AlertID}, &out)
		want := []string{"alert.triggered", "alert.acknowledged", "alert.closed"}
		if got := names(out.AlertHistory); !slices.Equal(got, want) {
			t.Fatalf("alertHistory as Pat: got %q, want %q", got, want)
		}
		first, last := out.AlertHistory[0], out.AlertHistory[2]
		if first.ActorName != "Plain Pat" || last.ActorName != "Admin Ann" || last.Actor != annActor {
			t.Errorf("alertHistory actors: created by %q, closed by %q (%s); want Plain Pat and Admin Ann", first.ActorName, last.ActorName, last.Actor)
		}
		var p events.AlertTriggered
		if err := json.Unmarshal([]byte(first.Payload), &p); err != nil || p.AlertID != a.AlertID || p.Summary != "Invoices late" {
			t.Errorf("alert.triggered payload %q: want alert %d's (%v)", first.Payload, a.AlertID, err)
		}
		if at, err := time.Parse(time.RFC3339Nano, first.OccurredAt); err != nil || !at.Equal(apptest.Start.Add(2*time.Hour)) {
			t.Errorf("alert.triggered occurred at %s, want %s", first.OccurredAt, apptest.Start.Add(2*time.Hour).Format(time.RFC3339))
		}
		data, errs := gql(t, h, pat.Token, q, map[string]any{"id": 987654})
		if len(errs) != 0 || string(data) != `{"alertHistory":[]}` {
			t.Errorf("alertHistory of an unknown alert: got %s %+v, want an empty list", data, errs)
		}
	})

	t.Run("signed out", func(t *testing.T) {
		status, _ := gqlRaw(t, h, nil, `{ alertHistory(id: 1) { id } }`, nil)
		if status != 401 {
			t.Errorf("alertHistory without a session: HTTP %d, want 401", status)
		}
	})
}
