package twilio_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/oncallhq/goalert/adapters/twilio"
	"github.com/oncallhq/goalert/adapters/twilio/twiliotest"
	"github.com/oncallhq/goalert/domain/notification"
)

const (
	publicURL = "http://goalert.example.com"
	bob       = "+15555550123"
)

func sms(number string) notification.Dest {
	return notification.Dest{Type: notification.DestSMS, Args: map[string]string{notification.ArgPhoneNumber: number}}
}

func voice(number string) notification.Dest {
	return notification.Dest{Type: notification.DestVoice, Args: map[string]string{notification.ArgPhoneNumber: number}}
}

func alertMsg() notification.Message {
	return notification.Message{
		ID: "msg-1", Kind: notification.KindAlert, Dest: sms(bob), AppName: "GoAlert",
		AlertID: 42, Summary: "disk full", AlertURL: "http://goalert.example.com/alerts/42", ReplyCode: 3,
	}
}

func sender(cfg twilio.Config) *twilio.Sender {
	return twilio.NewSender(func() twilio.Config { return cfg }, nil)
}

func TestSender_Send_smsText(t *testing.T) {
	const reply = "\n\nReply '3a' to ack, '3e' to escalate, '3c' to close."
	tests := []struct {
		name string
		cfg  func(*twilio.Config)
		msg  func(*notification.Message)
		want string
	}{
		{"alert", nil, nil,
			"GoAlert: Alert #42: disk full\n\nhttp://goalert.example.com/alerts/42" + reply},
		{"alert without link", nil, func(m *notification.Message) { m.AlertURL = "" },
			"GoAlert: Alert #42: disk full" + reply},
		{"alert, links disabled", func(c *twilio.Config) { c.DisableSMSLinks = true }, nil,
			"GoAlert: Alert #42: disk full" + reply},
		{"alert, two-way SMS disabled", func(c *twilio.Config) { c.DisableTwoWaySMS = true }, nil,
			"GoAlert: Alert #42: disk full\n\nhttp://goalert.example.com/alerts/42"},
		{"alert without reply code", nil, func(m *notification.Message) { m.ReplyCode = 0 },
			"GoAlert: Alert #42: disk full\n\nhttp://goalert.example.com/alerts/42"},
		{"alert to a country without replies", nil, func(m *notification.Message) { m.Dest = sms("+919876543210") },
			"GoAlert: Alert #42: disk full\n\nhttp://goalert.example.com/alerts/42"},
		{"alert to a country without links or replies", nil, func(m *notification.Message) { m.Dest = sms("+8613800138000") },
			"GoAlert: Alert #42: disk full"},
		{"application name from the config", func(c *twilio.Config) { c.AppName = "Pager" }, nil,
			"Pager: Alert #42: disk full\n\nhttp://goalert.example.com/alerts/42" + reply},
		{"application name from the message", nil, func(m *notification.Message) { m.AppName = "Ops"; m.AlertURL = "" },
			"Ops: Alert #42: disk full" + reply},
		{"summary outside the GSM alphabet", nil, func(m *notification.Message) {
			m.Summary = "disk \u201cfull\u201d \u2014 {db}\n\tnow \u2603"
			m.AlertURL = ""
		}, "GoAlert: Alert #42: disk \"full\" - (db) now ?" + reply},
		{"bundle", nil, func(m *notification.Message) {
			*m = notification.Message{ID: "msg-2", Kind: notification.KindAlertBundle, Dest: sms(bob),
				ServiceName: "Web", Count: 3, AlertURL: "http://goalert.example.com/services/s1/alerts", ReplyCode: 100}
		}, "GoAlert: Svc 'Web': 3 unacked alerts\n\nhttp://goalert.example.com/services/s1/alerts\n\nReply '100aa' to ack all, '100cc' to close all."},
		{"bundle of one", nil, func(m *notification.Message) {
			*m = notification.Message{ID: "msg-2", Kind: notification.KindAlertBundle, Dest: sms(bob), ServiceName: "Web", Count: 1}
		}, "GoAlert: Svc 'Web': 1 unacked alert"},
		{"status", nil, func(m *notification.Message) {
			*m = notification.Message{ID: "msg-3", Kind: notification.KindAlertStatus, Dest: sms(bob),
				AlertID: 42, Summary: "disk full", NewStatus: "acknowledged", LogEntry: "Acknowledged by Bob (SMS)"}
		}, "GoAlert: Alert #42: disk full\n\nAcknowledged by Bob (SMS)"},
		{"test", nil, func(m *notification.Message) {
			*m = notification.Message{ID: "msg-4", Kind: notification.KindTest, Dest: sms(bob)}
		}, "GoAlert: Test message."},
		{"verification", nil, func(m *notification.Message) {
			*m = notification.Message{ID: "msg-5", Kind: notification.KindVerification, Dest: sms(bob), Code: "123456"}
		}, "GoAlert: Verification code: 123456"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fake := twiliotest.NewServer(t, twiliotest.AccountSID, twiliotest.AuthToken)
			cfg := fake.Config(publicURL)
			if tc.cfg != nil {
				tc.cfg(&cfg)
			}
			m := alertMsg()
			if tc.msg != nil {
				tc.msg(&m)
			}
			st, err := sender(cfg).Send(t.Context(), m)
			if err != nil || st.State != notification.StateSent {
				t.Fatalf("Send: got (%+v, %v), want StateSent", st, err)
			}
			got := fake.ExpectSMS(t, m.Dest.Arg(notification.ArgPhoneNumber))
			if got.Body != tc.want {
				t.Errorf("body:\n got %q\nwant %q", got.Body, tc.want)
			}
			if st.ProviderID != got.SID {
				t.Errorf("ProviderID: got %q, want the SID %q", st.ProviderID, got.SID)
			}
		})
	}
}

