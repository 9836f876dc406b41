// Package smtpingress is the built-in SMTP server that turns inbound email
// into alerts (GoAlert's --smtp-listen and --smtp-listen-tls): a message to
// <integrationKeyID>[+dedup]@<domain> triggers an alert on the service of
// that email integration key, with the subject as summary and the sender
// and text body as details. It only receives: mail for any other domain is
// refused, never relayed.
package smtpingress

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/emersion/go-smtp"
	"github.com/google/uuid"

	"github.com/oncallhq/goalert/commands"
	"github.com/oncallhq/goalert/domain"
	"github.com/oncallhq/goalert/domain/alert"
	"github.com/oncallhq/goalert/domain/service"
	"github.com/oncallhq/goalert/events"
)

// Defaults of Config's zero values.
const (
	// DefaultMaxMessageBytes is the largest message accepted: 25 MiB, the
	// limit of the big mail providers, so whatever a monitoring tool could
	// send through them also arrives here. Only the text parts are held in
	// memory, so the size costs bandwidth, not memory.
	DefaultMaxMessageBytes = 25 << 20
	// DefaultReadTimeout is how long a client may stay silent, between
	// commands or within a message: the five minutes RFC 5321 (4.5.3.2)
	// asks servers to wait.
	DefaultReadTimeout = 5 * time.Minute
	// DefaultWriteTimeout bounds sending one reply.
	DefaultWriteTimeout = time.Minute
	// DefaultIngestTimeout bounds raising the alerts of one message.
	DefaultIngestTimeout = 30 * time.Second
)

// maxLineLength is the longest line accepted, commands and message lines
// alike. RFC 5322 allows 998 characters, but HTML mail generators write
// whole documents on one line, and refusing them would lose the page.
const maxLineLength = 1 << 20

// Config configures the server.
type Config struct {
	// Domains are the recipient domains accepted, case-insensitively: the
	// email integration domain and any additional ones. Mail for any other
	// domain is refused with 550.
	Domains []string
	// MaxRecipients is how many recipients (each an alert) one message may
	// have; 0 means 1. Recipients past it get 452.
	MaxRecipients int
	// MaxMessageBytes is the largest message accepted; a bigger one gets
	// 552 and raises nothing. 0 means DefaultMaxMessageBytes.
	MaxMessageBytes int64
	// TLS, when set, is offered through STARTTLS on Serve's listeners and is
	// what ServeTLS requires.
	TLS *tls.Config
	// Hostname is the name the server greets with; empty means the
	// machine's host name.
	Hostname string
	// Zero values mean DefaultReadTimeout, DefaultWriteTimeout and
	// DefaultIngestTimeout.
	ReadTimeout, WriteTimeout, IngestTimeout time.Duration
}

// ParseDomains returns the domains the server accepts: primary (the email
// integration domain) and the comma-separated additional ones, lower-cased,
// without blanks or repeats.
func ParseDomains(primary, additional string) []string {
	var out []string
	seen := map[string]bool{}
	for _, d := range append([]string{primary}, strings.Split(additional, ",")...) {
		d = strings.ToLower(strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(d), "@"), "."))
		if d != "" && !seen[d] {
			seen[d] = true
			out = append(out, d)
		}
	}
	return out
}

// IngestFunc raises or updates the alert of one integration key; it is
// commands.Handler.Ingest without its read-your-writes result.
type IngestFunc func(context.Context, commands.Ingest) (commands.AlertRef, error)

// Server receives email over SMTP and raises alerts from it.
type Server struct {
	cfg     Config
	domains map[string]bool
	ingest  IngestFunc
	log     *slog.Logger
	smtp    *smtp.Server

	mu        sync.Mutex
	listeners []net.Listener
	conns     map[*trackedConn]bool // open connections; true while a message is in flight
	closing   bool
}

