package main

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/oncallhq/goalert/cmd/goalert/app"
)

// eventLinesHelp describes the JSON output of the commands that print
// events.
const eventLinesHelp = "JSON lines, one event per line with every column of the log ('events export' format),"

func newEventsCommand(cfg *Config, s Streams) *cobra.Command {
	return parentCommand("events", "Read, follow, export and import the event log.",
		newEventsShowCommand(cfg, s),
		newEventsTailCommand(cfg, s),
		newEventsExportCommand(cfg, s),
		newEventsImportCommand(cfg, s),
	)
}

func newEventsShowCommand(cfg *Config, s Streams) *cobra.Command {
	return &cobra.Command{
		Use:   "show STREAM",
		Short: "Print the history of one stream, such as user-<id>, service-<id> or alert-<number>.",
		Long: "Print the history of one stream, oldest first: each event's version, time, name, actor and\n" +
			"source, and payload. A stream that does not exist is an error (exit code 1)." + jsonHelp(eventLinesHelp),
		Args: usageArgs(cobra.ExactArgs(1)),
		RunE: adminCommand(cfg, s, func(ctx context.Context, cfg Config, args []string) error {
			return runEventsShow(ctx, cfg, s, args[0])
		}),
	}
}

func runEventsShow(ctx context.Context, cfg Config, s Streams, stream string) error {
	pool, err := openLog(ctx, cfg, false)
	if err != nil {
		return err
	}
	defer pool.Close()
	envs, err := app.NewStore().Load(ctx, pool, stream, 1)
	if err != nil {
		return err
	}
	if len(envs) == 0 {
		return fmt.Errorf("no such stream: %q", stream)
	}
	lines := make([]eventLine, len(envs))
	for i, env := range envs {
		lines[i] = lineFromEnvelope(env)
	}
	if cfg.JSON {
		return writeEventLines(s.Out, lines)
	}
	return printStream(s.Out, lines)
}

func writeEventLines(w io.Writer, lines []eventLine) error {
	out := newJSONLines(w)
	for _, l := range lines {
		if err := out.write(l); err != nil {
			return err
		}
	}
	return nil
}

func printStream(w io.Writer, lines []eventLine) error {
	tw := newTable(w, "VERSION\tOCCURRED AT\tNAME\tACTOR\tSOURCE\tPAYLOAD")
	for _, l := range lines {
		m := l.meta()
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", l.Version, formatTime(l.OccurredAt), l.Name, dash(actor(m)), dash(m.Source), compactJSON(l.Payload))
	}
	return tw.Flush()
}
