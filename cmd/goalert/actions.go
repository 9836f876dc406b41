package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/oncallhq/goalert/adapters/postgres"
	"github.com/oncallhq/goalert/adapters/smtpingress"
	"github.com/oncallhq/goalert/cmd/goalert/app"
	"github.com/oncallhq/goalert/commands"
	"github.com/oncallhq/goalert/domain/clock"
	"github.com/oncallhq/goalert/domain/user"
	"github.com/oncallhq/goalert/events"
	"github.com/oncallhq/goalert/projections"
)

// The CLI layer (main.go, flags.go, dev.go) parses flags into Config and calls
// these actions.

// runServe applies migrations and serves until ctx is cancelled.
func runServe(ctx context.Context, cfg Config, s Streams) error {
	log := newLogger(cfg, s.Err)
	tlsCfg, err := tlsConfig(cfg)
	if err != nil {
		return err
	}
	smtpTLS, err := smtpTLSConfig(cfg)
	if err != nil {
		return err
	}
	var clk clock.Clock = clock.System{}
	if cfg.ClockSpeed > 1 {
		log.Warn("engine clock runs faster than real time (development only)", "speed", cfg.ClockSpeed)
		clk = clock.NewScaled(cfg.ClockSpeed)
	}
	a, err := app.New(ctx, app.Config{
		DBURL: cfg.DBURL, DBMaxOpen: cfg.DBMaxOpen, DBMaxIdle: cfg.DBMaxIdle, DBWait: 30 * time.Second,
		PublicURL: cfg.PublicURL, DataEncryptionKey: cfg.DataEncryptionKey, DataEncryptionKeyOld: cfg.DataEncryptionKeyOld,
		Listen: cfg.Listen, ListenTLS: cfg.ListenTLS, TLS: tlsCfg,
		ListenPrometheus: cfg.ListenPrometheus, StatusAddr: cfg.StatusAddr,
		EmailIntegrationDomain: cfg.EmailIntegrationDomain,
		SMTPListen:             cfg.SMTPListen, SMTPListenTLS: cfg.SMTPListenTLS,
		SMTP: smtpingress.Config{
			Domains:       smtpingress.ParseDomains(cfg.EmailIntegrationDomain, cfg.SMTPAdditionalDomains),
			MaxRecipients: cfg.SMTPMaxRecipients, TLS: smtpTLS,
		},
		MaxRequestBodyBytes: cfg.MaxRequestBodyBytes, MaxRequestHeaderBytes: cfg.MaxRequestHeaderBytes,
		LogRequests: cfg.LogRequests, EnableSecureHeaders: cfg.EnableSecureHeaders,
		APIOnly: cfg.APIOnly, EngineCycleTime: cfg.EngineCycleTime, LogEngineCycles: cfg.LogEngineCycles,
		RegionName: cfg.RegionName, StubNotifiers: cfg.StubNotifiers,
		TwilioBaseURL: cfg.TwilioBaseURL, SlackBaseURL: cfg.SlackBaseURL,
		Clock: clk, Logger: log,
	})
	if err != nil {
		return err
	}
	return a.Run(ctx)
}

// runMigrate applies pending migrations and returns.
func runMigrate(ctx context.Context, cfg Config, s Streams) error {
	pool, err := postgres.Connect(ctx, cfg.DBURL, postgres.Options{MaxConns: 2})
	if err != nil {
		return err
	}
	defer pool.Close()
	n, err := postgres.Migrate(ctx, pool)
	if err != nil {
		return err
	}
	if n == 0 {
		fmt.Fprintln(s.Out, "Database schema is up to date.")
	} else {
		fmt.Fprintf(s.Out, "Applied %d migration(s).\n", n)
	}
	return nil
}

// runAddUser creates a user with basic-auth credentials, or adds
// credentials to an existing user when opts.UserID is set. It is safe while
// the server runs.
func runAddUser(ctx context.Context, cfg Config, opts AddUserOptions, s Streams) error {
	pool, err := postgres.Connect(ctx, cfg.DBURL, postgres.Options{MaxConns: 2})
	if err != nil {
		return err
	}
	defer pool.Close()
	if _, err := postgres.Migrate(ctx, pool); err != nil {
		return err
	}
	// A running server learns of the new user at once, not at its next poll.
	h := commands.New(pool, app.NewStore(), clock.System{}, commands.OnCommit(func(events.Checkpoint) {
		_ = projections.NotifyOthers(context.WithoutCancel(ctx), pool)
	}))
	ctx = events.WithMetadata(ctx, events.Metadata{Actor: "cli", ActorName: osUser(), Source: "cli"})

	if opts.UserID != "" {
		if _, err := h.SetBasicAuth(ctx, opts.UserID, opts.User, opts.Pass); err != nil {
			return describeUserError(err)
		}
		fmt.Fprintf(s.Out, "Added username %q to user %s.\n", opts.User, opts.UserID)
		return nil
	}
	role := user.RoleUser
	if opts.Admin {
		role = user.RoleAdmin
	}
	id, _, err := h.CreateUser(ctx, commands.CreateUser{
		Name: opts.User, Email: opts.Email, Role: role, Username: opts.User, Password: opts.Pass,
	})
	if err != nil {
		return describeUserError(err)
	}
	fmt.Fprintf(s.Out, "Created user %q (%s) with id %s.\n", opts.User, role, id)
	return nil
}

func describeUserError(err error) error {
	if errors.Is(err, user.ErrUsernameTaken) {
		return errors.New("that username is already in use; pick another, or pass --user-id to add credentials to an existing user")
	}
	return err
}

func osUser() string {
	if u := os.Getenv("USER"); u != "" {
		return u
	}
	return "unknown"
}

// tlsConfig loads the HTTPS certificate from files or PEM data.
func tlsConfig(cfg Config) (*tls.Config, error) {
	if cfg.ListenTLS == "" {
		return nil, nil
	}
	var cert tls.Certificate
	var err error
	if cfg.TLSCertData != "" || cfg.TLSKeyData != "" {
		cert, err = tls.X509KeyPair([]byte(cfg.TLSCertData), []byte(cfg.TLSKeyData))
	} else {
		cert, err = tls.LoadX509KeyPair(cfg.TLSCertFile, cfg.TLSKeyFile)
	}
	if err != nil {
		return nil, fmt.Errorf("load TLS certificate for --listen-tls: %w", err)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, nil
}

// smtpTLSConfig loads the SMTP server's certificate and key, each from its file or PEM data, when the
// server runs and they are given: they serve --smtp-listen-tls and STARTTLS on --smtp-listen.
func smtpTLSConfig(cfg Config) (*tls.Config, error) {
	if cfg.SMTPListen == "" && cfg.SMTPListenTLS == "" {
		return nil, nil
	}
	certPEM, err := pemData(cfg.SMTPTLSCertData, cfg.SMTPTLSCertFile)
	if err != nil {
		return nil, fmt.Errorf("read --smtp-tls-cert-file: %w", err)
	}
	keyPEM, err := pemData(cfg.SMTPTLSKeyData, cfg.SMTPTLSKeyFile)
	if err != nil {
		return nil, fmt.Errorf("read --smtp-tls-key-file: %w", err)
	}
	if certPEM == nil && keyPEM == nil {
		return nil, nil
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("load TLS certificate for the SMTP server: %w", err)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, nil
}

// pemData returns data, or else the content of file; nil when neither is given.
func pemData(data, file string) ([]byte, error) {
	if data != "" {
		return []byte(data), nil
	}
	if file == "" {
		return nil, nil
	}
	return os.ReadFile(file)
}
