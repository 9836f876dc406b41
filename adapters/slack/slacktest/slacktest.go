// Package slacktest is a fake Slack for tests, on loopback: the Web API
// methods the product calls (chat.postMessage, chat.update, auth.test), a
// sink for posts to interaction response URLs, failure injection, waits,
// and a client that clicks message buttons the way Slack does, with a
// signed request to the product's interactivity endpoint.
//
// The fake checks what the real API checks for these calls: the bearer
// token, the channel and the message being updated. A post to a user id
// (U… or W…) lands in the app's direct message conversation with that
// user, whose id is "D" followed by the rest of the user id.
package slacktest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Identity the fake's auth.test reports.
const (
	TeamID    = "TFAKETEAM"
	BotUserID = "UFAKEBOT"
	BotID     = "BFAKEBOT"
)

// DefaultWait is how long the Wait methods wait when Server.Wait is zero.
const DefaultWait = 10 * time.Second

// Server is a fake Slack Web API.
type Server struct {
	// URL is the fake's origin, the value for --slack-base-url.
	URL string
	// Wait bounds the Wait methods; zero means DefaultWait. Set it before
	// waiting.
	Wait time.Duration

	srv   *httptest.Server
	token string

	mu        sync.Mutex
	unknown   map[string]bool
	failures  []failure
	calls     []Call
	messages  []Message
	responses []Response
	ts        int
	hooks     int
	changed   chan struct{}
}

// failure is one injected answer to the next Web API call.
type failure struct {
	status     int
	code       string
	retryAfter time.Duration
}

// Call is one Web API request, whatever its answer.
type Call struct {
	Method string // "chat.postMessage", "chat.update", "auth.test"
	Token  string // the bearer token sent, "" when none
	// Status and Error are the answer: HTTP status and Slack's error code
	// ("" when ok).
	Status int
	Error  string
	Body   json.RawMessage
}

// Message is a message as the fake holds it after chat.postMessage or
// chat.update.
type Message struct {
	Content
	// Method is the call that produced this version of the message.
	Method string
	// Channel is the conversation the message is in: the channel asked
	// for, or the D… conversation of a direct message.
	Channel string
	// Requested is the channel argument as sent (a user id for a DM).
	Requested string
	TS        string
	Token     string
}

// Response is one post to a response URL.
type Response struct {
	Content
	// URL is the response URL posted to.
	URL             string
	ResponseType    string
	ReplaceOriginal bool
	DeleteOriginal  bool
}

// Content is the text and blocks of a message or a response.
type Content struct {
	Text   string
	Blocks json.RawMessage
	// Raw is the whole JSON body received.
	Raw json.RawMessage
}

// Button is a button element of a message's blocks.
type Button struct {
	ActionID string
	Value    string
	URL      string
	Text     string
	Style    string
}

// NewServer starts a fake that accepts token as the bot token, and stops
// it when t ends.
func NewServer(t testing.TB, token string) *Server {
	t.Helper()
	s := &Server{token: token, unknown: map[string]bool{}, changed: make(chan struct{})}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/chat.postMessage", s.api("chat.postMessage", s.postMessage))
	mux.HandleFunc("POST /api/chat.update", s.api("chat.update", s.update))
	mux.HandleFunc("POST /api/auth.test", s.api("auth.test", s.authTest))
	mux.HandleFunc("POST /response/", s.response)
	s.srv = httptest.NewServer(mux)
	s.URL = s.srv.URL
	t.Cleanup(s.srv.Close)
	return s
}

// SetUnknownChannel makes posts to each of ids fail with channel_not_found.
func (s *Server) SetUnknownChannel(ids ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range ids {
		s.unknown[id] = true
	}
}

// FailNext makes the next n Web API calls answer HTTP status (a 5xx, say)
// without doing anything.
func (s *Server) FailNext(n, status int) { s.inject(n, failure{status: status}) }

// RateLimitNext makes the next n Web API calls answer 429 with
// {"ok":false,"error":"ratelimited"} and Retry-After in whole seconds
// (none when retryAfter is 0).
func (s *Server) RateLimitNext(n int, retryAfter time.Duration) {
	s.inject(n, failure{status: http.StatusTooManyRequests, code: "ratelimited", retryAfter: retryAfter})
}

// ErrorNext makes the next n Web API calls answer HTTP 200 with
// {"ok":false,"error":code} without doing anything.
func (s *Server) ErrorNext(n int, code string) {
	s.inject(n, failure{status: http.StatusOK, code: code})
}

func (s *Server) inject(n int, f failure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.failures = append(s.failures, f)
	}
}