// New returns a server that raises alerts through ingest. It serves
// nothing until Serve or ServeTLS.
func New(cfg Config, ingest IngestFunc, log *slog.Logger) *Server {
	if cfg.MaxRecipients <= 0 {
		cfg.MaxRecipients = 1
	}
	if cfg.MaxMessageBytes <= 0 {
		cfg.MaxMessageBytes = DefaultMaxMessageBytes
	}
	if cfg.ReadTimeout <= 0 {
		cfg.ReadTimeout = DefaultReadTimeout
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = DefaultWriteTimeout
	}
	if cfg.IngestTimeout <= 0 {
		cfg.IngestTimeout = DefaultIngestTimeout
	}
	if cfg.Hostname == "" {
		cfg.Hostname, _ = os.Hostname()
		if cfg.Hostname == "" {
			cfg.Hostname = "localhost"
		}
	}
	if log == nil {
		log = slog.Default()
	}
	s := &Server{cfg: cfg, domains: map[string]bool{}, ingest: ingest, log: log, conns: map[*trackedConn]bool{}}
	for _, d := range ParseDomains("", strings.Join(cfg.Domains, ",")) {
		s.domains[d] = true
	}
	srv := smtp.NewServer(smtp.BackendFunc(s.newSession))
	srv.Domain = cfg.Hostname
	srv.TLSConfig = cfg.TLS
	// The recipient limit is enforced by the session, whose refusal says
	// "too many recipients" as RFC 5321 (4.5.3.1.10) words it.
	srv.MaxRecipients = 0
	srv.MaxMessageBytes = cfg.MaxMessageBytes
	srv.MaxLineLength = maxLineLength
	srv.ReadTimeout = cfg.ReadTimeout
	srv.WriteTimeout = cfg.WriteTimeout
	srv.ErrorLog = errorLog{log}
	s.smtp = srv
	return s
}

// Serve accepts plain SMTP connections on l (offering STARTTLS when
// Config.TLS is set) until Shutdown, and then returns nil.
func (s *Server) Serve(l net.Listener) error { return s.serve(l, false) }

// ServeTLS accepts implicit-TLS (SMTPS) connections on l until Shutdown,
// and then returns nil. It needs Config.TLS.
func (s *Server) ServeTLS(l net.Listener) error {
	if s.cfg.TLS == nil {
		return errors.New("smtpingress: ServeTLS needs a TLS configuration")
	}
	return s.serve(l, true)
}

func (s *Server) serve(l net.Listener, implicitTLS bool) error {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		_ = l.Close()
		return nil
	}
	s.listeners = append(s.listeners, l)
	s.mu.Unlock()
	// Connections are tracked below TLS, so that Shutdown can close one
	// that is idle whether or not it has finished its handshake.
	var sl net.Listener = &trackingListener{Listener: l, s: s}
	if implicitTLS {
		sl = tls.NewListener(sl, s.cfg.TLS)
	}
	err := s.smtp.Serve(sl)
	s.mu.Lock()
	closing := s.closing
	s.mu.Unlock()
	if closing {
		return nil
	}
	if err != nil {
		return fmt.Errorf("serve SMTP on %s: %w", l.Addr(), err)
	}
	return nil
}

// Shutdown stops accepting connections and new messages, lets the
// messages in flight finish (their senders get their answer), closes idle
// connections, and waits for all to end. When ctx ends first it closes
// every connection and returns ctx's error; a sender whose message was cut
// off retries it later.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closing = true
	listeners := s.listeners
	s.mu.Unlock()
	for _, l := range listeners {
		_ = l.Close()
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		// It waits for every connection handler; the listeners are closed
		// already, so its error says only that.
		_ = s.smtp.Shutdown(context.WithoutCancel(ctx))
	}()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		s.closeConns(false)
		select {
		case <-done:
			return nil
		case <-ctx.Done():
			s.closeConns(true)
			return fmt.Errorf("shut down SMTP server: %w", ctx.Err())
		case <-tick.C:
		}
	}
}

// closeConns closes the idle connections, or all of them.
func (s *Server) closeConns(all bool) {
	var idle []*trackedConn
	s.mu.Lock()
	for c, busy := range s.conns {
		if all || !busy {
			idle = append(idle, c)
		}
	}
	s.mu.Unlock()
	// Outside the lock: closing ends the session, whose Logout takes it.
	for _, c := range idle {
		_ = c.Close()
	}
}

func (s *Server) setBusy(c *trackedConn, busy bool) {
	if c == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, open := s.conns[c]; open {
		s.conns[c] = busy
	}
}

func (s *Server) isClosing() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closing
}

// trackingListener records the connections it accepts in the server.
type trackingListener struct {
	net.Listener
	s *Server
}

func (l *trackingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	tc := &trackedConn{Conn: c, s: l.s}
	l.s.mu.Lock()
	l.s.conns[tc] = false
	l.s.mu.Unlock()
	return tc, nil
}

type trackedConn struct {
	net.Conn
	s    *Server
	once sync.Once
}

func (c *trackedConn) Close() error {
	c.once.Do(func() {
		c.s.mu.Lock()
		delete(c.s.conns, c)
		c.s.mu.Unlock()
	})
	return c.Conn.Close()
}

