package app_test

// Shared helpers for the black-box tests of the HTTP server: accounts that
// sign in over HTTP, a GraphQL client, services with integration keys, and
// a way to wait until the read models show what the server accepted.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/oncallhq/goalert/cmd/goalert/app/apptest"
	"github.com/oncallhq/goalert/commands"
	"github.com/oncallhq/goalert/domain/user"
	"github.com/oncallhq/goalert/events"
)

// testPassword is the password of every account the tests create.
const testPassword = "correct horse battery staple"

// account is a user who has signed in over HTTP.
type account struct {
	ID       string
	Name     string
	Username string
	Token    string // the session token from ?noRedirect=1
}

// httpClient does not follow redirects, so tests see the server's 302s.
var httpClient = &http.Client{
	Timeout:       30 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// reply is an HTTP response as a client sees it.
type reply struct {
	Status  int
	Body    string
	Header  http.Header
	Cookies []*http.Cookie
}

func (r reply) String() string {
	b := r.Body
	if len(b) > 300 {
		b = b[:300] + "…"
	}
	return fmt.Sprintf("%d %q", r.Status, b)
}

// cookie returns the response's cookie called name, or nil.
func (r reply) cookie(name string) *http.Cookie {
	for _, c := range r.Cookies {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// newRequest builds a request; headers are name, value pairs.
func newRequest(t testing.TB, method, target string, body io.Reader, headers ...string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, target, body)
	if err != nil {
		t.Fatalf("build %s %s: %v", method, target, err)
	}
	if len(headers)%2 != 0 {
		t.Fatalf("newRequest: headers must be name, value pairs: %q", headers)
	}
	for i := 0; i < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	return req
}

// send performs req and reads the whole reply.
func send(t testing.TB, req *http.Request) reply {
	t.Helper()
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL.Redacted(), err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read reply: %v", req.Method, req.URL.Redacted(), err)
	}
	return reply{Status: resp.StatusCode, Body: string(b), Header: resp.Header, Cookies: resp.Cookies()}
}

// postForm posts an urlencoded form.
func postForm(t testing.TB, target string, form url.Values, headers ...string) reply {
	t.Helper()
	headers = append([]string{"Content-Type", "application/x-www-form-urlencoded"}, headers...)
	return send(t, newRequest(t, http.MethodPost, target, strings.NewReader(form.Encode()), headers...))
}

// postJSON posts body as JSON: a string or []byte as is, anything else
// marshalled.
func postJSON(t testing.TB, target string, body any, headers ...string) reply {
	t.Helper()
	var b []byte
	switch v := body.(type) {
	case string:
		b = []byte(v)
	case []byte:
		b = v
	default:
		var err error
		if b, err = json.Marshal(v); err != nil {
			t.Fatalf("marshal request body: %v", err)
		}
	}
	headers = append([]string{"Content-Type", "application/json"}, headers...)
	return send(t, newRequest(t, http.MethodPost, target, bytes.NewReader(b), headers...))
}

// settle waits until every read model has caught up with every event
// committed so far, so what a request changed is visible to the next query.
// (Store.Head stops below the oldest running transaction, which may be
// older than the request's, so it is not enough here.)
func settle(t testing.TB, h *apptest.Harness) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var xid, pos int64
	err := h.Pool.QueryRow(ctx, `SELECT transaction_id::text::bigint, global_position FROM events
		ORDER BY events.transaction_id DESC, events.global_position DESC LIMIT 1`).Scan(&xid, &pos)
	if err != nil {
		t.Fatalf("read the newest event: %v", err)
	}
	if err := h.Runner.WaitFor(ctx, events.Checkpoint{TransactionID: uint64(xid), Position: pos}); err != nil {
		t.Fatalf("read models did not catch up with the log: %v", err)
	}
}

// createUser adds a user with basic-auth credentials (testPassword) through
// the command handler and waits until they can sign in.
func createUser(t testing.TB, h *apptest.Harness, name, username string, role user.Role) string {
	t.Helper()
	ctx := context.Background()
	id, res, err := h.Commands.CreateUser(ctx, commands.CreateUser{
		Name: name, Email: username + "@example.com", Role: role, Username: username, Password: testPassword,
	})
	if err != nil {
		t.Fatalf("create user %s: %v", username, err)
	}
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := h.Runner.WaitFor(wctx, res.Last, "users"); err != nil {
		t.Fatalf("wait for user %s in the read model: %v", username, err)
	}
	return id
}

// newAccount creates a user and signs them in over HTTP.
func newAccount(t testing.TB, h *apptest.Harness, name, username string, role user.Role) account {
	t.Helper()
	id := createUser(t, h, name, username, role)
	return account{ID: id, Name: name, Username: username, Token: signIn(t, h, username, testPassword)}
}

