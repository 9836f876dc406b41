package twilio_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/labstack/echo/v4"

	"github.com/oncallhq/goalert/adapters/twilio"
	"github.com/oncallhq/goalert/adapters/twilio/twiliotest"
	"github.com/oncallhq/goalert/domain/notification"
)

// fakeBackend records what the handler asks and answers as configured.
type fakeBackend struct {
	mu    sync.Mutex
	calls []string

	actionResult twilio.Result
	actionErr    error
	msg          notification.Message
	msgErr       error
	statuses     []notification.Status

	known     map[string]bool
	unhelpful map[string]int
}

func newFakeBackend() *fakeBackend {
	return &fakeBackend{
		known:        map[string]bool{bob: true},
		unhelpful:    map[string]int{},
		actionResult: twilio.Result{AlertID: 42},
		msg:          notification.Message{ID: "msg-1", Kind: notification.KindAlert, AlertID: 42, Summary: "disk full"},
	}
}

func (b *fakeBackend) record(format string, args ...any) {
	b.calls = append(b.calls, fmt.Sprintf(format, args...))
}

// took returns, and forgets, the calls so far.
func (b *fakeBackend) took() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	calls := b.calls
	b.calls = nil
	return calls
}

func (b *fakeBackend) SMSAction(_ context.Context, from string, target twilio.Target, action twilio.Action) (twilio.Result, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.record("SMSAction %s %s code=%d alert=%d %s", from, target.Kind, target.Code, target.AlertID, action)
	return b.actionResult, b.actionErr
}

func (b *fakeBackend) CallAction(_ context.Context, msgID string, action twilio.Action) (twilio.Result, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.record("CallAction %s %s", msgID, action)
	return b.actionResult, b.actionErr
}

func (b *fakeBackend) CallMessage(_ context.Context, msgID string) (notification.Message, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.msg, b.msgErr
}

func (b *fakeBackend) SetEnabledByNumber(_ context.Context, number string, enabled bool) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.record("SetEnabledByNumber %s %t", number, enabled)
	return nil
}

func (b *fakeBackend) AllowUnhelpfulReply(_ context.Context, number string) (bool, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.known[number] || b.unhelpful[number] >= 5 {
		return false, nil
	}
	b.unhelpful[number]++
	return true, nil
}

func (b *fakeBackend) ResetUnhelpfulReplies(_ context.Context, number string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.record("ResetUnhelpfulReplies %s", number)
	b.unhelpful[number] = 0
	return nil
}

func (b *fakeBackend) MessageStatus(_ context.Context, msgID, providerID string, st notification.Status) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.record("MessageStatus %s %s %s %s", msgID, providerID, st.State, st.Detail)
	return nil
}

// harness serves the handler on loopback, with the fake Twilio API behind
// the sender.
type harness struct {
	fake    *twiliotest.Server
	backend *fakeBackend
	url     string // where the handler listens

	mu  sync.Mutex
	cfg twilio.Config
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	h := &harness{fake: twiliotest.NewServer(t, twiliotest.AccountSID, twiliotest.AuthToken), backend: newFakeBackend()}
	h.cfg = h.fake.Config(publicURL)
	e := echo.New()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	twilio.NewHandler(h.config, h.backend, log).Register(e)
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	h.url = srv.URL
	return h
}

func (h *harness) config() twilio.Config {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.cfg
}

func (h *harness) setConfig(fn func(*twilio.Config)) {
	h.mu.Lock()
	defer h.mu.Unlock()
	fn(&h.cfg)
}

// text sends an SMS from a phone and returns the SMS answers.
func (h *harness) text(t *testing.T, from, body string) []string {
	t.Helper()
	answer := twiliotest.SendSMS(t, h.url, publicURL, twiliotest.AuthToken, from, twiliotest.FromNumber, body)
	return twiliotest.ParseTwiML(t, answer).Messages
}

