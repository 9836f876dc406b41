package app_test

// Black-box tests of the ingest endpoints (COMPAT §2) through the real HTTP
// server: what a monitoring tool gets back, and what a person then sees in
// the alert list and log.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/oncallhq/goalert/cmd/goalert/app/apptest"
	"github.com/oncallhq/goalert/domain/user"
	"github.com/oncallhq/goalert/projections/alerts"
)

func TestIngest_Generic(t *testing.T) {
	t.Parallel()
	h := apptest.New(t)
	admin := newAccount(t, h, "Admin Ann", "ann", user.RoleAdmin)
	svc, keys := newService(t, h, "Checkout", "generic", "grafana")
	key, grafanaKey := keys[0], keys[1]
	endpoint := h.URL + "/api/v2/generic/incoming"

	// findAlert returns the service's alert with summary, failing when
	// there is not exactly one.
	findAlert := func(t *testing.T, summary string) alertView {
		t.Helper()
		var found []alertView
		for _, a := range serviceAlerts(t, h, admin.Token, svc) {
			if a.Summary == summary {
				found = append(found, a)
			}
		}
		if len(found) != 1 {
			t.Fatalf("alerts with summary %q: got %d (%+v), want 1", summary, len(found), found)
		}
		return found[0]
	}

	t.Run("form body triggers and replies 204", func(t *testing.T) {
		r := postForm(t, endpoint, url.Values{"token": {key}, "summary": {"Disk full\non db-1"}, "details": {"/var is at 99%"}})
		if r.Status != http.StatusNoContent || r.Body != "" {
			t.Fatalf("got %s, want 204 with no body", r)
		}
		a := findAlert(t, "Disk full on db-1") // the newline became a space
		if a.Status != "StatusUnacknowledged" || a.Details != "/var is at 99%" || a.ServiceID != svc {
			t.Errorf("alert: got status %s details %q service %s, want StatusUnacknowledged, the details as sent, service %s",
				a.Status, a.Details, a.ServiceID, svc)
		}
		if got, want := a.messages(), []string{"Created via Generic API"}; !slices.Equal(got, want) {
			t.Errorf("alert log: got %q, want %q", got, want)
		}
	})

	t.Run("query string", func(t *testing.T) {
		q := url.Values{"token": {key}, "summary": {"From the query"}, "details": {"query details"}}
		r := send(t, newRequest(t, http.MethodPost, endpoint+"?"+q.Encode(), nil, "Accept", "application/json"))
		g := decodeGeneric(t, "query-string trigger", r)
		if g.AlertID <= 0 || g.ServiceID != svc || !g.IsNew {
			t.Errorf("reply: got %+v, want a new alert on service %s", g, svc)
		}
		if a := getAlert(t, h, admin.Token, g.AlertID); a == nil || a.Summary != "From the query" || a.Details != "query details" {
			t.Errorf("alert %d: got %+v, want summary and details from the query", g.AlertID, a)
		}
	})

	t.Run("JSON body", func(t *testing.T) {
		body := `{"summary":"JSON alert","details":"from JSON","dedup":"json-1","meta":{"team":"db","region":"eu"}}`
		r := postJSON(t, endpoint+"?token="+key, body, "Accept", "application/json")
		g := decodeGeneric(t, "JSON trigger", r)
		if !g.IsNew || g.ServiceID != svc {
			t.Fatalf("reply: got %+v, want a new alert on %s", g, svc)
		}
		a := getAlert(t, h, admin.Token, g.AlertID)
		if a == nil || a.Summary != "JSON alert" || a.Details != "from JSON" {
			t.Fatalf("alert %d: got %+v, want summary and details from the JSON body", g.AlertID, a)
		}
		if got := fmt.Sprint(a.Meta); got != "[{region eu} {team db}]" {
			t.Errorf("meta: got %s, want [{region eu} {team db}]", got)
		}
		// The same dedup key in a form post is the same alert.
		if g2 := trigger(t, h, key, "something else", "json-1"); g2.AlertID != g.AlertID || g2.IsNew {
			t.Errorf("form trigger with the JSON alert's dedup key: got %+v, want AlertID %d, IsNew false", g2, g.AlertID)
		}
	})

	t.Run("Accept JSON reports new then duplicate", func(t *testing.T) {
		first := trigger(t, h, key, "CPU hot", "cpu-1")
		if first.AlertID <= 0 || !first.IsNew || first.ServiceID != svc {
			t.Fatalf("first trigger: got %+v, want a new alert on %s", first, svc)
		}
		second := trigger(t, h, key, "CPU hot", "cpu-1")
		if second != (genericReply{AlertID: first.AlertID, ServiceID: svc, IsNew: false}) {
			t.Errorf("second trigger: got %+v, want {AlertID:%d ServiceID:%s IsNew:false}", second, first.AlertID, svc)
		}
		// Without a dedup key, the same summary and details dedup too.
		a1 := trigger(t, h, key, "No dedup key", "")
		a2 := trigger(t, h, key, "No dedup key", "")
		if !a1.IsNew || a2.IsNew || a1.AlertID != a2.AlertID {
			t.Errorf("two triggers with the same summary and no dedup: got %+v then %+v, want one alert, new then not", a1, a2)
		}
		// A duplicate more than 5 s later is recorded once in the log.
		h.Clock.Advance(6 * time.Second)
		trigger(t, h, key, "CPU hot", "cpu-1")
		trigger(t, h, key, "CPU hot", "cpu-1")
		a := getAlert(t, h, admin.Token, first.AlertID)
		want := []string{"Suppressed duplicate: created via Generic API", "Created via Generic API"}
		if got := a.messages(); !slices.Equal(got, want) {
			t.Errorf("log after duplicates: got %q, want %q", got, want)
		}
	})

	t.Run("action=close closes", func(t *testing.T) {
		opened := trigger(t, h, key, "Queue backlog", "queue-1")
		r := postForm(t, endpoint, url.Values{"token": {key}, "action": {"close"}, "dedup": {"queue-1"}}, "Accept", "application/json")
		closed := decodeGeneric(t, "close", r)
		if closed.AlertID != opened.AlertID || closed.IsNew {
			t.Errorf("close reply: got %+v, want AlertID %d, IsNew false", closed, opened.AlertID)
		}
		a := getAlert(t, h, admin.Token, opened.AlertID)
		if a == nil || a.Status != "StatusClosed" {
			t.Fatalf("alert after close: got %+v, want StatusClosed", a)
		}
		if msgs := a.messages(); len(msgs) == 0 || msgs[0] != "Closed by Generic API" {
			t.Errorf("newest log entry: got %q, want \"Closed by Generic API\"", msgs)
		}
		// Closed alerts never reopen: the same key opens a new alert.
		again := trigger(t, h, key, "Queue backlog", "queue-1")
		if !again.IsNew || again.AlertID == opened.AlertID {
			t.Errorf("trigger after close: got %+v, want a new alert other than %d", again, opened.AlertID)
		}
		// The JSON body may close too.
		r = postJSON(t, endpoint+"?token="+key, `{"action":"close","dedup":"queue-1"}`)
		if r.Status != http.StatusNoContent {
			t.Fatalf("JSON close: got %s, want 204", r)
		}
		if a := getAlert(t, h, admin.Token, again.AlertID); a.Status != "StatusClosed" {
			t.Errorf("alert %d after JSON close: got %s, want StatusClosed", again.AlertID, a.Status)
		}
	})

	t.Run("close with nothing matching succeeds", func(t *testing.T) {
		form := url.Values{"token": {key}, "action": {"close"}, "dedup": {"never-opened"}}
		if r := postForm(t, endpoint, form); r.Status != http.StatusNoContent {
			t.Errorf("close without a match: got %s, want 204", r)
		}
		g := decodeGeneric(t, "close without a match", postForm(t, endpoint, form, "Accept", "application/json"))
		if g.AlertID != 0 || g.IsNew {
			t.Errorf("close without a match: got %+v, want AlertID 0, IsNew false", g)
		}
	})

	t.Run("meta", func(t *testing.T) {
		form := url.Values{"token": {key}, "summary": {"With meta"}, "meta": {"a=b", "url=https://x.example/?q=1"}}
		g := decodeGeneric(t, "meta trigger", postForm(t, endpoint, form, "Accept", "application/json"))
		settle(t, h)
		var out struct {
			Alert struct {
				Meta []struct{ Key, Value string }
				A    string
				None string
			}
		}
		mustGQL(t, h, admin.Token, `query($id: Int!) { alert(id: $id) { meta { key value } a: metaValue(key: "a") none: metaValue(key: "none") } }`,
			map[string]any{"id": g.AlertID}, &out)
		if got := fmt.Sprint(out.Alert.Meta); got != "[{a b} {url https://x.example/?q=1}]" {
			t.Errorf("meta: got %s, want [{a b} {url https://x.example/?q=1}] (split at the first '=')", got)
		}
		if out.Alert.A != "b" || out.Alert.None != "" {
			t.Errorf("metaValue: got a=%q none=%q, want a=\"b\" none=\"\"", out.Alert.A, out.Alert.None)
		}
		if r := postForm(t, endpoint, url.Values{"token": {key}, "summary": {"Bad meta"}, "meta": {"no-equals"}}); r.Status != http.StatusBadRequest || !strings.Contains(r.Body, "key=value") {
			t.Errorf("meta without '=': got %s, want 400 naming key=value", r)
		}
	})

	t.Run("token sources", func(t *testing.T) {
		cases := []struct {
			name  string
			build func(summary string) *http.Request
		}{
			{"form token", func(s string) *http.Request {
				return formRequest(t, endpoint, url.Values{"token": {key}, "summary": {s}})
			}},
			{"form integrationKey", func(s string) *http.Request {
				return formRequest(t, endpoint, url.Values{"integrationKey": {key}, "summary": {s}})
			}},
			{"form integration_key", func(s string) *http.Request {
				return formRequest(t, endpoint, url.Values{"integration_key": {key}, "summary": {s}})
			}},
			{"form key", func(s string) *http.Request {
				return formRequest(t, endpoint, url.Values{"key": {key}, "summary": {s}})
			}},
			{"query integrationKey", func(s string) *http.Request {
				return formRequest(t, endpoint+"?integrationKey="+key, url.Values{"summary": {s}})
			}},
			{"query key", func(s string) *http.Request { return formRequest(t, endpoint+"?key="+key, url.Values{"summary": {s}}) }},
			{"Authorization Bearer", func(s string) *http.Request {
				r := formRequest(t, endpoint, url.Values{"summary": {s}})
				r.Header.Set("Authorization", "Bearer "+key)
				return r
			}},
			{"basic-auth password", func(s string) *http.Request {
				r := formRequest(t, endpoint, url.Values{"summary": {s}})
				r.SetBasicAuth("anything", key)
				return r
			}},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				summary := "token via " + c.name
				req := c.build(summary)
				req.Header.Set("Accept", "application/json")
				g := decodeGeneric(t, c.name, send(t, req))
				if !g.IsNew || g.ServiceID != svc {
					t.Errorf("got %+v, want a new alert on %s", g, svc)
				}
				if a := getAlert(t, h, admin.Token, g.AlertID); a == nil || a.Summary != summary {
					t.Errorf("alert %d: got %+v, want summary %q", g.AlertID, a, summary)
				}
			})
		}
		// The form's token wins over a wrong Bearer token.
		req := formRequest(t, endpoint, url.Values{"token": {key}, "summary": {"precedence"}})
		req.Header.Set("Authorization", "Bearer "+uuid.NewString())
		if r := send(t, req); r.Status != http.StatusNoContent {
			t.Errorf("form token with a wrong Bearer: got %s, want 204 (the form token comes first)", r)
		}
	})

	t.Run("rejected tokens are 401", func(t *testing.T) {
		before := len(serviceAlerts(t, h, admin.Token, svc))
		cases := map[string]url.Values{
			"missing token":               {"summary": {"no token"}},
			"unknown token":               {"token": {uuid.NewString()}, "summary": {"unknown token"}},
			"token that is not a key id":  {"token": {"not-a-key"}, "summary": {"garbage token"}},
			"grafana key on generic path": {"token": {grafanaKey}, "summary": {"wrong key type"}},
		}
		for name, form := range cases {
			r := postForm(t, endpoint, form, "Accept", "application/json")
			if r.Status != http.StatusUnauthorized {
				t.Errorf("%s: got %s, want 401", name, r)
			}
			if !strings.Contains(strings.ToLower(r.Body), "integration key") {
				t.Errorf("%s: body %q does not say what is wrong (an integration key)", name, r.Body)
			}
		}
		if after := len(serviceAlerts(t, h, admin.Token, svc)); after != before {
			t.Errorf("alerts after rejected requests: got %d, want %d (none created)", after, before)
		}
	})

	t.Run("body over the limit is 413", func(t *testing.T) {
		big := url.Values{"token": {key}, "summary": {"big"}, "details": {strings.Repeat("x", 262144)}}.Encode()
		r := send(t, newRequest(t, http.MethodPost, endpoint, strings.NewReader(big), "Content-Type", "application/x-www-form-urlencoded"))
		if r.Status != http.StatusRequestEntityTooLarge {
			t.Errorf("body of %d bytes: got %s, want 413", len(big), r)
		}
		// Without a Content-Length (chunked), the limit still holds.
		chunked := newRequest(t, http.MethodPost, endpoint+"?token="+key, io.MultiReader(strings.NewReader(big)), "Content-Type", "application/x-www-form-urlencoded")
		chunked.ContentLength = -1
		if r := send(t, chunked); r.Status != http.StatusRequestEntityTooLarge {
			t.Errorf("chunked body of %d bytes: got %s, want 413", len(big), r)
		}
		// Just under the limit is fine.
		ok := url.Values{"token": {key}, "summary": {"just under"}, "details": {strings.Repeat("y", 6000)}}.Encode()
		ok += "&pad=" + strings.Repeat("p", 262144-len(ok)-len("&pad="))
		if len(ok) != 262144 {
			t.Fatalf("test bug: body is %d bytes", len(ok))
		}
		if r := send(t, newRequest(t, http.MethodPost, endpoint, strings.NewReader(ok), "Content-Type", "application/x-www-form-urlencoded")); r.Status != http.StatusNoContent {
			t.Errorf("body of exactly 262144 bytes: got %s, want 204", r)
		}
	})

	t.Run("header over the limit is 431", func(t *testing.T) {
		// net/http allows 4096 bytes of slack past MaxHeaderBytes, as in
		// GoAlert; a header well past both is refused.
		req := formRequest(t, endpoint, url.Values{"token": {key}, "summary": {"big header"}})
		req.Header.Set("X-Big", strings.Repeat("h", 16384))
		if r := send(t, req); r.Status != http.StatusRequestHeaderFieldsTooLarge {
			t.Errorf("16 KiB header: got %s, want 431", r)
		}
	})

	t.Run("malformed JSON is 400 with a message", func(t *testing.T) {
		r := postJSON(t, endpoint+"?token="+key, `{"summary": "unterminated`)
		if r.Status != http.StatusBadRequest {
			t.Fatalf("malformed JSON: got %s, want 400", r)
		}
		var body struct{ Error string }
		if err := json.Unmarshal([]byte(r.Body), &body); err != nil || !strings.Contains(body.Error, "invalid JSON body") {
			t.Errorf("malformed JSON: got body %q, want {\"error\": \"invalid JSON body: …\"}", r.Body)
		}
		r = postJSON(t, endpoint+"?token="+key, `{"summary": 42}`)
		if r.Status != http.StatusBadRequest || !strings.Contains(r.Body, "summary") {
			t.Errorf("summary of the wrong type: got %s, want 400 naming summary", r)
		}
	})

	t.Run("summary length", func(t *testing.T) {
		long := strings.Repeat("s", 1025)
		r := postForm(t, endpoint, url.Values{"token": {key}, "summary": {long}})
		if r.Status != http.StatusBadRequest || !strings.Contains(r.Body, "summary") || !strings.Contains(r.Body, "1024") {
			t.Errorf("1025-character summary: got %s, want 400 naming summary and 1024", r)
		}
		// 1024 characters, each two bytes in UTF-8, are fine.
		max := strings.Repeat("é", 1024)
		if g := decodeGeneric(t, "1024-character summary", postForm(t, endpoint, url.Values{"token": {key}, "summary": {max}}, "Accept", "application/json")); !g.IsNew {
			t.Errorf("1024-character summary: got %+v, want a new alert", g)
		}
		long6145 := strings.Repeat("d", 6145)
		if r := postForm(t, endpoint, url.Values{"token": {key}, "summary": {"long details"}, "details": {long6145}}); r.Status != http.StatusBadRequest || !strings.Contains(r.Body, "details") {
			t.Errorf("6145-character details: got %s, want 400 naming details", r)
		}
	})

	t.Run("empty summary is accepted", func(t *testing.T) {
		g := decodeGeneric(t, "empty summary", postForm(t, endpoint, url.Values{"token": {key}, "details": {"only details"}}, "Accept", "application/json"))
		if !g.IsNew {
			t.Fatalf("empty summary: got %+v, want a new alert", g)
		}
		if a := getAlert(t, h, admin.Token, g.AlertID); a == nil || a.Summary != "" || a.Details != "only details" {
			t.Errorf("alert %d: got %+v, want an empty summary and the details", g.AlertID, a)
		}
	})

	t.Run("legacy path /v1/api/alerts", func(t *testing.T) {
		r := postForm(t, h.URL+"/v1/api/alerts", url.Values{"token": {key}, "summary": {"Legacy path"}})
		if r.Status != http.StatusNoContent {
			t.Fatalf("legacy path: got %s, want 204", r)
		}
		findAlert(t, "Legacy path")
		if r := postForm(t, h.URL+"/v1/api/alerts", url.Values{"summary": {"Legacy no token"}}); r.Status != http.StatusUnauthorized {
			t.Errorf("legacy path without a token: got %s, want 401", r)
		}
	})

	t.Run("deleted key stops working at once", func(t *testing.T) {
		otherSvc, otherKeys := newService(t, h, "Short-lived key", "generic")
		k := otherKeys[0]
		if g := trigger(t, h, k, "before delete", ""); !g.IsNew || g.ServiceID != otherSvc {
			t.Fatalf("trigger before delete: got %+v, want a new alert on %s", g, otherSvc)
		}
		var out struct{ DeleteAll bool }
		mustGQL(t, h, admin.Token, `mutation($id: ID!) { deleteAll(input: [{type: integrationKey, id: $id}]) }`, map[string]any{"id": k}, &out)
		if !out.DeleteAll {
			t.Fatalf("deleteAll: got false, want true")
		}
		r := postForm(t, endpoint, url.Values{"token": {k}, "summary": {"after delete"}})
		if r.Status != http.StatusUnauthorized {
			t.Errorf("trigger with the deleted key: got %s, want 401", r)
		}
		var key struct{ IntegrationKey *struct{ ID string } }
		mustGQL(t, h, admin.Token, `query($id: ID!) { integrationKey(id: $id) { id } }`, map[string]any{"id": k}, &key)
		if key.IntegrationKey != nil {
			t.Errorf("integrationKey(id) after delete: got %+v, want null", key.IntegrationKey)
		}
		// The service's other key (the one used above) still works.
		if r := postForm(t, endpoint, url.Values{"token": {keys[0]}, "summary": {"other key still works"}}); r.Status != http.StatusNoContent {
			t.Errorf("trigger with another service's key: got %s, want 204", r)
		}
	})
}