// loginURL is the basic provider's endpoint that answers with the token.
func loginURL(h *apptest.Harness) string {
	return h.URL + "/api/v2/identity/providers/basic?noRedirect=1"
}

// signIn signs in with the basic provider and returns the session token.
func signIn(t testing.TB, h *apptest.Harness, username, password string) string {
	t.Helper()
	r := postForm(t, loginURL(h), url.Values{"username": {username}, "password": {password}}, "Referer", h.URL+"/")
	if r.Status != http.StatusOK {
		t.Fatalf("sign in as %s: got %s, want 200 with the session token", username, r)
	}
	tok := strings.TrimSpace(r.Body)
	if strings.Count(tok, ".") != 2 {
		t.Fatalf("sign in as %s: body %q is not a JWT session token", username, tok)
	}
	return tok
}

// gqlError is one entry of a GraphQL reply's errors.
type gqlError struct {
	Message    string         `json:"message"`
	Path       []any          `json:"path"`
	Extensions map[string]any `json:"extensions"`
}

// Code is the machine-readable code (extensions.code).
func (e gqlError) Code() string {
	c, _ := e.Extensions["code"].(string)
	return c
}

type gqlReply struct {
	Data   json.RawMessage `json:"data"`
	Errors []gqlError      `json:"errors"`
}

// bearer authenticates a request with a session token as a script would.
func bearer(token string) func(*http.Request) {
	return func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+token) }
}

// withCookie authenticates a request with the session cookie as a browser
// would.
func withCookie(token string) func(*http.Request) {
	return func(r *http.Request) { r.AddCookie(&http.Cookie{Name: "goalert_session.2", Value: token}) }
}

// gqlRaw posts a GraphQL request with auth applied (nil for none) and
// returns the status and the decoded reply.
func gqlRaw(t testing.TB, h *apptest.Harness, auth func(*http.Request), query string, vars map[string]any) (int, gqlReply) {
	t.Helper()
	body, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	if err != nil {
		t.Fatalf("marshal GraphQL request: %v", err)
	}
	req := newRequest(t, http.MethodPost, h.URL+"/api/graphql", bytes.NewReader(body), "Content-Type", "application/json")
	if auth != nil {
		auth(req)
	}
	r := send(t, req)
	var out gqlReply
	if err := json.Unmarshal([]byte(r.Body), &out); err != nil {
		t.Fatalf("GraphQL reply is not JSON: %s (%v)", r, err)
	}
	return r.Status, out
}

// gqlAs runs a query with the given auth; the reply must be 200. It returns
// the data and the errors.
func gqlAs(t testing.TB, h *apptest.Harness, auth func(*http.Request), query string, vars map[string]any) (json.RawMessage, []gqlError) {
	t.Helper()
	status, r := gqlRaw(t, h, auth, query, vars)
	if status != http.StatusOK {
		t.Fatalf("GraphQL %s: got HTTP %d (errors %+v), want 200", firstLine(query), status, r.Errors)
	}
	return r.Data, r.Errors
}

// gql runs a query as the holder of token (Bearer).
func gql(t testing.TB, h *apptest.Harness, token, query string, vars map[string]any) (json.RawMessage, []gqlError) {
	t.Helper()
	return gqlAs(t, h, bearer(token), query, vars)
}

// mustGQL runs a query that must succeed and decodes its data into out.
func mustGQL(t testing.TB, h *apptest.Harness, token, query string, vars map[string]any, out any) {
	t.Helper()
	data, errs := gql(t, h, token, query, vars)
	decodeGQL(t, query, data, errs, out)
}

func decodeGQL(t testing.TB, query string, data json.RawMessage, errs []gqlError, out any) {
	t.Helper()
	if len(errs) > 0 {
		t.Fatalf("GraphQL %s: got errors %+v, want none", firstLine(query), errs)
	}
	if out == nil {
		return
	}
	if err := json.Unmarshal(data, out); err != nil {
		t.Fatalf("GraphQL %s: decode data %s: %v", firstLine(query), data, err)
	}
}

// wantGQLError checks that errs holds exactly one error, with code.
func wantGQLError(t testing.TB, what string, errs []gqlError, code string) gqlError {
	t.Helper()
	if len(errs) != 1 {
		t.Fatalf("%s: got errors %+v, want exactly one with code %s", what, errs, code)
	}
	if got := errs[0].Code(); got != code {
		t.Errorf("%s: got error code %q (%q), want %s", what, got, errs[0].Message, code)
	}
	if strings.TrimSpace(errs[0].Message) == "" {
		t.Errorf("%s: error has an empty message", what)
	}
	return errs[0]
}

func firstLine(q string) string {
	q = strings.TrimSpace(q)
	if i := strings.IndexByte(q, '\n'); i >= 0 {
		q = q[:i]
	}
	if len(q) > 80 {
		q = q[:80]
	}
	return q
}

