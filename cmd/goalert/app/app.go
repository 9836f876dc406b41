// Package app assembles the product from its packages: the one place where
// the database, the event store, commands, projections and the HTTP edge
// are wired together. The goalert binary and the test harness both use it.
package app

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/labstack/echo/v4"

	"github.com/oncallhq/goalert/adapters/auth"
	"github.com/oncallhq/goalert/adapters/auth/session"
	"github.com/oncallhq/goalert/adapters/graphqlapi"
	"github.com/oncallhq/goalert/adapters/graphqlapi/explore"
	"github.com/oncallhq/goalert/adapters/ingest/ingesthttp"
	"github.com/oncallhq/goalert/adapters/keyring"

	"github.com/oncallhq/goalert/adapters/httpapi"
	"github.com/oncallhq/goalert/adapters/postgres"
	"github.com/oncallhq/goalert/adapters/slack"
	"github.com/oncallhq/goalert/adapters/smtpingress"
	"github.com/oncallhq/goalert/commands"
	"github.com/oncallhq/goalert/commands/engine"
	"github.com/oncallhq/goalert/domain/clock"
	"github.com/oncallhq/goalert/events"
	"github.com/oncallhq/goalert/events/pgstore"
	"github.com/oncallhq/goalert/projections"
	"github.com/oncallhq/goalert/projections/alerts"
	"github.com/oncallhq/goalert/projections/oncall"
	"github.com/oncallhq/goalert/projections/paging"
	"github.com/oncallhq/goalert/projections/services"
	"github.com/oncallhq/goalert/projections/users"
)

// Config is what the app needs to run; the CLI fills it from flags.
type Config struct {
	DBURL     string
	DBMaxOpen int
	DBMaxIdle int
	// DBWait bounds how long start-up retries an unreachable database.
	DBWait time.Duration

	PublicURL string
	// DataEncryptionKey encrypts secrets at rest; DataEncryptionKeyOld
	// only decrypts (key rotation).
	DataEncryptionKey    string
	DataEncryptionKeyOld string

	Listen    string // plain HTTP; empty disables
	ListenTLS string // HTTPS; requires TLS
	TLS       *tls.Config
	// StatusAddr, when set, accepts TCP connections and holds them open
	// until the server has shut down, for supervisors that watch a port.
	StatusAddr string
	// ListenPrometheus, when set, serves /metrics there.
	ListenPrometheus string

	// EmailIntegrationDomain is the domain of email integration keys'
	// addresses (IntegrationKey.href).
	EmailIntegrationDomain string
	// SMTPListen (plain, offering STARTTLS when SMTP.TLS is set) and
	// SMTPListenTLS (implicit TLS) receive email that raises alerts; empty
	// disables. SMTP configures that server; it needs SMTP.Domains.
	SMTPListen, SMTPListenTLS string
	SMTP                      smtpingress.Config

	MaxRequestBodyBytes   int64
	MaxRequestHeaderBytes int64
	LogRequests           bool
	EnableSecureHeaders   bool

	// APIOnly serves requests but runs no engine: no projections, no
	// timers, no messages.
	APIOnly         bool
	EngineCycleTime time.Duration
	LogEngineCycles bool
	RegionName      string
	// StubNotifiers replaces every notification sender with one that
	// succeeds without sending.
	StubNotifiers bool
	// TwilioBaseURL and SlackBaseURL point the providers' API clients
	// elsewhere (tests, proxies); empty means the real services.
	TwilioBaseURL, SlackBaseURL string
	// SMTPRelayTLS, when set, is the TLS configuration for the outgoing
	// SMTP relay (tests trust their relay's certificate with it).
	SMTPRelayTLS *tls.Config

	Clock  clock.Clock
	Logger *slog.Logger
}

// App is a running instance.
type App struct {
	cfg      Config
	log      *slog.Logger
	Pool     *pgxpool.Pool
	Store    *pgstore.Store
	Commands *commands.Handler
	Runner   *projections.Runner
	Users    users.Reader
	Services services.Reader
	Alerts   alerts.Reader
	HTTP     *httpapi.Server

	// settings is the admin config as this instance sees it.
	settings *adminConfig

	listeners []net.Listener
	status    net.Listener
	promL     net.Listener
	smtp      smtpIngress
	metrics   *metrics
	engine    engineState
	// pager is the paging engine; nil with --api-only.
	pager        *engine.Engine
	slackHandler *slack.Handler
}