func TestHandler_message(t *testing.T) {
	const (
		help    = "Sorry, but that isn't a request GoAlert understood. Visit the Web UI for more information. To unsubscribe, reply with STOP."
		unknown = "Unknown reply code for this action. Visit the dashboard to manage alerts."
	)
	tests := []struct {
		name      string
		body      string
		from      string // bob unless set
		result    twilio.Result
		err       error
		cfg       func(*twilio.Config)
		want      []string // the SMS answers
		wantCalls []string
	}{
		{name: "acknowledge by code", body: "1a", result: twilio.Result{AlertID: 42},
			want:      []string{"Acknowledged alert #42"},
			wantCalls: []string{"SMSAction +15555550123 code code=1 alert=0 acknowledge", "ResetUnhelpfulReplies +15555550123"}},
		{name: "escalate by code", body: "'2 e'", result: twilio.Result{AlertID: 42},
			want:      []string{"Escalation requested alert #42"},
			wantCalls: []string{"SMSAction +15555550123 code code=2 alert=0 escalate", "ResetUnhelpfulReplies +15555550123"}},
		{name: "close the last alert", body: "c", result: twilio.Result{AlertID: 7},
			want:      []string{"Closed alert #7"},
			wantCalls: []string{"SMSAction +15555550123 last_alert code=0 alert=0 close", "ResetUnhelpfulReplies +15555550123"}},
		{name: "close by alert id", body: "close #7", result: twilio.Result{AlertID: 7},
			want:      []string{"Closed alert #7"},
			wantCalls: []string{"SMSAction +15555550123 alert_id code=0 alert=7 close", "ResetUnhelpfulReplies +15555550123"}},
		{name: "acknowledge a bundle", body: "100aa", result: twilio.Result{ServiceName: "Web"},
			want:      []string{"Acknowledged all alerts for service 'Web'"},
			wantCalls: []string{"SMSAction +15555550123 bundle_code code=100 alert=0 acknowledge", "ResetUnhelpfulReplies +15555550123"}},
		{name: "unknown code", body: "9a", err: fmt.Errorf("look up: %w", twilio.ErrUnknownCode),
			want: []string{unknown}, wantCalls: []string{"SMSAction +15555550123 code code=9 alert=0 acknowledge"}},
		{name: "already closed", body: "1c",
			err:       &twilio.ActionError{Err: twilio.ErrAlreadyClosed, AlertID: 42, LogEntry: "Closed by Bob (SMS)"},
			want:      []string{"Alert #42 already closed\n\nClosed by Bob (SMS)"},
			wantCalls: []string{"SMSAction +15555550123 code code=1 alert=0 close"}},
		{name: "already acknowledged, no detail", body: "1a", err: twilio.ErrAlreadyAcked,
			want: []string{"Alert already acknowledged"}, wantCalls: []string{"SMSAction +15555550123 code code=1 alert=0 acknowledge"}},
		{name: "not allowed", body: "1e",
			err:       &twilio.ActionError{Err: twilio.ErrNotAllowed, AlertID: 42, Reason: "the service is in maintenance mode"},
			want:      []string{"Error: the service is in maintenance mode"},
			wantCalls: []string{"SMSAction +15555550123 code code=1 alert=0 escalate"}},
		{name: "system error", body: "1a", err: errors.New("database is down"),
			want: []string{"System error. Visit the dashboard to manage alerts."}, wantCalls: []string{"SMSAction +15555550123 code code=1 alert=0 acknowledge"}},
		{name: "not understood", body: "what is this", want: []string{help}},
		{name: "not understood, application name", body: "hi", cfg: func(c *twilio.Config) { c.AppName = "Pager" },
			want: []string{"Sorry, but that isn't a request Pager understood. Visit the Web UI for more information. To unsubscribe, reply with STOP."}},
		{name: "not understood from an unknown number", body: "hi", from: "+15555550999"},
		{name: "two-way SMS disabled", body: "1a", cfg: func(c *twilio.Config) { c.DisableTwoWaySMS = true },
			want: []string{"Response codes are currently disabled. Visit the dashboard to manage alerts."}},
		{name: "stop", body: "STOP", wantCalls: []string{"SetEnabledByNumber +15555550123 false"}},
		{name: "start", body: "unstop", wantCalls: []string{"SetEnabledByNumber +15555550123 true"}},
		{name: "stop from an unknown number", body: "quit", from: "+15555550999", wantCalls: []string{"SetEnabledByNumber +15555550999 false"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.backend.actionResult, h.backend.actionErr = tc.result, tc.err
			if tc.cfg != nil {
				h.setConfig(tc.cfg)
			}
			from := tc.from
			if from == "" {
				from = bob
			}
			got := h.text(t, from, tc.body)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("answers to %q (-want +got):\n%s", tc.body, diff)
			}
			if diff := cmp.Diff(tc.wantCalls, h.backend.took()); diff != "" {
				t.Errorf("backend calls for %q (-want +got):\n%s", tc.body, diff)
			}
		})
	}
}

