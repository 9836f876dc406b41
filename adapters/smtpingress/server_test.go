package smtpingress

// Tests of the SMTP conversation over loopback, with the command handler
// replaced by a recorder; cmd/goalert/app/smtp_test.go runs the same
// against the real server and database.

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/smtp"
	"net/textproto"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oncallhq/goalert/commands"
	"github.com/oncallhq/goalert/domain"
	"github.com/oncallhq/goalert/events"
)

const (
	goodKey  = "0b6e8d58-3c0b-4a7f-9c11-6f1f8f5a2b10"
	otherKey = "5d1c3f0e-8a7b-4c2d-9e6f-1a2b3c4d5e6f"
	badKey   = "7f000000-0000-4000-8000-000000000000" // well-formed, but the recorder does not know it
	flakyKey = "9e9e9e9e-0000-4000-8000-000000000000" // the recorder fails it as a database would
)

type ingested struct {
	in   commands.Ingest
	meta events.Metadata
}

// recorder stands in for the command handler.
type recorder struct {
	mu   sync.Mutex
	got  []ingested
	gate chan struct{} // when set, each call waits for it
}

func (r *recorder) ingest(ctx context.Context, in commands.Ingest) (commands.AlertRef, error) {
	if r.gate != nil {
		<-r.gate
	}
	switch in.Token {
	case badKey:
		return commands.AlertRef{}, commands.ErrKeyRejected
	case flakyKey:
		return commands.AlertRef{}, errors.New("connection refused")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, ingested{in, events.MetadataFrom(ctx)})
	return commands.AlertRef{ID: int64(len(r.got)), IsNew: true}, nil
}

func (r *recorder) all() []ingested {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]ingested(nil), r.got...)
}

type testServer struct {
	*Server
	rec       *recorder
	addr      string
	tlsAddr   string
	clientTLS *tls.Config
}

func startServer(t *testing.T, cfg Config) *testServer {
	t.Helper()
	if cfg.Domains == nil {
		cfg.Domains = []string{"alerts.example.com", "Other.Example.org"}
	}
	serverTLS, clientTLS := selfSigned(t)
	if cfg.TLS == nil {
		cfg.TLS = serverTLS
	}
	rec := &recorder{}
	ts := &testServer{rec: rec, clientTLS: clientTLS}
	ts.Server = New(cfg, rec.ingest, slog.New(slog.DiscardHandler))
	l := listen(t)
	tl := listen(t)
	ts.addr, ts.tlsAddr = l.Addr().String(), tl.Addr().String()
	errc := make(chan error, 2)
	go func() { errc <- ts.Serve(l) }()
	go func() { errc <- ts.ServeTLS(tl) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := ts.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		for range 2 {
			if err := <-errc; err != nil {
				t.Errorf("Serve returned %v after Shutdown, want nil", err)
			}
		}
	})
	return ts
}

func listen(t *testing.T) net.Listener {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// selfSigned returns a server TLS configuration with a fresh self-signed
// certificate for 127.0.0.1, and a client configuration trusting it.
func selfSigned(t testing.TB) (server, client *tls.Config) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "mx.test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:     []string{"mx.test"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}, MinVersion: tls.VersionTLS12},
		&tls.Config{RootCAs: pool, ServerName: "mx.test", MinVersion: tls.VersionTLS12}
}

// dial opens an SMTP session and says EHLO.
func dial(t *testing.T, addr string) *smtp.Client {
	t.Helper()
	c, err := smtp.Dial(addr)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Hello("sender.test"); err != nil {
		t.Fatalf("EHLO: %v", err)
	}
	return c
}

