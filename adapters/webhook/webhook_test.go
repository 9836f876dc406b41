package webhook_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/oncallhq/goalert/adapters/webhook"
	"github.com/oncallhq/goalert/adapters/webhook/webhooktest"
	"github.com/oncallhq/goalert/domain"
	"github.com/oncallhq/goalert/domain/notification"
)

const wait = 5 * time.Second

func dest(u string) notification.Dest {
	return notification.Dest{Type: notification.DestWebhook, Args: map[string]string{notification.ArgWebhookURL: u}}
}

func newSender(cfg webhook.Config) *webhook.Sender {
	return webhook.New(func() webhook.Config { return cfg }, nil)
}

func enabled() webhook.Config {
	return webhook.Config{Enable: true, PublicURL: "http://goalert.example.com/", AppName: "Pager"}
}

func TestSender_Send_payloads(t *testing.T) {
	srv := webhooktest.NewServer(t)
	s := newSender(enabled())
	tests := []struct {
		name string
		msg  notification.Message
		want map[string]any
	}{
		{"test", notification.Message{Kind: notification.KindTest},
			map[string]any{"AppName": "Pager", "Type": "Test"}},
		{"verification", notification.Message{Kind: notification.KindVerification, Code: "123456", AppName: "Ops Pager"},
			map[string]any{"AppName": "Ops Pager", "Type": "Verification", "Code": "123456"}},
		{"alert", notification.Message{Kind: notification.KindAlert, AlertID: 12, Summary: "disk full ☃",
			Details: "sda1 at 99%\n<b>", ServiceID: "svc-1", ServiceName: "Storage", Meta: map[string]string{"host": "db1"}},
			map[string]any{"AppName": "Pager", "Type": "Alert", "AlertID": 12.0, "Summary": "disk full ☃",
				"Details": "sda1 at 99%\n<b>", "ServiceID": "svc-1", "ServiceName": "Storage",
				"Meta": map[string]any{"host": "db1"}, "GoAlertURL": "http://goalert.example.com/alerts/12"}},
		{"alert without meta, own link", notification.Message{Kind: notification.KindAlert, AlertID: 13, Summary: "s",
			AlertURL: "http://short.example/a/13"},
			map[string]any{"AppName": "Pager", "Type": "Alert", "AlertID": 13.0, "Summary": "s", "Details": "",
				"ServiceID": "", "ServiceName": "", "Meta": map[string]any{}, "GoAlertURL": "http://short.example/a/13"}},
		{"bundle", notification.Message{Kind: notification.KindAlertBundle, ServiceID: "svc-1", ServiceName: "Storage", Count: 4},
			map[string]any{"AppName": "Pager", "Type": "AlertBundle", "ServiceID": "svc-1", "ServiceName": "Storage",
				"Count": 4.0, "GoAlertURL": "http://goalert.example.com/services/svc-1/alerts"}},
		{"status", notification.Message{Kind: notification.KindAlertStatus, AlertID: 12, Summary: "disk full",
			Details: "d", NewStatus: "acknowledged", LogEntry: "Acknowledged by Bob (SMS)"},
			map[string]any{"AppName": "Pager", "Type": "AlertStatus", "AlertID": 12.0, "LogEntry": "Acknowledged by Bob (SMS)",
				"Summary": "disk full", "Details": "d", "NewStatus": "acknowledged",
				"GoAlertURL": "http://goalert.example.com/alerts/12"}},
		{"on-call users", notification.Message{Kind: notification.KindOnCallUsers, ScheduleID: "sch-1", ScheduleName: "Primary",
			OnCall: []notification.OnCallUser{{ID: "u1", Name: "Bob", URL: "http://goalert.example.com/users/u1"}}},
			map[string]any{"AppName": "Pager", "Type": "ScheduleOnCallUsers", "ScheduleID": "sch-1", "ScheduleName": "Primary",
				"ScheduleURL": "http://goalert.example.com/schedules/sch-1",
				"Users":       []any{map[string]any{"ID": "u1", "Name": "Bob", "URL": "http://goalert.example.com/users/u1"}}}},
		{"on-call, nobody", notification.Message{Kind: notification.KindOnCallUsers, ScheduleID: "sch-1", ScheduleName: "Primary",
			ScheduleURL: "http://x/s"},
			map[string]any{"AppName": "Pager", "Type": "ScheduleOnCallUsers", "ScheduleID": "sch-1", "ScheduleName": "Primary",
				"ScheduleURL": "http://x/s", "Users": []any{}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.msg.ID = "msg-" + strings.ReplaceAll(tc.name, " ", "-")
			tc.msg.Dest = dest(srv.URL + "/hook")
			st, err := s.Send(context.Background(), tc.msg)
			if err != nil || st.State != notification.StateDelivered {
				t.Fatalf("Send: got %+v, %v; want delivered", st, err)
			}
			r := srv.Next(t, wait)
			if diff := cmp.Diff(tc.want, r.JSON); diff != "" {
				t.Errorf("payload (-want +got):\n%s", diff)
			}
			if r.Key() != tc.msg.ID {
				t.Errorf("Idempotency-Key: got %q, want %q", r.Key(), tc.msg.ID)
			}
		})
	}
}