func TestHandler_message_unhelpfulLimit(t *testing.T) {
	h := newHarness(t)
	for i := range 5 {
		if got := h.text(t, bob, "hello?"); len(got) != 1 {
			t.Fatalf("unhelpful answer %d: got %q, want one answer", i+1, got)
		}
	}
	if got := h.text(t, bob, "hello?"); len(got) != 0 {
		t.Errorf("sixth unhelpful answer: got %q, want silence", got)
	}
	h.backend.actionErr = twilio.ErrUnknownCode
	if got := h.text(t, bob, "5a"); len(got) != 0 {
		t.Errorf("unknown code past the limit: got %q, want silence", got)
	}

	h.backend.actionErr = nil
	if got := h.text(t, bob, "1a"); !cmp.Equal(got, []string{"Acknowledged alert #42"}) {
		t.Errorf("successful action past the limit: got %q, want its answer", got)
	}
	if got := h.text(t, bob, "hello?"); len(got) != 1 {
		t.Errorf("unhelpful answer after a success: got %q, want an answer again", got)
	}
}

func TestHandler_signature(t *testing.T) {
	smsForm := url.Values{"MessageSid": {"SM1"}, "From": {bob}, "To": {twiliotest.FromNumber}, "Body": {"1a"}}
	targets := []struct {
		path string
		form url.Values
	}{
		{twilio.PathMessage, smsForm},
		{twilio.PathMessageStatus + "?msgID=msg-1", url.Values{"MessageSid": {"SM1"}, "MessageStatus": {"delivered"}}},
		{twilio.PathCall + "?type=alert&msgID=msg-1", url.Values{"CallSid": {"CA1"}, "To": {bob}, "Direction": {"outbound-api"}, "Digits": {"4"}}},
		{twilio.PathCallStatus + "?msgID=msg-1", url.Values{"CallSid": {"CA1"}, "CallStatus": {"completed"}}},
	}
	for _, tg := range targets {
		t.Run(tg.path, func(t *testing.T) {
			h := newHarness(t)

			status, _ := twiliotest.PostBadSignature(t, h.url, publicURL, tg.path, tg.form)
			if status != http.StatusForbidden {
				t.Errorf("bad signature: got status %d, want 403", status)
			}

			status, _ = twiliotest.Post(t, h.url, "http://elsewhere.example.com", twiliotest.AuthToken,
				"http://elsewhere.example.com"+tg.path, tg.form)
			if status != http.StatusForbidden {
				t.Errorf("signed for another public URL: got status %d, want 403", status)
			}

			req, _ := http.NewRequest(http.MethodPost, h.url+tg.path, strings.NewReader(tg.form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusForbidden {
				t.Errorf("no signature: got status %d, want 403", resp.StatusCode)
			}

			// A parameter changed after signing, as by someone in the middle.
			signed := twilio.Sign(twiliotest.AuthToken, publicURL+tg.path, tg.form)
			tampered := with(tg.form, "Extra", "1")
			req, _ = http.NewRequest(http.MethodPost, h.url+tg.path, strings.NewReader(tampered.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set(twilio.SignatureHeader, signed)
			resp, err = http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusForbidden {
				t.Errorf("tampered parameters: got status %d, want 403", resp.StatusCode)
			}

			h.setConfig(func(c *twilio.Config) { c.Enable = false })
			status, _ = twiliotest.Post(t, h.url, publicURL, twiliotest.AuthToken, tg.path, tg.form)
			if status != http.StatusForbidden {
				t.Errorf("Twilio disabled: got status %d, want 403", status)
			}

			if calls := h.backend.took(); len(calls) != 0 {
				t.Errorf("refused requests reached the backend: %q", calls)
			}

			h.setConfig(func(c *twilio.Config) { c.Enable = true })
			status, body := twiliotest.Post(t, h.url, publicURL, twiliotest.AuthToken, tg.path, tg.form)
			if status/100 != 2 {
				t.Errorf("good signature: got status %d (%s), want 2xx", status, body)
			}
			if calls := h.backend.took(); len(calls) == 0 {
				t.Errorf("good signature: the backend was not called")
			}
		})
	}
}

func TestHandler_status(t *testing.T) {
	tests := []struct {
		path, statusField, status string
		extra                     url.Values
		want                      []string
	}{
		{twilio.PathMessageStatus, "MessageStatus", "queued", nil, []string{"MessageStatus msg-1 XX1 sent queued"}},
		{twilio.PathMessageStatus, "MessageStatus", "sending", nil, []string{"MessageStatus msg-1 XX1 sent sending"}},
		{twilio.PathMessageStatus, "MessageStatus", "sent", nil, []string{"MessageStatus msg-1 XX1 sent sent"}},
		{twilio.PathMessageStatus, "MessageStatus", "delivered", nil, []string{"MessageStatus msg-1 XX1 delivered delivered"}},
		{twilio.PathMessageStatus, "MessageStatus", "undelivered", url.Values{"ErrorCode": {"30003"}},
			[]string{"MessageStatus msg-1 XX1 failed undelivered (error 30003)"}},
		{twilio.PathMessageStatus, "MessageStatus", "failed", nil, []string{"MessageStatus msg-1 XX1 failed failed"}},
		{twilio.PathMessageStatus, "MessageStatus", "receiving", nil, nil},
		{twilio.PathCallStatus, "CallStatus", "initiated", nil, []string{"MessageStatus msg-1 XX1 sent initiated"}},
		{twilio.PathCallStatus, "CallStatus", "ringing", nil, []string{"MessageStatus msg-1 XX1 sent ringing"}},
		{twilio.PathCallStatus, "CallStatus", "in-progress", nil, []string{"MessageStatus msg-1 XX1 sent in-progress"}},
		{twilio.PathCallStatus, "CallStatus", "completed", nil, []string{"MessageStatus msg-1 XX1 delivered completed"}},
		{twilio.PathCallStatus, "CallStatus", "busy", nil, []string{"MessageStatus msg-1 XX1 failed busy"}},
		{twilio.PathCallStatus, "CallStatus", "no-answer", nil, []string{"MessageStatus msg-1 XX1 failed no-answer"}},
		{twilio.PathCallStatus, "CallStatus", "canceled", nil, []string{"MessageStatus msg-1 XX1 failed canceled"}},
		{twilio.PathCallStatus, "CallStatus", "failed", nil, []string{"MessageStatus msg-1 XX1 failed failed"}},
		{twilio.PathCallStatus, "CallStatus", "failed", url.Values{"SipResponseCode": {"480"}}, []string{"MessageStatus msg-1 XX1 failed no-answer"}},
	}
	h := newHarness(t)
	for _, tc := range tests {
		sidField := "MessageSid"
		if tc.statusField == "CallStatus" {
			sidField = "CallSid"
		}
		form := url.Values{sidField: {"XX1"}, tc.statusField: {tc.status}}
		for k, v := range tc.extra {
			form[k] = v
		}
		status, body := twiliotest.Post(t, h.url, publicURL, twiliotest.AuthToken, tc.path+"?msgID=msg-1", form)
		if status != http.StatusNoContent {
			t.Errorf("%s %s: got status %d (%s), want 204", tc.path, tc.status, status, body)
		}
		if diff := cmp.Diff(tc.want, h.backend.took()); diff != "" {
			t.Errorf("%s %s: backend calls (-want +got):\n%s", tc.path, tc.status, diff)
		}
	}

	status, _ := twiliotest.Post(t, h.url, publicURL, twiliotest.AuthToken, twilio.PathMessageStatus,
		url.Values{"MessageSid": {"XX1"}, "MessageStatus": {"delivered"}})
	if status != http.StatusBadRequest {
		t.Errorf("status report without msgID: got status %d, want 400", status)
	}
}

func TestHandler_status_roundTrip(t *testing.T) {
	h := newHarness(t)
	s := twilio.NewSender(h.config, nil)
	m := alertMsg()
	st, err := s.Send(t.Context(), m)
	if err != nil {
		t.Fatal(err)
	}
	got := h.fake.ExpectSMS(t, bob, "disk full")
	if code := twiliotest.ReportSMSStatus(t, h.url, publicURL, twiliotest.AuthToken, got, "delivered"); code != http.StatusNoContent {
		t.Fatalf("status report: got %d, want 204", code)
	}
	want := []string{"MessageStatus msg-1 " + st.ProviderID + " delivered delivered"}
	if diff := cmp.Diff(want, h.backend.took()); diff != "" {
		t.Errorf("backend calls (-want +got):\n%s", diff)
	}
}
