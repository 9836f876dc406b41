package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/spf13/cobra"

	"github.com/oncallhq/goalert/cmd/goalert/app"
	"github.com/oncallhq/goalert/events"
	"github.com/oncallhq/goalert/events/pgstore"
)

// tailPoll is how often tail asks for new events. Tail is a person
// watching, not a projection: a fifth of a second is live enough, and it
// costs one cheap query when nothing happens.
const tailPoll = 200 * time.Millisecond

// tailPage bounds one read, so that catching up from the start of a long
// log streams out instead of loading it all at once.
const tailPage = 1000

func newEventsTailCommand(cfg *Config, s Streams) *cobra.Command {
	var fromStart bool
	cmd := &cobra.Command{
		Use:   "tail",
		Short: "Follow new events as they are committed, until interrupted.",
		Long: "Follow the event log: print each event as it is committed, in log order (transaction id, then\n" +
			"position), one line per event, until Ctrl-C. It starts after the newest event, or with\n" +
			"--from-start at the beginning of the log." + jsonHelp(eventLinesHelp),
		Args: usageArgs(cobra.NoArgs),
		RunE: adminCommand(cfg, s, func(ctx context.Context, cfg Config, _ []string) error {
			return runEventsTail(ctx, cfg, s, fromStart)
		}),
	}
	cmd.Flags().BoolVar(&fromStart, "from-start", false, "Print the whole log first, then follow it.")
	return cmd
}

func runEventsTail(ctx context.Context, cfg Config, s Streams, fromStart bool) error {
	pool, err := openLog(ctx, cfg, false)
	if err != nil {
		return err
	}
	defer pool.Close()
	store := app.NewStore()
	var cp events.Checkpoint
	if !fromStart {
		if cp, err = store.Head(ctx, pool); err != nil {
			return err
		}
	}
	newLogger(cfg, s.Err).Info("following the event log; Ctrl-C stops",
		"after_transaction", cp.TransactionID, "after_position", cp.Position)
	writeLine := printTailLine
	if cfg.JSON {
		out := newJSONLines(s.Out)
		writeLine = func(_ io.Writer, l eventLine) error { return out.write(l) }
	}
	err = follow(ctx, store, pool, cp, func(env events.Envelope) error { return writeLine(s.Out, lineFromEnvelope(env)) })
	if ctx.Err() != nil {
		return nil // interrupted: the normal way to stop
	}
	return err
}

// follow calls emit for every event after cp, polling for new ones until
// ctx ends.
func follow(ctx context.Context, store *pgstore.Store, pool *pgxpool.Pool, cp events.Checkpoint, emit func(events.Envelope) error) error {
	tick := time.NewTicker(tailPoll)
	defer tick.Stop()
	for {
		envs, err := store.ReadAfter(ctx, pool, cp, tailPage)
		if err != nil {
			return err
		}
		for _, env := range envs {
			if err := emit(env); err != nil {
				return err
			}
			cp = env.Checkpoint()
		}
		if len(envs) == tailPage {
			continue // more is waiting: no pause while catching up
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// printTailLine writes one event on one line. Columns are padded rather
// than aligned by a tabwriter, which would hold lines back until it has
// seen the rest of the table.
func printTailLine(w io.Writer, l eventLine) error {
	m := l.meta()
	_, err := fmt.Fprintf(w, "%s  %-44s %4d  %-32s %-16s %-8s %s\n", formatTime(l.OccurredAt), l.StreamID, l.Version,
		l.Name, dash(actor(m)), dash(m.Source), compactJSON(l.Payload))
	if err != nil {
		return fmt.Errorf("write output: %w", err)
	}
	return nil
}
