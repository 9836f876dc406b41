// Package email delivers notifications to email contact methods
// (destination type builtin-smtp-email, argument email_address) through the
// SMTP relay of the admin config.
//
// Transport security:
//   - Port 465 is implicit TLS (SMTPS), unless SMTP.DisableTLS is set.
//   - Any other port starts in clear and upgrades with STARTTLS whenever
//     the relay offers it, SMTP.DisableTLS or not: DisableTLS only allows
//     going on without TLS, it never turns an offered upgrade down.
//   - Without TLS a message is still sent (as relays on port 25 commonly
//     do), but credentials are not: with SMTP.Username set, a relay that
//     offers no STARTTLS gets nothing unless SMTP.DisableTLS is set.
//
// Outcomes:
//   - 250 to the end of DATA: delivered (accepted by the relay).
//   - a 5xx reply at any step: StateFailed with the reply.
//   - a 4xx reply, or a connection or TLS failure before the end of the
//     message was written: a temporary error (the relay cannot have taken
//     a message whose end it never got).
//   - a failure after the end of the message was written and before the
//     relay's reply: a plain error, since the relay may have taken it.
//   - SMTP.Enable off, a missing or invalid From, Address or recipient,
//     credentials that cannot be sent safely: StateFailed.
package email

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"net/url"
	"strings"
	"time"

	"github.com/oncallhq/goalert/domain/notification"
)

// DefaultTimeout bounds one send when Config.Timeout is zero.
const DefaultTimeout = 30 * time.Second

// Config is what a send needs from the admin config and the command line.
type Config struct {
	// Enable is SMTP.Enable.
	Enable bool
	// From is SMTP.From, the sender address ("GoAlert <goalert@example.com>"
	// or a bare address).
	From string
	// Address is SMTP.Address: host or host:port; the port defaults to 25,
	// and 465 means implicit TLS.
	Address string
	// Username and Password are SMTP.Username and SMTP.Password; no
	// Username means no AUTH.
	Username, Password string
	// DisableTLS is SMTP.DisableTLS (see the package comment).
	DisableTLS bool
	// PublicURL is --public-url; links in messages are made from it when a
	// message carries none.
	PublicURL string
	// AppName is General.ApplicationName; a message's own AppName wins,
	// and "GoAlert" stands in when both are empty.
	AppName string
	// TLSConfig, when set, is used (with ServerName filled in) for TLS with
	// the relay, e.g. to trust a private CA.
	TLSConfig *tls.Config
	// Timeout bounds one send, from connecting to the relay's reply;
	// 0 means DefaultTimeout.
	Timeout time.Duration
}

// Sender sends email.
type Sender struct {
	config func() Config
	now    func() time.Time
}

var _ notification.Sender = (*Sender)(nil)

// New returns a sender that reads its Config through config on every send,
// so admin changes apply to the next message.
func New(config func() Config) *Sender { return &Sender{config: config, now: time.Now} }

// Send renders m and hands it to the relay. See the package comment for
// outcomes. A delivered status has the message's Message-ID as ProviderID
// and the relay's reply as Detail.
func (s *Sender) Send(ctx context.Context, m notification.Message) (notification.Status, error) {
	cfg := s.config()
	if !cfg.Enable {
		return failed(notification.ErrDisabled.Error()), nil
	}
	if m.Dest.Type != notification.DestEmail {
		return failed(fmt.Sprintf("unsupported destination type %q", m.Dest.Type)), nil
	}
	from, err := mail.ParseAddress(cfg.From)
	if err != nil {
		return failed(fmt.Sprintf("SMTP.From %q is not an email address", cfg.From)), nil
	}
	to, err := mail.ParseAddress(m.Dest.Arg(notification.ArgEmailAddress))
	if err != nil {
		return failed(fmt.Sprintf("%q is not an email address", m.Dest.Arg(notification.ArgEmailAddress))), nil
	}
	host, port, err := splitAddress(cfg.Address)
	if err != nil {
		return failed(err.Error()), nil
	}
	if from.Name == "" {
		from.Name = appName(cfg, m)
	}
	if to.Name == "" {
		to.Name = m.UserName
	}
	msg, err := render(cfg, m, from, to, s.now())
	if err != nil {
		return failed(err.Error()), nil
	}

	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	reply, err := newTransfer(cfg, host, port).send(ctx, from.Address, to.Address, msg.Bytes)
	if err != nil {
		return outcome(err)
	}
	return notification.Status{State: notification.StateDelivered, ProviderID: msg.ID, Detail: reply}, nil
}

