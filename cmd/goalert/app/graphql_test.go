package app_test

// Black-box tests of the GraphQL API (COMPAT §3, §7) through the real HTTP
// server, as GoAlert's web UI and scripts use it.

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/oncallhq/goalert/cmd/goalert/app/apptest"
	"github.com/oncallhq/goalert/commands"
	"github.com/oncallhq/goalert/domain/user"
)

const createAlertMutation = `mutation($in: CreateAlertInput!) { createAlert(input: $in) { ` + alertFields + ` } }`

// createAlert creates an alert through GraphQL as the holder of token.
func createAlert(t testing.TB, h *apptest.Harness, token string, in map[string]any) alertView {
	t.Helper()
	var out struct{ CreateAlert *alertView }
	mustGQL(t, h, token, createAlertMutation, map[string]any{"in": in}, &out)
	if out.CreateAlert == nil {
		t.Fatalf("createAlert %v: got null, want the alert", in)
	}
	return *out.CreateAlert
}

const updateAlertsMutation = `mutation($ids: [Int!]!, $status: AlertStatus!) {
	updateAlerts(input: {alertIDs: $ids, newStatus: $status}) { alertID status } }`

type alertStatus struct {
	AlertID int64
	Status  string
}

// updateAlerts sets the status of ids and returns what the API reports
// changed.
func updateAlerts(t testing.TB, h *apptest.Harness, auth func(*http.Request), status string, ids ...int64) []alertStatus {
	t.Helper()
	data, errs := gqlAs(t, h, auth, updateAlertsMutation, map[string]any{"ids": ids, "status": status})
	var out struct{ UpdateAlerts []alertStatus }
	decodeGQL(t, "updateAlerts", data, errs, &out)
	return out.UpdateAlerts
}

