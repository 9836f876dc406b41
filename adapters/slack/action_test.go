package slack

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/labstack/echo/v4"

	"github.com/oncallhq/goalert/adapters/slack/slacktest"
	"github.com/oncallhq/goalert/domain"
	"github.com/oncallhq/goalert/domain/alert"
)

const (
	testSecret = "8f742231b10e8888abcd99yyyzzz85a5"
	testTeam   = "T0001"
	testUser   = "U0001"
)

// actCall is one call to fakeBackend.Act.
type actCall struct {
	TeamID, UserID string
	AlertID        int64
	Action         Action
}

type fakeBackend struct {
	mu     sync.Mutex
	calls  []actCall
	result Result
	err    error
}

func (b *fakeBackend) Act(_ context.Context, teamID, userID string, alertID int64, a Action) (Result, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.calls = append(b.calls, actCall{teamID, userID, alertID, a})
	return b.result, b.err
}

func (b *fakeBackend) Calls() []actCall {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]actCall(nil), b.calls...)
}

type handlerHarness struct {
	url     string
	slack   *slacktest.Server
	backend *fakeBackend
	handler *Handler
	cfg     Config
}

func newHandlerHarness(t *testing.T, backend *fakeBackend, cfg func(*Config)) *handlerHarness {
	t.Helper()
	h := &handlerHarness{slack: slacktest.NewServer(t, testToken), backend: backend}
	h.cfg = Config{
		Enable: true, AccessToken: testToken, SigningSecret: testSecret, InteractiveMessages: true,
		BaseURL: h.slack.URL, PublicURL: "http://127.0.0.1:8081", AppName: "GoAlert",
	}
	if cfg != nil {
		cfg(&h.cfg)
	}
	h.handler = NewHandler(func() Config { return h.cfg }, backend, nil, time.Now, nil)
	e := echo.New()
	h.handler.Register(e)
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	h.url = srv.URL
	return h
}

// settle waits for the handler's replies, so that what the fake holds is
// all there will be.
func (h *handlerHarness) settle() { h.handler.Wait() }

func TestHandler_MessageAction_acknowledge(t *testing.T) {
	backend := &fakeBackend{result: Result{
		Status: alert.StatusActive, LogEntry: "Acknowledged by Bob (Slack)", Summary: "disk full", ServiceName: "Database",
	}}
	h := newHandlerHarness(t, backend, nil)
	respURL := h.slack.ResponseURL()

	status := slacktest.ClickButton(t, h.url, testSecret, testTeam, testUser, ActionIDAcknowledge, 42, respURL)
	if status != http.StatusOK {
		t.Fatalf("click: got HTTP %d, want 200", status)
	}
	if diff := cmp.Diff([]actCall{{testTeam, testUser, 42, ActionAcknowledge}}, backend.Calls()); diff != "" {
		t.Errorf("backend calls (-want +got):\n%s", diff)
	}
	r := h.slack.WaitForResponse(t, nil)
	if r.URL != respURL || !r.ReplaceOriginal || r.ResponseType == "ephemeral" {
		t.Errorf("response: got URL %s, replace_original %v, type %q; want %s, true, not ephemeral", r.URL, r.ReplaceOriginal, r.ResponseType, respURL)
	}
	bt := r.BlockText()
	for _, want := range []string{"<http://127.0.0.1:8081/alerts/42|disk full>", "&gt; Acknowledged by Bob (Slack)", "Status: *Acknowledged*", "Service: *Database*"} {
		if !strings.Contains(bt, want) {
			t.Errorf("rewritten blocks: got %q, want them to contain %q", bt, want)
		}
	}
	var ids []string
	for _, b := range r.Buttons() {
		ids = append(ids, b.ActionID)
	}
	if diff := cmp.Diff([]string{ActionIDClose, ActionIDOpen}, ids); diff != "" {
		t.Errorf("buttons after ack (-want +got):\n%s", diff)
	}
}

