package twilio_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/oncallhq/goalert/adapters/twilio"
	"github.com/oncallhq/goalert/adapters/twilio/twiliotest"
	"github.com/oncallhq/goalert/domain/notification"
)

// placeCall sends m as a call through the fake and returns the call and
// the TwiML of its answer.
func placeCall(t *testing.T, h *harness, m notification.Message) (twiliotest.Call, twiliotest.TwiML) {
	t.Helper()
	m.Dest = voice(bob)
	h.backend.msg = m
	if st, err := twilio.NewSender(h.config, nil).Send(t.Context(), m); err != nil || st.State != notification.StateSent {
		t.Fatalf("Send: got (%+v, %v), want StateSent", st, err)
	}
	call := h.fake.ExpectCall(t, bob)
	return call, h.press(t, call, "", "")
}

func (h *harness) press(t *testing.T, call twiliotest.Call, action, digits string) twiliotest.TwiML {
	t.Helper()
	return twiliotest.ParseTwiML(t, twiliotest.PressKey(t, h.url, publicURL, twiliotest.AuthToken, call, action, digits))
}

func contains(t *testing.T, what string, doc twiliotest.TwiML, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(doc.Spoken(), w) {
			t.Errorf("%s: got %q, want it to say %q", what, doc.Spoken(), w)
		}
	}
}

func lacks(t *testing.T, what string, doc twiliotest.TwiML, unwanted ...string) {
	t.Helper()
	for _, w := range unwanted {
		if strings.Contains(doc.Spoken(), w) {
			t.Errorf("%s: got %q, want it not to say %q", what, doc.Spoken(), w)
		}
	}
}

func TestHandler_call_alert(t *testing.T) {
	h := newHarness(t)
	m := notification.Message{ID: "msg-7", Kind: notification.KindAlert, AlertID: 42, Summary: "disk\nfull"}
	call, doc := placeCall(t, h, m)

	contains(t, "answer", doc, "This is GoAlert", "Alert #42: disk full.", "To acknowledge, press 4.",
		"To escalate, press 5.", "To close, press 6.", "press 1", "press star")
	if doc.Gather == nil || doc.Gather.NumDigits != "1" {
		t.Fatalf("answer: got gather %+v, want one digit gathered", doc.Gather)
	}
	if want := publicURL + "/api/v2/twilio/call?type=alert&msgID=msg-7"; doc.Gather.Action != want {
		t.Errorf("gather action: got %q, want %q", doc.Gather.Action, want)
	}
	menu := doc.Gather.Action

	keys := []struct {
		digits   string
		want     []string
		hangup   bool
		wantCall []string
	}{
		{"*", []string{"Alert #42: disk full.", "To acknowledge, press 4."}, false, nil},
		{"8", []string{"The menu options have changed. To acknowledge, press 4.", "Alert #42"}, false, nil},
		{"9", []string{"The menu options have changed. To close, press 6.", "Alert #42"}, false, nil},
		{"7", []string{"Sorry, I didn't understand that.", "Alert #42"}, false, nil},
		{"4", []string{"Acknowledged alert #42. Goodbye."}, true, []string{"CallAction msg-7 acknowledge"}},
		{"5", []string{"Escalation requested alert #42. Goodbye."}, true, []string{"CallAction msg-7 escalate"}},
		{"6", []string{"Closed alert #42. Goodbye."}, true, []string{"CallAction msg-7 close"}},
	}
	for _, k := range keys {
		doc := h.press(t, call, menu, k.digits)
		contains(t, "key "+k.digits, doc, k.want...)
		if k.hangup && (!doc.Hangup || doc.Gather != nil) {
			t.Errorf("key %s: got %+v, want the call to end", k.digits, doc)
		}
		if !k.hangup && doc.Gather == nil {
			t.Errorf("key %s: got %+v, want the menu again", k.digits, doc)
		}
		if diff := cmp.Diff(k.wantCall, h.backend.took()); diff != "" {
			t.Errorf("key %s: backend calls (-want +got):\n%s", k.digits, diff)
		}
	}
}

func TestHandler_call_refusal(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"already closed", &twilio.ActionError{Err: twilio.ErrAlreadyClosed, AlertID: 42, LogEntry: "Closed by Bob (SMS)"},
			"Alert #42 already closed. Closed by Bob (SMS)."},
		{"already acknowledged", &twilio.ActionError{Err: twilio.ErrAlreadyAcked, AlertID: 42}, "Alert #42 already acknowledged"},
		{"unknown", twilio.ErrUnknownCode, "could not be found"},
		{"not allowed", &twilio.ActionError{Err: twilio.ErrNotAllowed, AlertID: 42}, "Error: that action is not possible for alert #42 right now"},
		{"system", http.ErrHandlerTimeout, "An error has occurred."},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			call, doc := placeCall(t, h, notification.Message{ID: "msg-1", Kind: notification.KindAlert, AlertID: 42})
			h.backend.actionErr = tc.err
			got := h.press(t, call, doc.Gather.Action, "6")
			contains(t, "refused close", got, tc.want)
			if !got.Hangup {
				t.Errorf("refused close: got %+v, want the call to end", got)
			}
		})
	}

	t.Run("message not found", func(t *testing.T) {
		h := newHarness(t)
		call, _ := placeCall(t, h, notification.Message{ID: "msg-1", Kind: notification.KindAlert, AlertID: 42})
		h.backend.msgErr = twilio.ErrUnknownCode
		got := h.press(t, call, "", "")
		contains(t, "answer", got, "could not be found")
		if !got.Hangup || len(h.backend.took()) != 0 {
			t.Errorf("answer: got %+v, want the call to end without acting", got)
		}
	})
}

