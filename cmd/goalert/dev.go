package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"

	"github.com/oncallhq/goalert/adapters/postgres/devcluster"
	"github.com/spf13/cobra"
)

// devDataDir holds the private PostgreSQL cluster of `goalert dev`, relative to the working directory.
const devDataDir = ".data/pg"

// devEncryptionKey protects secrets in development databases only; it is public, being written here.
const devEncryptionKey = "goalert-development-key-not-secret"

func newDevCommand(cfg *Config, s Streams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "dev",
		Short: "Run a development server, on a private PostgreSQL under ./.data unless --db-url is set.",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cfg.ListExperimental {
				return listExperimental(s.Out)
			}
			if err := cfg.check(false); err != nil {
				return err
			}
			warnExperimental(*cfg, s)
			return runDev(cmd.Context(), *cfg, s)
		},
	}
	addServeFlags(cmd.Flags(), cfg)
	return cmd
}

// runDev serves like the root command, providing what a first run lacks: a database and a key.
func runDev(ctx context.Context, cfg Config, s Streams) (err error) {
	log := newLogger(cfg, s.Err)
	if cfg.DBURL == "" {
		logf := func(format string, args ...any) { log.Info(fmt.Sprintf(format, args...)) }
		cluster, err := devcluster.Start(ctx, devDataDir, logf)
		if errors.Is(err, devcluster.ErrNoBinaries) {
			return fmt.Errorf("%w; install postgresql or set GOALERT_DB_URL", err)
		}
		if err != nil {
			return fmt.Errorf("start the development database: %w", err)
		}
		defer func() { err = errors.Join(err, cluster.Stop()) }()
		cfg.DBURL = cluster.URL()
	}
	if cfg.DataEncryptionKey == "" {
		cfg.DataEncryptionKey = devEncryptionKey
		log.Warn("using the public development data encryption key; set --data-encryption-key for real data")
	}
	if err := writeDevBanner(s.Out, cfg); err != nil {
		return err
	}
	return callAction(cfg, s, func() error { return runServe(ctx, cfg, s) })
}

func writeDevBanner(w io.Writer, cfg Config) error {
	_, err := fmt.Fprintf(w, "\nDevelopment server: %s\n"+
		"Create an admin user from another terminal:\n"+
		"  go run ./cmd/goalert add-user --db-url %s --admin --user admin --email admin@example.com\n\n",
		devURL(cfg.Listen), shellQuote(cfg.DBURL))
	return err
}

// devURL is the address a browser on this machine uses to reach listen.
func devURL(listen string) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return "http://" + listen
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port)
}

func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