func TestGraphQL_Alerts(t *testing.T) {
	t.Parallel()
	h := apptest.New(t)
	admin := newAccount(t, h, "Admin Ann", "ann", user.RoleAdmin)
	api := bearer(admin.Token)
	storefront, _ := newService(t, h, "Storefront")
	payments, payKeys := newService(t, h, "Payments", "generic")

	t.Run("createAlert and alert(id)", func(t *testing.T) {
		a := createAlert(t, h, admin.Token, map[string]any{
			"serviceID": storefront, "summary": "Checkout errors", "details": "5xx rate at 12%",
			"meta": []map[string]string{{"key": "runbook", "value": "https://wiki.example/checkout"}},
		})
		if a.Status != "StatusUnacknowledged" || a.Summary != "Checkout errors" || a.Details != "5xx rate at 12%" ||
			a.ServiceID != storefront || a.Service == nil || a.Service.Name != "Storefront" || a.ID != strconv.FormatInt(a.AlertID, 10) {
			t.Errorf("createAlert: got %+v, want an unacknowledged alert on Storefront with the summary and details", a)
		}
		if got, want := a.messages(), []string{"Created by Admin Ann (API)"}; !slices.Equal(got, want) {
			t.Errorf("createAlert log: got %q, want %q", got, want)
		}
		if got := fmt.Sprint(a.Meta); got != "[{runbook https://wiki.example/checkout}]" {
			t.Errorf("createAlert meta: got %s, want [{runbook https://wiki.example/checkout}]", got)
		}
		read := getAlert(t, h, admin.Token, a.AlertID)
		if read == nil || read.Summary != a.Summary || read.Status != a.Status || read.Service == nil || read.Service.Name != "Storefront" {
			t.Errorf("alert(id: %d): got %+v, want what createAlert returned", a.AlertID, read)
		}
		for _, m := range read.messages() {
			if !strings.HasPrefix(m, "Created") {
				t.Errorf("log message %q of a new alert: want it to start with Created", m)
			}
		}
		// The same dedup key returns the open alert instead of a new one.
		d1 := createAlert(t, h, admin.Token, map[string]any{"serviceID": storefront, "summary": "Dedup me", "dedup": "manual-1"})
		d2 := createAlert(t, h, admin.Token, map[string]any{"serviceID": storefront, "summary": "Dedup me again", "dedup": "manual-1"})
		if d1.AlertID != d2.AlertID {
			t.Errorf("createAlert twice with dedup manual-1: got alerts %d and %d, want the same", d1.AlertID, d2.AlertID)
		}
	})

	t.Run("createAlert bad input", func(t *testing.T) {
		_, errs := gql(t, h, admin.Token, createAlertMutation, map[string]any{"in": map[string]any{"serviceID": uuid.NewString(), "summary": "x"}})
		wantGQLError(t, "createAlert on an unknown service", errs, "NOT_FOUND")
		_, errs = gql(t, h, admin.Token, createAlertMutation, map[string]any{"in": map[string]any{"serviceID": "not-an-id", "summary": "x"}})
		wantGQLError(t, "createAlert on a malformed service id", errs, "NOT_FOUND")
		_, errs = gql(t, h, admin.Token, createAlertMutation, map[string]any{"in": map[string]any{"serviceID": storefront, "summary": strings.Repeat("s", 1025)}})
		e := wantGQLError(t, "createAlert with a 1025-character summary", errs, "INVALID_INPUT_VALUE")
		if e.Extensions["field"] != "summary" {
			t.Errorf("createAlert with a long summary: got extensions %v, want field summary", e.Extensions)
		}
	})

	t.Run("unknown alert id is null", func(t *testing.T) {
		data, errs := gql(t, h, admin.Token, `{ alert(id: 987654) { id } }`, nil)
		if len(errs) != 0 || string(data) != `{"alert":null}` {
			t.Errorf("alert(id: 987654): got data %s errors %+v, want {\"alert\":null} and no errors", data, errs)
		}
	})

	// Five unacknowledged alerts on Payments, then one acknowledged.
	var unacked []int64 // newest first
	for i := 1; i <= 5; i++ {
		a := createAlert(t, h, admin.Token, map[string]any{"serviceID": payments, "summary": fmt.Sprintf("Payment failure %d", i)})
		unacked = append([]int64{a.AlertID}, unacked...)
	}
	acked := createAlert(t, h, admin.Token, map[string]any{"serviceID": payments, "summary": "Payment gateway slow"})
	updateAlerts(t, h, api, "StatusAcknowledged", acked.AlertID)

	type page struct {
		Alerts struct {
			Nodes []struct {
				AlertID   int64
				Status    string
				ServiceID string
			}
			PageInfo struct {
				HasNextPage bool
				EndCursor   *string
			}
		}
	}
	const alertsQuery = `query($in: AlertSearchOptions) { alerts(input: $in) { nodes { alertID status serviceID } pageInfo { hasNextPage endCursor } } }`

	t.Run("alerts pagination and filters", func(t *testing.T) {
		var got []int64
		after := ""
		for n := 0; ; n++ {
			if n > 5 {
				t.Fatalf("alerts: still more pages after %d, got %v so far", n, got)
			}
			var p page
			mustGQL(t, h, admin.Token, alertsQuery, map[string]any{"in": map[string]any{
				"filterByStatus": []string{"StatusUnacknowledged"}, "filterByServiceID": []string{payments}, "first": 2, "after": after,
			}}, &p)
			if len(p.Alerts.Nodes) > 2 {
				t.Fatalf("page %d: got %d nodes, want at most 2", n, len(p.Alerts.Nodes))
			}
			for _, a := range p.Alerts.Nodes {
				if a.Status != "StatusUnacknowledged" || a.ServiceID != payments {
					t.Errorf("page %d: got %+v, want only unacknowledged Payments alerts", n, a)
				}
				got = append(got, a.AlertID)
			}
			if !p.Alerts.PageInfo.HasNextPage {
				break
			}
			if p.Alerts.PageInfo.EndCursor == nil || *p.Alerts.PageInfo.EndCursor == "" {
				t.Fatalf("page %d: hasNextPage without an endCursor", n)
			}
			after = *p.Alerts.PageInfo.EndCursor
		}
		if !slices.Equal(got, unacked) {
			t.Errorf("alerts over all pages: got %v, want %v (newest first, each once)", got, unacked)
		}

		var p page
		mustGQL(t, h, admin.Token, alertsQuery, map[string]any{"in": map[string]any{
			"filterByStatus": []string{"StatusAcknowledged"}, "filterByServiceID": []string{payments},
		}}, &p)
		if len(p.Alerts.Nodes) != 1 || p.Alerts.Nodes[0].AlertID != acked.AlertID || p.Alerts.Nodes[0].Status != "StatusAcknowledged" {
			t.Errorf("acknowledged Payments alerts: got %+v, want only alert %d", p.Alerts.Nodes, acked.AlertID)
		}
		mustGQL(t, h, admin.Token, alertsQuery, map[string]any{"in": map[string]any{"filterByServiceID": []string{storefront}, "first": 100}}, &p)
		for _, a := range p.Alerts.Nodes {
			if a.ServiceID != storefront {
				t.Errorf("Storefront filter: got alert %d of service %s", a.AlertID, a.ServiceID)
			}
		}
		if len(p.Alerts.Nodes) == 0 {
			t.Errorf("Storefront filter: got no alerts, want the ones created on it")
		}
		// No filter at all lists every service's alerts.
		mustGQL(t, h, admin.Token, alertsQuery, map[string]any{"in": map[string]any{"first": 100}}, &p)
		services := map[string]bool{}
		for _, a := range p.Alerts.Nodes {
			services[a.ServiceID] = true
		}
		if !services[storefront] || !services[payments] {
			t.Errorf("alerts without filters: got alerts of services %v, want Storefront and Payments", services)
		}
	})

	t.Run("alerts omit keeps pagination whole", func(t *testing.T) {
		// The UI omits alerts it already shows; the pages must still
		// reach every other alert.
		var got []int64
		after := ""
		for n := 0; ; n++ {
			if n > 5 {
				t.Fatalf("alerts with omit: still more pages after %d", n)
			}
			var p page
			mustGQL(t, h, admin.Token, alertsQuery, map[string]any{"in": map[string]any{
				"filterByServiceID": []string{payments}, "filterByStatus": []string{"StatusUnacknowledged"},
				"first": 2, "after": after, "omit": []int64{unacked[0]},
			}}, &p)
			for _, a := range p.Alerts.Nodes {
				got = append(got, a.AlertID)
			}
			if !p.Alerts.PageInfo.HasNextPage || p.Alerts.PageInfo.EndCursor == nil {
				break
			}
			after = *p.Alerts.PageInfo.EndCursor
		}
		if want := unacked[1:]; !slices.Equal(got, want) {
			t.Errorf("alerts omitting %d, 2 a page: got %v, want %v", unacked[0], got, want)
		}
	})

	t.Run("alerts search", func(t *testing.T) {
		var p page
		mustGQL(t, h, admin.Token, alertsQuery, map[string]any{"in": map[string]any{"search": "payment FAILURE 3"}}, &p)
		if len(p.Alerts.Nodes) != 1 || p.Alerts.Nodes[0].AlertID != unacked[2] {
			t.Errorf("search \"payment FAILURE 3\": got %+v, want only alert %d", p.Alerts.Nodes, unacked[2])
		}
		mustGQL(t, h, admin.Token, alertsQuery, map[string]any{"in": map[string]any{"search": strconv.FormatInt(acked.AlertID, 10)}}, &p)
		if len(p.Alerts.Nodes) != 1 || p.Alerts.Nodes[0].AlertID != acked.AlertID {
			t.Errorf("search by alert number %d: got %+v, want that alert", acked.AlertID, p.Alerts.Nodes)
		}
		mustGQL(t, h, admin.Token, alertsQuery, map[string]any{"in": map[string]any{"search": "no such alert anywhere"}}, &p)
		if len(p.Alerts.Nodes) != 0 || p.Alerts.PageInfo.HasNextPage {
			t.Errorf("search without a match: got %+v, want no alerts", p.Alerts)
		}
	})

	t.Run("acknowledge records who and how", func(t *testing.T) {
		web := createAlert(t, h, admin.Token, map[string]any{"serviceID": storefront, "summary": "Ack from the browser"})
		got := updateAlerts(t, h, withCookie(admin.Token), "StatusAcknowledged", web.AlertID)
		if want := []alertStatus{{web.AlertID, "StatusAcknowledged"}}; !slices.Equal(got, want) {
			t.Errorf("updateAlerts acknowledge (cookie): got %+v, want %+v", got, want)
		}
		if msgs := getAlert(t, h, admin.Token, web.AlertID).messages(); len(msgs) == 0 || msgs[0] != "Acknowledged by Admin Ann (Web)" {
			t.Errorf("log after a browser ack: got %q, want newest \"Acknowledged by Admin Ann (Web)\"", msgs)
		}
		script := createAlert(t, h, admin.Token, map[string]any{"serviceID": storefront, "summary": "Ack from a script"})
		updateAlerts(t, h, api, "StatusAcknowledged", script.AlertID)
		if msgs := getAlert(t, h, admin.Token, script.AlertID).messages(); len(msgs) == 0 || msgs[0] != "Acknowledged by Admin Ann (API)" {
			t.Errorf("log after a Bearer-token ack: got %q, want newest \"Acknowledged by Admin Ann (API)\"", msgs)
		}
	})

	t.Run("updateAlerts skips alerts already there", func(t *testing.T) {
		x := createAlert(t, h, admin.Token, map[string]any{"serviceID": storefront, "summary": "Will be closed"})
		z := createAlert(t, h, admin.Token, map[string]any{"serviceID": storefront, "summary": "Still open"})
		if got, want := updateAlerts(t, h, api, "StatusClosed", x.AlertID), []alertStatus{{x.AlertID, "StatusClosed"}}; !slices.Equal(got, want) {
			t.Errorf("close: got %+v, want %+v", got, want)
		}
		if msgs := getAlert(t, h, admin.Token, x.AlertID).messages(); len(msgs) == 0 || msgs[0] != "Closed by Admin Ann (API)" {
			t.Errorf("log after close: got %q, want newest \"Closed by Admin Ann (API)\"", msgs)
		}
		got := updateAlerts(t, h, api, "StatusAcknowledged", x.AlertID, z.AlertID)
		if want := []alertStatus{{z.AlertID, "StatusAcknowledged"}}; !slices.Equal(got, want) {
			t.Errorf("acknowledge a closed and an open alert: got %+v, want only %+v", got, want)
		}
		if a := getAlert(t, h, admin.Token, x.AlertID); a.Status != "StatusClosed" {
			t.Errorf("closed alert after an ack: got %s, want StatusClosed (never backwards)", a.Status)
		}
		if got := updateAlerts(t, h, api, "StatusAcknowledged", z.AlertID); len(got) != 0 {
			t.Errorf("acknowledge an acknowledged alert: got %+v, want an empty list", got)
		}
		if got := updateAlerts(t, h, api, "StatusClosed", x.AlertID); len(got) != 0 {
			t.Errorf("close a closed alert: got %+v, want an empty list", got)
		}
	})

	t.Run("updateAlerts to StatusUnacknowledged is invalid", func(t *testing.T) {
		a := createAlert(t, h, admin.Token, map[string]any{"serviceID": storefront, "summary": "Cannot go back"})
		updateAlerts(t, h, api, "StatusAcknowledged", a.AlertID)
		_, errs := gql(t, h, admin.Token, updateAlertsMutation, map[string]any{"ids": []int64{a.AlertID}, "status": "StatusUnacknowledged"})
		wantGQLError(t, "updateAlerts newStatus StatusUnacknowledged", errs, "INVALID_INPUT_VALUE")
		if got := getAlert(t, h, admin.Token, a.AlertID).Status; got != "StatusAcknowledged" {
			t.Errorf("alert after the refused update: got %s, want StatusAcknowledged", got)
		}
	})

	t.Run("escalateAlerts re-triggers an acknowledged alert", func(t *testing.T) {
		a := createAlert(t, h, admin.Token, map[string]any{"serviceID": storefront, "summary": "Needs more eyes"})
		updateAlerts(t, h, api, "StatusAcknowledged", a.AlertID)
		var out struct{ EscalateAlerts []alertStatus }
		mustGQL(t, h, admin.Token, `mutation($ids: [Int!]) { escalateAlerts(input: $ids) { alertID status } }`, map[string]any{"ids": []int64{a.AlertID}}, &out)
		if want := []alertStatus{{a.AlertID, "StatusUnacknowledged"}}; !slices.Equal(out.EscalateAlerts, want) {
			t.Errorf("escalateAlerts: got %+v, want %+v", out.EscalateAlerts, want)
		}
		if msgs := getAlert(t, h, admin.Token, a.AlertID).messages(); len(msgs) == 0 || msgs[0] != "Escalation requested by Admin Ann (API)" {
			t.Errorf("log after escalate: got %q, want newest \"Escalation requested by Admin Ann (API)\"", msgs)
		}
	})

	t.Run("updateAlertsByService", func(t *testing.T) {
		svc, _ := newService(t, h, "Batch jobs")
		var ids []int64
		for i := range 3 {
			ids = append(ids, createAlert(t, h, admin.Token, map[string]any{"serviceID": svc, "summary": fmt.Sprintf("Job %d failed", i)}).AlertID)
		}
		updateAlerts(t, h, api, "StatusAcknowledged", ids[0])
		const byService = `mutation($svc: ID!, $status: AlertStatus!) { updateAlertsByService(input: {serviceID: $svc, newStatus: $status}) }`
		var out struct{ UpdateAlertsByService bool }
		mustGQL(t, h, admin.Token, byService, map[string]any{"svc": svc, "status": "StatusAcknowledged"}, &out)
		for _, a := range serviceAlerts(t, h, admin.Token, svc) {
			if a.Status != "StatusAcknowledged" {
				t.Errorf("after acknowledging by service: alert %d is %s, want StatusAcknowledged", a.AlertID, a.Status)
			}
		}
		mustGQL(t, h, admin.Token, byService, map[string]any{"svc": svc, "status": "StatusClosed"}, &out)
		if !out.UpdateAlertsByService {
			t.Errorf("updateAlertsByService: got false, want true")
		}
		list := serviceAlerts(t, h, admin.Token, svc)
		if len(list) != 3 {
			t.Fatalf("alerts of the service: got %d, want 3", len(list))
		}
		for _, a := range list {
			if a.Status != "StatusClosed" {
				t.Errorf("after closing by service: alert %d is %s, want StatusClosed", a.AlertID, a.Status)
			}
		}
		// Other services are untouched.
		if a := getAlert(t, h, admin.Token, unacked[0]); a.Status != "StatusUnacknowledged" {
			t.Errorf("a Payments alert after closing Batch jobs: got %s, want StatusUnacknowledged", a.Status)
		}
	})

	t.Run("closeMatchingAlert", func(t *testing.T) {
		const closeMatching = `mutation($in: CloseMatchingAlertInput!) { closeMatchingAlert(input: $in) }`
		closeIt := func(t *testing.T, in map[string]any) {
			t.Helper()
			var out struct{ CloseMatchingAlert bool }
			mustGQL(t, h, admin.Token, closeMatching, map[string]any{"in": in}, &out)
			if !out.CloseMatchingAlert {
				t.Errorf("closeMatchingAlert %v: got false, want true", in)
			}
		}
		a := createAlert(t, h, admin.Token, map[string]any{"serviceID": payments, "summary": "Match me", "dedup": "cm-1"})
		closeIt(t, map[string]any{"serviceID": payments, "dedup": "cm-1"})
		if got := getAlert(t, h, admin.Token, a.AlertID).Status; got != "StatusClosed" {
			t.Errorf("alert after closeMatchingAlert by dedup: got %s, want StatusClosed", got)
		}
		// An alert from the generic API is matched by its dedup key too.
		g := trigger(t, h, payKeys[0], "From monitoring", "ingest-1")
		closeIt(t, map[string]any{"serviceID": payments, "dedup": "ingest-1"})
		if got := getAlert(t, h, admin.Token, g.AlertID).Status; got != "StatusClosed" {
			t.Errorf("ingested alert after closeMatchingAlert: got %s, want StatusClosed", got)
		}
		// Without a dedup key, summary and details match.
		b := createAlert(t, h, admin.Token, map[string]any{"serviceID": payments, "summary": "Same text", "details": "same details"})
		closeIt(t, map[string]any{"serviceID": payments, "summary": "Same text", "details": "other details"})
		if got := getAlert(t, h, admin.Token, b.AlertID).Status; got != "StatusUnacknowledged" {
			t.Errorf("alert after closeMatchingAlert with other details: got %s, want still StatusUnacknowledged", got)
		}
		closeIt(t, map[string]any{"serviceID": payments, "summary": "Same text", "details": "same details"})
		if got := getAlert(t, h, admin.Token, b.AlertID).Status; got != "StatusClosed" {
			t.Errorf("alert after closeMatchingAlert by summary and details: got %s, want StatusClosed", got)
		}
		closeIt(t, map[string]any{"serviceID": payments, "dedup": "nothing-open"})
	})
}