// ResponseURL returns a new response URL on the fake; posts to it are
// recorded as Responses.
func (s *Server) ResponseURL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hooks++
	return fmt.Sprintf("%s/response/%s/%d", s.URL, TeamID, s.hooks)
}

// Calls returns every Web API request so far, in order.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.calls...)
}

// Messages returns the messages posted or updated so far, in order, one
// entry per successful chat.postMessage or chat.update.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.messages...)
}

// Responses returns the posts to response URLs so far, in order.
func (s *Server) Responses() []Response {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Response(nil), s.responses...)
}

// WaitForMessage waits for a message that match accepts (nil accepts
// any), among those already there and those to come, and returns the
// first. It fails t after Server.Wait.
func (s *Server) WaitForMessage(t testing.TB, match func(Message) bool) Message {
	t.Helper()
	var got Message
	s.waitFor(t, "message", func() (bool, string) {
		for _, m := range s.messages {
			if match == nil || match(m) {
				got = m
				return true, ""
			}
		}
		return false, describe(s.messages)
	})
	return got
}

// WaitForResponse is WaitForMessage for posts to response URLs.
func (s *Server) WaitForResponse(t testing.TB, match func(Response) bool) Response {
	t.Helper()
	var got Response
	s.waitFor(t, "response", func() (bool, string) {
		for _, r := range s.responses {
			if match == nil || match(r) {
				got = r
				return true, ""
			}
		}
		return false, describe(s.responses)
	})
	return got
}

// WaitForCalls waits until at least n Web API calls were made, and returns
// them all.
func (s *Server) WaitForCalls(t testing.TB, n int) []Call {
	t.Helper()
	var got []Call
	s.waitFor(t, fmt.Sprintf("%d calls", n), func() (bool, string) {
		got = append([]Call(nil), s.calls...)
		return len(got) >= n, describe(got)
	})
	return got
}

// waitFor calls check under the lock until it reports done, each time
// something is recorded.
func (s *Server) waitFor(t testing.TB, what string, check func() (bool, string)) {
	t.Helper()
	d := s.Wait
	if d <= 0 {
		d = DefaultWait
	}
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		done, have := check()
		changed := s.changed
		s.mu.Unlock()
		if done {
			return
		}
		select {
		case <-changed:
		case <-deadline.C:
			t.Fatalf("slacktest: no matching %s after %s; got %s", what, d, have)
			return
		}
	}
}

func describe[T any](items []T) string {
	if len(items) == 0 {
		return "none"
	}
	b, _ := json.MarshalIndent(items, "", "  ")
	return string(b)
}

// notify wakes the waiters; the caller holds s.mu.
func (s *Server) notify() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// apiHandler does one Web API method for a request whose token checked;
// it answers the fields to add to {"ok":true}, or a Slack error code.
type apiHandler func(token string, body []byte) (map[string]any, string)

func (s *Server) api(method string, h apiHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		auth := strings.TrimSpace(r.Header.Get("Authorization"))
		token := ""
		if scheme, t, _ := strings.Cut(auth, " "); strings.EqualFold(scheme, "Bearer") {
			token = strings.TrimSpace(t)
		}
		call := Call{Method: method, Token: token, Status: http.StatusOK}
		if json.Valid(body) {
			call.Body = body
		}

		s.mu.Lock()
		defer s.mu.Unlock()
		defer s.notify()
		answer := map[string]any{"ok": true}
		switch {
		case len(s.failures) > 0:
			f := s.failures[0]
			s.failures = s.failures[1:]
			call.Status, call.Error = f.status, f.code
			if f.retryAfter > 0 {
				w.Header().Set("Retry-After", strconv.Itoa(int(f.retryAfter.Seconds())))
			}
			if f.code == "" {
				s.calls = append(s.calls, call)
				http.Error(w, http.StatusText(f.status), f.status)
				return
			}
		case token == "":
			call.Error = "not_authed"
		case token != s.token:
			call.Error = "invalid_auth"
		default:
			fields, code := h(token, body)
			call.Error = code
			for k, v := range fields {
				answer[k] = v
			}
		}
		s.calls = append(s.calls, call)
		if call.Error != "" {
			answer = map[string]any{"ok": false, "error": call.Error}
		}
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(call.Status)
		_ = json.NewEncoder(w).Encode(answer)
	}
}

// chatBody is the part of a chat.* request the fake reads.
type chatBody struct {
	Channel string          `json:"channel"`
	TS      string          `json:"ts"`
	Text    string          `json:"text"`
	Blocks  json.RawMessage `json:"blocks"`
}