func TestSender_Send_headers(t *testing.T) {
	srv := webhooktest.NewServer(t)
	s := newSender(webhook.Config{Enable: true})
	st, err := s.Send(context.Background(), notification.Message{ID: "m-1", Kind: notification.KindTest, Dest: dest(srv.URL + "/a/b?x=1")})
	if err != nil || st.State != notification.StateDelivered {
		t.Fatalf("Send: got %+v, %v; want delivered", st, err)
	}
	r := srv.Next(t, wait)
	want := map[string]string{
		"Content-Type":         "application/json",
		"User-Agent":           "GoAlert",
		"Idempotency-Key":      "m-1",
		"X-GoAlert-Message-ID": "m-1",
	}
	for k, v := range want {
		if got := r.Header.Get(k); got != v {
			t.Errorf("header %s: got %q, want %q", k, got, v)
		}
	}
	if r.Method != http.MethodPost || r.Path != "/a/b" || r.Query != "x=1" {
		t.Errorf("request: got %s %s?%s, want POST /a/b?x=1", r.Method, r.Path, r.Query)
	}
	if r.String("AppName") != "GoAlert" {
		t.Errorf("AppName: got %q, want GoAlert when none is configured", r.String("AppName"))
	}
}

// outcome is how a send ended, for tables.
type outcome string

const (
	delivered outcome = "delivered"
	failed    outcome = "failed"
	temporary outcome = "temporary"
	unknown   outcome = "unknown" // a plain error
)

func outcomeOf(st notification.Status, err error) outcome {
	switch {
	case err != nil && notification.IsTemporary(err):
		return temporary
	case err != nil:
		return unknown
	case st.State == notification.StateDelivered:
		return delivered
	case st.State == notification.StateFailed:
		return failed
	}
	return outcome("state " + string(st.State))
}

func TestSender_Send_statuses(t *testing.T) {
	srv := webhooktest.NewServer(t)
	s := newSender(webhook.Config{Enable: true})
	tests := []struct {
		reply      webhooktest.Reply
		want       outcome
		wantDetail string
	}{
		{webhooktest.Reply{Status: 200}, delivered, "200"},
		{webhooktest.Reply{Status: 202}, delivered, "202"},
		{webhooktest.Reply{Status: 204}, delivered, "204"},
		{webhooktest.Reply{Status: 400, Body: "bad   payload\n"}, failed, "HTTP 400 Bad Request: bad payload"},
		{webhooktest.Reply{Status: 401}, failed, "401"},
		{webhooktest.Reply{Status: 404}, failed, "404"},
		{webhooktest.Reply{Status: 410}, failed, "410"},
		{webhooktest.Reply{Status: 302}, failed, "redirects are not followed"},
		{webhooktest.Reply{Status: 408}, temporary, "408"},
		{webhooktest.Reply{Status: 429}, temporary, "429"},
		{webhooktest.Reply{Status: 500}, temporary, "500"},
		{webhooktest.Reply{Status: 502}, temporary, "502"},
		{webhooktest.Reply{Status: 503}, temporary, "503"},
	}
	for _, tc := range tests {
		srv.ReplyNext(1, tc.reply)
		st, err := s.Send(context.Background(), notification.Message{ID: "m", Kind: notification.KindTest, Dest: dest(srv.URL)})
		if got := outcomeOf(st, err); got != tc.want {
			t.Errorf("HTTP %d: got %s (%+v, %v), want %s", tc.reply.Status, got, st, err, tc.want)
			continue
		}
		detail := st.Detail
		if err != nil {
			detail = err.Error()
		}
		if !strings.Contains(detail, tc.wantDetail) {
			t.Errorf("HTTP %d: got detail %q, want it to contain %q", tc.reply.Status, detail, tc.wantDetail)
		}
	}
}