func failed(detail string) notification.Status {
	return notification.Status{State: notification.StateFailed, Detail: detail}
}

// splitAddress is SMTP.Address as host and port.
func splitAddress(a string) (host, port string, err error) {
	a = strings.TrimSpace(a)
	if a == "" {
		return "", "", errors.New("SMTP.Address is not set")
	}
	host, port, err = net.SplitHostPort(a)
	if err != nil {
		host, port = strings.TrimSuffix(strings.TrimPrefix(a, "["), "]"), "25"
	}
	if host == "" || port == "" {
		return "", "", fmt.Errorf("SMTP.Address %q is not host or host:port", a)
	}
	return host, port, nil
}

// localName is the name to greet the relay with: the public URL's host,
// or localhost.
func localName(publicURL string) string {
	if u, err := url.Parse(publicURL); err == nil && u.Hostname() != "" {
		return u.Hostname()
	}
	return "localhost"
}

// Phases of a transfer, to classify failures.
type phase int

const (
	beforeEnd phase = iota // nothing the relay could deliver was sent yet
	afterEnd               // the end of the message was written
)

// sendError is a failure of a transfer: an SMTP reply, a refusal decided
// here, or a connection failure.
type sendError struct {
	phase phase
	// refused is a reason decided here (no safe way to authenticate);
	// it is permanent.
	refused string
	err     error
}

func (e *sendError) Error() string {
	if e.refused != "" {
		return e.refused
	}
	return e.err.Error()
}
func (e *sendError) Unwrap() error { return e.err }

// outcome classifies a failed transfer.
func outcome(err error) (notification.Status, error) {
	var se *sendError
	if !errors.As(err, &se) {
		return notification.Status{}, err
	}
	if se.refused != "" {
		return failed(se.refused), nil
	}
	var reply *textproto.Error
	if errors.As(se.err, &reply) {
		text := fmt.Sprintf("SMTP %d %s", reply.Code, strings.Join(strings.Fields(reply.Msg), " "))
		switch {
		case reply.Code >= 500:
			return failed(text), nil
		case reply.Code >= 400:
			return notification.Status{}, notification.Temporary(errors.New(text))
		}
	}
	if se.phase == beforeEnd {
		return notification.Status{}, notification.Temporary(fmt.Errorf("SMTP: %w", se.err))
	}
	return notification.Status{}, fmt.Errorf("SMTP: no reply after the message was sent, the relay may have taken it: %w", se.err)
}

// transfer is one SMTP session with the relay.
type transfer struct {
	cfg         Config
	host, addr  string
	implicitTLS bool
	localName   string
}

func newTransfer(cfg Config, host, port string) transfer {
	return transfer{cfg: cfg, host: host, addr: net.JoinHostPort(host, port),
		implicitTLS: port == "465" && !cfg.DisableTLS, localName: localName(cfg.PublicURL)}
}

func (t transfer) tlsConfig() *tls.Config {
	c := &tls.Config{}
	if t.cfg.TLSConfig != nil {
		c = t.cfg.TLSConfig.Clone()
	}
	if c.ServerName == "" {
		c.ServerName = t.host
	}
	return c
}

