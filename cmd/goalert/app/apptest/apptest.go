// Package apptest starts the real server in-process for black-box tests: a
// fresh migrated database, a loopback listener on a free port, and a clock
// the test drives.
package apptest

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/oncallhq/goalert/adapters/postgres/pgtest"
	"github.com/oncallhq/goalert/adapters/smtpingress"
	"github.com/oncallhq/goalert/cmd/goalert/app"
	"github.com/oncallhq/goalert/domain/clock"
)

// Start is the instant the harness clock reads when a test begins.
var Start = time.Date(2026, 3, 7, 9, 0, 0, 0, time.UTC)

// Harness is a running server.
type Harness struct {
	*app.App
	Clock *clock.Manual
	DBURL string
	URL   string

	stop func()
}

// Option adjusts the server's configuration before it starts.
type Option func(*app.Config)

// APIOnly starts the server without its engine.
func APIOnly() Option { return func(c *app.Config) { c.APIOnly = true } }

// PublicURL listens on a fixed free port and sets --public-url to it,
// for callbacks signed over the public URL (Twilio) and links in messages.
func PublicURL() Option {
	return func(c *app.Config) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			panic(err)
		}
		addr := l.Addr().String()
		_ = l.Close()
		c.Listen, c.PublicURL = addr, "http://"+addr
	}
}

// DBURL runs the server on an existing database instead of a fresh one,
// for tests of several instances sharing one database.
func DBURL(url string) Option { return func(c *app.Config) { c.DBURL = url } }

// SMTP starts the built-in SMTP server on a loopback port (App.SMTPAddr),
// accepting mail for domain and the additional domains. Further settings
// (TLS, limits) are plain options on Config.SMTP.
func SMTP(domain string, additional ...string) Option {
	return func(c *app.Config) {
		c.EmailIntegrationDomain = domain
		c.SMTPListen = "127.0.0.1:0"
		c.SMTP.Domains = smtpingress.ParseDomains(domain, strings.Join(additional, ","))
	}
}

// New starts a server for t and stops it when t ends.
func New(t testing.TB, opts ...Option) *Harness {
	t.Helper()
	cfg := app.Config{
		Listen:                "127.0.0.1:0",
		MaxRequestBodyBytes:   262144,
		MaxRequestHeaderBytes: 4096,
		EngineCycleTime:       50 * time.Millisecond,
		DBMaxOpen:             15,
		Clock:                 clock.NewManual(Start),
		Logger:                slog.New(slog.NewTextHandler(logOutput(), &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.DBURL == "" {
		cfg.DBURL = pgtest.NewURL(t)
	}
	ctx, cancel := context.WithCancel(context.Background())
	a, err := app.New(ctx, cfg)
	if err != nil {
		cancel()
		t.Fatalf("apptest: start server: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	h := &Harness{App: a, Clock: cfg.Clock.(*clock.Manual), DBURL: cfg.DBURL, URL: a.URL()}
	h.stop = func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("apptest: server stopped with %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Errorf("apptest: server did not stop within 30s")
		}
	}
	t.Cleanup(h.Stop)
	h.waitHealthy(t)
	return h
}

// Stop shuts the server down; it is safe to call more than once.
func (h *Harness) Stop() {
	if h.stop != nil {
		h.stop()
		h.stop = nil
	}
}

func (h *Harness) waitHealthy(t testing.TB) {
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get(h.URL + "/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("apptest: server not healthy after 10s: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func logOutput() io.Writer {
	if testing.Verbose() {
		return os.Stderr
	}
	return io.Discard
}