func TestGraphQL_ServicesKeysUsers(t *testing.T) {
	t.Parallel()
	h := apptest.New(t)
	admin := newAccount(t, h, "Admin Ann", "ann", user.RoleAdmin)
	bob := newAccount(t, h, "Bob Plain", "bob", user.RoleUser)

	type key struct {
		ID        string
		ServiceID string
		Type      string
		Name      string
		Href      string
	}
	type service struct {
		ID              string
		Name            string
		Description     string
		IntegrationKeys []key
		Labels          []struct{ Key, Value string }
	}
	const serviceFields = `id name description integrationKeys { id serviceID type name href } labels { key value }`
	const createServiceMutation = `mutation($in: CreateServiceInput!) { createService(input: $in) { ` + serviceFields + ` } }`
	getService := func(t *testing.T, id string) *service {
		t.Helper()
		var out struct{ Service *service }
		mustGQL(t, h, admin.Token, `query($id: ID!) { service(id: $id) { `+serviceFields+` } }`, map[string]any{"id": id}, &out)
		return out.Service
	}

	var svc service
	t.Run("createService with keys", func(t *testing.T) {
		var out struct{ CreateService *service }
		mustGQL(t, h, admin.Token, createServiceMutation, map[string]any{"in": map[string]any{
			"name": "Payments API", "description": "Card payments",
			"newIntegrationKeys": []map[string]string{{"type": "generic", "name": "Monitoring"}, {"type": "grafana", "name": "Dashboards"}},
		}}, &out)
		if out.CreateService == nil {
			t.Fatal("createService: got null")
		}
		svc = *out.CreateService
		if svc.Name != "Payments API" || svc.Description != "Card payments" || len(svc.IntegrationKeys) != 2 {
			t.Fatalf("createService: got %+v, want Payments API with 2 keys", svc)
		}
		byType := map[string]key{}
		for _, k := range svc.IntegrationKeys {
			byType[k.Type] = k
			if k.ServiceID != svc.ID || k.ID == "" || !strings.Contains(k.Href, k.ID) {
				t.Errorf("key %+v: want serviceID %s and an href containing its id", k, svc.ID)
			}
		}
		gen := byType["generic"]
		if gen.Name != "Monitoring" || !strings.Contains(gen.Href, "/api/v2/generic/incoming?token="+gen.ID) {
			t.Errorf("generic key: got %+v, want name Monitoring and href …/api/v2/generic/incoming?token=<id>", gen)
		}
		if gr := byType["grafana"]; gr.Name != "Dashboards" || !strings.Contains(gr.Href, "/api/v2/grafana/incoming") {
			t.Errorf("grafana key: got %+v, want name Dashboards and the Grafana endpoint", gr)
		}
		// The key's id is its token.
		if r := postForm(t, h.URL+"/api/v2/generic/incoming", url.Values{"token": {gen.ID}, "summary": {"via new key"}}); r.Status != http.StatusNoContent {
			t.Errorf("ingest with the new key's id: got %s, want 204", r)
		}
		// At most 5 keys with a new service.
		six := make([]map[string]string, 6)
		for i := range six {
			six[i] = map[string]string{"type": "generic", "name": fmt.Sprintf("k%d", i)}
		}
		_, errs := gql(t, h, admin.Token, createServiceMutation, map[string]any{"in": map[string]any{"name": "Six keys", "newIntegrationKeys": six}})
		wantGQLError(t, "createService with 6 keys", errs, "INVALID_INPUT_VALUE")
	})
	if svc.ID == "" {
		t.Fatal("no service to go on with")
	}

	t.Run("updateService and unique names", func(t *testing.T) {
		var ok struct{ UpdateService bool }
		mustGQL(t, h, admin.Token, `mutation($id: ID!) { updateService(input: {id: $id, name: "Payments"}) }`, map[string]any{"id": svc.ID}, &ok)
		if s := getService(t, svc.ID); !ok.UpdateService || s == nil || s.Name != "Payments" || s.Description != "Card payments" {
			t.Fatalf("after renaming: got %v %+v, want true and name Payments with the description kept", ok.UpdateService, s)
		}
		for _, name := range []string{"Payments", "payments", "  Payments "} {
			_, errs := gql(t, h, admin.Token, createServiceMutation, map[string]any{"in": map[string]any{"name": name}})
			wantGQLError(t, fmt.Sprintf("createService %q while Payments exists", name), errs, "CONFLICT")
		}
		// The old name is free again.
		var out struct{ CreateService *service }
		mustGQL(t, h, admin.Token, createServiceMutation, map[string]any{"in": map[string]any{"name": "Payments API"}}, &out)
		if out.CreateService == nil || out.CreateService.Name != "Payments API" {
			t.Errorf("createService with the old name: got %+v, want it created", out.CreateService)
		}
		_, errs := gql(t, h, admin.Token, `mutation($id: ID!) { updateService(input: {id: $id, name: "Payments"}) }`, map[string]any{"id": out.CreateService.ID})
		wantGQLError(t, "renaming a service to a taken name", errs, "CONFLICT")
	})

	t.Run("createIntegrationKey and integrationKey(id)", func(t *testing.T) {
		var out struct{ CreateIntegrationKey *key }
		mustGQL(t, h, admin.Token, `mutation($svc: ID!) { createIntegrationKey(input: {serviceID: $svc, type: site24x7, name: "Uptime"}) { id serviceID type name href } }`,
			map[string]any{"svc": svc.ID}, &out)
		k := out.CreateIntegrationKey
		if k == nil || k.Type != "site24x7" || k.Name != "Uptime" || k.ServiceID != svc.ID || !strings.Contains(k.Href, k.ID) {
			t.Fatalf("createIntegrationKey: got %+v, want a site24x7 key Uptime on %s", k, svc.ID)
		}
		var read struct{ IntegrationKey *key }
		mustGQL(t, h, admin.Token, `query($id: ID!) { integrationKey(id: $id) { id serviceID type name href } }`, map[string]any{"id": k.ID}, &read)
		if read.IntegrationKey == nil || *read.IntegrationKey != *k {
			t.Errorf("integrationKey(id): got %+v, want %+v", read.IntegrationKey, k)
		}
		r := postJSON(t, h.URL+"/api/v2/site24x7/incoming?token="+k.ID, map[string]string{"MONITORNAME": "pay.example.com", "STATUS": "DOWN"})
		if r.Status != http.StatusNoContent {
			t.Errorf("Site24x7 with the new key: got %s, want 204", r)
		}
		_, errs := gql(t, h, admin.Token, `mutation { createIntegrationKey(input: {type: generic, name: "Orphan"}) { id } }`, nil)
		wantGQLError(t, "createIntegrationKey without serviceID", errs, "INVALID_INPUT_VALUE")
		_, errs = gql(t, h, admin.Token, `mutation($svc: ID!) { createIntegrationKey(input: {serviceID: $svc, type: generic, name: ""}) { id } }`, map[string]any{"svc": svc.ID})
		wantGQLError(t, "createIntegrationKey with an empty name", errs, "INVALID_INPUT_VALUE")
		var none struct{ IntegrationKey *key }
		mustGQL(t, h, admin.Token, `query($id: ID!) { integrationKey(id: $id) { id } }`, map[string]any{"id": uuid.NewString()}, &none)
		if none.IntegrationKey != nil {
			t.Errorf("integrationKey of an unknown id: got %+v, want null", none.IntegrationKey)
		}
	})

	t.Run("services search", func(t *testing.T) {
		newService(t, h, "Search Engine")
		var out struct {
			Services struct{ Nodes []struct{ Name string } }
		}
		mustGQL(t, h, bob.Token, `query($s: String) { services(input: {search: $s}) { nodes { name } } }`, map[string]any{"s": "PAY"}, &out)
		var names []string
		for _, n := range out.Services.Nodes {
			names = append(names, n.Name)
		}
		if want := []string{"Payments", "Payments API"}; !slices.Equal(names, want) {
			t.Errorf("services search PAY: got %q, want %q", names, want)
		}
	})

	t.Run("setLabel and labels", func(t *testing.T) {
		const setLabel = `mutation($id: ID!, $k: String!, $v: String!) { setLabel(input: {target: {type: service, id: $id}, key: $k, value: $v}) }`
		var ok struct{ SetLabel bool }
		mustGQL(t, h, admin.Token, setLabel, map[string]any{"id": svc.ID, "k": "owner/team", "v": "payments-sre"}, &ok)
		mustGQL(t, h, admin.Token, setLabel, map[string]any{"id": svc.ID, "k": "example.com/tier", "v": "1"}, &ok)
		if got := fmt.Sprint(getService(t, svc.ID).Labels); got != "[{example.com/tier 1} {owner/team payments-sre}]" {
			t.Errorf("labels: got %s, want [{example.com/tier 1} {owner/team payments-sre}]", got)
		}
		mustGQL(t, h, admin.Token, setLabel, map[string]any{"id": svc.ID, "k": "example.com/tier", "v": ""}, &ok)
		if got := fmt.Sprint(getService(t, svc.ID).Labels); got != "[{owner/team payments-sre}]" {
			t.Errorf("labels after clearing one: got %s, want [{owner/team payments-sre}]", got)
		}
		_, errs := gql(t, h, admin.Token, setLabel, map[string]any{"id": svc.ID, "k": "no-slash", "v": "x"})
		wantGQLError(t, "setLabel with a malformed key", errs, "INVALID_INPUT_VALUE")
	})

	t.Run("createUser", func(t *testing.T) {
		const createUser = `mutation($in: CreateUserInput!) { createUser(input: $in) { id name role email } }`
		var out struct {
			CreateUser *struct{ ID, Name, Role, Email string }
		}
		mustGQL(t, h, admin.Token, createUser, map[string]any{"in": map[string]any{
			"username": "carol", "password": testPassword, "name": "Carol Jones", "email": "carol@example.com", "role": "user",
		}}, &out)
		c := out.CreateUser
		if c == nil || c.ID == "" || c.Name != "Carol Jones" || c.Role != "user" || c.Email != "carol@example.com" {
			t.Fatalf("createUser: got %+v, want Carol Jones, role user", c)
		}
		tok := signIn(t, h, "carol", testPassword)
		var me struct {
			User struct{ ID, Name, Role string }
		}
		mustGQL(t, h, tok, `{ user { id name role } }`, nil, &me)
		if me.User.ID != c.ID || me.User.Name != "Carol Jones" {
			t.Errorf("user as Carol: got %+v, want Carol's own user %s", me.User, c.ID)
		}

		_, errs := gql(t, h, bob.Token, createUser, map[string]any{"in": map[string]any{"username": "mallory", "password": testPassword, "name": "Mallory", "role": "admin"}})
		wantGQLError(t, "createUser as a plain user", errs, "FORBIDDEN")
		settle(t, h)
		var found struct {
			Users struct{ Nodes []struct{ Name string } }
		}
		mustGQL(t, h, admin.Token, `{ users(search: "Mallory") { nodes { name } } }`, nil, &found)
		if len(found.Users.Nodes) != 0 {
			t.Errorf("users after a refused createUser: got %+v, want no Mallory", found.Users.Nodes)
		}
		r := postForm(t, loginURL(h), url.Values{"username": {"mallory"}, "password": {testPassword}}, "Referer", h.URL+"/")
		if r.Status != http.StatusUnauthorized {
			t.Errorf("sign in as the refused user: got %s, want 401", r)
		}

		_, errs = gql(t, h, admin.Token, createUser, map[string]any{"in": map[string]any{"username": "carol", "password": testPassword}})
		wantGQLError(t, "createUser with a taken username", errs, "CONFLICT")
		_, errs = gql(t, h, admin.Token, createUser, map[string]any{"in": map[string]any{"username": "shorty", "password": "short"}})
		wantGQLError(t, "createUser with a 5-character password", errs, "INVALID_INPUT_VALUE")
	})

	t.Run("updateUser", func(t *testing.T) {
		const updateUser = `mutation($in: UpdateUserInput!) { updateUser(input: $in) }`
		const getUser = `query($id: ID!) { user(id: $id) { id name role } }`
		var u struct {
			User struct{ ID, Name, Role string }
		}

		_, errs := gql(t, h, bob.Token, updateUser, map[string]any{"in": map[string]any{"id": bob.ID, "role": "admin"}})
		wantGQLError(t, "a plain user making themselves admin", errs, "FORBIDDEN")
		mustGQL(t, h, admin.Token, getUser, map[string]any{"id": bob.ID}, &u)
		if u.User.Role != "user" {
			t.Errorf("Bob's role after the refused change: got %s, want user", u.User.Role)
		}
		_, errs = gql(t, h, bob.Token, updateUser, map[string]any{"in": map[string]any{"id": admin.ID, "name": "Hacked"}})
		wantGQLError(t, "a plain user renaming another user", errs, "FORBIDDEN")

		var ok struct{ UpdateUser bool }
		mustGQL(t, h, bob.Token, updateUser, map[string]any{"in": map[string]any{"id": bob.ID, "name": "Robert Plain"}}, &ok)
		mustGQL(t, h, bob.Token, `{ user { id name role } }`, nil, &u)
		if !ok.UpdateUser || u.User.Name != "Robert Plain" || u.User.Role != "user" {
			t.Errorf("Bob renaming himself: got %v %+v, want true, name Robert Plain, role user", ok.UpdateUser, u.User)
		}
		// An admin may change roles; the change applies to live sessions.
		mustGQL(t, h, admin.Token, updateUser, map[string]any{"in": map[string]any{"id": bob.ID, "role": "admin"}}, &ok)
		mustGQL(t, h, bob.Token, `{ user { role } }`, nil, &u)
		if u.User.Role != "admin" {
			t.Errorf("Bob's role after an admin's change: got %s, want admin", u.User.Role)
		}
		mustGQL(t, h, admin.Token, updateUser, map[string]any{"in": map[string]any{"id": bob.ID, "role": "user"}}, &ok)
		_, errs = gql(t, h, bob.Token, `mutation { setSystemLimits(input: [{id: RulesPerSchedule, value: 1}]) }`, nil)
		wantGQLError(t, "setSystemLimits by Bob after his demotion", errs, "FORBIDDEN")
	})

	t.Run("users search", func(t *testing.T) {
		var out struct {
			Users struct{ Nodes []struct{ ID, Name string } }
		}
		mustGQL(t, h, bob.Token, `{ users(search: "carol") { nodes { id name } } }`, nil, &out)
		if len(out.Users.Nodes) != 1 || out.Users.Nodes[0].Name != "Carol Jones" {
			t.Errorf("users(search: carol): got %+v, want only Carol Jones", out.Users.Nodes)
		}
		mustGQL(t, h, bob.Token, `{ users(input: {search: "example.com"}) { nodes { id name } } }`, nil, &out)
		var names []string
		for _, n := range out.Users.Nodes {
			names = append(names, n.Name)
		}
		if want := []string{"Admin Ann", "Carol Jones", "Robert Plain"}; !slices.Equal(names, want) {
			t.Errorf("users(input: {search: example.com}): got %q, want %q (by email, sorted by name)", names, want)
		}
	})

	t.Run("users pages with equal names", func(t *testing.T) {
		// Several people may share a name; paging must not skip any.
		var want []string
		for range 3 {
			id, res, err := h.Commands.CreateUser(t.Context(), commands.CreateUser{Name: "Sam Lee", Role: user.RoleUser})
			if err != nil {
				t.Fatal(err)
			}
			if err := h.Runner.WaitFor(t.Context(), res.Last, "users"); err != nil {
				t.Fatal(err)
			}
			want = append(want, id)
		}
		var got []string
		after := ""
		for n := 0; ; n++ {
			if n > 5 {
				t.Fatalf("users: still more pages after %d", n)
			}
			var out struct {
				Users struct {
					Nodes    []struct{ ID string }
					PageInfo struct {
						HasNextPage bool
						EndCursor   *string
					}
				}
			}
			mustGQL(t, h, admin.Token, `query($after: String) { users(input: {search: "Sam Lee", first: 2, after: $after}) { nodes { id } pageInfo { hasNextPage endCursor } } }`,
				map[string]any{"after": after}, &out)
			for _, u := range out.Users.Nodes {
				got = append(got, u.ID)
			}
			if !out.Users.PageInfo.HasNextPage || out.Users.PageInfo.EndCursor == nil {
				break
			}
			after = *out.Users.PageInfo.EndCursor
		}
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("users named Sam Lee over pages of 2: got %d users %v, want all 3 %v; the cursor is the "+
				"last name only (adapters/graphqlapi/resolver.go Users) and projections/users Search pages with "+
				"lower(name) > lower(after), so the rest of a run of equal names is skipped: page on (lower(name), id)",
				len(got), got, want)
		}
	})

	t.Run("deleteAll of a service", func(t *testing.T) {
		var out struct{ CreateService *service }
		mustGQL(t, h, admin.Token, createServiceMutation, map[string]any{"in": map[string]any{
			"name": "Legacy billing", "newIntegrationKeys": []map[string]string{{"type": "generic", "name": "Cron"}},
		}}, &out)
		doomed := *out.CreateService // a copy: out is decoded into again below
		k := doomed.IntegrationKeys[0].ID
		if r := postForm(t, h.URL+"/api/v2/generic/incoming", url.Values{"token": {k}, "summary": {"before"}}); r.Status != http.StatusNoContent {
			t.Fatalf("ingest before delete: got %s, want 204", r)
		}
		var ok struct{ DeleteAll bool }
		mustGQL(t, h, admin.Token, `mutation($id: ID!) { deleteAll(input: [{type: service, id: $id}]) }`, map[string]any{"id": doomed.ID}, &ok)
		if !ok.DeleteAll {
			t.Errorf("deleteAll: got false, want true")
		}
		if r := postForm(t, h.URL+"/api/v2/generic/incoming", url.Values{"token": {k}, "summary": {"after"}}); r.Status != http.StatusUnauthorized {
			t.Errorf("ingest with the deleted service's key: got %s, want 401", r)
		}
		if s := getService(t, doomed.ID); s != nil {
			t.Errorf("service(id) after delete: got %+v, want null", s)
		}
		var list struct {
			Services struct{ Nodes []struct{ ID string } }
		}
		mustGQL(t, h, admin.Token, `{ services(input: {search: "Legacy"}) { nodes { id } } }`, nil, &list)
		if len(list.Services.Nodes) != 0 {
			t.Errorf("services search after delete: got %+v, want none", list.Services.Nodes)
		}
		mustGQL(t, h, admin.Token, createServiceMutation, map[string]any{"in": map[string]any{"name": "Legacy billing"}}, &out)
		if out.CreateService == nil {
			t.Errorf("createService with the deleted service's name: got null, want it created")
		}
		_, errs := gql(t, h, admin.Token, `mutation($id: ID!) { deleteAll(input: [{type: service, id: $id}]) }`, map[string]any{"id": doomed.ID})
		wantGQLError(t, "deleting a deleted service", errs, "NOT_FOUND")
	})

	t.Run("config and systemLimits", func(t *testing.T) {
		var cfg struct {
			Config []struct {
				ID, Value, Type string
				Password        bool
			}
		}
		mustGQL(t, h, bob.Token, `{ config { id value type password } }`, nil, &cfg)
		ids := map[string]bool{}
		for _, c := range cfg.Config {
			ids[c.ID] = true
		}
		if !ids["General.PublicURL"] {
			t.Errorf("config: got ids %v, want General.PublicURL among them", ids)
		}
		_, errs := gql(t, h, bob.Token, `{ config(all: true) { id } }`, nil)
		wantGQLError(t, "config(all: true) as a plain user", errs, "FORBIDDEN")
		mustGQL(t, h, admin.Token, `{ config(all: true) { id value type password } }`, nil, &cfg)

		var lim struct {
			SystemLimits []struct {
				ID          string
				Description string
				Value       int
			}
		}
		mustGQL(t, h, bob.Token, `{ systemLimits { id description value } }`, nil, &lim)
		got := map[string]int{}
		for _, l := range lim.SystemLimits {
			got[l.ID] = l.Value
			if l.Description == "" {
				t.Errorf("limit %s has no description", l.ID)
			}
		}
		// COMPAT §3's defaults, by GoAlert's ids.
		want := map[string]int{
			"UnackedAlertsPerService": 200, "ContactMethodsPerUser": 10, "NotificationRulesPerUser": 15,
			"EPStepsPerPolicy": 10, "EPActionsPerStep": 20, "ParticipantsPerRotation": 50, "RulesPerSchedule": 30,
			"IntegrationKeysPerService": 30, "HeartbeatMonitorsPerService": 30, "UserOverridesPerSchedule": 35,
		}
		for id, v := range want {
			if g, ok := got[id]; !ok || g != v {
				t.Errorf("systemLimits %s: got %d (present %v), want %d", id, g, ok, v)
			}
		}
	})
}