// send delivers one message and returns the relay's reply to it.
func (t transfer) send(ctx context.Context, from, to string, msg []byte) (_ string, err error) {
	early := func(err error) error { return &sendError{phase: beforeEnd, err: err} }
	defer func() {
		// A connection cut by the context says only that it was closed.
		var se *sendError
		if errors.As(err, &se) && se.err != nil && ctx.Err() != nil && !errors.Is(se.err, ctx.Err()) {
			se.err = fmt.Errorf("%w: %w", ctx.Err(), se.err)
		}
	}()

	var conn net.Conn
	d := &net.Dialer{}
	if t.implicitTLS {
		conn, err = (&tls.Dialer{NetDialer: d, Config: t.tlsConfig()}).DialContext(ctx, "tcp", t.addr)
	} else {
		conn, err = d.DialContext(ctx, "tcp", t.addr)
	}
	if err != nil {
		return "", early(err)
	}
	defer conn.Close()
	// The relay gets until the context ends (Send gives it a deadline):
	// then the connection is cut, which fails whatever waits on it.
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	defer stop()

	c, err := smtp.NewClient(conn, t.host)
	if err != nil {
		return "", early(err)
	}
	if err := c.Hello(t.localName); err != nil {
		return "", early(err)
	}
	secure := t.implicitTLS
	if !secure {
		if ok, _ := c.Extension("STARTTLS"); ok {
			if err := c.StartTLS(t.tlsConfig()); err != nil {
				return "", early(err)
			}
			secure = true
		}
	}
	if t.cfg.Username != "" {
		if !secure && !t.cfg.DisableTLS {
			return "", &sendError{refused: "the SMTP relay offers no STARTTLS, and credentials are not sent without TLS " +
				"unless SMTP.DisableTLS is set"}
		}
		ok, mechs := c.Extension("AUTH")
		if !ok {
			return "", &sendError{refused: "SMTP.Username is set but the SMTP relay does not offer AUTH"}
		}
		auth := negotiate(mechs, t.cfg.Username, t.cfg.Password)
		if auth == nil {
			return "", &sendError{refused: fmt.Sprintf("the SMTP relay offers AUTH %s; PLAIN or LOGIN is needed", mechs)}
		}
		if err := c.Auth(auth); err != nil {
			return "", early(err)
		}
	}
	if err := c.Mail(from); err != nil {
		return "", early(err)
	}
	if err := c.Rcpt(to); err != nil {
		return "", early(err)
	}
	reply, err := data(c.Text, msg)
	if err != nil {
		return "", err
	}
	// The message is the relay's now; a failing QUIT changes nothing.
	_ = c.Quit()
	return reply, nil
}

// data runs the DATA command and returns the relay's reply to the message.
// It does what smtp.Client.Data does, keeping the reply, whose text often
// names the relay's queue id.
func data(text *textproto.Conn, msg []byte) (string, error) {
	id, err := text.Cmd("DATA")
	if err != nil {
		return "", &sendError{phase: beforeEnd, err: err}
	}
	text.StartResponse(id)
	_, _, err = text.ReadResponse(354)
	text.EndResponse(id)
	if err != nil {
		return "", &sendError{phase: beforeEnd, err: err}
	}
	w := text.DotWriter()
	if _, err := w.Write(msg); err != nil {
		// Only Close writes the terminating dot: the relay holds an
		// incomplete message, which it must discard.
		return "", &sendError{phase: beforeEnd, err: err}
	}
	if err := w.Close(); err != nil {
		return "", &sendError{phase: afterEnd, err: err}
	}
	code, reply, err := text.ReadResponse(250)
	if err != nil {
		return "", &sendError{phase: afterEnd, err: err}
	}
	return fmt.Sprintf("%d %s", code, reply), nil
}

// negotiate picks PLAIN, else LOGIN, from the mechanisms a relay offers.
func negotiate(offered, username, password string) smtp.Auth {
	var login bool
	for _, m := range strings.Fields(strings.ToUpper(offered)) {
		switch m {
		case "PLAIN":
			return plainAuth{username, password}
		case "LOGIN":
			login = true
		}
	}
	if login {
		return &loginAuth{username: username, password: password}
	}
	return nil
}

// plainAuth is SASL PLAIN (RFC 4616). Unlike smtp.PlainAuth it does not
// judge the connection itself: Send decides when credentials may go out.
type plainAuth struct{ username, password string }

func (a plainAuth) Start(*smtp.ServerInfo) (string, []byte, error) {
	return "PLAIN", []byte("\x00" + a.username + "\x00" + a.password), nil
}

func (a plainAuth) Next(_ []byte, more bool) ([]byte, error) {
	if more {
		return nil, errors.New("unexpected challenge to AUTH PLAIN")
	}
	return nil, nil
}

// loginAuth is the LOGIN mechanism: the username and the password, each
// in answer to the relay's prompt.
type loginAuth struct {
	username, password string
	step               int
}

func (a *loginAuth) Start(*smtp.ServerInfo) (string, []byte, error) { return "LOGIN", nil, nil }

func (a *loginAuth) Next(challenge []byte, more bool) ([]byte, error) {
	if !more {
		return nil, nil
	}
	prompt := strings.ToLower(string(challenge))
	a.step++
	switch {
	case strings.Contains(prompt, "user"):
		return []byte(a.username), nil
	case strings.Contains(prompt, "pass"):
		return []byte(a.password), nil
	case a.step == 1:
		return []byte(a.username), nil
	case a.step == 2:
		return []byte(a.password), nil
	}
	return nil, fmt.Errorf("unexpected AUTH LOGIN prompt %q", challenge)
}