func TestSender_Send_smsRequest(t *testing.T) {
	fake := twiliotest.NewServer(t, twiliotest.AccountSID, twiliotest.AuthToken)
	if _, err := sender(fake.Config(publicURL)).Send(t.Context(), alertMsg()); err != nil {
		t.Fatalf("Send: %v", err)
	}
	got := fake.ExpectSMS(t, bob)
	want := twiliotest.SMS{
		SID: got.SID, To: bob, From: twiliotest.FromNumber, Body: got.Body,
		StatusCallback: publicURL + "/api/v2/twilio/message/status?msgID=msg-1",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("request (-want +got):\n%s", diff)
	}

	t.Run("messaging service", func(t *testing.T) {
		cfg := fake.Config(publicURL)
		cfg.MessagingServiceSID = "MG0001"
		if _, err := sender(cfg).Send(t.Context(), alertMsg()); err != nil {
			t.Fatalf("Send: %v", err)
		}
		got := fake.ExpectSMS(t, bob)
		if got.MessagingServiceSID != "MG0001" || got.From != "" {
			t.Errorf("got MessagingServiceSid %q and From %q, want MG0001 and none", got.MessagingServiceSID, got.From)
		}
	})
}

func TestSender_Send_longSummary(t *testing.T) {
	fake := twiliotest.NewServer(t, twiliotest.AccountSID, twiliotest.AuthToken)
	m := alertMsg()
	m.Summary = strings.Repeat("disk full on db-1 ", 40)
	if _, err := sender(fake.Config(publicURL)).Send(t.Context(), m); err != nil {
		t.Fatalf("Send: %v", err)
	}
	got := fake.ExpectSMS(t, bob).Body
	if n := utf8.RuneCountInString(got); n > 160 {
		t.Errorf("length: got %d characters, want at most one segment of 160: %q", n, got)
	}
	if !strings.HasPrefix(got, "GoAlert: Alert #42: disk full on db-1") {
		t.Errorf("got %q, want the start of the summary kept", got)
	}
	if !strings.HasSuffix(got, "\n\nReply '3a' to ack, '3e' to escalate, '3c' to close.") {
		t.Errorf("got %q, want the reply instructions whole", got)
	}

	t.Run("link too long for one segment", func(t *testing.T) {
		m := alertMsg()
		m.Summary = strings.Repeat("x", 500)
		m.AlertURL = publicURL + "/alerts/42?" + strings.Repeat("q", 100)
		if _, err := sender(fake.Config(publicURL)).Send(t.Context(), m); err != nil {
			t.Fatalf("Send: %v", err)
		}
		got := fake.ExpectSMS(t, bob).Body
		if n := utf8.RuneCountInString(got); n > 320 {
			t.Errorf("length: got %d characters, want at most two segments", n)
		}
		if !strings.Contains(got, "Alert #42: "+strings.Repeat("x", 20)) || !strings.Contains(got, m.AlertURL) {
			t.Errorf("got %q, want some of the summary and the whole link", got)
		}
	})
}