func TestSender_Send_noAnswer(t *testing.T) {
	srv := webhooktest.NewServer(t)
	cfg := webhook.Config{Enable: true, Timeout: 200 * time.Millisecond}
	s := newSender(cfg)
	msg := notification.Message{ID: "m", Kind: notification.KindTest, Dest: dest(srv.URL + "/secret-token")}

	t.Run("timeout after the request was written", func(t *testing.T) {
		srv.HangNext(1)
		start := time.Now()
		st, err := s.Send(context.Background(), msg)
		if got := outcomeOf(st, err); got != unknown {
			t.Fatalf("got %s (%+v, %v), want a plain error", got, st, err)
		}
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("got %v, want it to wrap context.DeadlineExceeded", err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("took %v, want about the 200ms timeout", d)
		}
		if strings.Contains(err.Error(), "secret-token") {
			t.Errorf("error %q shows the URL's path", err)
		}
	})
	t.Run("reset after the request was written", func(t *testing.T) {
		srv.DropNext(1)
		st, err := s.Send(context.Background(), msg)
		if got := outcomeOf(st, err); got != unknown {
			t.Fatalf("got %s (%+v, %v), want a plain error", got, st, err)
		}
	})
	t.Run("canceled by the caller", func(t *testing.T) {
		srv.HangNext(1)
		ctx, cancel := context.WithCancel(context.Background())
		before := len(srv.Requests())
		go func() {
			for len(srv.Requests()) == before {
				time.Sleep(5 * time.Millisecond)
			}
			cancel()
		}()
		st, err := s.Send(ctx, msg)
		if got := outcomeOf(st, err); got != unknown {
			t.Fatalf("got %s (%+v, %v), want a plain error", got, st, err)
		}
	})
	if got := len(srv.Requests()); got != 3 {
		t.Errorf("sink got %d requests, want 3", got)
	}
}

func TestSender_Send_unreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := "http://" + l.Addr().String() + "/hook"
	_ = l.Close()

	s := newSender(webhook.Config{Enable: true, Timeout: 2 * time.Second})
	for _, u := range []string{refused, "http://no-such-host.invalid/hook"} {
		st, err := s.Send(context.Background(), notification.Message{ID: "m", Kind: notification.KindTest, Dest: dest(u)})
		if got := outcomeOf(st, err); got != temporary {
			t.Errorf("%s: got %s (%+v, %v), want temporary", u, got, st, err)
		}
	}
}

func TestSender_Send_refused(t *testing.T) {
	srv := webhooktest.NewServer(t)
	tests := []struct {
		name       string
		cfg        webhook.Config
		msg        notification.Message
		wantDetail string
	}{
		{"disabled", webhook.Config{Enable: false},
			notification.Message{Kind: notification.KindTest, Dest: dest(srv.URL)}, notification.ErrDisabled.Error()},
		{"not allowed", webhook.Config{Enable: true, AllowedURLs: []string{"http://hooks.example.com/"}},
			notification.Message{Kind: notification.KindTest, Dest: dest(srv.URL)}, "not allowed"},
		{"not http", webhook.Config{Enable: true},
			notification.Message{Kind: notification.KindTest, Dest: dest("ftp://" + strings.TrimPrefix(srv.URL, "http://"))}, "http"},
		{"no URL", webhook.Config{Enable: true},
			notification.Message{Kind: notification.KindTest, Dest: dest("")}, "http"},
		{"other destination type", webhook.Config{Enable: true},
			notification.Message{Kind: notification.KindTest, Dest: notification.Dest{Type: notification.DestEmail}}, "destination type"},
		{"unknown kind", webhook.Config{Enable: true},
			notification.Message{Kind: "Fax", Dest: dest(srv.URL)}, "Fax"},
	}
	for _, tc := range tests {
		st, err := newSender(tc.cfg).Send(context.Background(), tc.msg)
		if err != nil || st.State != notification.StateFailed {
			t.Errorf("%s: got %+v, %v; want StateFailed", tc.name, st, err)
			continue
		}
		if !strings.Contains(st.Detail, tc.wantDetail) {
			t.Errorf("%s: got detail %q, want it to contain %q", tc.name, st.Detail, tc.wantDetail)
		}
	}
	if got := len(srv.Requests()); got != 0 {
		t.Errorf("sink got %d requests, want none", got)
	}
}

