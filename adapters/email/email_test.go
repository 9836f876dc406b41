package email_test

import (
	"context"
	"errors"
	"net"
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/oncallhq/goalert/adapters/email"
	"github.com/oncallhq/goalert/adapters/email/emailtest"
	"github.com/oncallhq/goalert/domain/notification"
)

const wait = 5 * time.Second

func dest(addr string) notification.Dest {
	return notification.Dest{Type: notification.DestEmail, Args: map[string]string{notification.ArgEmailAddress: addr}}
}

func config(relay *emailtest.Server) email.Config {
	return email.Config{
		Enable:    true,
		From:      "goalert@example.com",
		Address:   relay.Addr(),
		PublicURL: "http://goalert.example.com",
		TLSConfig: relay.TLSConfig(),
		Timeout:   wait,
	}
}

func send(t *testing.T, cfg email.Config, m notification.Message) (notification.Status, error) {
	t.Helper()
	if m.Dest.Type == "" {
		m.Dest = dest("bob@example.org")
	}
	return email.New(func() email.Config { return cfg }).Send(context.Background(), m)
}

func alert() notification.Message {
	return notification.Message{ID: "0b9e6a3c-4d5e-4f60-8a7b-9c0d1e2f3a4b", Kind: notification.KindAlert,
		AlertID: 12, Summary: "disk full", Details: "sda1 at 99%", ServiceID: "svc-1", ServiceName: "Storage",
		UserName: "Bob"}
}

func parse(t *testing.T, m emailtest.Message) emailtest.Parsed {
	t.Helper()
	p, err := m.Parse()
	if err != nil {
		t.Fatalf("parse message: %v\n%s", err, m.Data)
	}
	return p
}

func TestSender_Send_message(t *testing.T) {
	relay := emailtest.NewServer(t, emailtest.Options{})
	msg := alert()
	msg.Summary = "Disk voll: Größe überschritten ☃ <script>alert(1)</script> & more"
	msg.Details = "line 1\nline 2 <b>bold</b>"
	msg.Meta = map[string]string{"host": "db1"}
	before := time.Now().Add(-time.Second)
	st, err := send(t, config(relay), msg)
	if err != nil || st.State != notification.StateDelivered {
		t.Fatalf("Send: got %+v, %v; want delivered", st, err)
	}
	got := relay.Next(t, wait)
	if got.From != "goalert@example.com" || !cmp.Equal(got.To, []string{"bob@example.org"}) {
		t.Errorf("envelope: got %s -> %v, want goalert@example.com -> [bob@example.org]", got.From, got.To)
	}
	p := parse(t, got)

	if want := "GoAlert: Alert #12: " + msg.Summary; p.Subject != want {
		t.Errorf("Subject: got %q, want %q", p.Subject, want)
	}
	if raw := p.Header.Get("Subject"); !strings.Contains(raw, "=?utf-8?") {
		t.Errorf("raw Subject %q: want it RFC 2047 encoded", raw)
	}
	from, _ := p.Header.AddressList("From")
	to, _ := p.Header.AddressList("To")
	if len(from) != 1 || from[0].Address != "goalert@example.com" || from[0].Name != "GoAlert" {
		t.Errorf("From: got %v, want GoAlert <goalert@example.com>", from)
	}
	if len(to) != 1 || to[0].Address != "bob@example.org" || to[0].Name != "Bob" {
		t.Errorf("To: got %v, want Bob <bob@example.org>", to)
	}
	if date, err := p.Header.Date(); err != nil || date.Before(before) || date.After(time.Now().Add(time.Second)) {
		t.Errorf("Date: got %v, %v; want the time of sending", date, err)
	}
	id, _ := p.Header.MessageID()
	if want := "notification-0b9e6a3c-4d5e-4f60-8a7b-9c0d1e2f3a4b@example.com"; id != want {
		t.Errorf("Message-ID: got %q, want %q", id, want)
	}
	if st.ProviderID != "<"+id+">" {
		t.Errorf("ProviderID: got %q, want the Message-ID <%s>", st.ProviderID, id)
	}
	if !strings.HasPrefix(st.Detail, "250") {
		t.Errorf("Detail: got %q, want the relay's 250 reply", st.Detail)
	}
	if v := p.Header.Get("Mime-Version"); v != "1.0" {
		t.Errorf("MIME-Version: got %q, want 1.0", v)
	}
	if v := p.Header.Get("Auto-Submitted"); v != "auto-generated" {
		t.Errorf("Auto-Submitted: got %q, want auto-generated", v)
	}
	if p.ContentType != "multipart/alternative" {
		t.Errorf("Content-Type: got %q, want multipart/alternative", p.ContentType)
	}
	var types []string
	for _, part := range p.Parts {
		types = append(types, part.ContentType)
		if part.Charset != "utf-8" || part.TransferEncoding != "quoted-printable" {
			t.Errorf("%s part: got charset %q, encoding %q; want utf-8, quoted-printable",
				part.ContentType, part.Charset, part.TransferEncoding)
		}
	}
	if diff := cmp.Diff([]string{"text/plain", "text/html"}, types); diff != "" {
		t.Errorf("parts (-want +got):\n%s", diff)
	}
	for _, line := range strings.Split(string(got.Data), "\r\n") {
		if len(line) > 998 {
			t.Errorf("line of %d bytes, want at most 998", len(line))
		}
		for _, r := range line {
			if r >= 0x80 {
				t.Fatalf("raw message has non-ASCII %q in line %q, want everything encoded", r, line)
			}
		}
	}

	text, html := p.Text(), p.HTML()
	for _, want := range []string{msg.Summary, "line 1\nline 2 <b>bold</b>", "Service: Storage", "host: db1",
		"http://goalert.example.com/alerts/12"} {
		if !strings.Contains(text, want) {
			t.Errorf("text part lacks %q:\n%s", want, text)
		}
	}
	for _, want := range []string{
		"Disk voll: Größe überschritten ☃ &lt;script&gt;alert(1)&lt;/script&gt; &amp; more",
		"line 2 &lt;b&gt;bold&lt;/b&gt;",
		`<a href="http://goalert.example.com/alerts/12">`,
	} {
		if !strings.Contains(html, want) {
			t.Errorf("HTML part lacks %q:\n%s", want, html)
		}
	}
	if strings.Contains(html, "<script>") || strings.Contains(html, "<b>bold") {
		t.Errorf("HTML part has unescaped markup:\n%s", html)
	}
}