// NewStore returns the event store with the product's event registry.
func NewStore() *pgstore.Store { return pgstore.New(events.NewRegistry()) }

// Projections returns every read model the server keeps, in the order its
// runner holds them; the admin CLI and the benchmarks rebuild the same set.
func Projections() []projections.Projection {
	return []projections.Projection{users.Projection{}, services.Projection{}, alerts.Projection{}, paging.Projection{}, oncall.Projection{}}
}

// New connects to the database, applies migrations and builds the app. It
// binds its listeners, so the addresses are known (Addr) before Run.
func New(ctx context.Context, cfg Config) (*App, error) {
	if cfg.Clock == nil {
		cfg.Clock = clock.System{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.EngineCycleTime <= 0 {
		cfg.EngineCycleTime = 5 * time.Second
	}
	a := &App{cfg: cfg, log: cfg.Logger, metrics: newMetrics()}
	pool, err := postgres.Connect(ctx, cfg.DBURL, postgres.Options{
		MaxConns: int32(cfg.DBMaxOpen), MinIdle: int32(min(cfg.DBMaxIdle, cfg.DBMaxOpen)), Wait: cfg.DBWait, Logger: cfg.Logger,
	})
	if err != nil {
		return nil, err
	}
	a.Pool = pool
	n, err := postgres.Migrate(ctx, pool)
	if err != nil {
		pool.Close()
		return nil, err
	}
	if n > 0 {
		a.log.Info("applied migrations", "count", n)
	}

	a.Store = NewStore()
	a.Runner = projections.NewRunner(pool, a.Store, a.log, Projections()...)
	a.Commands = commands.New(pool, a.Store, cfg.Clock, commands.OnCommit(func(cp events.Checkpoint) {
		a.metrics.writes.Inc()
		a.Runner.Notify(cp)
	}), commands.WithOnCall(func(ctx context.Context, kind, id string, t time.Time) ([]string, error) {
		return a.Commands.OnCallAt(ctx, kind, id, t)
	}), commands.WithReadModels(func(ctx context.Context, cp events.Checkpoint) error {
		return a.Runner.WaitFor(ctx, cp, "paging", "oncall")
	}), commands.GroupCommit(time.Millisecond, 64), commands.OnWork(func() {
		if a.pager != nil {
			a.pager.Wake()
		}
	}))
	a.Users = users.Reader{Pool: pool}
	a.Services = services.Reader{Pool: pool}
	a.Alerts = alerts.Reader{Pool: pool}
	if cfg.APIOnly {
		a.engine.disabled = true
	}
	a.HTTP = httpapi.New(httpapi.Config{
		MaxBodyBytes: cfg.MaxRequestBodyBytes, MaxHeaderBytes: cfg.MaxRequestHeaderBytes, LogRequests: cfg.LogRequests,
		SecureHeaders: cfg.EnableSecureHeaders, Logger: a.log,
	}, &a.engine)
	if err := a.routes(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	if !cfg.APIOnly {
		a.pager = a.newPager()
	}

	if err := a.bind(); err != nil {
		a.close()
		return nil, err
	}
	if err := a.bindSMTP(); err != nil {
		a.close()
		return nil, err
	}
	return a, nil
}

// routes builds the request-serving adapters and registers their routes.
func (a *App) routes(ctx context.Context) error {
	kr, err := keyring.New(a.cfg.DataEncryptionKey, a.cfg.DataEncryptionKeyOld)
	if err != nil {
		return err
	}
	keys, err := a.signingKeys(ctx, kr, a.Commands)
	if err != nil {
		return err
	}
	if a.settings, err = newAdminConfig(ctx, a, kr); err != nil {
		return err
	}
	issuer := a.cfg.PublicURL
	if issuer == "" {
		issuer = "goalert"
	}
	signer, err := session.NewSigner(issuer, a.cfg.Clock.Now, keys...)
	if err != nil {
		return err
	}
	au, err := auth.New(a.Commands, signer, a.cfg.PublicURL, a.log)
	if err != nil {
		return err
	}
	gql, err := graphqlapi.New(graphqlapi.Deps{
		Commands: a.Commands, WaitFor: a.waitForReadModels,
		Users: a.Users, Services: a.Services, Alerts: a.Alerts, Config: a.settings,
		Paging:    paging.Reader{Pool: a.Pool},
		OnCall:    oncall.Reader{Pool: a.Pool},
		Log:       graphqlapi.EventLog{Store: a.Store, DB: a.Pool},
		PublicURL: strings.TrimSuffix(a.cfg.PublicURL, "/"), Logger: a.log,
		EmailDomain: a.cfg.EmailIntegrationDomain,
	})
	if err != nil {
		return err
	}
	e := a.HTTP.Echo()
	au.Register(e)
	ingesthttp.New(a.Commands).Register(e)
	a.inboundRoutes(e)
	a.configRoutes(e, au.Middleware)
	a.calendarRoutes(e)
	for _, path := range []string{"/api/graphql", "/v1/graphql2"} {
		e.POST(path, echo.WrapHandler(gql), au.Middleware)
	}
	// The explorer page holds no data; the API it calls checks the session.
	e.Match([]string{http.MethodGet, http.MethodHead}, explore.PagePath+"*", echo.WrapHandler(explore.Handler()))
	return nil
}

// waitForReadModels bounds read-your-writes waiting: a slow projection
// delays a mutation's answer by at most a few seconds, never forever.
func (a *App) waitForReadModels(ctx context.Context, cp events.Checkpoint) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	return a.Runner.WaitFor(ctx, cp)
}

func (a *App) bind() error {
	if a.cfg.Listen != "" {
		l, err := net.Listen("tcp", a.cfg.Listen)
		if err != nil {
			return fmt.Errorf("listen on %s: %w", a.cfg.Listen, err)
		}
		a.listeners = append(a.listeners, l)
	}
	if a.cfg.ListenTLS != "" {
		if a.cfg.TLS == nil {
			return errors.New("--listen-tls needs a certificate and key")
		}
		l, err := net.Listen("tcp", a.cfg.ListenTLS)
		if err != nil {
			return fmt.Errorf("listen on %s: %w", a.cfg.ListenTLS, err)
		}
		a.listeners = append(a.listeners, tls.NewListener(l, a.cfg.TLS))
	}
	if len(a.listeners) == 0 {
		return errors.New("nothing to listen on: set --listen or --listen-tls")
	}
	if a.cfg.StatusAddr != "" {
		l, err := net.Listen("tcp", a.cfg.StatusAddr)
		if err != nil {
			return fmt.Errorf("listen on status address %s: %w", a.cfg.StatusAddr, err)
		}
		a.status = l
	}
	if a.cfg.ListenPrometheus != "" {
		l, err := net.Listen("tcp", a.cfg.ListenPrometheus)
		if err != nil {
			return fmt.Errorf("listen for Prometheus on %s: %w", a.cfg.ListenPrometheus, err)
		}
		a.promL = l
	}
	return nil
}

// MetricsAddr returns the address of the Prometheus listener, if any.
func (a *App) MetricsAddr() string {
	if a.promL == nil {
		return ""
	}
	return a.promL.Addr().String()
}

// Addr returns the address of the first HTTP listener.
func (a *App) Addr() string { return a.listeners[0].Addr().String() }

// URL returns the base URL of the first HTTP listener.
func (a *App) URL() string {
	scheme := "http"
	if a.cfg.Listen == "" {
		scheme = "https"
	}
	return scheme + "://" + a.Addr()
}

// Run serves until ctx ends, then shuts down gracefully: /health starts
// failing, in-flight requests finish (up to 15 s), the engine stops and the
// database pool closes. It logs "Listening." once requests are accepted.
func (a *App) Run(ctx context.Context) error {
	defer a.close()
	srv := &http.Server{
		Handler:           a.HTTP,
		MaxHeaderBytes:    int(a.cfg.MaxRequestHeaderBytes),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(a.log.Handler(), slog.LevelDebug),
	}
	if a.cfg.MaxRequestHeaderBytes <= 0 {
		srv.MaxHeaderBytes = 0 // Go's default (1 MB): the flag's 0 means no limit of ours
	}

	engineCtx, stopEngine := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	// Group commit serves requests, so it stops only after the HTTP server
	// has drained them.
	wg.Go(func() { a.Commands.RunGroupCommit(engineCtx, 2) })
	wg.Go(func() { a.settings.run(engineCtx) })
	if a.cfg.APIOnly {
		wg.Go(func() { a.Runner.RunNotifier(engineCtx) })
	} else {
		wg.Go(func() { a.Runner.Run(engineCtx) })
		wg.Go(func() { a.runEngine(engineCtx) })
		wg.Go(func() { _ = a.pager.Run(engineCtx) })
	}
	if a.status != nil {
		wg.Go(func() { holdStatus(engineCtx, a.status) })
	}
	if a.promL != nil {
		wg.Go(func() {
			if err := serveMetrics(engineCtx, a.promL, a.metrics.reg); err != nil {
				a.log.Error("metrics listener failed", "err", err)
			}
		})
	}

	errc := make(chan error, len(a.listeners)+2)
	for _, l := range a.listeners {
		go func() { errc <- srv.Serve(l) }()
	}
	a.serveSMTP(errc)
	a.log.Info("Listening.", "url", a.URL(), "api_only", a.cfg.APIOnly)

	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
		err = fmt.Errorf("serve: %w", err)
	}
	a.HTTP.Stopping()
	sctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	smtpDone := a.shutdownSMTP(sctx)
	if serr := srv.Shutdown(sctx); serr != nil && err == nil {
		err = fmt.Errorf("shut down HTTP server: %w", serr)
	}
	// Email in flight is still being ingested; the engine (group commit)
	// stops after it.
	if serr := <-smtpDone; serr != nil && err == nil {
		err = serr
	}
	a.slackHandler.Wait()
	stopEngine()
	wg.Wait()
	a.log.Info("Shut down.")
	return err
}

func (a *App) close() {
	for _, l := range a.listeners {
		_ = l.Close()
	}
	if a.status != nil {
		_ = a.status.Close()
	}
	if a.promL != nil {
		_ = a.promL.Close()
	}
	a.closeSMTP()
	a.Pool.Close()
}

// holdStatus accepts connections and keeps them open until ctx ends.
func holdStatus(ctx context.Context, l net.Listener) {
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		<-ctx.Done()
		_ = l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			_ = c.Close()
		}
	}()
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		mu.Lock()
		conns = append(conns, c)
		mu.Unlock()
	}
}