func TestHandler_MessageAction_closeRemovesButtons(t *testing.T) {
	backend := &fakeBackend{result: Result{Status: alert.StatusClosed, LogEntry: "Closed by Bob (Slack)", Summary: "disk full"}}
	h := newHandlerHarness(t, backend, nil)
	status := slacktest.ClickButton(t, h.url, testSecret, testTeam, testUser, ActionIDClose, 7, h.slack.ResponseURL())
	if status != http.StatusOK {
		t.Fatalf("click: got HTTP %d, want 200", status)
	}
	if got := backend.Calls(); len(got) != 1 || got[0].Action != ActionClose || got[0].AlertID != 7 {
		t.Errorf("backend calls: got %+v, want one close of alert 7", got)
	}
	r := h.slack.WaitForResponse(t, nil)
	for _, id := range []string{ActionIDAcknowledge, ActionIDClose} {
		if _, ok := r.Button(id); ok {
			t.Errorf("rewritten message: has button %s, want none once closed", id)
		}
	}
	if !strings.Contains(r.BlockText(), "Status: *Closed*") {
		t.Errorf("rewritten blocks: got %q, want status Closed", r.BlockText())
	}
}

func TestHandler_MessageAction_refused(t *testing.T) {
	tests := []struct {
		name  string
		click func(t *testing.T, h *handlerHarness, respURL string) int
	}{
		{name: "bad signature", click: func(t *testing.T, h *handlerHarness, respURL string) int {
			return slacktest.ClickButtonBadSignature(t, h.url, testSecret, testTeam, testUser, ActionIDAcknowledge, 42, respURL)
		}},
		{name: "wrong secret", click: func(t *testing.T, h *handlerHarness, respURL string) int {
			return slacktest.ClickButton(t, h.url, "not-the-secret", testTeam, testUser, ActionIDAcknowledge, 42, respURL)
		}},
		{name: "stale timestamp", click: func(t *testing.T, h *handlerHarness, respURL string) int {
			return slacktest.PostClick(t, h.url, testSecret, slacktest.Click{
				TeamID: testTeam, UserID: testUser, ActionID: ActionIDAcknowledge, Value: "42", ResponseURL: respURL,
				Time: time.Now().Add(-6 * time.Minute),
			})
		}},
		{name: "no signature headers", click: func(t *testing.T, h *handlerHarness, respURL string) int {
			c := slacktest.Click{TeamID: testTeam, UserID: testUser, ActionID: ActionIDAcknowledge, Value: "42", ResponseURL: respURL}
			resp, err := http.PostForm(h.url+MessageActionPath, url.Values{"payload": {c.Payload()}})
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			return resp.StatusCode
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			backend := &fakeBackend{result: Result{Status: alert.StatusActive}}
			h := newHandlerHarness(t, backend, nil)
			if got := tc.click(t, h, h.slack.ResponseURL()); got != http.StatusUnauthorized {
				t.Errorf("click: got HTTP %d, want 401", got)
			}
			h.settle()
			if got := backend.Calls(); len(got) != 0 {
				t.Errorf("backend calls: got %+v, want none", got)
			}
			if got := h.slack.Responses(); len(got) != 0 {
				t.Errorf("responses: got %+v, want none", got)
			}
		})
	}
}