// newService creates a service with one key per type through the command
// handler and waits until the read models show it. It returns the service
// id and the keys' tokens in the order of types.
func newService(t testing.TB, h *apptest.Harness, name string, types ...string) (string, []string) {
	t.Helper()
	ctx := context.Background()
	c := commands.CreateService{Name: name, Description: "test service " + name}
	for _, typ := range types {
		c.Keys = append(c.Keys, commands.NewKey{Name: name + " " + typ, Type: typ})
	}
	id, keys, res, err := h.Commands.CreateService(ctx, c)
	if err != nil {
		t.Fatalf("create service %s: %v", name, err)
	}
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := h.Runner.WaitFor(wctx, res.Last); err != nil {
		t.Fatalf("wait for service %s in the read models: %v", name, err)
	}
	return id, keys
}

// alertView is what GraphQL shows of an alert.
type alertView struct {
	ID        string `json:"id"`
	AlertID   int64  `json:"alertID"`
	Status    string `json:"status"`
	Summary   string `json:"summary"`
	Details   string `json:"details"`
	ServiceID string `json:"serviceID"`
	Service   *struct {
		Name string `json:"name"`
	} `json:"service"`
	Meta []struct {
		Key   string `json:"key"`
		Value string `json:"value"`
	} `json:"meta"`
	RecentEvents struct {
		Nodes []struct {
			Message string `json:"message"`
		} `json:"nodes"`
	} `json:"recentEvents"`
}

// alertFields selects every field of alertView.
const alertFields = `id alertID status summary details serviceID service { name } meta { key value } recentEvents { nodes { message } }`

// messages returns the alert's log messages, newest first.
func (a *alertView) messages() []string {
	var out []string
	for _, n := range a.RecentEvents.Nodes {
		out = append(out, n.Message)
	}
	return out
}

// getAlert reads alert id through GraphQL once the read models have caught
// up; nil when the API says there is no such alert.
func getAlert(t testing.TB, h *apptest.Harness, token string, id int64) *alertView {
	t.Helper()
	settle(t, h)
	var out struct{ Alert *alertView }
	mustGQL(t, h, token, `query($id: Int!) { alert(id: $id) { `+alertFields+` } }`, map[string]any{"id": id}, &out)
	return out.Alert
}

// serviceAlerts lists a service's alerts (every status, newest first)
// through GraphQL once the read models have caught up.
func serviceAlerts(t testing.TB, h *apptest.Harness, token, serviceID string) []alertView {
	t.Helper()
	settle(t, h)
	var out struct {
		Alerts struct{ Nodes []alertView }
	}
	mustGQL(t, h, token, `query($svc: ID!) { alerts(input: {filterByServiceID: [$svc], first: 100}) { nodes { `+alertFields+` } } }`,
		map[string]any{"svc": serviceID}, &out)
	return out.Alerts.Nodes
}

// genericReply is the generic endpoint's JSON reply.
type genericReply struct {
	AlertID   int64
	ServiceID string
	IsNew     bool
}

// decodeGeneric checks a 200 JSON reply of the generic endpoint and
// decodes it.
func decodeGeneric(t testing.TB, what string, r reply) genericReply {
	t.Helper()
	if r.Status != http.StatusOK {
		t.Fatalf("%s: got %s, want 200 with a JSON body", what, r)
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("%s: got Content-Type %q, want application/json", what, ct)
	}
	var g genericReply
	dec := json.NewDecoder(strings.NewReader(r.Body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&g); err != nil {
		t.Fatalf("%s: body %q is not {AlertID, ServiceID, IsNew}: %v", what, r.Body, err)
	}
	return g
}

// trigger posts a generic form trigger with Accept: application/json and
// returns the decoded reply.
func trigger(t testing.TB, h *apptest.Harness, key, summary, dedup string) genericReply {
	t.Helper()
	form := url.Values{"token": {key}, "summary": {summary}}
	if dedup != "" {
		form.Set("dedup", dedup)
	}
	r := postForm(t, h.URL+"/api/v2/generic/incoming", form, "Accept", "application/json")
	return decodeGeneric(t, "trigger "+summary, r)
}

// countEvents counts the events named name in the log whose payload
// contains (jsonb @>) match.
func countEvents(t testing.TB, h *apptest.Harness, name string, match map[string]any) int {
	t.Helper()
	m, err := json.Marshal(match)
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := h.Pool.QueryRow(context.Background(),
		`SELECT count(*) FROM events WHERE event_name = $1 AND payload @> $2::jsonb`, name, string(m)).Scan(&n); err != nil {
		t.Fatalf("count %s events: %v", name, err)
	}
	return n
}
