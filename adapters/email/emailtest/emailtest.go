// Package emailtest is an SMTP relay for tests: a server on loopback that
// records every message, optionally offers STARTTLS with a generated
// certificate (or speaks TLS from the start) and AUTH with a fixed
// username and password, and refuses, drops or delays messages as the
// test scripts it.
package emailtest

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Options shape the relay.
type Options struct {
	// StartTLS offers STARTTLS with a certificate for 127.0.0.1, ::1 and
	// localhost (see Server.TLSConfig).
	StartTLS bool
	// ImplicitTLS speaks TLS from the first byte (SMTPS), with the same
	// certificate.
	ImplicitTLS bool
	// RequireTLS refuses MAIL (530) on a connection without TLS.
	RequireTLS bool
	// Username and Password, when Username is set, offer AUTH and require
	// it before MAIL (530).
	Username, Password string
	// Mechanisms are the AUTH mechanisms offered, of PLAIN and LOGIN; nil
	// means both.
	Mechanisms []string
	// InsecureAuth offers and accepts AUTH on a connection without TLS;
	// otherwise AUTH is offered only after TLS, as careful relays do.
	InsecureAuth bool
}

// Stage is the step of a transaction at which a Fault strikes.
type Stage int

const (
	// AtData is the end of the message: the relay read it all and answers
	// with the fault instead of 250.
	AtData Stage = iota
	// AtMail answers MAIL FROM with the fault.
	AtMail
	// AtRcpt answers RCPT TO with the fault.
	AtRcpt
)

// Fault is how the relay mishandles one transaction.
type Fault struct {
	At Stage
	// Code and Message are the reply (e.g. 451 or 550); Code 0 accepts.
	Code    int
	Message string
	// Drop closes the connection instead of replying (AtData: after
	// reading the whole message, so the sender cannot know its fate).
	Drop bool
	// Delay holds the reply back this long, or until the relay closes.
	Delay time.Duration
}

// Message is one transaction that reached the end of DATA.
type Message struct {
	From string
	To   []string
	// Data is the message as received, headers and body, CRLF line ends.
	Data []byte
	// TLS reports whether the connection was encrypted.
	TLS bool
	// User is the username the sender authenticated as, or "".
	User string
	// Code is the relay's reply to the message: 250 when accepted, 0 when
	// dropped.
	Code int
	At   time.Time
}

// Accepted reports whether the relay took the message.
func (m Message) Accepted() bool { return m.Code == 250 }

// AuthAttempt is one AUTH exchange.
type AuthAttempt struct {
	Mechanism string
	Username  string
	TLS       bool
	OK        bool
}

// Server is the relay. Its zero value is not usable; call NewServer.
type Server struct {
	addr    string
	tls     *tls.Config // the relay's side
	roots   *x509.CertPool
	opts    Options
	srv     *smtp.Server
	closing chan struct{}
	once    sync.Once

	mu      sync.Mutex
	msgs    []Message
	auths   []AuthAttempt
	faults  []Fault
	next    int // index into the accepted messages, for Next
	changed chan struct{}
}