func TestSender_Send_call(t *testing.T) {
	fake := twiliotest.NewServer(t, twiliotest.AccountSID, twiliotest.AuthToken)
	kinds := []struct {
		kind notification.Kind
		typ  string
	}{
		{notification.KindAlert, "alert"},
		{notification.KindAlertBundle, "bundle"},
		{notification.KindAlertStatus, "alert-status"},
		{notification.KindTest, "test"},
		{notification.KindVerification, "verify"},
	}
	for _, k := range kinds {
		m := notification.Message{ID: "msg-" + k.typ, Kind: k.kind, Dest: voice(bob), AlertID: 42}
		st, err := sender(fake.Config(publicURL+"/")).Send(t.Context(), m)
		if err != nil || st.State != notification.StateSent {
			t.Fatalf("Send(%s): got (%+v, %v), want StateSent", k.kind, st, err)
		}
		got := fake.ExpectCall(t, bob)
		want := twiliotest.Call{
			SID: st.ProviderID, To: bob, From: twiliotest.FromNumber,
			URL:                  publicURL + "/api/v2/twilio/call?type=" + k.typ + "&msgID=msg-" + k.typ,
			StatusCallback:       publicURL + "/api/v2/twilio/call/status?msgID=msg-" + k.typ,
			StatusCallbackEvents: []string{"initiated", "ringing", "answered", "completed"},
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("call for %s (-want +got):\n%s", k.kind, diff)
		}
	}
}

func TestSender_Send_outcome(t *testing.T) {
	tests := []struct {
		name       string
		fail       func(*twiliotest.Server) // prepares the fake
		cfg        func(*twilio.Config)
		msg        func(*notification.Message)
		wantState  notification.State // "" when an error is wanted
		wantDetail string             // contained in Detail, or in the error
		temporary  bool
	}{
		{name: "accepted", wantState: notification.StateSent, wantDetail: "queued"},
		{name: "refused number",
			fail:      func(s *twiliotest.Server) { s.FailNext(1, 400, 21211, "Invalid 'To' Phone Number") },
			wantState: notification.StateFailed, wantDetail: "Invalid 'To' Phone Number (code 21211)"},
		{name: "bad credentials", cfg: func(c *twilio.Config) { c.AuthToken = "wrong" },
			wantState: notification.StateFailed, wantDetail: "Authenticate (code 20003)"},
		{name: "too many requests",
			fail:       func(s *twiliotest.Server) { s.FailNext(1, 429, 20429, "Too Many Requests") },
			wantDetail: "Too Many Requests", temporary: true},
		{name: "server error",
			fail:       func(s *twiliotest.Server) { s.FailNext(1, 500, 20500, "Internal Server Error") },
			wantDetail: "Internal Server Error", temporary: true},
		{name: "unavailable",
			fail:       func(s *twiliotest.Server) { s.FailNext(1, 503, 0, "") },
			wantDetail: "HTTP 503", temporary: true},
		{name: "disabled", cfg: func(c *twilio.Config) { c.Enable = false },
			wantState: notification.StateFailed, wantDetail: notification.ErrDisabled.Error()},
		{name: "no from number", cfg: func(c *twilio.Config) { c.FromNumber = "" },
			wantState: notification.StateFailed, wantDetail: "FromNumber"},
		{name: "to the from number", msg: func(m *notification.Message) { m.Dest = sms(twiliotest.FromNumber) },
			wantState: notification.StateFailed, wantDetail: "FromNumber"},
		{name: "no phone number", msg: func(m *notification.Message) { m.Dest = sms("") },
			wantState: notification.StateFailed, wantDetail: "no phone number"},
		{name: "other destination type", msg: func(m *notification.Message) { m.Dest.Type = notification.DestEmail },
			wantState: notification.StateFailed, wantDetail: "unsupported destination type"},
		{name: "kind SMS does not carry", msg: func(m *notification.Message) { m.Kind = notification.KindOnCallUsers },
			wantState: notification.StateFailed, wantDetail: "ScheduleOnCallUsers"},
		{name: "call without public URL", cfg: func(c *twilio.Config) { c.PublicURL = "" },
			msg: func(m *notification.Message) { m.Dest = voice(bob) }, wantState: notification.StateFailed, wantDetail: "public URL"},
		{name: "call refused",
			fail: func(s *twiliotest.Server) { s.FailNext(1, 400, 21215, "Geographic permission") },
			msg:  func(m *notification.Message) { m.Dest = voice(bob) }, wantState: notification.StateFailed, wantDetail: "Geographic permission"},
		{name: "call unavailable",
			fail: func(s *twiliotest.Server) { s.FailNext(1, 502, 0, "") },
			msg:  func(m *notification.Message) { m.Dest = voice(bob) }, wantDetail: "HTTP 502", temporary: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fake := twiliotest.NewServer(t, twiliotest.AccountSID, twiliotest.AuthToken)
			if tc.fail != nil {
				tc.fail(fake)
			}
			cfg := fake.Config(publicURL)
			if tc.cfg != nil {
				tc.cfg(&cfg)
			}
			m := alertMsg()
			if tc.msg != nil {
				tc.msg(&m)
			}
			st, err := sender(cfg).Send(t.Context(), m)
			if tc.wantState == "" {
				if err == nil {
					t.Fatalf("got %+v and no error, want an error", st)
				}
				if got := notification.IsTemporary(err); got != tc.temporary {
					t.Errorf("IsTemporary(%v): got %v, want %v", err, got, tc.temporary)
				}
				if !strings.Contains(err.Error(), tc.wantDetail) {
					t.Errorf("error: got %q, want it to contain %q", err, tc.wantDetail)
				}
				return
			}
			if err != nil {
				t.Fatalf("got error %v, want %s", err, tc.wantState)
			}
			if st.State != tc.wantState || !strings.Contains(st.Detail, tc.wantDetail) {
				t.Errorf("got %+v, want state %s with detail containing %q", st, tc.wantState, tc.wantDetail)
			}
			if tc.wantState == notification.StateFailed && len(fake.Messages())+len(fake.Calls()) > 0 {
				t.Errorf("a failed send reached Twilio: %v %v", fake.Messages(), fake.Calls())
			}
		})
	}
}

