// Package twiliotest fakes Twilio for tests: a REST server on loopback that
// records the SMS and calls it is asked to make, and client helpers that
// play Twilio's side of the callbacks (an inbound SMS, a key press, a status
// report), signed as Twilio signs them.
package twiliotest

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oncallhq/goalert/adapters/twilio"
)

// Credentials and number of the fake account, for tests that need no
// others.
const (
	AccountSID = "AC00000000000000000000000000000001"
	AuthToken  = "twiliotest-auth-token"
	FromNumber = "+15005550006"
)

// SMS is a message the server was asked to send.
type SMS struct {
	SID                 string
	To                  string
	From                string
	MessagingServiceSID string
	Body                string
	StatusCallback      string
}

// Call is a call the server was asked to make.
type Call struct {
	SID                  string
	To                   string
	From                 string
	URL                  string
	StatusCallback       string
	StatusCallbackEvents []string
}

// Server is a fake Twilio REST API: POST
// /2010-04-01/Accounts/{AccountSID}/Messages.json and Calls.json, with
// basic auth AccountSID:AuthToken. It answers 201 with a fresh sid, or
// Twilio's error JSON: 401 for bad credentials, 400 when a required field
// is missing, and whatever FailNext asked for.
type Server struct {
	// URL is the API's base URL, for twilio.Config.BaseURL.
	URL        string
	AccountSID string
	AuthToken  string
	// Timeout bounds how long the Expect helpers wait; 10 s unless set.
	Timeout time.Duration

	mu       sync.Mutex
	changed  chan struct{} // closed, and replaced, on every new record
	sms      []record[SMS]
	calls    []record[Call]
	failures []failure
}

type record[T any] struct {
	v        T
	consumed bool
}

type failure struct {
	status  int
	code    int
	message string
}

// NewServer starts a server for the account accountSID with auth token
// authToken; it stops when the test ends.
func NewServer(t testing.TB, accountSID, authToken string) *Server {
	t.Helper()
	s := &Server{AccountSID: accountSID, AuthToken: authToken, Timeout: 10 * time.Second, changed: make(chan struct{})}
	srv := httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(srv.Close)
	s.URL = srv.URL
	return s
}

// Config returns an enabled Twilio config that sends through s from
// FromNumber, with callbacks at publicURL.
func (s *Server) Config(publicURL string) twilio.Config {
	return twilio.Config{
		Enable: true, AccountSID: s.AccountSID, AuthToken: s.AuthToken, FromNumber: FromNumber,
		BaseURL: s.URL, PublicURL: publicURL,
	}
}

// FailNext makes the next n requests with valid credentials fail with the
// HTTP status and Twilio's error code and message; they are not recorded.
func (s *Server) FailNext(n, status, code int, message string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.failures = append(s.failures, failure{status: status, code: code, message: message})
	}
}

// Messages returns every SMS received so far, in order.
func (s *Server) Messages() []SMS {
	s.mu.Lock()
	defer s.mu.Unlock()
	return values(s.sms)
}

// Calls returns every call received so far, in order.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return values(s.calls)
}

func values[T any](rs []record[T]) []T {
	out := make([]T, len(rs))
	for i, r := range rs {
		out[i] = r.v
	}
	return out
}

// ExpectSMS waits for an SMS to the number to whose body contains every one
// of contains, and returns it. Each SMS satisfies one Expect only. The test
// fails if none arrives within s.Timeout.
func (s *Server) ExpectSMS(t testing.TB, to string, contains ...string) SMS {
	t.Helper()
	v, ok := wait(s, &s.sms, func(m SMS) bool { return m.To == to && containsAll(m.Body, contains) })
	if !ok {
		t.Fatalf("twiliotest: no SMS to %s containing %q within %v; received: %s", to, contains, s.Timeout, describe(s.Messages()))
	}
	return v
}

// ExpectCall waits for a call to the number to, and returns it. Each call
// satisfies one Expect only. The test fails if none arrives within
// s.Timeout.
func (s *Server) ExpectCall(t testing.TB, to string) Call {
	t.Helper()
	v, ok := wait(s, &s.calls, func(c Call) bool { return c.To == to })
	if !ok {
		t.Fatalf("twiliotest: no call to %s within %v; received: %s", to, s.Timeout, describe(s.Calls()))
	}
	return v
}

// ExpectNothingElse waits for d, then fails the test if an SMS or call
// arrived that no Expect consumed.
func (s *Server) ExpectNothingElse(t testing.TB, d time.Duration) {
	t.Helper()
	time.Sleep(d)
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.sms {
		if !r.consumed {
			t.Errorf("twiliotest: unexpected SMS %+v", r.v)
		}
	}
	for _, r := range s.calls {
		if !r.consumed {
			t.Errorf("twiliotest: unexpected call %+v", r.v)
		}
	}
}

