package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

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

// entityFilter turns --entity into an exact stream id or a stream prefix.
// A full id must not match its longer siblings: alert-4 is not alert-42.
func entityFilter(v string) (exact, prefix string) {
	switch {
	case v == "":
		return "", ""
	case strings.HasSuffix(v, "*"):
		return "", strings.TrimSuffix(v, "*")
	case strings.HasSuffix(v, "-"):
		return "", v
	case !strings.Contains(v, "-"):
		return "", v + "-"
	}
	return v, ""
}

func runAudit(ctx context.Context, cfg Config, s Streams, o auditOptions, w window) error {
	pool, err := openLog(ctx, cfg, false)
	if err != nil {
		return err
	}
	defer pool.Close()
	exact, prefix := entityFilter(o.entity)
	rows, err := pool.Query(ctx, `SELECT `+pgstore.Columns+` FROM events
		WHERE ($1::text = '' OR metadata->>'actor' = $1 OR metadata->>'actor_name' = $1)
		  AND ($2::text = '' OR stream_id = $2)
		  AND ($3::text = '' OR starts_with(stream_id, $3))
		  AND ($4::timestamptz IS NULL OR occurred_at >= $4)
		  AND ($5::timestamptz IS NULL OR occurred_at < $5)
		ORDER BY transaction_id DESC, global_position DESC
		LIMIT $6`, o.actor, exact, prefix, w.since, w.until, o.limit)
	if err != nil {
		return fmt.Errorf("read the log: %w", err)
	}
	defer rows.Close()
	var lines []eventLine
	for rows.Next() {
		l, err := scanEventLine(rows)
		if err != nil {
			return err
		}
		lines = append(lines, l)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read the log: %w", err)
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