func TestSender_Send_readsConfigEachTime(t *testing.T) {
	srv := webhooktest.NewServer(t)
	cfg := webhook.Config{Enable: false}
	s := webhook.New(func() webhook.Config { return cfg }, nil)
	msg := notification.Message{ID: "m", Kind: notification.KindTest, Dest: dest(srv.URL)}
	if st, err := s.Send(context.Background(), msg); err != nil || st.State != notification.StateFailed {
		t.Fatalf("disabled: got %+v, %v; want StateFailed", st, err)
	}
	cfg.Enable = true
	if st, err := s.Send(context.Background(), msg); err != nil || st.State != notification.StateDelivered {
		t.Fatalf("enabled: got %+v, %v; want delivered", st, err)
	}
}

func TestSender_Send_repeatIsRecognisable(t *testing.T) {
	srv := webhooktest.NewServer(t)
	s := newSender(webhook.Config{Enable: true})
	page := notification.Message{ID: "page-1", Kind: notification.KindAlert, AlertID: 1, Summary: "down", Dest: dest(srv.URL)}
	srv.FailNext(1, http.StatusServiceUnavailable)
	if _, err := s.Send(context.Background(), page); !notification.IsTemporary(err) {
		t.Fatalf("first try: got %v, want a temporary error", err)
	}
	for range 2 {
		if st, err := s.Send(context.Background(), page); err != nil || st.State != notification.StateDelivered {
			t.Fatalf("retry: got %+v, %v; want delivered", st, err)
		}
	}
	other := page
	other.ID, other.AlertID = "page-2", 2
	if _, err := s.Send(context.Background(), other); err != nil {
		t.Fatal(err)
	}
	if got := srv.CountDistinct("Alert"); got != 2 {
		t.Errorf("distinct alerts: got %d, want 2", got)
	}
	if diff := cmp.Diff(map[string]int{"page-1": 3, "page-2": 1}, srv.Deliveries()); diff != "" {
		t.Errorf("deliveries (-want +got):\n%s", diff)
	}
}

func TestValidate(t *testing.T) {
	allowed := []string{"https://hooks.example.com", "http://10.0.0.5:8080/goalert/", "https://chat.example.com/api?team=ops"}
	tests := []struct {
		url     string
		allowed []string
		want    error
	}{
		{"https://anything.example.org/x", nil, nil},
		{"http://127.0.0.1:9/", nil, nil},
		{"ftp://hooks.example.com/", nil, webhook.ErrInvalidURL},
		{"hooks.example.com/x", nil, webhook.ErrInvalidURL},
		{"/relative", nil, webhook.ErrInvalidURL},
		{"", nil, webhook.ErrInvalidURL},
		{"http://", nil, webhook.ErrInvalidURL},
		{"https://hooks.example.com", allowed, nil},
		{"https://hooks.example.com/a/b?c=d", allowed, nil},
		{"HTTPS://Hooks.Example.com/a", allowed, nil},
		{"http://hooks.example.com/a", allowed, webhook.ErrURLNotAllowed},
		{"https://hooks.example.com.evil.test/a", allowed, webhook.ErrURLNotAllowed},
		{"https://hooks.example.com@evil.test/a", allowed, webhook.ErrURLNotAllowed},
		{"https://hooks.example.com:8443/a", allowed, webhook.ErrURLNotAllowed},
		{"http://10.0.0.5:8080/goalert/hook", allowed, nil},
		{"http://10.0.0.5:8080/other", allowed, webhook.ErrURLNotAllowed},
		{"http://10.0.0.5/goalert/hook", allowed, webhook.ErrURLNotAllowed},
		{"https://chat.example.com/api?team=ops&x=1", allowed, nil},
		{"https://chat.example.com/api?team=dev", allowed, webhook.ErrURLNotAllowed},
		{"ftp://hooks.example.com/", allowed, webhook.ErrInvalidURL},
	}
	for _, tc := range tests {
		err := webhook.Validate(webhook.Config{AllowedURLs: tc.allowed}, tc.url)
		if !errors.Is(err, tc.want) || (err == nil) != (tc.want == nil) {
			t.Errorf("Validate(%q, %d allowed): got %v, want %v", tc.url, len(tc.allowed), err, tc.want)
		}
		if err != nil && domain.KindOf(err) != domain.KindInvalid {
			t.Errorf("Validate(%q): got kind %q, want invalid", tc.url, domain.KindOf(err))
		}
	}
}