// engineState tracks the engine for /health/engine.
type engineState struct {
	disabled bool
	cycles   atomic.Int64
}

func (e *engineState) EngineReady() error {
	if e.disabled {
		return errors.New("engine disabled (--api-only)")
	}
	if e.cycles.Load() == 0 {
		return errors.New("engine starting: no cycle completed yet")
	}
	return nil
}

// runEngine runs the engine's periodic cycle. The work itself is driven by
// events; the cycle checks that every projection has caught up with the
// log, so /health/engine means "the read models are current".
func (a *App) runEngine(ctx context.Context) {
	t := time.NewTicker(a.cfg.EngineCycleTime)
	defer t.Stop()
	for {
		if err := a.cycle(ctx); err != nil && ctx.Err() == nil {
			a.log.Warn("engine cycle did not complete", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (a *App) cycle(ctx context.Context) error {
	start := time.Now()
	if a.cfg.LogEngineCycles {
		a.log.Info("engine cycle start")
	}
	head, err := a.Store.Head(ctx, a.Pool)
	if err != nil {
		return err
	}
	wctx, cancel := context.WithTimeout(ctx, max(a.cfg.EngineCycleTime, time.Second))
	defer cancel()
	if err := a.Runner.WaitFor(wctx, head); err != nil {
		return fmt.Errorf("projections behind the log: %w", err)
	}
	a.engine.cycles.Add(1)
	a.metrics.cycles.Inc()
	a.metrics.cycleSeconds.Observe(time.Since(start).Seconds())
	if a.cfg.LogEngineCycles {
		a.log.Info("engine cycle end", "elapsed", time.Since(start))
	}
	return nil
}