func TestSender_Send_transport(t *testing.T) {
	t.Run("nothing listening", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		cfg := twilio.Config{Enable: true, AccountSID: "AC1", AuthToken: "t", FromNumber: twiliotest.FromNumber, BaseURL: "http://" + addr}
		_, err = sender(cfg).Send(t.Context(), alertMsg())
		if err == nil || !notification.IsTemporary(err) {
			t.Errorf("got %v, want a temporary error", err)
		}
	})

	t.Run("timeout after the request was written", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_ = r.ParseForm()
			<-r.Context().Done()
		}))
		defer srv.Close()
		cfg := twilio.Config{Enable: true, AccountSID: "AC1", AuthToken: "t", FromNumber: twiliotest.FromNumber, BaseURL: srv.URL}
		ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
		defer cancel()
		_, err := sender(cfg).Send(ctx, alertMsg())
		if err == nil || notification.IsTemporary(err) {
			t.Errorf("got %v, want an error that is not temporary: the SMS may have gone out", err)
		}
	})

	t.Run("success without a sid", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusCreated)
			_, _ = w.Write([]byte(`{"status":"queued"}`))
		}))
		defer srv.Close()
		cfg := twilio.Config{Enable: true, AccountSID: "AC1", AuthToken: "t", FromNumber: twiliotest.FromNumber, BaseURL: srv.URL}
		st, err := sender(cfg).Send(t.Context(), alertMsg())
		if err == nil || notification.IsTemporary(err) {
			t.Errorf("got (%+v, %v), want an error that is not temporary", st, err)
		}
	})

	t.Run("idempotency token and basic auth", func(t *testing.T) {
		var got http.Header
		var user, pass string
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			got = r.Header.Clone()
			user, pass, _ = r.BasicAuth()
			w.WriteHeader(http.StatusCreated)
			_, _ = w.Write([]byte(`{"sid":"SM1","status":"queued"}`))
		}))
		defer srv.Close()
		cfg := twilio.Config{Enable: true, AccountSID: "AC1", AuthToken: "secret", FromNumber: twiliotest.FromNumber, BaseURL: srv.URL + "/"}
		if _, err := sender(cfg).Send(t.Context(), alertMsg()); err != nil {
			t.Fatal(err)
		}
		if got.Get("I-Twilio-Idempotency-Token") != "msg-1" {
			t.Errorf("idempotency token: got %q, want the message id msg-1", got.Get("I-Twilio-Idempotency-Token"))
		}
		if user != "AC1" || pass != "secret" {
			t.Errorf("basic auth: got %q:%q, want AC1:secret", user, pass)
		}
	})
}