func TestHandler_call_stop(t *testing.T) {
	h := newHarness(t)
	call, doc := placeCall(t, h, notification.Message{ID: "msg-1", Kind: notification.KindAlert, AlertID: 42, Summary: "disk full"})

	stop := h.press(t, call, doc.Gather.Action, "1")
	contains(t, "stop menu", stop, "To confirm, press 3.", "To go back to the main menu, press 1.")
	if stop.Gather == nil || !strings.Contains(stop.Gather.Action, "menu=stop") {
		t.Fatalf("stop menu: got %+v, want a gather for the stop menu", stop)
	}

	back := h.press(t, call, stop.Gather.Action, "1")
	contains(t, "back", back, "Alert #42: disk full.")
	if back.Gather == nil || strings.Contains(back.Gather.Action, "menu=stop") {
		t.Errorf("back: got %+v, want the main menu", back)
	}

	again := h.press(t, call, stop.Gather.Action, "7")
	contains(t, "other key in the stop menu", again, "didn't understand", "To confirm, press 3.")

	if calls := h.backend.took(); len(calls) != 0 {
		t.Errorf("before confirming: backend calls %q, want none", calls)
	}
	done := h.press(t, call, stop.Gather.Action, "3")
	contains(t, "confirm", done, "Unenrolled.")
	if !done.Hangup {
		t.Errorf("confirm: got %+v, want the call to end", done)
	}
	if diff := cmp.Diff([]string{"SetEnabledByNumber +15555550123 false"}, h.backend.took()); diff != "" {
		t.Errorf("confirm: backend calls (-want +got):\n%s", diff)
	}
}

func TestHandler_call_kinds(t *testing.T) {
	tests := []struct {
		name     string
		msg      notification.Message
		want     []string
		unwanted []string
		// key pressed next, and what it must say
		key     string
		keySays string
		keyCall []string
	}{
		{name: "verification",
			msg:  notification.Message{ID: "m", Kind: notification.KindVerification, Code: "123456"},
			want: []string{"verification code", "1. 2. 3. 4. 5. 6.", "press star"}, unwanted: []string{"press 1", "press 4"},
			key: "4", keySays: "didn't understand"},
		{name: "verification, stop key",
			msg: notification.Message{ID: "m", Kind: notification.KindVerification, Code: "123456"},
			key: "1", keySays: "didn't understand"},
		{name: "test",
			msg:  notification.Message{ID: "m", Kind: notification.KindTest, AppName: "Pager"},
			want: []string{"test call from Pager", "press 1"}, unwanted: []string{"press 4"},
			key: "6", keySays: "didn't understand"},
		{name: "status",
			msg:  notification.Message{ID: "m", Kind: notification.KindAlertStatus, AlertID: 42, Summary: "disk full", LogEntry: "Acknowledged by Bob (SMS)"},
			want: []string{"status update for alert #42: disk full. Acknowledged by Bob (SMS).", "press 1"}, unwanted: []string{"press 4"},
			key: "4", keySays: "didn't understand"},
		{name: "bundle",
			msg:      notification.Message{ID: "m", Kind: notification.KindAlertBundle, ServiceName: "Web", Count: 3},
			want:     []string{"Service 'Web' has 3 unacknowledged alerts.", "To acknowledge all alerts, press 4.", "To close all alerts, press 6."},
			unwanted: []string{"press 5"},
			key:      "5", keySays: "didn't understand"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			call, doc := placeCall(t, h, tc.msg)
			contains(t, "answer", doc, tc.want...)
			lacks(t, "answer", doc, tc.unwanted...)
			got := h.press(t, call, doc.Gather.Action, tc.key)
			contains(t, "key "+tc.key, got, tc.keySays)
			if diff := cmp.Diff(tc.keyCall, h.backend.took()); diff != "" {
				t.Errorf("key %s: backend calls (-want +got):\n%s", tc.key, diff)
			}
		})
	}

	t.Run("bundle acknowledged", func(t *testing.T) {
		h := newHarness(t)
		h.backend.actionResult = twilio.Result{ServiceName: "Web"}
		call, doc := placeCall(t, h, notification.Message{ID: "m", Kind: notification.KindAlertBundle, ServiceName: "Web", Count: 3})
		got := h.press(t, call, doc.Gather.Action, "4")
		contains(t, "key 4", got, "Acknowledged all alerts for service 'Web'.")
		if diff := cmp.Diff([]string{"CallAction m acknowledge"}, h.backend.took()); diff != "" {
			t.Errorf("backend calls (-want +got):\n%s", diff)
		}
	})
}

func TestHandler_call_inbound(t *testing.T) {
	h := newHarness(t)
	form := url.Values{"CallSid": {"CA1"}, "From": {bob}, "To": {twiliotest.FromNumber}, "Direction": {"inbound"}}
	status, body := twiliotest.Post(t, h.url, publicURL, twiliotest.AuthToken, twilio.PathCall, form)
	if status != http.StatusOK {
		t.Fatalf("inbound call: got status %d, want 200", status)
	}
	doc := twiliotest.ParseTwiML(t, body)
	contains(t, "inbound call", doc, "use the application dashboard", "press 1")

	form.Set("Digits", "1")
	_, body = twiliotest.Post(t, h.url, publicURL, twiliotest.AuthToken, doc.Gather.Action, form)
	stop := twiliotest.ParseTwiML(t, body)
	form.Set("Digits", "3")
	_, body = twiliotest.Post(t, h.url, publicURL, twiliotest.AuthToken, stop.Gather.Action, form)
	contains(t, "inbound stop", twiliotest.ParseTwiML(t, body), "Unenrolled.")
	if diff := cmp.Diff([]string{"SetEnabledByNumber +15555550123 false"}, h.backend.took()); diff != "" {
		t.Errorf("backend calls (-want +got):\n%s", diff)
	}
}