func TestHandler_MessageAction_replies(t *testing.T) {
	tests := []struct {
		name        string
		err         error
		result      Result
		cfg         func(*Config)
		wantCalls   int
		wantText    string // of the ephemeral reply
		wantRewrite bool
	}{
		{name: "unknown Slack user", err: ErrNoLinkedUser, wantCalls: 1,
			wantText: "Your Slack user U0001 has no contact method in GoAlert."},
		{name: "unknown Slack user, wrapped", err: errors.Join(errors.New("lookup"), ErrNoLinkedUser), wantCalls: 1,
			wantText: "has no contact method in GoAlert"},
		{name: "already closed", err: alert.ErrClosed, wantCalls: 1, wantText: "Alert #42 is already closed."},
		{name: "already closed, with the alert", err: alert.ErrClosed, result: Result{Status: alert.StatusClosed, Summary: "disk full"},
			wantCalls: 1, wantText: "Alert #42 is already closed.", wantRewrite: true},
		{name: "already acknowledged", err: alert.ErrAlreadyAcknowledged, wantCalls: 1, wantText: "Alert #42 is already acknowledged."},
		{name: "not found", err: alert.ErrNotFound, wantCalls: 1, wantText: "Alert #42 was not found in GoAlert."},
		{name: "other domain error", err: domain.Forbidden("nope", "you may not do this"), wantCalls: 1,
			wantText: "Could not acknowledge alert #42: you may not do this."},
		{name: "internal error", err: errors.New("connection reset"), wantCalls: 1,
			wantText: "Could not acknowledge alert #42 because of an internal error in GoAlert"},
		{name: "interactive messages off", cfg: func(c *Config) { c.InteractiveMessages = false },
			wantText: "Acting on alerts from Slack is turned off in GoAlert."},
		{name: "Slack disabled", cfg: func(c *Config) { c.Enable = false },
			wantText: "Acting on alerts from Slack is turned off in GoAlert."},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			backend := &fakeBackend{result: tc.result, err: tc.err}
			h := newHandlerHarness(t, backend, tc.cfg)
			if got := slacktest.ClickButton(t, h.url, testSecret, testTeam, testUser, ActionIDAcknowledge, 42, h.slack.ResponseURL()); got != http.StatusOK {
				t.Fatalf("click: got HTTP %d, want 200", got)
			}
			h.settle()
			if got := len(backend.Calls()); got != tc.wantCalls {
				t.Errorf("backend calls: got %d, want %d", got, tc.wantCalls)
			}
			rs := h.slack.Responses()
			wantN := 1
			if tc.wantRewrite {
				wantN = 2
			}
			if len(rs) != wantN {
				t.Fatalf("responses: got %d (%+v), want %d", len(rs), rs, wantN)
			}
			if rs[0].ResponseType != "ephemeral" || rs[0].ReplaceOriginal {
				t.Errorf("reply: got type %q, replace_original %v; want ephemeral, false", rs[0].ResponseType, rs[0].ReplaceOriginal)
			}
			if !strings.Contains(rs[0].Text, tc.wantText) {
				t.Errorf("reply text: got %q, want it to contain %q", rs[0].Text, tc.wantText)
			}
			if tc.wantRewrite && (!rs[1].ReplaceOriginal || len(rs[1].Buttons()) != 1) {
				t.Errorf("rewrite: got %+v, want replace_original with only the link button", rs[1])
			}
		})
	}
}

func TestHandler_MessageAction_ignoredAndMalformed(t *testing.T) {
	signed := func(t *testing.T, h *handlerHarness, form url.Values) int {
		body := []byte(form.Encode())
		ts := time.Now().Unix()
		req, _ := http.NewRequest(http.MethodPost, h.url+MessageActionPath, strings.NewReader(string(body)))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set(HeaderTimestamp, strconv.FormatInt(ts, 10))
		req.Header.Set(HeaderSignature, Signature(testSecret, strconv.FormatInt(ts, 10), body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	click := func(actionID, value string) url.Values {
		c := slacktest.Click{TeamID: testTeam, UserID: testUser, ActionID: actionID, Value: value, ResponseURL: "http://127.0.0.1:1/unused"}
		return url.Values{"payload": {c.Payload()}}
	}
	tests := []struct {
		name string
		form url.Values
		want int
	}{
		{name: "link button", form: click(ActionIDOpen, "42"), want: http.StatusOK},
		{name: "other interaction type", form: url.Values{"payload": {`{"type":"view_closed","user":{"id":"U1"}}`}}, want: http.StatusOK},
		{name: "unknown action", form: click("action_alert_snooze", "42"), want: http.StatusBadRequest},
		{name: "value not an alert id", form: click(ActionIDAcknowledge, "forty-two"), want: http.StatusBadRequest},
		{name: "negative alert id", form: click(ActionIDAcknowledge, "-1"), want: http.StatusBadRequest},
		{name: "malformed payload", form: url.Values{"payload": {`{"type":`}}, want: http.StatusBadRequest},
		{name: "no payload", form: url.Values{"other": {"x"}}, want: http.StatusBadRequest},
		{name: "no user", form: url.Values{"payload": {`{"type":"block_actions","actions":[{"action_id":"action_alert_ack","value":"1"}]}`}}, want: http.StatusBadRequest},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			backend := &fakeBackend{}
			h := newHandlerHarness(t, backend, nil)
			if got := signed(t, h, tc.form); got != tc.want {
				t.Errorf("HTTP status: got %d, want %d", got, tc.want)
			}
			h.settle()
			if got := backend.Calls(); len(got) != 0 {
				t.Errorf("backend calls: got %+v, want none", got)
			}
		})
	}
}