func TestSender_Send_kinds(t *testing.T) {
	relay := emailtest.NewServer(t, emailtest.Options{})
	cfg := config(relay)
	cfg.AppName = "Pager"
	tests := []struct {
		name        string
		msg         notification.Message
		wantSubject string
		wantText    []string
	}{
		{"test", notification.Message{Kind: notification.KindTest},
			"Pager: Test Message", []string{"test message from Pager"}},
		{"verification", notification.Message{Kind: notification.KindVerification, Code: "493021"},
			"Pager: Verification Message", []string{"493021"}},
		{"alert", alert(), "Pager: Alert #12: disk full",
			[]string{"Alert #12", "disk full", "sda1 at 99%", "Storage", "http://goalert.example.com/alerts/12"}},
		{"alert with summary on two lines", notification.Message{Kind: notification.KindAlert, AlertID: 3, Summary: "a\r\nb"},
			"Pager: Alert #3: a b", []string{"Alert #3"}},
		{"bundle", notification.Message{Kind: notification.KindAlertBundle, ServiceID: "svc-1", ServiceName: "Storage", Count: 5},
			"Pager: Service Storage has 5 unacknowledged alerts",
			[]string{"5 unacknowledged alerts", "http://goalert.example.com/services/svc-1/alerts"}},
		{"status", notification.Message{Kind: notification.KindAlertStatus, AlertID: 12, Summary: "disk full",
			LogEntry: "Acknowledged by Bob (SMS)", NewStatus: "acknowledged", AlertURL: "http://short.example/12"},
			"Pager: Alert #12: Acknowledged by Bob (SMS)",
			[]string{"Acknowledged by Bob (SMS)", "disk full", "http://short.example/12", "status updates"}},
		{"on-call users", notification.Message{Kind: notification.KindOnCallUsers, ScheduleID: "sch-1", ScheduleName: "Primary",
			OnCall: []notification.OnCallUser{{ID: "u1", Name: "Bob", URL: "http://goalert.example.com/users/u1"}, {ID: "u2", Name: "Alice"}}},
			"Pager: On-call users for Primary",
			[]string{"Bob <http://goalert.example.com/users/u1>", "Alice", "http://goalert.example.com/schedules/sch-1"}},
		{"on-call, nobody", notification.Message{Kind: notification.KindOnCallUsers, ScheduleID: "sch-1", ScheduleName: "Primary"},
			"Pager: On-call users for Primary", []string{"Nobody is on call for Primary"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st, err := send(t, cfg, tc.msg)
			if err != nil || st.State != notification.StateDelivered {
				t.Fatalf("Send: got %+v, %v; want delivered", st, err)
			}
			p := parse(t, relay.Next(t, wait))
			if p.Subject != tc.wantSubject {
				t.Errorf("Subject: got %q, want %q", p.Subject, tc.wantSubject)
			}
			for _, want := range tc.wantText {
				if !strings.Contains(p.Text(), want) {
					t.Errorf("text part lacks %q:\n%s", want, p.Text())
				}
			}
			if p.HTML() == "" {
				t.Errorf("no HTML part")
			}
		})
	}
}