// GoAlert's limit on unacknowledged alerts per service, set by an admin.
func TestGraphQL_UnackedAlertLimit(t *testing.T) {
	t.Parallel()
	h := apptest.New(t)
	admin := newAccount(t, h, "Admin Ann", "ann", user.RoleAdmin)
	bob := newAccount(t, h, "Bob Plain", "bob", user.RoleUser)
	svc, keys := newService(t, h, "Noisy", "generic")
	endpoint := h.URL + "/api/v2/generic/incoming"

	unackedLimit := func(t *testing.T) int {
		t.Helper()
		var out struct {
			SystemLimits []struct {
				ID    string
				Value int
			}
		}
		mustGQL(t, h, admin.Token, `{ systemLimits { id value } }`, nil, &out)
		for _, l := range out.SystemLimits {
			if l.ID == "UnackedAlertsPerService" {
				return l.Value
			}
		}
		t.Fatalf("systemLimits: no UnackedAlertsPerService in %+v", out.SystemLimits)
		return 0
	}
	const setLimit = `mutation($v: Int!) { setSystemLimits(input: [{id: UnackedAlertsPerService, value: $v}]) }`

	if got := unackedLimit(t); got != 200 {
		t.Fatalf("default UnackedAlertsPerService: got %d, want 200", got)
	}
	var ok struct{ SetSystemLimits bool }
	mustGQL(t, h, admin.Token, setLimit, map[string]any{"v": 2}, &ok)
	if got := unackedLimit(t); !ok.SetSystemLimits || got != 2 {
		t.Fatalf("after setSystemLimits 2: got %v and limit %d, want true and 2", ok.SetSystemLimits, got)
	}

	first := trigger(t, h, keys[0], "Noise 1", "")
	trigger(t, h, keys[0], "Noise 2", "")
	r := postForm(t, endpoint, url.Values{"token": {keys[0]}, "summary": {"Noise 3"}})
	if r.Status != http.StatusBadRequest || !strings.Contains(r.Body, "too many unacknowledged alerts") {
		t.Errorf("third distinct trigger: got %s, want 400 mentioning too many unacknowledged alerts", r)
	}
	// A duplicate of an open alert is not a new unacknowledged alert: it
	// is accepted at the limit (COMPAT §2: a trigger that matches an open
	// alert returns it).
	r = postForm(t, endpoint, url.Values{"token": {keys[0]}, "summary": {"Noise 1"}}, "Accept", "application/json")
	if r.Status != http.StatusOK {
		t.Errorf("duplicate of an open alert at the limit: got %s, want 200 {AlertID:%d, IsNew:false}; "+
			"the fast trigger path (commands/trigger_fast.go triggerNewSQL) checks the limit before the dedup slot and "+
			"scanFast reports ErrTooManyUnacked instead of falling back to the general (duplicate) path", r, first.AlertID)
	} else if g := decodeGeneric(t, "duplicate at the limit", r); g.AlertID != first.AlertID || g.IsNew {
		t.Errorf("duplicate at the limit: got %+v, want alert %d, not new", g, first.AlertID)
	}
	_, errs := gql(t, h, admin.Token, createAlertMutation, map[string]any{"in": map[string]any{"serviceID": svc, "summary": "Manual 3"}})
	wantGQLError(t, "createAlert at the limit", errs, "LIMIT_EXCEEDED")
	if n := len(serviceAlerts(t, h, admin.Token, svc)); n != 2 {
		t.Errorf("alerts at the limit: got %d, want 2", n)
	}

	// Acknowledged alerts do not count.
	updateAlerts(t, h, bearer(admin.Token), "StatusAcknowledged", first.AlertID)
	if r := postForm(t, endpoint, url.Values{"token": {keys[0]}, "summary": {"Noise 3"}}); r.Status != http.StatusNoContent {
		t.Errorf("trigger after acknowledging one: got %s, want 204", r)
	}

	_, errs = gql(t, h, bob.Token, setLimit, map[string]any{"v": 500})
	wantGQLError(t, "setSystemLimits as a plain user", errs, "FORBIDDEN")
	if got := unackedLimit(t); got != 2 {
		t.Errorf("limit after a plain user's attempt: got %d, want 2 (unchanged)", got)
	}
	_, errs = gql(t, h, admin.Token, setLimit, map[string]any{"v": -2})
	wantGQLError(t, "setSystemLimits to -2", errs, "INVALID_INPUT_VALUE")
	// One bad value in a list changes nothing.
	_, errs = gql(t, h, admin.Token, `mutation { setSystemLimits(input: [{id: UnackedAlertsPerService, value: 7}, {id: RulesPerSchedule, value: -5}]) }`, nil)
	wantGQLError(t, "setSystemLimits with one bad value", errs, "INVALID_INPUT_VALUE")
	if got := unackedLimit(t); got != 2 {
		t.Errorf("limit after a refused setSystemLimits list: got %d, want 2 (unchanged)", got)
	}

	// -1 means unlimited.
	mustGQL(t, h, admin.Token, setLimit, map[string]any{"v": -1}, &ok)
	for i := 4; i <= 6; i++ {
		if r := postForm(t, endpoint, url.Values{"token": {keys[0]}, "summary": {fmt.Sprintf("Noise %d", i)}}); r.Status != http.StatusNoContent {
			t.Errorf("trigger %d with no limit: got %s, want 204", i, r)
		}
	}
}

