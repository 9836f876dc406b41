package slack

import (
	"bufio"
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/oncallhq/goalert/adapters/slack/slacktest"
	"github.com/oncallhq/goalert/domain/notification"
)

const testToken = "xoxb-test-token"

func channelDest(id string) notification.Dest {
	return notification.Dest{Type: notification.DestSlackChannel, Args: map[string]string{notification.ArgSlackChannelID: id}}
}

func alertMessage() notification.Message {
	return notification.Message{
		ID: "m1", Kind: notification.KindAlert, Dest: channelDest("C123"), AppName: "GoAlert",
		AlertID: 42, Summary: "disk full on db1", Details: "95% used", ServiceName: "Database",
		AlertURL: "http://127.0.0.1:8081/alerts/42",
	}
}

// newSender returns a sender configured for fake, with cfg's fields
// applied over a working configuration.
func newSender(fake *slacktest.Server, interactive bool) *Sender {
	return NewSender(func() Config {
		return Config{Enable: true, AccessToken: testToken, InteractiveMessages: interactive, BaseURL: fake.URL}
	}, nil)
}

func TestSender_Send_alert(t *testing.T) {
	for _, interactive := range []bool{true, false} {
		name := "interactive"
		if !interactive {
			name = "not interactive"
		}
		t.Run(name, func(t *testing.T) {
			fake := slacktest.NewServer(t, testToken)
			st, err := newSender(fake, interactive).Send(t.Context(), alertMessage())
			if err != nil {
				t.Fatalf("Send: got error %v", err)
			}
			msgs := fake.Messages()
			if len(msgs) != 1 {
				t.Fatalf("messages posted: got %d, want 1", len(msgs))
			}
			m := msgs[0]
			want := notification.Status{State: notification.StateDelivered, ProviderID: "C123:" + m.TS}
			if diff := cmp.Diff(want, st); diff != "" {
				t.Errorf("status (-want +got):\n%s", diff)
			}
			if m.Token != testToken || m.Requested != "C123" {
				t.Errorf("token, channel: got %q, %q, want %q, C123", m.Token, m.Requested, testToken)
			}
			if want := "Alert #42: disk full on db1"; m.Text != want {
				t.Errorf("text: got %q, want %q", m.Text, want)
			}
			bt := m.BlockText()
			for _, want := range []string{"*#42* <http://127.0.0.1:8081/alerts/42|disk full on db1>", "Service: *Database*", "Status: *Unacknowledged*"} {
				if !strings.Contains(bt, want) {
					t.Errorf("blocks: got %q, want it to contain %q", bt, want)
				}
			}
			var wantButtons []slacktest.Button
			if interactive {
				wantButtons = []slacktest.Button{
					{ActionID: "action_alert_ack", Value: "42", Text: "Acknowledge", Style: "primary"},
					{ActionID: "action_alert_close", Value: "42", Text: "Close", Style: "danger"},
					{ActionID: "action_open_alert", Value: "42", URL: "http://127.0.0.1:8081/alerts/42", Text: "Open in GoAlert"},
				}
			}
			if diff := cmp.Diff(wantButtons, m.Buttons()); diff != "" {
				t.Errorf("buttons (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSender_Send_kinds(t *testing.T) {
	base := alertMessage()
	with := func(f func(*notification.Message)) notification.Message { m := base; f(&m); return m }
	tests := []struct {
		name        string
		msg         notification.Message
		wantText    string
		wantBlocks  []string
		wantButtons []string // action ids, interactive on
	}{
		{
			name: "bundle",
			msg: with(func(m *notification.Message) {
				m.Kind, m.Count, m.AlertURL = notification.KindAlertBundle, 3, "http://x/services/s1/alerts"
			}),
			wantText:   "Service 'Database' has 3 unacknowledged alerts.",
			wantBlocks: []string{"<http://x/services/s1/alerts|Service 'Database' has 3 unacknowledged alerts.>"},
		},
		{
			name: "status acknowledged",
			msg: with(func(m *notification.Message) {
				m.Kind, m.NewStatus, m.LogEntry = notification.KindAlertStatus, "acknowledged", "Acknowledged by Bob (SMS)"
			}),
			wantText:    "Alert #42: disk full on db1 (Acknowledged by Bob (SMS))",
			wantBlocks:  []string{"&gt; Acknowledged by Bob (SMS)", "Status: *Acknowledged*", "*#42*"},
			wantButtons: []string{ActionIDClose, ActionIDOpen},
		},
		{
			name: "status closed",
			msg: with(func(m *notification.Message) {
				m.Kind, m.NewStatus, m.LogEntry = notification.KindAlertStatus, "closed", "Closed by Ann (Slack)"
			}),
			wantText:    "Alert #42: disk full on db1 (Closed by Ann (Slack))",
			wantBlocks:  []string{"&gt; Closed by Ann (Slack)", "Status: *Closed*"},
			wantButtons: []string{ActionIDOpen},
		},
		{
			name:       "test",
			msg:        with(func(m *notification.Message) { m.Kind, m.AppName = notification.KindTest, "Pager" }),
			wantText:   "This is a test message from Pager.",
			wantBlocks: []string{"This is a test message from Pager."},
		},
		{
			name:       "verification",
			msg:        with(func(m *notification.Message) { m.Kind, m.Code = notification.KindVerification, "123456" }),
			wantText:   "GoAlert verification code: 123456",
			wantBlocks: []string{"*123456*"},
		},
		{
			name: "on-call users",
			msg: with(func(m *notification.Message) {
				m.Kind, m.ScheduleName, m.ScheduleURL = notification.KindOnCallUsers, "Primary", "http://x/schedules/s"
				m.OnCall = []notification.OnCallUser{{ID: "u1", Name: "Bob", URL: "http://x/users/u1"}, {ID: "u2", Name: "Ann & Co"}}
			}),
			wantText:   "Users on-call for Primary: Bob, Ann &amp; Co",
			wantBlocks: []string{"<http://x/schedules/s|*Primary*>", "• <http://x/users/u1|Bob>\n• Ann &amp; Co"},
		},
		{
			name: "nobody on call",
			msg: with(func(m *notification.Message) {
				m.Kind, m.ScheduleName = notification.KindOnCallUsers, "Primary"
			}),
			wantText:   "No users are on-call for Primary.",
			wantBlocks: []string{"No users are on-call for *Primary*."},
		},
		{
			name:       "mrkdwn escaped",
			msg:        with(func(m *notification.Message) { m.Summary, m.AlertURL = "<!channel> a&b", "" }),
			wantText:   "Alert #42: &lt;!channel&gt; a&amp;b",
			wantBlocks: []string{"*#42* &lt;!channel&gt; a&amp;b"},
			wantButtons: []string{
				ActionIDAcknowledge, ActionIDClose,
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fake := slacktest.NewServer(t, testToken)
			st, err := newSender(fake, true).Send(t.Context(), tc.msg)
			if err != nil || st.State != notification.StateDelivered {
				t.Fatalf("Send: got %+v, %v, want delivered", st, err)
			}
			m := fake.Messages()[0]
			if m.Text != tc.wantText {
				t.Errorf("text: got %q, want %q", m.Text, tc.wantText)
			}
			bt := m.BlockText()
			for _, want := range tc.wantBlocks {
				if !strings.Contains(bt, want) {
					t.Errorf("blocks: got %q, want it to contain %q", bt, want)
				}
			}
			var gotButtons []string
			for _, b := range m.Buttons() {
				gotButtons = append(gotButtons, b.ActionID)
			}
			if diff := cmp.Diff(tc.wantButtons, gotButtons); diff != "" {
				t.Errorf("buttons (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSender_Send_directMessage(t *testing.T) {
	fake := slacktest.NewServer(t, testToken)
	m := alertMessage()
	m.Dest = notification.Dest{Type: notification.DestSlackDM, Args: map[string]string{notification.ArgSlackUserID: "U777"}}
	st, err := newSender(fake, false).Send(t.Context(), m)
	if err != nil {
		t.Fatalf("Send: got error %v", err)
	}
	got := fake.Messages()[0]
	if got.Requested != "U777" {
		t.Errorf("channel sent: got %q, want U777", got.Requested)
	}
	if want := "D777:" + got.TS; st.ProviderID != want {
		t.Errorf("ProviderID: got %q, want %q (the DM conversation)", st.ProviderID, want)
	}
}

func TestSender_Send_outcomes(t *testing.T) {
	type want struct {
		state      notification.State
		detail     string // substring of Status.Detail
		err        bool
		temporary  bool
		retryAfter time.Duration
	}
	tests := []struct {
		name   string
		setup  func(*slacktest.Server)
		cfg    func(*Config)
		msg    func(*notification.Message)
		want   want
		noCall bool
	}{
		{name: "delivered", want: want{state: notification.StateDelivered}},
		{name: "disabled", cfg: func(c *Config) { c.Enable = false },
			want: want{state: notification.StateFailed, detail: notification.ErrDisabled.Error()}, noCall: true},
		{name: "unknown channel", setup: func(s *slacktest.Server) { s.SetUnknownChannel("C123") },
			want: want{state: notification.StateFailed, detail: "channel_not_found"}},
		{name: "wrong token", cfg: func(c *Config) { c.AccessToken = "xoxb-wrong" },
			want: want{state: notification.StateFailed, detail: "invalid_auth"}},
		{name: "no token", cfg: func(c *Config) { c.AccessToken = "" },
			want: want{state: notification.StateFailed, detail: "not_authed"}},
		{name: "HTTP 429", setup: func(s *slacktest.Server) { s.RateLimitNext(1, 30*time.Second) },
			want: want{err: true, temporary: true, retryAfter: 30 * time.Second, detail: "retry after 30s"}},
		{name: "ratelimited without 429", setup: func(s *slacktest.Server) { s.ErrorNext(1, "ratelimited") },
			want: want{err: true, temporary: true, detail: "rate limited"}},
		{name: "HTTP 500", setup: func(s *slacktest.Server) { s.FailNext(1, 500) },
			want: want{err: true, temporary: true, detail: "500"}},
		{name: "HTTP 503", setup: func(s *slacktest.Server) { s.FailNext(1, 503) },
			want: want{err: true, temporary: true, detail: "503"}},
		{name: "service_unavailable", setup: func(s *slacktest.Server) { s.ErrorNext(1, "service_unavailable") },
			want: want{err: true, temporary: true, detail: "service_unavailable"}},
		{name: "internal_error may have posted", setup: func(s *slacktest.Server) { s.ErrorNext(1, "internal_error") },
			want: want{err: true, detail: "internal_error"}},
		{name: "other Slack error", setup: func(s *slacktest.Server) { s.ErrorNext(1, "is_archived") },
			want: want{state: notification.StateFailed, detail: "is_archived"}},
		{name: "not a Slack destination", msg: func(m *notification.Message) { m.Dest.Type = notification.DestEmail },
			want: want{state: notification.StateFailed, detail: "not a Slack destination"}, noCall: true},
		{name: "no channel id", msg: func(m *notification.Message) { m.Dest = channelDest("") },
			want: want{state: notification.StateFailed, detail: "slack_channel_id"}, noCall: true},
		{name: "unknown kind", msg: func(m *notification.Message) { m.Kind = "Fax" },
			want: want{state: notification.StateFailed, detail: "not supported"}, noCall: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fake := slacktest.NewServer(t, testToken)
			if tc.setup != nil {
				tc.setup(fake)
			}
			cfg := Config{Enable: true, AccessToken: testToken, BaseURL: fake.URL}
			if tc.cfg != nil {
				tc.cfg(&cfg)
			}
			m := alertMessage()
			if tc.msg != nil {
				tc.msg(&m)
			}
			st, err := NewSender(func() Config { return cfg }, nil).Send(t.Context(), m)
			checkOutcome(t, st, err, tc.want.state, tc.want.detail, tc.want.err, tc.want.temporary)
			if tc.want.retryAfter > 0 {
				var rl *RateLimitError
				if !errors.As(err, &rl) || rl.RetryAfter != tc.want.retryAfter {
					t.Errorf("error: got %v, want a RateLimitError with RetryAfter %s", err, tc.want.retryAfter)
				}
			}
			if calls := len(fake.Calls()); tc.noCall && calls != 0 || !tc.noCall && calls != 1 {
				t.Errorf("calls to Slack: got %d, want %d", calls, map[bool]int{true: 0, false: 1}[tc.noCall])
			}
		})
	}
}

func checkOutcome(t *testing.T, st notification.Status, err error, state notification.State, detail string, wantErr, temporary bool) {
	t.Helper()
	if (err != nil) != wantErr {
		t.Fatalf("Send: got status %+v, error %v; want error: %v", st, err, wantErr)
	}
	if notification.IsTemporary(err) != temporary {
		t.Errorf("IsTemporary(%v): got %v, want %v", err, !temporary, temporary)
	}
	if !wantErr && st.State != state {
		t.Errorf("state: got %q (%s), want %q", st.State, st.Detail, state)
	}
	if !strings.Contains(st.Detail, detail) {
		t.Errorf("detail: got %q, want it to contain %q", st.Detail, detail)
	}
}

// TestSender_Send_transport covers failures below Slack's API: whether the
// message may have gone out decides between a temporary and a plain error.
func TestSender_Send_transport(t *testing.T) {
	refused := func(t *testing.T) string {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		return "http://" + addr
	}
	// dropAfterRequest reads a whole request, then closes the connection
	// without answering: the post may have happened.
	dropAfterRequest := func(t *testing.T) string {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { l.Close() })
		go func() {
			for {
				c, err := l.Accept()
				if err != nil {
					return
				}
				req, err := http.ReadRequest(bufio.NewReader(c))
				if err == nil {
					_, _ = req.Body.Read(make([]byte, 1<<16))
				}
				c.Close()
			}
		}()
		return "http://" + l.Addr().String()
	}
	answer := func(status int, body string) func(t *testing.T) string {
		return func(t *testing.T) string {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(status)
				_, _ = w.Write([]byte(body))
			}))
			t.Cleanup(srv.Close)
			return srv.URL
		}
	}
	tests := []struct {
		name      string
		baseURL   func(t *testing.T) string
		state     notification.State
		detail    string
		err       bool
		temporary bool
	}{
		{name: "connection refused", baseURL: refused, err: true, temporary: true},
		{name: "connection dropped after the request", baseURL: dropAfterRequest, err: true},
		{name: "unreadable 200", baseURL: answer(200, "<html>ok</html>"), err: true},
		{name: "404 without JSON", baseURL: answer(404, "not found"), state: notification.StateFailed, detail: "404"},
		{name: "400 with a Slack error", baseURL: answer(400, `{"ok":false,"error":"invalid_arguments"}`), state: notification.StateFailed, detail: "invalid_arguments"},
		{name: "ok without ts", baseURL: answer(200, `{"ok":true}`), state: notification.StateDelivered},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			base := tc.baseURL(t)
			ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
			defer cancel()
			st, err := NewSender(func() Config {
				return Config{Enable: true, AccessToken: testToken, BaseURL: base}
			}, nil).Send(ctx, alertMessage())
			checkOutcome(t, st, err, tc.state, tc.detail, tc.err, tc.temporary)
		})
	}
}

func TestConfig_apiURL(t *testing.T) {
	tests := []struct{ base, want string }{
		{"", "https://slack.com/api/chat.postMessage"},
		{"http://127.0.0.1:9999", "http://127.0.0.1:9999/api/chat.postMessage"},
		{"http://127.0.0.1:9999/", "http://127.0.0.1:9999/api/chat.postMessage"},
	}
	for _, tc := range tests {
		if got := (Config{BaseURL: tc.base}).apiURL("chat.postMessage"); got != tc.want {
			t.Errorf("apiURL with BaseURL %q: got %q, want %q", tc.base, got, tc.want)
		}
	}
}