func TestSender_Send_messageIDFollowsNotification(t *testing.T) {
	relay := emailtest.NewServer(t, emailtest.Options{})
	ids := func(m notification.Message) string {
		t.Helper()
		if _, err := send(t, config(relay), m); err != nil {
			t.Fatal(err)
		}
		p := parse(t, relay.Next(t, wait))
		id, _ := p.Header.MessageID()
		return id
	}
	a := alert()
	first, again := ids(a), ids(a)
	a.ID = "other id/with:odd chars"
	other := ids(a)
	if first != again {
		t.Errorf("a repeated send: got Message-IDs %q and %q, want the same", first, again)
	}
	if other == first {
		t.Errorf("another notification: got Message-ID %q, want a different one", other)
	}
	if _, err := mail.ParseAddress("x <" + other + ">"); err != nil {
		t.Errorf("Message-ID %q is not well-formed: %v", other, err)
	}
}

func TestSender_Send_tls(t *testing.T) {
	t.Run("STARTTLS when offered", func(t *testing.T) {
		relay := emailtest.NewServer(t, emailtest.Options{StartTLS: true, RequireTLS: true})
		if st, err := send(t, config(relay), alert()); err != nil || st.State != notification.StateDelivered {
			t.Fatalf("Send: got %+v, %v; want delivered", st, err)
		}
		if m := relay.Next(t, wait); !m.TLS {
			t.Errorf("message went without TLS, want STARTTLS")
		}
	})
	t.Run("STARTTLS even with DisableTLS", func(t *testing.T) {
		relay := emailtest.NewServer(t, emailtest.Options{StartTLS: true})
		cfg := config(relay)
		cfg.DisableTLS = true
		if st, err := send(t, cfg, alert()); err != nil || st.State != notification.StateDelivered {
			t.Fatalf("Send: got %+v, %v; want delivered", st, err)
		}
		if m := relay.Next(t, wait); !m.TLS {
			t.Errorf("message went without TLS, want STARTTLS")
		}
	})
	t.Run("in clear when not offered", func(t *testing.T) {
		relay := emailtest.NewServer(t, emailtest.Options{})
		if st, err := send(t, config(relay), alert()); err != nil || st.State != notification.StateDelivered {
			t.Fatalf("Send: got %+v, %v; want delivered", st, err)
		}
		if m := relay.Next(t, wait); m.TLS {
			t.Errorf("got TLS from a relay that offers none")
		}
	})
	t.Run("untrusted certificate", func(t *testing.T) {
		relay := emailtest.NewServer(t, emailtest.Options{StartTLS: true})
		cfg := config(relay)
		cfg.TLSConfig = nil
		st, err := send(t, cfg, alert())
		if !notification.IsTemporary(err) {
			t.Fatalf("Send: got %+v, %v; want a temporary error", st, err)
		}
		if n := len(relay.Attempts()); n != 0 {
			t.Errorf("relay got %d messages, want none", n)
		}
	})
}

