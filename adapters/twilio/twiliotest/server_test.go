package twiliotest_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/oncallhq/goalert/adapters/twilio"
	"github.com/oncallhq/goalert/adapters/twilio/twiliotest"
)

type answer struct {
	status int
	SID    string `json:"sid"`
	Code   int    `json:"code"`
}

func post(t *testing.T, s *twiliotest.Server, user, pass, resource string, form url.Values) answer {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, s.URL+"/2010-04-01/Accounts/"+s.AccountSID+"/"+resource, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(user, pass)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	a := answer{status: resp.StatusCode}
	if err := json.NewDecoder(resp.Body).Decode(&a); err != nil {
		t.Fatalf("%s: answer is not JSON: %v", resource, err)
	}
	return a
}

func TestServer(t *testing.T) {
	s := twiliotest.NewServer(t, twiliotest.AccountSID, twiliotest.AuthToken)
	good := url.Values{"To": {"+15555550123"}, "From": {twiliotest.FromNumber}, "Body": {"hi"}}
	call := url.Values{"To": {"+15555550123"}, "From": {twiliotest.FromNumber}, "Url": {"http://x/call"}}

	tests := []struct {
		name       string
		pass       string
		resource   string
		form       url.Values
		wantStatus int
		wantCode   int
	}{
		{"SMS", twiliotest.AuthToken, "Messages.json", good, 201, 0},
		{"call", twiliotest.AuthToken, "Calls.json", call, 201, 0},
		{"wrong token", "nope", "Messages.json", good, 401, 20003},
		{"SMS without To", twiliotest.AuthToken, "Messages.json", url.Values{"From": {"+1"}, "Body": {"x"}}, 400, 21604},
		{"SMS without From", twiliotest.AuthToken, "Messages.json", url.Values{"To": {"+1"}, "Body": {"x"}}, 400, 21603},
		{"SMS without Body", twiliotest.AuthToken, "Messages.json", url.Values{"To": {"+1"}, "From": {"+2"}}, 400, 21602},
		{"call without Url", twiliotest.AuthToken, "Calls.json", url.Values{"To": {"+1"}, "From": {"+2"}}, 400, 21205},
		{"unknown resource", twiliotest.AuthToken, "Faxes.json", good, 404, 20404},
	}
	for _, tc := range tests {
		a := post(t, s, twiliotest.AccountSID, tc.pass, tc.resource, tc.form)
		if a.status != tc.wantStatus || a.Code != tc.wantCode {
			t.Errorf("%s: got status %d code %d, want %d code %d", tc.name, a.status, a.Code, tc.wantStatus, tc.wantCode)
		}
		if tc.wantStatus == 201 && a.SID == "" {
			t.Errorf("%s: got no sid", tc.name)
		}
	}
	if got := len(s.Messages()) + len(s.Calls()); got != 2 {
		t.Errorf("recorded: got %d requests, want the 2 accepted", got)
	}

	s.FailNext(2, 503, 0, "down")
	for i := range 2 {
		if a := post(t, s, twiliotest.AccountSID, twiliotest.AuthToken, "Messages.json", good); a.status != 503 {
			t.Errorf("failure %d: got status %d, want 503", i+1, a.status)
		}
	}
	if a := post(t, s, twiliotest.AccountSID, twiliotest.AuthToken, "Messages.json", good); a.status != 201 {
		t.Errorf("after the failures: got status %d, want 201", a.status)
	}
}

func TestServer_Expect(t *testing.T) {
	s := twiliotest.NewServer(t, twiliotest.AccountSID, twiliotest.AuthToken)
	s.Timeout = 2 * time.Second
	go func() {
		time.Sleep(50 * time.Millisecond)
		form := url.Values{"To": {"+15555550123"}, "From": {twiliotest.FromNumber}, "Body": {"Alert #1: disk full"}}
		req, _ := http.NewRequest(http.MethodPost, s.URL+"/2010-04-01/Accounts/"+s.AccountSID+"/Messages.json", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(s.AccountSID, s.AuthToken)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	got := s.ExpectSMS(t, "+15555550123", "Alert #1", "disk full")
	if got.Body != "Alert #1: disk full" {
		t.Errorf("ExpectSMS: got %+v", got)
	}
	s.ExpectNothingElse(t, 0)
}

func TestParseTwiML(t *testing.T) {
	doc := `<?xml version="1.0" encoding="UTF-8"?>
<Response><Say>Hello &amp; welcome.</Say><Gather numDigits="1" action="http://x/c?a=1&amp;b=2"><Say>Press 4.</Say></Gather><Hangup/></Response>`
	got := twiliotest.ParseTwiML(t, doc)
	want := twiliotest.TwiML{
		Says:   []string{"Hello & welcome.", "Press 4."},
		Gather: &twiliotest.Gather{Action: "http://x/c?a=1&b=2", NumDigits: "1"},
		Hangup: true,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ParseTwiML (-want +got):\n%s", diff)
	}
}

func TestPost_signature(t *testing.T) {
	const public = "https://goalert.example.com/"
	var gotURL, gotSig string
	var gotForm url.Values
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		gotURL, gotSig, gotForm = r.URL.RequestURI(), r.Header.Get(twilio.SignatureHeader), r.PostForm
	}))
	defer srv.Close()

	form := url.Values{"Body": {"1a"}}
	twiliotest.Post(t, srv.URL, public, "tok", "https://goalert.example.com/api/v2/twilio/call?type=alert&msgID=m", form)
	if gotURL != "/api/v2/twilio/call?type=alert&msgID=m" {
		t.Errorf("posted to %q, want the public URL's path and query", gotURL)
	}
	want := twilio.Sign("tok", "https://goalert.example.com/api/v2/twilio/call?type=alert&msgID=m", gotForm)
	if gotSig != want {
		t.Errorf("signature: got %q, want %q", gotSig, want)
	}

	twiliotest.PostBadSignature(t, srv.URL, public, "/api/v2/twilio/message", form)
	if gotSig == twilio.Sign("tok", "https://goalert.example.com/api/v2/twilio/message", gotForm) || gotSig == "" {
		t.Errorf("PostBadSignature: got signature %q, want a wrong one", gotSig)
	}
}
