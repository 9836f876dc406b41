package main

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/oncallhq/goalert/cmd/goalert/app"
	"github.com/oncallhq/goalert/events/pgstore"
)

// auditOptions are the flags of `goalert audit`.
type auditOptions struct {
	actor, entity, since, until string
	limit                       int
}

func newAuditCommand(cfg *Config, s Streams) *cobra.Command {
	var o auditOptions
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Show who changed what, newest first.",
		Long: "Show events, newest first, with who caused them and through what, filtered by actor, entity\n" +
			"and time.\n\n" +
			"--actor matches the principal exactly (user:<id>, integration_key:<id>, cli, system...) or the\n" +
			"actor's display name. --entity takes a full stream id (service-<id>, alert-42), or a prefix:\n" +
			"one ending in - or * (service-, alert-4*), or an aggregate name alone (service). --since is\n" +
			"inclusive and --until exclusive, in RFC 3339." + jsonHelp(eventLinesHelp),
		Args: usageArgs(cobra.NoArgs),
		RunE: adminCommand(cfg, s, func(ctx context.Context, cfg Config, _ []string) error {
			w, err := parseWindow(o.since, o.until)
			if err != nil {
				return err
			}
			if o.limit <= 0 {
				return usageError{fmt.Errorf("--limit must be positive, got %d", o.limit)}
			}
			return runAudit(ctx, cfg, s, o, w)
		}),
	}
	f := cmd.Flags()
	f.StringVar(&o.actor, "actor", "", "Only events caused by this actor (principal or display name).")
	f.StringVar(&o.entity, "entity", "", "Only events of this stream, or of streams with this prefix.")
	f.StringVar(&o.since, "since", "", "Only events that occurred at or after this RFC 3339 time.")
	f.StringVar(&o.until, "until", "", "Only events that occurred before this RFC 3339 time.")
	f.IntVar(&o.limit, "limit", 100, "Show at most this many events.")
	return cmd
}

func runAudit(ctx context.Context, cfg Config, s Streams, o auditOptions, w window) error {
	pool, err := openLog(ctx, cfg, false)
	if err != nil {
		return err
	}
	defer pool.Close()
	f := pgstore.AuditFilter{Actor: o.actor, Entity: o.entity, Limit: o.limit}
	if w.since != nil {
		f.Since = *w.since
	}
	if w.until != nil {
		f.Until = *w.until
	}
	envs, err := app.NewStore().Audit(ctx, pool, f)
	if err != nil {
		return err
	}
	lines := make([]eventLine, len(envs))
	for i, env := range envs {
		// An audit is read by people: password hashes are masked, as in
		// the GraphQL events query. (events export keeps them, since an
		// import must restore the log as it was.)
		lines[i] = lineFromEnvelope(env)
	}
	if len(lines) == o.limit {
		newLogger(cfg, s.Err).Info("showing the newest events only; --limit shows more", "limit", o.limit)
	}
	if cfg.JSON {
		return writeEventLines(s.Out, lines)
	}
	return printAudit(s.Out, lines)
}

func printAudit(w io.Writer, lines []eventLine) error {
	tw := newTable(w, "OCCURRED AT\tACTOR\tSOURCE\tSTREAM\tVERSION\tEVENT\tPAYLOAD")
	for _, l := range lines {
		m := l.meta()
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\n", formatTime(l.OccurredAt), dash(actor(m)), dash(m.Source),
			l.StreamID, l.Version, l.Name, compactJSON(l.Payload))
	}
	return tw.Flush()
}