// send runs MAIL, RCPT for each recipient and DATA, and returns the first
// refusal; an accepted message returns nil.
func send(c *smtp.Client, from string, to []string, msg string) error {
	if err := c.Mail(from); err != nil {
		return err
	}
	for _, rcpt := range to {
		if err := c.Rcpt(rcpt); err != nil {
			return err
		}
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := io.WriteString(w, msg); err != nil {
		return err
	}
	return w.Close()
}

// wantCode checks err is an SMTP reply with code (and a message containing
// text, when given).
func wantCode(t *testing.T, what string, err error, code int, text string) {
	t.Helper()
	var te *textproto.Error
	if !errors.As(err, &te) || te.Code != code || !strings.Contains(strings.ToLower(te.Msg), strings.ToLower(text)) {
		t.Errorf("%s: got %v, want %d %q", what, err, code, text)
	}
}

const simpleMsg = "From: Cron <cron@host.example>\r\nSubject: backup failed\r\n\r\nexit status 2\r\n"

func TestServer_raisesOneAlertPerRecipient(t *testing.T) {
	ts := startServer(t, Config{MaxRecipients: 2})
	c := dial(t, ts.addr)
	to := []string{goodKey + "+disk-1@Alerts.Example.COM", strings.ToUpper(otherKey) + "@other.example.org"}
	if err := send(c, "bounces@host.example", to, simpleMsg); err != nil {
		t.Fatalf("send: %v", err)
	}
	got := ts.rec.all()
	if len(got) != 2 {
		t.Fatalf("ingested %d alerts, want 2: %+v", len(got), got)
	}
	want := []struct{ token, dedup string }{{goodKey, "disk-1"}, {otherKey, ""}}
	for i, g := range got {
		in := g.in
		if in.Token != want[i].token || in.Dedup != want[i].dedup || in.Type != "email" || in.Action != commands.IngestTrigger {
			t.Errorf("alert %d: got token %s dedup %q type %s action %s, want %s %q email trigger", i, in.Token, in.Dedup, in.Type, in.Action, want[i].token, want[i].dedup)
		}
		if in.Summary != "backup failed" || in.Details != "From: cron@host.example\n\nexit status 2" {
			t.Errorf("alert %d: got summary %q details %q", i, in.Summary, in.Details)
		}
		if g.meta.Actor != "integration_key:"+want[i].token || g.meta.Source != "email" {
			t.Errorf("alert %d: metadata %+v, want actor integration_key:%s and source email", i, g.meta, want[i].token)
		}
	}
}

func TestServer_refusals(t *testing.T) {
	ts := startServer(t, Config{})
	t.Run("other domain is not relayed", func(t *testing.T) {
		c := dial(t, ts.addr)
		if err := c.Mail("x@host.example"); err != nil {
			t.Fatal(err)
		}
		wantCode(t, "RCPT to gmail.com", c.Rcpt(goodKey+"@gmail.com"), 550, "relay")
		wantCode(t, "RCPT to a subdomain", c.Rcpt(goodKey+"@sub.alerts.example.com"), 550, "relay")
	})
	t.Run("key that is not a UUID", func(t *testing.T) {
		c := dial(t, ts.addr)
		if err := c.Mail("x@host.example"); err != nil {
			t.Fatal(err)
		}
		wantCode(t, "RCPT postmaster", c.Rcpt("postmaster@alerts.example.com"), 550, "unknown integration key")
		wantCode(t, "RCPT with an empty key", c.Rcpt("+dedup@alerts.example.com"), 550, "unknown integration key")
	})
	t.Run("too many recipients", func(t *testing.T) {
		c := dial(t, ts.addr)
		if err := c.Mail("x@host.example"); err != nil {
			t.Fatal(err)
		}
		if err := c.Rcpt(goodKey + "@alerts.example.com"); err != nil {
			t.Fatal(err)
		}
		// The same address again is the same recipient.
		if err := c.Rcpt(goodKey + "@ALERTS.example.com"); err != nil {
			t.Errorf("repeated recipient: %v, want accepted", err)
		}
		wantCode(t, "second recipient", c.Rcpt(otherKey+"@alerts.example.com"), 452, "too many recipients")
	})
	t.Run("unknown key at DATA", func(t *testing.T) {
		wantCode(t, "DATA", send(dial(t, ts.addr), "x@host.example", []string{badKey + "@alerts.example.com"}, simpleMsg), 550, "unknown integration key")
	})
	t.Run("temporary failure at DATA", func(t *testing.T) {
		wantCode(t, "DATA", send(dial(t, ts.addr), "x@host.example", []string{flakyKey + "@alerts.example.com"}, simpleMsg), 451, "try again later")
	})
	if got := ts.rec.all(); len(got) != 0 {
		t.Errorf("ingested %+v, want nothing", got)
	}
}

func TestServer_partialRefusal(t *testing.T) {
	ts := startServer(t, Config{MaxRecipients: 2})
	err := send(dial(t, ts.addr), "x@host.example", []string{goodKey + "@alerts.example.com", badKey + "@alerts.example.com"}, simpleMsg)
	wantCode(t, "DATA", err, 550, badKey+"@alerts.example.com: unknown integration key")
	if got := ts.rec.all(); len(got) != 1 || got[0].in.Token != goodKey {
		t.Errorf("ingested %+v, want the good key's alert only", got)
	}
}

func TestServer_tooBig(t *testing.T) {
	ts := startServer(t, Config{MaxMessageBytes: 64 << 10})
	c := dial(t, ts.addr)
	big := "Subject: big\r\n\r\n" + strings.Repeat(strings.Repeat("x", 76)+"\r\n", 1000)
	wantCode(t, "DATA", send(c, "x@host.example", []string{goodKey + "@alerts.example.com"}, big), 552, "too big")
	// The session goes on.
	if err := send(c, "x@host.example", []string{goodKey + "@alerts.example.com"}, simpleMsg); err != nil {
		t.Errorf("next message: %v", err)
	}
	if got := ts.rec.all(); len(got) != 1 || got[0].in.Summary != "backup failed" {
		t.Errorf("ingested %+v, want only the second message", got)
	}
}

func TestServer_truncates(t *testing.T) {
	ts := startServer(t, Config{})
	msg := "Subject: " + strings.Repeat("s", 2000) + "\r\n\r\n" + strings.Repeat("d", 10000) + "\r\n"
	if err := send(dial(t, ts.addr), "x@host.example", []string{goodKey + "@alerts.example.com"}, msg); err != nil {
		t.Fatal(err)
	}
	got := ts.rec.all()
	if len(got) != 1 {
		t.Fatalf("ingested %d alerts, want 1", len(got))
	}
	s, d := []rune(got[0].in.Summary), []rune(got[0].in.Details)
	if len(s) != 1024 || s[1023] != '…' || len(d) != 6144 || d[6143] != '…' || !strings.HasPrefix(string(d), "From: x@host.example\n\nddd") {
		t.Errorf("summary %d chars ending %q, details %d chars ending %q; want 1024 and 6144, cut with …", len(s), s[len(s)-1], len(d), d[len(d)-1])
	}
}

func TestServer_TLS(t *testing.T) {
	ts := startServer(t, Config{})
	t.Run("STARTTLS", func(t *testing.T) {
		c := dial(t, ts.addr)
		if ok, _ := c.Extension("STARTTLS"); !ok {
			t.Fatal("STARTTLS not offered")
		}
		if err := c.StartTLS(ts.clientTLS); err != nil {
			t.Fatalf("STARTTLS: %v", err)
		}
		if _, ok := c.TLSConnectionState(); !ok {
			t.Fatal("no TLS after STARTTLS")
		}
		if err := send(c, "x@host.example", []string{goodKey + "@alerts.example.com"}, simpleMsg); err != nil {
			t.Fatalf("send over STARTTLS: %v", err)
		}
	})
	t.Run("implicit TLS", func(t *testing.T) {
		conn, err := tls.Dial("tcp", ts.tlsAddr, ts.clientTLS)
		if err != nil {
			t.Fatalf("TLS dial: %v", err)
		}
		c, err := smtp.NewClient(conn, "mx.test")
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if ok, _ := c.Extension("STARTTLS"); ok {
			t.Error("STARTTLS offered on a TLS connection")
		}
		if err := send(c, "x@host.example", []string{otherKey + "@alerts.example.com"}, simpleMsg); err != nil {
			t.Fatalf("send over TLS: %v", err)
		}
	})
	if got := ts.rec.all(); len(got) != 2 {
		t.Errorf("ingested %d alerts, want 2", len(got))
	}
}

func TestServer_noTLS(t *testing.T) {
	s := New(Config{Domains: []string{"a.example"}}, (&recorder{}).ingest, slog.New(slog.DiscardHandler))
	if err := s.ServeTLS(listen(t)); err == nil {
		t.Error("ServeTLS without a TLS configuration: got nil, want an error")
	}
	l := listen(t)
	errc := make(chan error, 1)
	go func() { errc <- s.Serve(l) }()
	c := dial(t, l.Addr().String())
	if ok, _ := c.Extension("STARTTLS"); ok {
		t.Error("STARTTLS offered without a certificate")
	}
	c.Close()
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err != nil {
		t.Errorf("Serve: %v", err)
	}
}

// Shutdown lets a message in flight finish, closes idle connections and
// refuses new sessions.
func TestServer_gracefulShutdown(t *testing.T) {
	rec := &recorder{gate: make(chan struct{})}
	s := New(Config{Domains: []string{"alerts.example.com"}}, rec.ingest, slog.New(slog.DiscardHandler))
	l := listen(t)
	served := make(chan error, 1)
	go func() { served <- s.Serve(l) }()

	idle := dial(t, l.Addr().String())
	busy := dial(t, l.Addr().String())
	sent := make(chan error, 1)
	go func() { sent <- send(busy, "x@host.example", []string{goodKey + "@alerts.example.com"}, simpleMsg) }()
	// Wait until the message is being ingested.
	deadline := time.Now().Add(5 * time.Second)
	for {
		s.mu.Lock()
		n := 0
		for _, b := range s.conns {
			if b {
				n++
			}
		}
		s.mu.Unlock()
		if n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("message never in flight")
		}
		time.Sleep(5 * time.Millisecond)
	}

	shut := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		shut <- s.Shutdown(ctx)
	}()
	// The idle connection is closed.
	if err := idle.Noop(); err == nil {
		// The first command may race the close; the connection must be gone soon after.
		time.Sleep(200 * time.Millisecond)
		if err := idle.Noop(); err == nil {
			t.Error("idle connection still open during shutdown")
		}
	}
	select {
	case err := <-shut:
		t.Fatalf("Shutdown returned %v with a message in flight", err)
	case <-time.After(100 * time.Millisecond):
	}
	close(rec.gate)
	if err := <-sent; err != nil {
		t.Errorf("message in flight: %v, want accepted", err)
	}
	if err := <-shut; err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	if err := <-served; err != nil {
		t.Errorf("Serve: %v", err)
	}
	if len(rec.all()) != 1 {
		t.Errorf("ingested %d alerts, want 1", len(rec.all()))
	}
	if _, err := net.DialTimeout("tcp", l.Addr().String(), time.Second); err == nil {
		t.Error("listener still accepting after Shutdown")
	}
}

// A client that never quits does not hold up shutdown past its context.
func TestServer_shutdownDeadline(t *testing.T) {
	rec := &recorder{gate: make(chan struct{})}
	defer close(rec.gate)
	s := New(Config{Domains: []string{"alerts.example.com"}}, rec.ingest, slog.New(slog.DiscardHandler))
	l := listen(t)
	go func() { _ = s.Serve(l) }()
	c := dial(t, l.Addr().String())
	go func() { _ = send(c, "x@host.example", []string{goodKey + "@alerts.example.com"}, simpleMsg) }()
	time.Sleep(100 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := s.Shutdown(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Shutdown: got %v, want the context's deadline", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Shutdown took %s", d)
	}
}

func TestIsUnknownKey(t *testing.T) {
	if !isUnknownKey(commands.ErrKeyRejected) || domain.KindOf(commands.ErrKeyRejected) != domain.KindUnauthorized {
		t.Error("ErrKeyRejected is not an unknown key")
	}
	if isUnknownKey(errors.New("db down")) || isPermanent(errors.New("db down")) {
		t.Error("a plain error is not permanent")
	}
}