func TestGraphQL_Hardening(t *testing.T) {
	t.Parallel()
	h := apptest.New(t)
	bob := newAccount(t, h, "Bob Plain", "bob", user.RoleUser)

	wantRejected := func(t *testing.T, what, query, mention string) {
		t.Helper()
		status, r := gqlRaw(t, h, bearer(bob.Token), query, nil)
		if status != http.StatusOK && status != http.StatusBadRequest {
			t.Errorf("%s: got HTTP %d, want a GraphQL error reply", what, status)
		}
		if len(r.Errors) == 0 {
			t.Fatalf("%s: got no errors (data %s), want the query rejected", what, r.Data)
		}
		if len(r.Data) != 0 && string(r.Data) != "null" {
			t.Errorf("%s: got data %s, want none", what, r.Data)
		}
		if !strings.Contains(strings.ToLower(r.Errors[0].Message), mention) {
			t.Errorf("%s: got message %q, want it to mention %q", what, r.Errors[0].Message, mention)
		}
	}

	t.Run("depth", func(t *testing.T) {
		// Nesting within the limit works.
		var out struct {
			Alerts struct{ Nodes []any }
		}
		mustGQL(t, h, bob.Token, `{ alerts { nodes { service { integrationKeys { id } labels { key } } recentEvents { nodes { message } } } } }`, nil, &out)
		// The limit is 15 (GraphiQL's introspection query nests 14 deep);
		// this nests 22 deep, with fields that do not exist: depth is
		// checked first.
		q := "{ alerts { nodes "
		for i := range 20 {
			q += fmt.Sprintf("{ f%d ", i)
		}
		q += strings.Repeat("} ", 20) + "} }"
		wantRejected(t, "a query 22 levels deep", q, "depth")
	})

	t.Run("length", func(t *testing.T) {
		q := "{ user { id } }\n#" + strings.Repeat("x", 33<<10)
		wantRejected(t, "a 33 KiB query", q, "length")
	})

	t.Run("exponential fragments", func(t *testing.T) {
		var b strings.Builder
		b.WriteString("query { ...f16 }\nfragment f0 on Query { user { id name } }\n")
		for i := 1; i <= 16; i++ {
			fmt.Fprintf(&b, "fragment f%d on Query { ...f%d ...f%d }\n", i, i-1, i-1)
		}
		status, r := gqlRaw(t, h, bearer(bob.Token), b.String(), nil)
		if status != http.StatusOK || len(r.Errors) == 0 {
			t.Errorf("fragments expanding to 2^16 selections: got HTTP %d errors %+v data %.100s, want them refused", status, r.Errors, r.Data)
		}
	})

	t.Run("no session is 401", func(t *testing.T) {
		status, r := gqlRaw(t, h, nil, `{ user { id } }`, nil)
		if status != http.StatusUnauthorized || len(r.Errors) != 1 || r.Errors[0].Code() != "UNAUTHENTICATED" {
			t.Errorf("no session: got HTTP %d errors %+v, want 401 with code UNAUTHENTICATED", status, r.Errors)
		}
		if len(r.Data) != 0 && string(r.Data) != "null" {
			t.Errorf("no session: got data %s, want none", r.Data)
		}
		req := newRequest(t, http.MethodPost, h.URL+"/api/graphql", strings.NewReader(`{"query":"{ user { id } }"}`),
			"Content-Type", "application/json", "Authorization", "Bearer not-a-token")
		if r := send(t, req); r.Status != http.StatusUnauthorized || strings.Contains(r.Body, `"data"`) {
			t.Errorf("garbage bearer token: got %s, want 401 without data", r)
		}
	})

	t.Run("malformed request JSON is 400", func(t *testing.T) {
		req := newRequest(t, http.MethodPost, h.URL+"/api/graphql", strings.NewReader(`{"query": "{ user { id } }"`),
			"Content-Type", "application/json", "Authorization", "Bearer "+bob.Token)
		r := send(t, req)
		if r.Status != http.StatusBadRequest {
			t.Fatalf("malformed JSON: got %s, want 400", r)
		}
		var body gqlReply
		if err := json.Unmarshal([]byte(r.Body), &body); err != nil || len(body.Errors) != 1 || body.Errors[0].Message == "" {
			t.Errorf("malformed JSON: got body %q, want one GraphQL error with a message", r.Body)
		}
	})

	t.Run("validation errors have a code", func(t *testing.T) {
		_, errs := gql(t, h, bob.Token, `{ user { id shoeSize } }`, nil)
		e := wantGQLError(t, "unknown field", errs, "GRAPHQL_VALIDATION_FAILED")
		if !strings.Contains(e.Message, "shoeSize") {
			t.Errorf("unknown field: got message %q, want it to name shoeSize", e.Message)
		}
		_, errs = gql(t, h, bob.Token, `mutation { updateAlerts(input: {alertIDs: [1], newStatus: StatusSnoozed}) { id } }`, nil)
		wantGQLError(t, "unknown enum value", errs, "GRAPHQL_VALIDATION_FAILED")
	})

	t.Run("legacy path /v1/graphql2", func(t *testing.T) {
		req := newRequest(t, http.MethodPost, h.URL+"/v1/graphql2", strings.NewReader(`{"query":"{ user { name } }"}`),
			"Content-Type", "application/json", "Authorization", "Bearer "+bob.Token)
		if r := send(t, req); r.Status != http.StatusOK || !strings.Contains(r.Body, `"Bob Plain"`) {
			t.Errorf("/v1/graphql2: got %s, want 200 with Bob's name", r)
		}
	})
}
