package main

import (
	"bufio"
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/oncallhq/goalert/events/pgstore"
)

func newEventsExportCommand(cfg *Config, s Streams) *cobra.Command {
	var since, until string
	cmd := &cobra.Command{
		Use:   "export",
		Short: "Write the event log to stdout as JSON lines.",
		Long: "Write every committed event to stdout as JSON lines, in log order (transaction id, then\n" +
			"position), one object per event with every column: position, transaction_id, stream_id,\n" +
			"version, event_id, name, schema_version, payload, metadata, occurred_at, recorded_at.\n\n" +
			"The export is one consistent snapshot of the log, and the server may keep running. A whole\n" +
			"export is what 'goalert events import' loads; --since (inclusive) and --until (exclusive) keep\n" +
			"only events that occurred in that window, which is for reading, not for import.\n\n" +
			"The output is JSON lines with or without --json.",
		Args: usageArgs(cobra.NoArgs),
		RunE: adminCommand(cfg, s, func(ctx context.Context, cfg Config, _ []string) error {
			w, err := parseWindow(since, until)
			if err != nil {
				return err
			}
			return runEventsExport(ctx, cfg, s, w)
		}),
	}
	cmd.Flags().StringVar(&since, "since", "", "Only events that occurred at or after this RFC 3339 time.")
	cmd.Flags().StringVar(&until, "until", "", "Only events that occurred before this RFC 3339 time.")
	return cmd
}

// runEventsExport streams the log in one query, so the export is a single
// snapshot and memory stays flat however long the log is.
func runEventsExport(ctx context.Context, cfg Config, s Streams, w window) error {
	pool, err := openLog(ctx, cfg, false)
	if err != nil {
		return err
	}
	defer pool.Close()
	rows, err := pool.Query(ctx, `SELECT `+pgstore.Columns+` FROM events
		WHERE ($1::timestamptz IS NULL OR occurred_at >= $1)
		  AND ($2::timestamptz IS NULL OR occurred_at < $2)
		ORDER BY events.transaction_id, events.global_position`, w.since, w.until)
	if err != nil {
		return fmt.Errorf("read the log: %w", err)
	}
	defer rows.Close()
	buf := bufio.NewWriterSize(s.Out, 256<<10)
	out := newJSONLines(buf)
	for rows.Next() {
		l, err := scanEventLine(rows)
		if err != nil {
			return err
		}
		if err := out.write(l); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read the log: %w", err)
	}
	if err := buf.Flush(); err != nil {
		return fmt.Errorf("write output: %w", err)
	}
	return nil
}