// connOf finds the tracked connection under an SMTP connection, which may
// have been wrapped in TLS (implicitly or by STARTTLS).
func connOf(c *smtp.Conn) *trackedConn {
	nc := c.Conn()
	if tc, ok := nc.(*tls.Conn); ok {
		nc = tc.NetConn()
	}
	tc, _ := nc.(*trackedConn)
	return tc
}

// SMTP replies. The enhanced codes are RFC 3463's.
var (
	errShuttingDown = &smtp.SMTPError{Code: 421, EnhancedCode: smtp.EnhancedCode{4, 3, 2}, Message: "Shutting down, try again later"}
	errBadAddress   = &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 3},
		Message: "Bad recipient address: expected <integration key>@<domain>"}
	errRelayDenied = &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 7, 1},
		Message: "Relaying denied: this server accepts mail for its alert domains only"}
	errUnknownKey  = &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "Unknown integration key"}
	errTooManyRcpt = &smtp.SMTPError{Code: 452, EnhancedCode: smtp.EnhancedCode{4, 5, 3}, Message: "Too many recipients"}
	errTemporary   = &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0},
		Message: "Temporary failure raising the alert, try again later"}
	errLongLine = &smtp.SMTPError{Code: 552, EnhancedCode: smtp.EnhancedCode{5, 3, 4},
		Message: fmt.Sprintf("Message has a line longer than %d bytes", maxLineLength)}
)

func (s *Server) errTooBig() *smtp.SMTPError {
	return &smtp.SMTPError{Code: 552, EnhancedCode: smtp.EnhancedCode{5, 3, 4},
		Message: fmt.Sprintf("Message too big: the limit is %d bytes", s.cfg.MaxMessageBytes)}
}

// recipient is an accepted RCPT TO.
type recipient struct {
	addr  string // as given, for messages
	key   string // the integration key id, canonical
	dedup string
}

// parseRecipient checks an address is <uuid>[+dedup]@<accepted domain>.
// Whether the key exists is only learnt when the alert is raised, in the
// same transaction, so a key deleted meanwhile is refused too.
func (s *Server) parseRecipient(addr string) (recipient, error) {
	at := strings.LastIndexByte(addr, '@')
	if at <= 0 {
		return recipient{}, errBadAddress
	}
	local, dom := addr[:at], strings.TrimSuffix(strings.ToLower(addr[at+1:]), ".")
	if !s.domains[dom] {
		return recipient{}, errRelayDenied
	}
	key, dedup, _ := strings.Cut(local, "+")
	id, err := uuid.Parse(key)
	if err != nil {
		return recipient{}, errUnknownKey
	}
	return recipient{addr: addr, key: id.String(), dedup: strings.TrimSpace(dedup)}, nil
}

func (s *Server) newSession(c *smtp.Conn) (smtp.Session, error) {
	if s.isClosing() {
		return nil, errShuttingDown
	}
	return &session{s: s, c: c, conn: connOf(c)}, nil
}

// session is one SMTP connection's state (since its last EHLO or STARTTLS).
type session struct {
	s     *Server
	c     *smtp.Conn
	conn  *trackedConn
	from  string
	rcpts []recipient
}

func (ss *session) Reset() {
	ss.from, ss.rcpts = "", nil
	ss.s.setBusy(ss.conn, false)
}

func (ss *session) Logout() error {
	ss.Reset()
	return nil
}

func (ss *session) Mail(from string, _ *smtp.MailOptions) error {
	if ss.s.isClosing() {
		return errShuttingDown
	}
	ss.s.setBusy(ss.conn, true)
	ss.from = from
	return nil
}

func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	r, err := ss.s.parseRecipient(to)
	if err != nil {
		return err
	}
	for _, have := range ss.rcpts {
		if have.key == r.key && have.dedup == r.dedup {
			return nil // the same alert address twice is one recipient
		}
	}
	if len(ss.rcpts) >= ss.s.cfg.MaxRecipients {
		return errTooManyRcpt
	}
	ss.rcpts = append(ss.rcpts, r)
	return nil
}