// postMessage runs with s.mu held.
func (s *Server) postMessage(token string, body []byte) (map[string]any, string) {
	var b chatBody
	if err := json.Unmarshal(body, &b); err != nil {
		return nil, "invalid_json"
	}
	if b.Channel == "" || s.unknown[b.Channel] {
		return nil, "channel_not_found"
	}
	if b.Text == "" && len(b.Blocks) == 0 {
		return nil, "no_text"
	}
	conv := b.Channel
	if len(conv) > 1 && (conv[0] == 'U' || conv[0] == 'W') {
		conv = "D" + conv[1:]
	}
	s.ts++
	m := Message{
		Content: Content{Text: b.Text, Blocks: b.Blocks, Raw: body},
		Method:  "chat.postMessage", Channel: conv, Requested: b.Channel,
		TS: fmt.Sprintf("1700000000.%06d", s.ts), Token: token,
	}
	s.messages = append(s.messages, m)
	return map[string]any{"channel": m.Channel, "ts": m.TS, "message": map[string]any{"text": b.Text, "ts": m.TS}}, ""
}

// update runs with s.mu held.
func (s *Server) update(token string, body []byte) (map[string]any, string) {
	var b chatBody
	if err := json.Unmarshal(body, &b); err != nil {
		return nil, "invalid_json"
	}
	if b.Channel == "" || s.unknown[b.Channel] {
		return nil, "channel_not_found"
	}
	found := false
	for _, m := range s.messages {
		if m.Channel == b.Channel && m.TS == b.TS {
			found = true
			break
		}
	}
	if !found {
		return nil, "message_not_found"
	}
	m := Message{
		Content: Content{Text: b.Text, Blocks: b.Blocks, Raw: body},
		Method:  "chat.update", Channel: b.Channel, Requested: b.Channel, TS: b.TS, Token: token,
	}
	s.messages = append(s.messages, m)
	return map[string]any{"channel": m.Channel, "ts": m.TS, "text": b.Text}, ""
}

func (s *Server) authTest(string, []byte) (map[string]any, string) {
	return map[string]any{
		"url": s.URL + "/", "team": "Fake Team", "user": "goalert",
		"team_id": TeamID, "user_id": BotUserID, "bot_id": BotID,
	}, ""
}

// response records a post to a response URL.
func (s *Server) response(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	var b struct {
		Text            string          `json:"text"`
		Blocks          json.RawMessage `json:"blocks"`
		ResponseType    string          `json:"response_type"`
		ReplaceOriginal bool            `json:"replace_original"`
		DeleteOriginal  bool            `json:"delete_original"`
	}
	if err := json.Unmarshal(body, &b); err != nil {
		http.Error(w, "invalid_payload", http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	s.responses = append(s.responses, Response{
		Content: Content{Text: b.Text, Blocks: b.Blocks, Raw: body},
		URL:     s.URL + r.URL.Path, ResponseType: b.ResponseType,
		ReplaceOriginal: b.ReplaceOriginal, DeleteOriginal: b.DeleteOriginal,
	})
	s.notify()
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, `{"ok":true}`)
}

// Buttons returns the button elements of c's blocks, in order.
func (c Content) Buttons() []Button {
	var blocks []struct {
		Elements []struct {
			Type     string `json:"type"`
			ActionID string `json:"action_id"`
			Value    string `json:"value"`
			URL      string `json:"url"`
			Style    string `json:"style"`
			Text     struct {
				Text string `json:"text"`
			} `json:"text"`
		} `json:"elements"`
	}
	_ = json.Unmarshal(c.Blocks, &blocks)
	var out []Button
	for _, b := range blocks {
		for _, e := range b.Elements {
			if e.Type == "button" {
				out = append(out, Button{ActionID: e.ActionID, Value: e.Value, URL: e.URL, Text: e.Text.Text, Style: e.Style})
			}
		}
	}
	return out
}

// Button returns the button with actionID, if c has one.
func (c Content) Button(actionID string) (Button, bool) {
	for _, b := range c.Buttons() {
		if b.ActionID == actionID {
			return b, true
		}
	}
	return Button{}, false
}

// BlockText returns every text of c's blocks, one per line, so tests can
// look for words without walking Block Kit.
func (c Content) BlockText() string {
	var lines []string
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if s, ok := v["text"].(string); ok {
				lines = append(lines, s)
			}
			keys := make([]string, 0, len(v))
			for k := range v {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				if _, ok := v[k].(string); !ok {
					walk(v[k])
				}
			}
		case []any:
			for _, e := range v {
				walk(e)
			}
		}
	}
	var v any
	_ = json.Unmarshal(c.Blocks, &v)
	walk(v)
	return strings.Join(lines, "\n")
}