func TestSender_Send_auth(t *testing.T) {
	const user, pass = "goalert", "s3cret"
	t.Run("PLAIN after STARTTLS", func(t *testing.T) {
		relay := emailtest.NewServer(t, emailtest.Options{StartTLS: true, Username: user, Password: pass})
		cfg := config(relay)
		cfg.Username, cfg.Password = user, pass
		if st, err := send(t, cfg, alert()); err != nil || st.State != notification.StateDelivered {
			t.Fatalf("Send: got %+v, %v; want delivered", st, err)
		}
		if m := relay.Next(t, wait); m.User != user || !m.TLS {
			t.Errorf("message: got user %q, TLS %v; want %q over TLS", m.User, m.TLS, user)
		}
		want := []emailtest.AuthAttempt{{Mechanism: "PLAIN", Username: user, TLS: true, OK: true}}
		if diff := cmp.Diff(want, relay.AuthAttempts()); diff != "" {
			t.Errorf("AUTH (-want +got):\n%s", diff)
		}
	})
	t.Run("LOGIN when PLAIN is not offered", func(t *testing.T) {
		relay := emailtest.NewServer(t, emailtest.Options{StartTLS: true, Username: user, Password: pass,
			Mechanisms: []string{"LOGIN"}})
		cfg := config(relay)
		cfg.Username, cfg.Password = user, pass
		if st, err := send(t, cfg, alert()); err != nil || st.State != notification.StateDelivered {
			t.Fatalf("Send: got %+v, %v; want delivered", st, err)
		}
		want := []emailtest.AuthAttempt{{Mechanism: "LOGIN", Username: user, TLS: true, OK: true}}
		if diff := cmp.Diff(want, relay.AuthAttempts()); diff != "" {
			t.Errorf("AUTH (-want +got):\n%s", diff)
		}
	})
	t.Run("wrong password", func(t *testing.T) {
		relay := emailtest.NewServer(t, emailtest.Options{StartTLS: true, Username: user, Password: pass})
		cfg := config(relay)
		cfg.Username, cfg.Password = user, "wrong"
		st, err := send(t, cfg, alert())
		if err != nil || st.State != notification.StateFailed || !strings.Contains(st.Detail, "535") {
			t.Fatalf("Send: got %+v, %v; want StateFailed with the 535 reply", st, err)
		}
	})
	t.Run("no password in clear", func(t *testing.T) {
		relay := emailtest.NewServer(t, emailtest.Options{Username: user, Password: pass, InsecureAuth: true})
		cfg := config(relay)
		cfg.Username, cfg.Password = user, pass
		st, err := send(t, cfg, alert())
		if err != nil || st.State != notification.StateFailed || !strings.Contains(st.Detail, "SMTP.DisableTLS") {
			t.Fatalf("Send: got %+v, %v; want StateFailed naming SMTP.DisableTLS", st, err)
		}
		if got := relay.AuthAttempts(); len(got) != 0 {
			t.Errorf("relay saw AUTH %+v, want none", got)
		}
	})
	t.Run("password in clear with DisableTLS", func(t *testing.T) {
		relay := emailtest.NewServer(t, emailtest.Options{Username: user, Password: pass, InsecureAuth: true})
		cfg := config(relay)
		cfg.Username, cfg.Password, cfg.DisableTLS = user, pass, true
		if st, err := send(t, cfg, alert()); err != nil || st.State != notification.StateDelivered {
			t.Fatalf("Send: got %+v, %v; want delivered", st, err)
		}
		want := []emailtest.AuthAttempt{{Mechanism: "PLAIN", Username: user, TLS: false, OK: true}}
		if diff := cmp.Diff(want, relay.AuthAttempts()); diff != "" {
			t.Errorf("AUTH (-want +got):\n%s", diff)
		}
	})
	t.Run("relay without AUTH", func(t *testing.T) {
		relay := emailtest.NewServer(t, emailtest.Options{StartTLS: true})
		cfg := config(relay)
		cfg.Username, cfg.Password = user, pass
		st, err := send(t, cfg, alert())
		if err != nil || st.State != notification.StateFailed || !strings.Contains(st.Detail, "AUTH") {
			t.Fatalf("Send: got %+v, %v; want StateFailed about AUTH", st, err)
		}
	})
}

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