// NewServer starts a relay on 127.0.0.1 that accepts every message until
// told otherwise. It is closed when the test ends.
func NewServer(t testing.TB, opts Options) *Server {
	t.Helper()
	s := &Server{opts: opts, closing: make(chan struct{}), changed: make(chan struct{})}
	var err error
	s.tls, s.roots, err = selfSigned()
	if err != nil {
		t.Fatalf("emailtest: certificate: %v", err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("emailtest: listen: %v", err)
	}
	s.addr = l.Addr().String()
	if opts.ImplicitTLS {
		l = tls.NewListener(l, s.tls)
	}

	srv := smtp.NewServer(smtp.BackendFunc(s.newSession))
	srv.Domain = "localhost"
	srv.AllowInsecureAuth = opts.InsecureAuth
	srv.ReadTimeout = time.Minute
	srv.WriteTimeout = time.Minute
	srv.MaxMessageBytes = 10 << 20
	srv.ErrorLog = log.New(io.Discard, "", 0)
	if opts.StartTLS {
		srv.TLSConfig = s.tls
	}
	s.srv = srv
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(s.Close)
	return s
}

// Addr is the relay's host:port.
func (s *Server) Addr() string { return s.addr }

// TLSConfig is a client configuration that trusts the relay's certificate
// (and nothing else).
func (s *Server) TLSConfig() *tls.Config { return &tls.Config{RootCAs: s.roots} }

// CertPool holds the relay's certificate.
func (s *Server) CertPool() *x509.CertPool { return s.roots }

// Close stops the relay.
func (s *Server) Close() {
	s.once.Do(func() {
		close(s.closing)
		_ = s.srv.Close()
	})
}

// FailNext makes the next n transactions meet f, after faults already
// queued. Each transaction takes at most one fault, when it reaches the
// fault's stage.
func (s *Server) FailNext(n int, f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.faults = append(s.faults, f)
	}
}

// RejectNext makes the relay answer the next n messages with code (e.g.
// 451 or 550) once it has read them.
func (s *Server) RejectNext(n, code int) {
	s.FailNext(n, Fault{At: AtData, Code: code, Message: fmt.Sprintf("Rejected by test (%d)", code)})
}

// DropNext makes the relay read the next n messages and close the
// connection without a reply.
func (s *Server) DropNext(n int) { s.FailNext(n, Fault{At: AtData, Drop: true}) }

// fault takes the queued fault when it strikes at stage.
func (s *Server) fault(stage Stage) (Fault, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.faults) == 0 || s.faults[0].At != stage {
		return Fault{}, false
	}
	f := s.faults[0]
	s.faults = s.faults[1:]
	return f, true
}

// Messages returns every message the relay accepted, in order.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.accepted()
}

func (s *Server) accepted() []Message {
	var out []Message
	for _, m := range s.msgs {
		if m.Accepted() {
			out = append(out, m)
		}
	}
	return out
}

// Attempts returns every message that reached the end of DATA, accepted
// or not, in order.
func (s *Server) Attempts() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.msgs...)
}

// AuthAttempts returns every AUTH exchange, in order.
func (s *Server) AuthAttempts() []AuthAttempt {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]AuthAttempt(nil), s.auths...)
}

// Wait waits until the relay has accepted at least n messages and returns
// them; it fails the test if they do not arrive within timeout.
func (s *Server) Wait(t testing.TB, n int, timeout time.Duration) []Message {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		got, changed := s.accepted(), s.changed
		s.mu.Unlock()
		if len(got) >= n {
			return got
		}
		select {
		case <-changed:
		case <-deadline.C:
			t.Fatalf("emailtest: %d messages accepted after %v, want at least %d", len(got), timeout, n)
			return nil
		}
	}
}

// Next returns the first accepted message that Next has not returned yet,
// waiting up to timeout for it; it fails the test if none comes.
func (s *Server) Next(t testing.TB, timeout time.Duration) Message {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		got, changed := s.accepted(), s.changed
		if s.next < len(got) {
			m := got[s.next]
			s.next++
			s.mu.Unlock()
			return m
		}
		s.mu.Unlock()
		select {
		case <-changed:
		case <-deadline.C:
			t.Fatalf("emailtest: no message within %v", timeout)
			return Message{}
		}
	}
}

func (s *Server) record(m Message) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.msgs = append(s.msgs, m)
	close(s.changed)
	s.changed = make(chan struct{})
}

func (s *Server) recordAuth(a AuthAttempt) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.auths = append(s.auths, a)
}

// sleep waits d, or until the relay closes.
func (s *Server) sleep(d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-s.closing:
	}
}

func (s *Server) newSession(c *smtp.Conn) (smtp.Session, error) {
	return &session{s: s, c: c}, nil
}

// session is one connection's transaction state.
type session struct {
	s    *Server
	c    *smtp.Conn
	user string
	from string
	to   []string
}