// Data reads the message and raises one alert per recipient. The whole
// message is read before any alert is raised, so one that turns out too
// big raises nothing.
func (ss *session) Data(r io.Reader) error {
	rec := &recordingReader{r: r, conn: ss.c, timeout: ss.s.cfg.ReadTimeout}
	m, perr := readEmail(rec)
	_, _ = io.Copy(io.Discard, rec)
	if rec.err != nil {
		switch {
		case errors.Is(rec.err, smtp.ErrDataTooLarge):
			return ss.s.errTooBig()
		case errors.Is(rec.err, smtp.ErrTooLongLine):
			return errLongLine
		}
		// The connection failed mid-message; the sender will retry it.
		return errTemporary
	}
	if perr != nil {
		ss.s.log.Warn("email with an unparseable header; raising the alert anyway", "err", perr)
	}
	from := m.From
	if from == "" {
		from = ss.from
	}
	if from == "" {
		from = "(unknown sender)"
	}
	details := "From: " + from
	if m.Body != "" {
		details += "\n\n" + m.Body
	}
	in := commands.Ingest{
		Type:    service.KeyEmail,
		Action:  commands.IngestTrigger,
		Summary: shorten(m.Subject, alert.MaxSummaryLength),
		Details: shorten(details, alert.MaxDetailsLength),
	}

	var temporary bool
	var refused []string // "address: reason"
	unknownKeys := 0
	for _, rc := range ss.rcpts {
		in.Token, in.Dedup = rc.key, rc.dedup
		err := ss.s.raise(in)
		switch {
		case err == nil:
		case isUnknownKey(err):
			ss.s.log.Info("email for an unknown integration key refused", "integration_key", rc.key)
			refused = append(refused, rc.addr+": unknown integration key")
			unknownKeys++
		case isPermanent(err):
			ss.s.log.Info("email refused", "integration_key", rc.key, "reason", err)
			refused = append(refused, rc.addr+": "+err.Error())
		default:
			ss.s.log.Error("could not raise alert from email", "integration_key", rc.key, "err", err)
			temporary = true
		}
	}
	switch {
	case temporary:
		// Retrying is safe: the recipients that succeeded dedup the retry
		// into their open alerts.
		return errTemporary
	case unknownKeys == len(ss.rcpts):
		return errUnknownKey
	case len(refused) > 0:
		msg := "Refused " + strings.Join(refused, "; ")
		if len(refused) < len(ss.rcpts) {
			// The sender learns from the bounce which address is wrong;
			// the others have their alerts.
			msg += " (the other recipients were accepted)"
		}
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: msg}
	}
	return nil
}

// raise hands one recipient's alert to the command handler, as that
// integration key.
func (s *Server) raise(in commands.Ingest) error {
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.IngestTimeout)
	defer cancel()
	ctx = events.WithMetadata(ctx, events.Metadata{Actor: "integration_key:" + in.Token, Source: "email"})
	ref, err := s.ingest(ctx, in)
	if err != nil {
		return err
	}
	s.log.Debug("alert from email", "integration_key", in.Token, "alert_id", ref.ID, "new", ref.IsNew)
	return nil
}

// isUnknownKey reports whether the ingest refused the key itself: unknown,
// deleted, or of another type than email.
func isUnknownKey(err error) bool {
	k := domain.KindOf(err)
	return k == domain.KindUnauthorized || k == domain.KindNotFound
}

// isPermanent reports whether resending the same message cannot succeed
// because it breaks a rule. Everything else (the database, a limit such as
// too many unacknowledged alerts) may pass later, so the sender is asked
// to retry.
func isPermanent(err error) bool {
	k := domain.KindOf(err)
	return k == domain.KindInvalid || k == domain.KindForbidden
}

// shorten returns s cut to at most n characters, the last being "…" when
// it was cut: an email's sender cannot be asked to write a shorter one.
func shorten(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	count := 0
	for i := range s {
		if count == n-1 {
			return s[:i] + "…"
		}
		count++
	}
	return s
}

// recordingReader passes a message through, remembering the first read
// error (the parser may swallow it), and keeps extending the connection's
// read deadline, which the SMTP library sets once per command: a large
// message on a slow link must not time out while data is still flowing.
type recordingReader struct {
	r       io.Reader
	conn    *smtp.Conn
	timeout time.Duration
	err     error
}

func (r *recordingReader) Read(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	_ = r.conn.Conn().SetReadDeadline(time.Now().Add(r.timeout))
	n, err := r.r.Read(p)
	if err != nil && !errors.Is(err, io.EOF) {
		r.err = err
	}
	return n, err
}

// errorLog routes the SMTP library's own messages to the logger. Client
// trouble (failed handshakes, dropped connections) is routine on a port
// open to the internet, so it is logged at debug level.
type errorLog struct{ log *slog.Logger }

func (e errorLog) Printf(format string, v ...any) { e.print(fmt.Sprintf(format, v...)) }
func (e errorLog) Println(v ...any)               { e.print(strings.TrimSuffix(fmt.Sprintln(v...), "\n")) }

func (e errorLog) print(msg string) {
	if strings.HasPrefix(msg, "error handling ") {
		e.log.Debug("SMTP connection failed", "detail", msg)
		return
	}
	e.log.Warn("SMTP server", "detail", msg)
}
