package app

import (
	"context"
	"errors"
	"fmt"
	"net"

	"github.com/oncallhq/goalert/adapters/smtpingress"
	"github.com/oncallhq/goalert/commands"
)

// smtpIngress is the built-in SMTP server, when --smtp-listen or
// --smtp-listen-tls is set.
type smtpIngress struct {
	srv        *smtpingress.Server
	plain, tls net.Listener
}

// bindSMTP builds the SMTP server and binds its listeners, so that their
// addresses are known before Run, like the HTTP ones.
func (a *App) bindSMTP() error {
	if a.cfg.SMTPListen == "" && a.cfg.SMTPListenTLS == "" {
		return nil
	}
	if len(a.cfg.SMTP.Domains) == 0 {
		return errors.New("the SMTP server needs --email-integration-domain: mail is accepted for that domain only")
	}
	if a.cfg.SMTPListenTLS != "" && a.cfg.SMTP.TLS == nil {
		return errors.New("--smtp-listen-tls needs a certificate and key")
	}
	ingest := func(ctx context.Context, in commands.Ingest) (commands.AlertRef, error) {
		ref, _, err := a.Commands.Ingest(ctx, in)
		return ref, err
	}
	a.smtp.srv = smtpingress.New(a.cfg.SMTP, ingest, a.log.With("component", "smtp"))
	var err error
	if a.cfg.SMTPListen != "" {
		if a.smtp.plain, err = net.Listen("tcp", a.cfg.SMTPListen); err != nil {
			return fmt.Errorf("listen for SMTP on %s: %w", a.cfg.SMTPListen, err)
		}
	}
	if a.cfg.SMTPListenTLS != "" {
		if a.smtp.tls, err = net.Listen("tcp", a.cfg.SMTPListenTLS); err != nil {
			return fmt.Errorf("listen for SMTPS on %s: %w", a.cfg.SMTPListenTLS, err)
		}
	}
	return nil
}

// SMTPAddr returns the address of the plain SMTP listener, if any.
func (a *App) SMTPAddr() string {
	if a.smtp.plain == nil {
		return ""
	}
	return a.smtp.plain.Addr().String()
}

// SMTPTLSAddr returns the address of the implicit-TLS SMTP listener, if any.
func (a *App) SMTPTLSAddr() string {
	if a.smtp.tls == nil {
		return ""
	}
	return a.smtp.tls.Addr().String()
}

// serveSMTP serves the SMTP listeners; a listener that fails reports on
// errc, which stops the server like a failed HTTP listener.
func (a *App) serveSMTP(errc chan<- error) {
	if a.smtp.srv == nil {
		return
	}
	if a.smtp.plain != nil {
		go func() { errc <- a.smtp.srv.Serve(a.smtp.plain) }()
	}
	if a.smtp.tls != nil {
		go func() { errc <- a.smtp.srv.ServeTLS(a.smtp.tls) }()
	}
	a.log.Info("Receiving email.", "smtp", a.SMTPAddr(), "smtps", a.SMTPTLSAddr(), "domains", a.cfg.SMTP.Domains)
}

// shutdownSMTP starts the SMTP server's graceful shutdown, which runs
// alongside the HTTP server's, and returns its outcome.
func (a *App) shutdownSMTP(ctx context.Context) <-chan error {
	done := make(chan error, 1)
	if a.smtp.srv == nil {
		done <- nil
		return done
	}
	go func() { done <- a.smtp.srv.Shutdown(ctx) }()
	return done
}

// closeSMTP closes the SMTP listeners of an app that is not running.
func (a *App) closeSMTP() {
	for _, l := range []net.Listener{a.smtp.plain, a.smtp.tls} {
		if l != nil {
			_ = l.Close()
		}
	}
}