var (
	_ smtp.Session     = (*session)(nil)
	_ smtp.AuthSession = (*session)(nil)

	errTLSRequired = &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0},
		Message: "Must issue a STARTTLS command first"}
	errAuthRequired = &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0},
		Message: "Authentication required"}
	errDropped = errors.New("connection dropped by test")
)

func (ss *session) isTLS() bool { _, ok := ss.c.TLSConnectionState(); return ok }

func (ss *session) Reset()        { ss.from, ss.to = "", nil }
func (ss *session) Logout() error { return nil }

func (ss *session) AuthMechanisms() []string {
	if ss.s.opts.Username == "" {
		return nil
	}
	if ss.s.opts.Mechanisms != nil {
		return ss.s.opts.Mechanisms
	}
	return []string{sasl.Plain, sasl.Login}
}

func (ss *session) Auth(mech string) (sasl.Server, error) {
	check := func(username, password string) error {
		ok := username == ss.s.opts.Username && password == ss.s.opts.Password
		ss.s.recordAuth(AuthAttempt{Mechanism: mech, Username: username, TLS: ss.isTLS(), OK: ok})
		if !ok {
			return smtp.ErrAuthFailed
		}
		ss.user = username
		return nil
	}
	if !slices.Contains(ss.AuthMechanisms(), mech) {
		return nil, smtp.ErrAuthUnknownMechanism
	}
	switch mech {
	case sasl.Plain:
		return sasl.NewPlainServer(func(identity, username, password string) error {
			if identity != "" && identity != username {
				return smtp.ErrAuthFailed
			}
			return check(username, password)
		}), nil
	case sasl.Login:
		return &loginServer{check: check}, nil
	}
	return nil, smtp.ErrAuthUnknownMechanism
}

func (ss *session) strike(stage Stage) error {
	f, ok := ss.s.fault(stage)
	if !ok {
		return nil
	}
	ss.s.sleep(f.Delay)
	if f.Drop {
		_ = ss.c.Conn().Close()
		return errDropped
	}
	if f.Code == 0 {
		return nil
	}
	return &smtp.SMTPError{Code: f.Code, EnhancedCode: smtp.EnhancedCodeNotSet, Message: f.Message}
}

func (ss *session) Mail(from string, _ *smtp.MailOptions) error {
	switch {
	case ss.s.opts.RequireTLS && !ss.isTLS():
		return errTLSRequired
	case ss.s.opts.Username != "" && ss.user == "":
		return errAuthRequired
	}
	if err := ss.strike(AtMail); err != nil {
		return err
	}
	ss.from = from
	return nil
}

func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if err := ss.strike(AtRcpt); err != nil {
		return err
	}
	ss.to = append(ss.to, to)
	return nil
}

func (ss *session) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	m := Message{From: ss.from, To: ss.to, Data: data, TLS: ss.isTLS(), User: ss.user, At: time.Now()}
	err = ss.strike(AtData)
	var se *smtp.SMTPError
	switch {
	case err == nil:
		m.Code = 250
	case errors.As(err, &se):
		m.Code = se.Code
	}
	ss.s.record(m)
	return err
}

// loginServer is the server side of AUTH LOGIN: it prompts for the
// username (unless the client sent it with the command) and the password.
type loginServer struct {
	check    func(username, password string) error
	username *string
}

func (l *loginServer) Next(response []byte) (challenge []byte, done bool, err error) {
	switch {
	case l.username == nil && response == nil:
		return []byte("Username:"), false, nil
	case l.username == nil:
		u := string(response)
		l.username = &u
		return []byte("Password:"), false, nil
	}
	return nil, true, l.check(*l.username, string(response))
}

// Parse splits m's data into header and parts; see Parsed.
func (m Message) Parse() (Parsed, error) { return parse(bytes.NewReader(m.Data)) }

// ToContains reports whether the envelope recipients include addr,
// ignoring case.
func (m Message) ToContains(addr string) bool {
	for _, to := range m.To {
		if strings.EqualFold(to, addr) {
			return true
		}
	}
	return false
}