// wait finds, and consumes, the first unconsumed record of list matching
// match, waiting up to s.Timeout for one.
func wait[T any](s *Server, list *[]record[T], match func(T) bool) (T, bool) {
	deadline := time.NewTimer(s.Timeout)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		for i := range *list {
			r := &(*list)[i]
			if !r.consumed && match(r.v) {
				r.consumed = true
				s.mu.Unlock()
				return r.v, true
			}
		}
		changed := s.changed
		s.mu.Unlock()
		select {
		case <-changed:
		case <-deadline.C:
			var zero T
			return zero, false
		}
	}
}

func containsAll(s string, subs []string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}

func describe[T any](vs []T) string {
	if len(vs) == 0 {
		return "nothing"
	}
	parts := make([]string, len(vs))
	for i, v := range vs {
		parts[i] = fmt.Sprintf("%+v", v)
	}
	return strings.Join(parts, "; ")
}

// apiError is Twilio's error body.
type apiError struct {
	Code     int    `json:"code"`
	Message  string `json:"message"`
	MoreInfo string `json:"more_info"`
	Status   int    `json:"status"`
}

func writeError(w http.ResponseWriter, status, code int, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(apiError{
		Code: code, Message: message, Status: status,
		MoreInfo: fmt.Sprintf("https://www.twilio.com/docs/errors/%d", code),
	})
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	prefix := "/2010-04-01/Accounts/" + s.AccountSID + "/"
	resource, ok := strings.CutPrefix(r.URL.Path, prefix)
	if r.Method != http.MethodPost || !ok || (resource != "Messages.json" && resource != "Calls.json") {
		writeError(w, http.StatusNotFound, 20404, "The requested resource "+r.URL.Path+" was not found")
		return
	}
	if user, pass, ok := r.BasicAuth(); !ok || user != s.AccountSID || pass != s.AuthToken {
		writeError(w, http.StatusUnauthorized, 20003, "Authenticate")
		return
	}
	if err := r.ParseForm(); err != nil {
		writeError(w, http.StatusBadRequest, 20001, "Malformed form body")
		return
	}
	if f, ok := s.takeFailure(); ok {
		writeError(w, f.status, f.code, f.message)
		return
	}

	form := r.PostForm
	switch resource {
	case "Messages.json":
		m := SMS{
			SID: newSID("SM"), To: form.Get("To"), From: form.Get("From"),
			MessagingServiceSID: form.Get("MessagingServiceSid"), Body: form.Get("Body"),
			StatusCallback: form.Get("StatusCallback"),
		}
		switch {
		case m.To == "":
			writeError(w, http.StatusBadRequest, 21604, "A 'To' phone number is required.")
		case m.From == "" && m.MessagingServiceSID == "":
			writeError(w, http.StatusBadRequest, 21603, "A 'From' phone number is required.")
		case m.Body == "":
			writeError(w, http.StatusBadRequest, 21602, "Message body is required.")
		default:
			s.add(func() { s.sms = append(s.sms, record[SMS]{v: m}) })
			writeCreated(w, m.SID, m.To, m.From)
		}
	case "Calls.json":
		c := Call{
			SID: newSID("CA"), To: form.Get("To"), From: form.Get("From"), URL: form.Get("Url"),
			StatusCallback: form.Get("StatusCallback"), StatusCallbackEvents: form["StatusCallbackEvent"],
		}
		switch {
		case c.To == "":
			writeError(w, http.StatusBadRequest, 21201, "No 'To' number is specified")
		case c.From == "":
			writeError(w, http.StatusBadRequest, 21213, "No 'From' number is specified")
		case c.URL == "":
			writeError(w, http.StatusBadRequest, 21205, "Url parameter is required.")
		default:
			s.add(func() { s.calls = append(s.calls, record[Call]{v: c}) })
			writeCreated(w, c.SID, c.To, c.From)
		}
	}
}

func (s *Server) takeFailure() (failure, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.failures) == 0 {
		return failure{}, false
	}
	f := s.failures[0]
	s.failures = s.failures[1:]
	return f, true
}

// add records something under the lock and wakes the waiters.
func (s *Server) add(fn func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fn()
	close(s.changed)
	s.changed = make(chan struct{})
}

func writeCreated(w http.ResponseWriter, sid, to, from string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	_ = json.NewEncoder(w).Encode(map[string]string{"sid": sid, "status": "queued", "to": to, "from": from})
}

// newSID returns a fresh Twilio-style SID with the given prefix.
func newSID(prefix string) string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// publicTarget maps a URL under publicURL (or a path) to the same request
// on serverURL, and returns the URL Twilio would sign.
func publicTarget(serverURL, publicURL, target string) (post, signed string, err error) {
	publicURL = strings.TrimRight(publicURL, "/")
	if strings.HasPrefix(target, "/") {
		target = publicURL + target
	}
	rest, ok := strings.CutPrefix(target, publicURL)
	if !ok {
		return "", "", fmt.Errorf("twiliotest: %s is not under the public URL %s", target, publicURL)
	}
	if _, err := url.Parse(target); err != nil {
		return "", "", fmt.Errorf("twiliotest: bad URL %s: %w", target, err)
	}
	return strings.TrimRight(serverURL, "/") + rest, target, nil
}