// formRequest builds an urlencoded POST.
func formRequest(t testing.TB, target string, form url.Values) *http.Request {
	return newRequest(t, http.MethodPost, target, strings.NewReader(form.Encode()), "Content-Type", "application/x-www-form-urlencoded")
}

// 50 monitoring tools posting the same dedup key at once make one alert.
func TestIngest_ConcurrentTriggersMakeOneAlert(t *testing.T) {
	t.Parallel()
	h := apptest.New(t)
	svc, keys := newService(t, h, "Concurrent", "generic")
	const n = 50
	form := url.Values{"token": {keys[0]}, "summary": {"Everything is on fire"}, "dedup": {"fire"}}.Encode()

	var wg sync.WaitGroup
	replies := make([]genericReply, n)
	errs := make([]error, n)
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			req, _ := http.NewRequest(http.MethodPost, h.URL+"/api/v2/generic/incoming", strings.NewReader(form))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Accept", "application/json")
			resp, err := httpClient.Do(req)
			if err != nil {
				errs[i] = err
				return
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != http.StatusOK {
				errs[i] = fmt.Errorf("got %d %q, want 200", resp.StatusCode, b)
				return
			}
			errs[i] = json.Unmarshal(b, &replies[i])
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
	}
	newCount := 0
	for i, r := range replies {
		if r.IsNew {
			newCount++
		}
		if r.AlertID != replies[0].AlertID || r.ServiceID != svc {
			t.Errorf("reply %d: got %+v, want AlertID %d on service %s like reply 0", i, r, replies[0].AlertID, svc)
		}
	}
	if newCount != 1 {
		t.Errorf("replies with IsNew: got %d, want exactly 1", newCount)
	}
	settle(t, h)
	list, err := h.Alerts.List(context.Background(), alerts.Filter{
		ServiceIDs: []string{svc}, Statuses: []string{"triggered", "active", "closed"}, Limit: 100,
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].ID != replies[0].AlertID || list[0].Status != "triggered" {
		t.Errorf("alert list: got %+v, want exactly alert %d, triggered", list, replies[0].AlertID)
	}
	// The 49 duplicates arrived within 5 s of the alert: none is logged.
	log, err := h.Alerts.Log(context.Background(), replies[0].AlertID)
	if err != nil {
		t.Fatal(err)
	}
	var msgs []string
	for _, e := range log {
		msgs = append(msgs, e.Message)
	}
	if want := []string{"Created via Generic API"}; !slices.Equal(msgs, want) {
		t.Errorf("alert log: got %q, want %q", msgs, want)
	}
}

// The alert list's documented filter ("empty means all") must hold for the
// zero Filter too: a nil Statuses or ServiceIDs slice must not hide every
// alert. GraphQL works around it; other callers of the reader do not.
func TestAlertsReader_ZeroFilterListsAll(t *testing.T) {
	t.Parallel()
	h := apptest.New(t)
	svc, keys := newService(t, h, "Reader", "generic")
	g := trigger(t, h, keys[0], "listed", "")
	settle(t, h)
	ctx := context.Background()
	for name, f := range map[string]alerts.Filter{
		"nil Statuses":   {ServiceIDs: []string{svc}},
		"nil ServiceIDs": {Statuses: []string{"triggered"}},
		"zero Filter":    {},
	} {
		list, err := h.Alerts.List(ctx, f)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(list) != 1 || list[0].ID != g.AlertID {
			t.Errorf("alerts.Reader.List with %s: got %d alerts, want alert %d; "+
				"projections/alerts List passes a nil slice, which pgx sends as NULL, so "+
				"cardinality(NULL) = 0 is NULL and no row matches", name, len(list), g.AlertID)
		}
	}
}

// The integrations of COMPAT §2 with realistic payloads.
func TestIngest_Integrations(t *testing.T) {
	t.Parallel()
	h := apptest.New(t)
	admin := newAccount(t, h, "Admin Ann", "ann", user.RoleAdmin)

	// byDedupSummary maps each of the service's alerts' summary to it.
	bySummary := func(t *testing.T, svc string) map[string]alertView {
		t.Helper()
		out := map[string]alertView{}
		for _, a := range serviceAlerts(t, h, admin.Token, svc) {
			if _, dup := out[a.Summary]; dup {
				t.Fatalf("two alerts with summary %q on one service", a.Summary)
			}
			out[a.Summary] = a
		}
		return out
	}

	t.Run("Prometheus Alertmanager", func(t *testing.T) {
		svc, keys := newService(t, h, "Prometheus", "prometheusAlertmanager", "generic")
		endpoint := h.URL + "/api/v2/prometheusalertmanager/incoming?token=" + keys[0]
		group := func(status string, instances ...string) map[string]any {
			var list []map[string]any
			for _, inst := range instances {
				list = append(list, map[string]any{
					"status": status,
					"labels": map[string]string{"alertname": "HighLatency", "instance": inst, "job": "api", "severity": "page"},
					"annotations": map[string]string{
						"summary": "API latency above 500ms", "description": "p99 latency on " + inst + " is 812ms",
					},
					"startsAt":     "2026-03-07T08:55:00Z",
					"endsAt":       "0001-01-01T00:00:00Z",
					"generatorURL": "http://prometheus.example:9090/graph?g0.expr=latency",
					"fingerprint":  "fp-" + inst,
				})
			}
			return map[string]any{
				"version": "4", "groupKey": `{}/{severity="page"}:{alertname="HighLatency"}`, "truncatedAlerts": 0,
				"status": status, "receiver": "goalert",
				"groupLabels":       map[string]string{"alertname": "HighLatency"},
				"commonLabels":      map[string]string{"alertname": "HighLatency", "job": "api", "severity": "page"},
				"commonAnnotations": map[string]string{"summary": "API latency above 500ms"},
				"externalURL":       "http://alertmanager.example:9093",
				"alerts":            list,
			}
		}
		if r := postJSON(t, endpoint, group("firing", "api-1:8080", "api-2:8080")); r.Status != http.StatusNoContent {
			t.Fatalf("firing: got %s, want 204", r)
		}
		list := serviceAlerts(t, h, admin.Token, svc)
		if len(list) != 1 || list[0].Summary != "API latency above 500ms" || list[0].Status != "StatusUnacknowledged" {
			t.Fatalf("after firing: got %+v, want one unacknowledged alert \"API latency above 500ms\"", list)
		}
		if !strings.Contains(list[0].Details, "api-1:8080") || !strings.Contains(list[0].Details, "api-2:8080") {
			t.Errorf("details: got %q, want both instances", list[0].Details)
		}
		if msgs := list[0].messages(); len(msgs) != 1 || msgs[0] != "Created via Prometheus Alertmanager" {
			t.Errorf("log: got %q, want [\"Created via Prometheus Alertmanager\"]", msgs)
		}
		// The group grows; the groupKey is the same: no new alert.
		if r := postJSON(t, endpoint, group("firing", "api-1:8080", "api-2:8080", "api-3:8080")); r.Status != http.StatusNoContent {
			t.Fatalf("second firing: got %s, want 204", r)
		}
		if list2 := serviceAlerts(t, h, admin.Token, svc); len(list2) != 1 || list2[0].AlertID != list[0].AlertID {
			t.Fatalf("after a second firing of the group: got %+v, want still only alert %d", list2, list[0].AlertID)
		}
		// Another group is another alert.
		other := group("firing", "db-1:9187")
		other["groupKey"] = `{}/{severity="page"}:{alertname="DiskFull"}`
		other["commonAnnotations"] = map[string]string{"summary": "Disk full"}
		if r := postJSON(t, endpoint, other); r.Status != http.StatusNoContent {
			t.Fatalf("other group: got %s, want 204", r)
		}
		if r := postJSON(t, endpoint, group("resolved", "api-1:8080")); r.Status != http.StatusNoContent {
			t.Fatalf("resolved: got %s, want 204", r)
		}
		got := bySummary(t, svc)
		if len(got) != 2 || got["API latency above 500ms"].Status != "StatusClosed" || got["Disk full"].Status != "StatusUnacknowledged" {
			t.Errorf("after resolved: got %+v, want the latency alert closed and the disk alert open", got)
		}
		if r := postJSON(t, endpoint, `{"version":"4","status":"firing","alerts":[]}`); r.Status != http.StatusBadRequest || !strings.Contains(r.Body, "groupKey") {
			t.Errorf("no groupKey: got %s, want 400 naming groupKey", r)
		}
		if r := postJSON(t, h.URL+"/api/v2/prometheusalertmanager/incoming?token="+keys[1], group("firing", "x")); r.Status != http.StatusUnauthorized {
			t.Errorf("generic key on the Alertmanager endpoint: got %s, want 401", r)
		}
	})

	// Monitoring tools do not shorten what they send: a large group or a
	// long description must still page (Alertmanager and most senders do
	// not retry a 4xx, so a refusal loses the page). GoAlert shortens such
	// text to the alert's limits.
	t.Run("oversized integration payloads still page", func(t *testing.T) {
		svc, keys := newService(t, h, "Big payloads", "prometheusAlertmanager", "grafana", "pagerduty")
		var many []map[string]any
		for i := range 40 {
			many = append(many, map[string]any{
				"status":       "firing",
				"labels":       map[string]string{"alertname": "PodCrashLooping", "pod": fmt.Sprintf("worker-%02d-7d9f8c6b5-x2x4z", i), "namespace": "batch", "severity": "page"},
				"annotations":  map[string]string{"description": "Pod batch/worker is restarting 5 times / 10 minutes; last exit code 137 (OOMKilled)."},
				"generatorURL": "http://prometheus.example:9090/graph?g0.expr=kube_pod_container_status_restarts_total",
			})
		}
		am := map[string]any{
			"version": "4", "groupKey": `{}:{alertname="PodCrashLooping"}`, "status": "firing", "receiver": "goalert",
			"commonLabels":      map[string]string{"alertname": "PodCrashLooping", "namespace": "batch", "severity": "page"},
			"commonAnnotations": map[string]string{}, "externalURL": "http://alertmanager.example:9093", "alerts": many,
		}
		if r := postJSON(t, h.URL+"/api/v2/prometheusalertmanager/incoming?token="+keys[0], am); r.Status != http.StatusNoContent {
			t.Errorf("Alertmanager group of 40 alerts: got %s, want 204 and an alert", r)
		}
		gf := map[string]any{"version": "1", "status": "firing", "alerts": []map[string]any{{
			"status": "firing", "fingerprint": "big1", "labels": map[string]string{"alertname": "LogErrors"},
			"annotations": map[string]string{"summary": strings.Repeat("Errors in the payment log. ", 60), "description": strings.Repeat("stack frame\n", 800)},
		}}}
		if r := postJSON(t, h.URL+"/api/v2/grafana/incoming?token="+keys[1], gf); r.Status != http.StatusNoContent {
			t.Errorf("Grafana alert with a 1.6 KB summary and 9 KB description: got %s, want 204 and an alert", r)
		}
		custom := map[string]string{}
		for i := range 200 {
			custom[fmt.Sprintf("metric_%03d", i)] = "value of a metric that is fairly long"
		}
		pd := map[string]any{"routing_key": keys[2], "event_action": "trigger", "dedup_key": "big-pd",
			"payload": map[string]any{"summary": "Many metrics out of range", "source": "collector-1", "severity": "error", "custom_details": custom}}
		if r := postJSON(t, h.URL+"/v2/enqueue", pd); r.Status != http.StatusAccepted {
			t.Errorf("PagerDuty event with 12 KB of custom_details: got %s, want 202", r)
		}
		list := serviceAlerts(t, h, admin.Token, svc)
		if len(list) != 3 {
			t.Fatalf("alerts from oversized payloads: got %d, want 3", len(list))
		}
		for _, a := range list {
			if n := len([]rune(a.Summary)); n == 0 || n > 1024 {
				t.Errorf("alert %d: summary of %d characters, want 1 to 1024", a.AlertID, n)
			}
			if n := len([]rune(a.Details)); n > 6144 || n < 1000 {
				t.Errorf("alert %d: details of %d characters, want as much as fits in 6144", a.AlertID, n)
			}
		}
	})

	t.Run("Grafana alerting v1", func(t *testing.T) {
		svc, keys := newService(t, h, "Grafana", "grafana")
		endpoint := h.URL + "/api/v2/grafana/incoming?token=" + keys[0]
		alert := func(status, name, fp string) map[string]any {
			return map[string]any{
				"status":       status,
				"labels":       map[string]string{"alertname": name, "grafana_folder": "Infra"},
				"annotations":  map[string]string{"description": name + " on web-1"},
				"startsAt":     "2026-03-07T08:59:00Z",
				"endsAt":       "0001-01-01T00:00:00Z",
				"generatorURL": "https://grafana.example/alerting/grafana/" + fp + "/view",
				"fingerprint":  fp,
				"silenceURL":   "https://grafana.example/alerting/silence/new",
				"dashboardURL": "https://grafana.example/d/abc",
				"panelURL":     "https://grafana.example/d/abc?viewPanel=2",
			}
		}
		body := func(status string, alerts ...map[string]any) map[string]any {
			return map[string]any{
				"receiver": "GoAlert", "status": status, "orgId": 1, "alerts": alerts,
				"groupLabels": map[string]string{"grafana_folder": "Infra"}, "commonLabels": map[string]string{"grafana_folder": "Infra"},
				"externalURL": "https://grafana.example/", "version": "1", "groupKey": `{}:{grafana_folder="Infra"}`,
				"truncatedAlerts": 0, "title": "[FIRING:2] Infra", "state": "alerting", "message": "**Firing**",
			}
		}
		r := postJSON(t, endpoint, body("firing", alert("firing", "HighCPU", "c1f1"), alert("firing", "HighMemory", "m2f2")))
		if r.Status != http.StatusNoContent {
			t.Fatalf("two firing alerts: got %s, want 204", r)
		}
		got := bySummary(t, svc)
		if len(got) != 2 || got["HighCPU"].Status != "StatusUnacknowledged" || got["HighMemory"].Status != "StatusUnacknowledged" {
			t.Fatalf("after two firing alerts: got %+v, want HighCPU and HighMemory open", got)
		}
		if d := got["HighCPU"].Details; !strings.Contains(d, "HighCPU on web-1") || !strings.Contains(d, "https://grafana.example/d/abc?viewPanel=2") {
			t.Errorf("HighCPU details: got %q, want the description and the panel link", d)
		}
		r = postJSON(t, endpoint, body("resolved", alert("resolved", "HighCPU", "c1f1")))
		if r.Status != http.StatusNoContent {
			t.Fatalf("resolved: got %s, want 204", r)
		}
		got = bySummary(t, svc)
		if got["HighCPU"].Status != "StatusClosed" || got["HighMemory"].Status != "StatusUnacknowledged" {
			t.Errorf("after resolving HighCPU: got HighCPU %s, HighMemory %s; want closed and still open", got["HighCPU"].Status, got["HighMemory"].Status)
		}
		if r := postJSON(t, endpoint, body("firing", alert("firing", "NoPrint", ""))); r.Status != http.StatusBadRequest || !strings.Contains(r.Body, "fingerprint") {
			t.Errorf("alert without fingerprint: got %s, want 400 naming fingerprint", r)
		}
		// The legacy path works too.
		r = postJSON(t, h.URL+"/v1/webhooks/grafana?token="+keys[0], body("firing", alert("firing", "LegacyPath", "l3f3")))
		if r.Status != http.StatusNoContent {
			t.Errorf("legacy Grafana path: got %s, want 204", r)
		}
	})

	t.Run("Grafana legacy notification", func(t *testing.T) {
		svc, keys := newService(t, h, "Grafana legacy", "grafana")
		endpoint := h.URL + "/api/v2/grafana/incoming?token=" + keys[0]
		n := func(state string) map[string]any {
			return map[string]any{
				"dashboardId": 1, "evalMatches": []map[string]any{{"value": 100, "metric": "High value", "tags": nil}},
				"message": "Free disk below 10%", "orgId": 1, "panelId": 2, "ruleId": 3, "ruleName": "Disk space",
				"ruleUrl": "https://grafana.example/d/disk?panelId=2", "state": state, "tags": map[string]string{},
				"title": "[" + strings.ToTitle(state) + "] Disk space",
			}
		}
		if r := postJSON(t, endpoint, n("alerting")); r.Status != http.StatusNoContent {
			t.Fatalf("alerting: got %s, want 204", r)
		}
		got := bySummary(t, svc)
		a, ok := got["Disk space"]
		if len(got) != 1 || !ok || a.Status != "StatusUnacknowledged" || !strings.Contains(a.Details, "Free disk below 10%") {
			t.Fatalf("after alerting: got %+v, want one open alert \"Disk space\" with the message", got)
		}
		if r := postJSON(t, endpoint, n("no_data")); r.Status != http.StatusNoContent {
			t.Errorf("no_data: got %s, want 204", r)
		}
		if r := postJSON(t, endpoint, n("ok")); r.Status != http.StatusNoContent {
			t.Fatalf("ok: got %s, want 204", r)
		}
		got = bySummary(t, svc)
		if len(got) != 1 || got["Disk space"].Status != "StatusClosed" {
			t.Errorf("after ok: got %+v, want the one alert closed", got)
		}
		if r := postJSON(t, endpoint, n("paused")); r.Status != http.StatusBadRequest {
			t.Errorf("unknown state: got %s, want 400", r)
		}
	})

	t.Run("Site24x7", func(t *testing.T) {
		svc, keys := newService(t, h, "Site24x7", "site24x7")
		endpoint := h.URL + "/api/v2/site24x7/incoming?token=" + keys[0]
		n := func(status string) map[string]any {
			return map[string]any{
				"MONITORNAME": "www.example.com", "MONITORURL": "https://www.example.com", "MONITORTYPE": "URL",
				"STATUS": status, "INCIDENT_REASON": "Connection timed out", "INCIDENT_TIME": "March 7, 2026 9:00 AM UTC",
				"MONITOR_DASHBOARD_LINK": "https://www.site24x7.com/app/client#/home/monitors/123/Summary",
			}
		}
		if r := postJSON(t, endpoint, n("DOWN")); r.Status != http.StatusNoContent {
			t.Fatalf("DOWN: got %s, want 204", r)
		}
		got := bySummary(t, svc)
		if a, ok := got["www.example.com"]; len(got) != 1 || !ok || a.Status != "StatusUnacknowledged" {
			t.Fatalf("after DOWN: got %+v, want one open alert www.example.com", got)
		}
		if r := postJSON(t, endpoint, n("UP")); r.Status != http.StatusNoContent {
			t.Fatalf("UP: got %s, want 204", r)
		}
		if got := bySummary(t, svc); len(got) != 1 || got["www.example.com"].Status != "StatusClosed" {
			t.Errorf("after UP: got %+v, want the alert closed", got)
		}
		if r := postJSON(t, endpoint, n("MAINTENANCE")); r.Status != http.StatusBadRequest {
			t.Errorf("MAINTENANCE: got %s, want 400", r)
		}
		// The form variant Site24x7 can also send.
		form := url.Values{"token": {keys[0]}, "MONITORNAME": {"api.example.com"}, "STATUS": {"CRITICAL"}}
		if r := postForm(t, h.URL+"/api/v2/site24x7/incoming", form); r.Status != http.StatusNoContent {
			t.Errorf("form CRITICAL: got %s, want 204", r)
		}
		if a, ok := bySummary(t, svc)["api.example.com"]; !ok || a.Status != "StatusUnacknowledged" {
			t.Errorf("after form CRITICAL: got %+v, want an open alert api.example.com", a)
		}
	})

	t.Run("PagerDuty Events API v2", func(t *testing.T) {
		svc, keys := newService(t, h, "PagerDuty", "pagerduty", "generic")
		endpoint := h.URL + "/v2/enqueue"
		event := func(action, dedup string) map[string]any {
			e := map[string]any{"routing_key": keys[0], "event_action": action}
			if dedup != "" {
				e["dedup_key"] = dedup
			}
			if action == "trigger" {
				e["payload"] = map[string]any{
					"summary": "DB replication lag over 30s", "source": "db-2.example.com", "severity": "critical",
					"component": "postgres", "group": "prod-db", "class": "replication",
					"custom_details": map[string]any{"lag_seconds": 42, "replica": "db-2"},
				}
				e["client"] = "Nagios"
				e["links"] = []map[string]string{{"href": "https://nagios.example/db-2", "text": "Nagios"}}
			}
			return e
		}
		decode := func(t *testing.T, r reply) pdReply {
			t.Helper()
			var out pdReply
			if err := json.Unmarshal([]byte(r.Body), &out); err != nil {
				t.Fatalf("reply %s is not JSON: %v", r, err)
			}
			return out
		}

		r := postJSON(t, endpoint, event("trigger", "db-2/replication"))
		if r.Status != http.StatusAccepted {
			t.Fatalf("trigger: got %s, want 202", r)
		}
		if got, want := decode(t, r), (pdReply{Status: "success", Message: "Event processed", DedupKey: "db-2/replication"}); !reflect.DeepEqual(got, want) {
			t.Errorf("trigger reply: got %+v, want %+v", got, want)
		}
		list := serviceAlerts(t, h, admin.Token, svc)
		if len(list) != 1 || list[0].Summary != "DB replication lag over 30s" || list[0].Status != "StatusUnacknowledged" {
			t.Fatalf("after trigger: got %+v, want one open alert with the payload summary", list)
		}
		if d := list[0].Details; !strings.Contains(d, "db-2.example.com") || !strings.Contains(d, "lag_seconds") {
			t.Errorf("details: got %q, want the source and the custom details", d)
		}

		if r := postJSON(t, endpoint, event("acknowledge", "db-2/replication")); r.Status != http.StatusAccepted {
			t.Fatalf("acknowledge: got %s, want 202", r)
		}
		if a := getAlert(t, h, admin.Token, list[0].AlertID); a.Status != "StatusAcknowledged" {
			t.Errorf("after acknowledge: got %s, want StatusAcknowledged", a.Status)
		}
		r = postJSON(t, endpoint, event("resolve", "db-2/replication"))
		if got := decode(t, r); r.Status != http.StatusAccepted || got.Status != "success" || got.DedupKey != "db-2/replication" {
			t.Fatalf("resolve: got %s, want 202 success with the dedup_key", r)
		}
		if a := getAlert(t, h, admin.Token, list[0].AlertID); a.Status != "StatusClosed" {
			t.Errorf("after resolve: got %s, want StatusClosed", a.Status)
		}

		// A trigger without a dedup_key gets one, which a resolve can use.
		r = postJSON(t, endpoint, event("trigger", ""))
		gen := decode(t, r)
		if r.Status != http.StatusAccepted || !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(gen.DedupKey) {
			t.Fatalf("trigger without dedup_key: got %s, want 202 with a generated dedup_key", r)
		}
		if r := postJSON(t, endpoint, event("resolve", gen.DedupKey)); r.Status != http.StatusAccepted {
			t.Fatalf("resolve with the generated key: got %s, want 202", r)
		}
		for _, a := range serviceAlerts(t, h, admin.Token, svc) {
			if a.Status != "StatusClosed" {
				t.Errorf("alert %d after resolving with the generated key: got %s, want every alert closed", a.AlertID, a.Status)
			}
		}

		// Invalid events.
		bad := event("trigger", "x")
		delete(bad, "payload")
		r = postJSON(t, endpoint, bad)
		if got := decode(t, r); r.Status != http.StatusBadRequest || got.Status != "invalid event" || got.Message != "Event object is invalid" || len(got.Errors) == 0 {
			t.Errorf("trigger without payload: got %s, want 400 {status: invalid event, message: Event object is invalid, errors: […]}", r)
		}
		r = postJSON(t, endpoint, `{"routing_key":`)
		if got := decode(t, r); r.Status != http.StatusBadRequest || got.Status != "invalid event" {
			t.Errorf("malformed JSON: got %s, want 400 invalid event", r)
		}
		unknown := event("trigger", "y")
		unknown["routing_key"] = uuid.NewString()
		r = postJSON(t, endpoint, unknown)
		if got := decode(t, r); r.Status != http.StatusUnauthorized || got.Status != "invalid event" {
			t.Errorf("unknown routing key: got %s, want 401 with status invalid event", r)
		}
		wrongType := event("trigger", "z")
		wrongType["routing_key"] = keys[1]
		if r := postJSON(t, endpoint, wrongType); r.Status != http.StatusUnauthorized {
			t.Errorf("generic key as routing key: got %s, want 401", r)
		}
		if n := len(serviceAlerts(t, h, admin.Token, svc)); n != 2 {
			t.Errorf("alerts after the rejected events: got %d, want 2", n)
		}
	})
}

// pdReply is the PagerDuty Events API's reply.
type pdReply struct {
	Status   string   `json:"status"`
	Message  string   `json:"message"`
	DedupKey string   `json:"dedup_key"`
	Errors   []string `json:"errors"`
}
