// Package webhooktest is a webhook receiver for tests: an HTTP server on
// loopback that records every request and answers as the test scripts it
// (a status, a hang until the sender gives up, a dropped connection).
//
// Receivers drop repeated deliveries by their Idempotency-Key; Distinct and
// CountDistinct count the way such a receiver would, so that a test can
// assert "exactly one page" even when a send was retried.
package webhooktest

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// Request is one request the server received.
type Request struct {
	Method string
	// Path is the URL path, so that one server can stand for several
	// webhooks (srv.URL+"/alice", srv.URL+"/ops").
	Path   string
	Query  string
	Header http.Header
	Body   []byte
	// JSON is the body decoded as a JSON object; nil when it is not one.
	JSON map[string]any
	// Status is what the server answered; 0 when it did not answer (Hang,
	// Drop).
	Status int
	At     time.Time
}

// Type is the payload's Type field ("Alert", "Test", ...).
func (r Request) Type() string { s, _ := r.JSON["Type"].(string); return s }

// Key is the Idempotency-Key header.
func (r Request) Key() string { return r.Header.Get("Idempotency-Key") }

// String is the payload's field name as a string ("" when absent or not a
// string).
func (r Request) String(name string) string { s, _ := r.JSON[name].(string); return s }

// Decode decodes the body into v.
func (r Request) Decode(v any) error { return json.Unmarshal(r.Body, v) }

// Reply is how the server answers one request.
type Reply struct {
	// Status is the HTTP status; 0 means 200.
	Status int
	Body   string
	// Delay holds the answer back this long (or until the server closes).
	Delay time.Duration
	// Hang never answers: the request is held until the client goes away
	// or the server closes.
	Hang bool
	// Drop closes the connection after reading the request, without an
	// answer.
	Drop bool
}

// Server is the receiver. Its zero value is not usable; call NewServer.
type Server struct {
	// URL is the base URL, http://127.0.0.1:<port>.
	URL string

	srv     *httptest.Server
	closing chan struct{}
	once    sync.Once

	mu      sync.Mutex
	reqs    []Request
	replies []Reply
	next    int           // index of the next request Next returns
	changed chan struct{} // closed and replaced on every new request
}

// NewServer starts a receiver on loopback that answers 200 until told
// otherwise. It is closed when the test ends.
func NewServer(t testing.TB) *Server {
	t.Helper()
	s := &Server{closing: make(chan struct{}), changed: make(chan struct{})}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL
	t.Cleanup(s.Close)
	return s
}

// Close stops the server, releasing requests held by Hang or Delay.
func (s *Server) Close() {
	s.once.Do(func() {
		close(s.closing)
		s.srv.CloseClientConnections()
		s.srv.Close()
	})
}

// ReplyNext makes the next n requests get r, after any replies already
// queued; later ones get 200 again.
func (s *Server) ReplyNext(n int, r Reply) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.replies = append(s.replies, r)
	}
}

// FailNext makes the next n requests answer status.
func (s *Server) FailNext(n, status int) { s.ReplyNext(n, Reply{Status: status}) }

// HangNext makes the next n requests get no answer until the sender gives
// up.
func (s *Server) HangNext(n int) { s.ReplyNext(n, Reply{Hang: true}) }

// DropNext makes the next n requests be read and their connection closed
// without an answer.
func (s *Server) DropNext(n int) { s.ReplyNext(n, Reply{Drop: true}) }

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	req := Request{
		Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery,
		Header: r.Header.Clone(), Body: body, At: time.Now(),
	}
	var obj map[string]any
	if json.Unmarshal(body, &obj) == nil {
		req.JSON = obj
	}

	s.mu.Lock()
	reply := Reply{Status: http.StatusOK}
	if len(s.replies) > 0 {
		reply = s.replies[0]
		s.replies = s.replies[1:]
		if reply.Status == 0 {
			reply.Status = http.StatusOK
		}
	}
	if !reply.Hang && !reply.Drop {
		req.Status = reply.Status
	}
	s.reqs = append(s.reqs, req)
	close(s.changed)
	s.changed = make(chan struct{})
	s.mu.Unlock()

	switch {
	case reply.Hang:
		select {
		case <-r.Context().Done():
		case <-s.closing:
		}
		return
	case reply.Drop:
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				// A reset, not a clean close: the sender sees the
				// connection fail after its request was written.
				if tc, ok := conn.(*net.TCPConn); ok {
					_ = tc.SetLinger(0)
				}
				_ = conn.Close()
			}
		}
		return
	case reply.Delay > 0:
		t := time.NewTimer(reply.Delay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-r.Context().Done():
			return
		case <-s.closing:
			return
		}
	}
	w.WriteHeader(reply.Status)
	_, _ = io.WriteString(w, reply.Body)
}

// Requests returns every request received so far, in order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.reqs...)
}

// Wait waits until at least n requests have arrived and returns them all;
// it fails the test if they do not arrive within timeout.
func (s *Server) Wait(t testing.TB, n int, timeout time.Duration) []Request {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		got, changed := len(s.reqs), s.changed
		if got >= n {
			all := append([]Request(nil), s.reqs...)
			s.mu.Unlock()
			return all
		}
		s.mu.Unlock()
		select {
		case <-changed:
		case <-deadline.C:
			t.Fatalf("webhooktest: got %d requests after %v, want at least %d", got, timeout, n)
			return nil
		}
	}
}

// Next returns the first request that Next has not returned yet, waiting
// up to timeout for it; it fails the test if none comes.
func (s *Server) Next(t testing.TB, timeout time.Duration) Request {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		if s.next < len(s.reqs) {
			r := s.reqs[s.next]
			s.next++
			s.mu.Unlock()
			return r
		}
		changed := s.changed
		s.mu.Unlock()
		select {
		case <-changed:
		case <-deadline.C:
			t.Fatalf("webhooktest: no request within %v", timeout)
			return Request{}
		}
	}
}

// Distinct returns the first request of each Idempotency-Key, in order of
// arrival: what a receiver that drops repeats would act on. Requests
// without a key are each distinct.
func (s *Server) Distinct() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	seen := map[string]bool{}
	var out []Request
	for _, r := range s.reqs {
		if k := r.Key(); k != "" {
			if seen[k] {
				continue
			}
			seen[k] = true
		}
		out = append(out, r)
	}
	return out
}

// CountDistinct is the number of distinct requests (see Distinct) whose
// payload Type is typ; "" counts every type.
func (s *Server) CountDistinct(typ string) int {
	n := 0
	for _, r := range s.Distinct() {
		if typ == "" || r.Type() == typ {
			n++
		}
	}
	return n
}

// Deliveries maps each Idempotency-Key to the number of requests that
// carried it: more than one means the message was sent again.
func (s *Server) Deliveries() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]int{}
	for _, r := range s.reqs {
		out[r.Key()]++
	}
	return out
}