func TestSender_Send_relayFaults(t *testing.T) {
	relay := emailtest.NewServer(t, emailtest.Options{})
	cfg := config(relay)
	cfg.Timeout = 500 * time.Millisecond
	tests := []struct {
		name       string
		fault      emailtest.Fault
		want       outcome
		wantDetail string
	}{
		{"451 to the message", emailtest.Fault{At: emailtest.AtData, Code: 451, Message: "Try later"}, temporary, "451"},
		{"550 to the message", emailtest.Fault{At: emailtest.AtData, Code: 550, Message: "Spam detected"}, failed, "550 5.0.0 Spam detected"},
		{"452 to RCPT", emailtest.Fault{At: emailtest.AtRcpt, Code: 452, Message: "Mailbox full"}, temporary, "452"},
		{"550 to RCPT", emailtest.Fault{At: emailtest.AtRcpt, Code: 550, Message: "No such user"}, failed, "No such user"},
		{"421 to MAIL", emailtest.Fault{At: emailtest.AtMail, Code: 421, Message: "Closing"}, temporary, "421"},
		{"553 to MAIL", emailtest.Fault{At: emailtest.AtMail, Code: 553, Message: "Sender refused"}, failed, "Sender refused"},
		{"dropped at MAIL", emailtest.Fault{At: emailtest.AtMail, Drop: true}, temporary, ""},
		{"dropped after the message", emailtest.Fault{At: emailtest.AtData, Drop: true}, unknown, ""},
		{"no reply to the message in time", emailtest.Fault{At: emailtest.AtData, Delay: 2 * time.Second}, unknown, "deadline exceeded"},
		{"no reply to RCPT in time", emailtest.Fault{At: emailtest.AtRcpt, Delay: 2 * time.Second}, temporary, "deadline exceeded"},
	}
	for _, tc := range tests {
		relay.FailNext(1, tc.fault)
		st, err := send(t, cfg, alert())
		if got := outcomeOf(st, err); got != tc.want {
			t.Errorf("%s: got %s (%+v, %v), want %s", tc.name, got, st, err, tc.want)
			continue
		}
		detail := st.Detail
		if err != nil {
			detail = err.Error()
		}
		if !strings.Contains(detail, tc.wantDetail) {
			t.Errorf("%s: got detail %q, want it to contain %q", tc.name, detail, tc.wantDetail)
		}
	}
	if got := len(relay.Messages()); got != 0 {
		t.Errorf("relay accepted %d messages, want none", got)
	}
	if st, err := send(t, cfg, alert()); err != nil || st.State != notification.StateDelivered {
		t.Errorf("after the faults: got %+v, %v; want delivered", st, err)
	}
}

func TestSender_Send_unreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	cfg := email.Config{Enable: true, From: "goalert@example.com", Address: addr, Timeout: time.Second}
	st, err := send(t, cfg, alert())
	if !notification.IsTemporary(err) {
		t.Fatalf("connection refused: got %+v, %v; want a temporary error", st, err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	relay := emailtest.NewServer(t, emailtest.Options{})
	m := alert()
	m.Dest = dest("bob@example.org")
	st, err = email.New(func() email.Config { return config(relay) }).Send(ctx, m)
	if !notification.IsTemporary(err) || !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled: got %+v, %v; want a temporary error wrapping context.Canceled", st, err)
	}
}

func TestSender_Send_refused(t *testing.T) {
	relay := emailtest.NewServer(t, emailtest.Options{})
	good := config(relay)
	tests := []struct {
		name       string
		cfg        func(*email.Config)
		msg        func(*notification.Message)
		wantDetail string
	}{
		{"disabled", func(c *email.Config) { c.Enable = false }, nil, notification.ErrDisabled.Error()},
		{"no From", func(c *email.Config) { c.From = "" }, nil, "SMTP.From"},
		{"no Address", func(c *email.Config) { c.Address = "" }, nil, "SMTP.Address"},
		{"bad recipient", nil, func(m *notification.Message) { m.Dest = dest("not an address") }, "not an email address"},
		{"header injection", nil, func(m *notification.Message) { m.Dest = dest("bob@example.org\r\nBcc: eve@example.org") }, "not an email address"},
		{"other destination type", nil, func(m *notification.Message) { m.Dest = notification.Dest{Type: notification.DestWebhook} }, "destination type"},
		{"unknown kind", nil, func(m *notification.Message) { m.Kind = "Fax" }, "Fax"},
	}
	for _, tc := range tests {
		cfg, m := good, alert()
		m.Dest = dest("bob@example.org")
		if tc.cfg != nil {
			tc.cfg(&cfg)
		}
		if tc.msg != nil {
			tc.msg(&m)
		}
		st, err := send(t, cfg, m)
		if err != nil || st.State != notification.StateFailed || !strings.Contains(st.Detail, tc.wantDetail) {
			t.Errorf("%s: got %+v, %v; want StateFailed mentioning %q", tc.name, st, err, tc.wantDetail)
		}
	}
	if n := len(relay.Attempts()); n != 0 {
		t.Errorf("relay got %d messages, want none", n)
	}
}

func TestSender_Send_readsConfigEachTime(t *testing.T) {
	relay := emailtest.NewServer(t, emailtest.Options{})
	cfg := config(relay)
	cfg.Enable = false
	s := email.New(func() email.Config { return cfg })
	m := alert()
	m.Dest = dest("bob@example.org")
	if st, _ := s.Send(context.Background(), m); st.State != notification.StateFailed {
		t.Fatalf("disabled: got %+v, want StateFailed", st)
	}
	cfg.Enable = true
	if st, err := s.Send(context.Background(), m); err != nil || st.State != notification.StateDelivered {
		t.Fatalf("enabled: got %+v, %v; want delivered", st, err)
	}
}
