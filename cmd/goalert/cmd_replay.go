package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/spf13/cobra"

	"github.com/oncallhq/goalert/cmd/goalert/app"
	"github.com/oncallhq/goalert/events"
	"github.com/oncallhq/goalert/events/pgstore"
	"github.com/oncallhq/goalert/projections"
)

const defaultReplayBatch = 5000

func newReplayCommand(cfg *Config, s Streams) *cobra.Command {
	var batch int
	cmd := &cobra.Command{
		Use:   "replay [PROJECTION...]",
		Short: "Rebuild read models from the event log.",
		Long: "Rebuild the named read models (all of them when none is named) from the whole event log,\n" +
			"showing progress: on a terminal one line redrawn in place, otherwise a log line every few\n" +
			"seconds. Each model is built beside the live one and swapped in at once when it has caught up,\n" +
			"so the server may keep running: it shows the old model until the swap and the rebuilt one after,\n" +
			"and its own projection continues from where the replay got to. A replay that fails or is\n" +
			"interrupted leaves the live model as it was.\n\n" +
			"Projections: " + strings.Join(projectionNames(), ", ") + "." +
			jsonHelp("one JSON document with each projection's result (progress then goes to the log),"),
		Args: cobra.ArbitraryArgs,
		RunE: adminCommand(cfg, s, func(ctx context.Context, cfg Config, args []string) error {
			names, err := pickProjections(args)
			if err != nil {
				return err
			}
			if batch <= 0 {
				return usageError{fmt.Errorf("--batch-size must be positive, got %d", batch)}
			}
			return runReplay(ctx, cfg, s, names, batch)
		}),
	}
	cmd.Flags().IntVar(&batch, "batch-size", defaultReplayBatch, "Events read and applied per transaction.")
	return cmd
}

// projectionNames lists the read models the server runs.
func projectionNames() []string {
	var names []string
	for _, p := range newRunner(nil, nil, nil).Projections() {
		names = append(names, p.Name())
	}
	slices.Sort(names)
	return names
}

// pickProjections checks the names asked for; none means all.
func pickProjections(args []string) ([]string, error) {
	known := projectionNames()
	if len(args) == 0 {
		return known, nil
	}
	var unknown []string
	for _, a := range args {
		if !slices.Contains(known, a) {
			unknown = append(unknown, fmt.Sprintf("%q", a))
		}
	}
	if len(unknown) > 0 {
		return nil, usageError{fmt.Errorf("unknown projection %s (known: %s)", strings.Join(unknown, ", "), strings.Join(known, ", "))}
	}
	return args, nil
}

func runReplay(ctx context.Context, cfg Config, s Streams, names []string, batch int) error {
	pool, err := openLog(ctx, cfg, true)
	if err != nil {
		return err
	}
	defer pool.Close()
	log := newLogger(cfg, s.Err)
	res, err := replayAll(ctx, pool, log, names, batch, newProgress(cfg, s, log))
	if err != nil {
		return err
	}
	return printReplay(s.Out, cfg.JSON, res)
}

// replayResult is what one projection's rebuild did.
type replayResult struct {
	Projection string  `json:"projection"`
	Events     int     `json:"events"`
	Applied    int     `json:"applied"`
	Seconds    float64 `json:"seconds"`
	Rate       float64 `json:"events_per_sec"`
}

// replayReport is the JSON document of replay (and the replay part of
// import).
type replayReport struct {
	LogEvents   int64          `json:"log_events"`
	Projections []replayResult `json:"projections"`
}

// replayAll rebuilds each named projection in turn.
func replayAll(ctx context.Context, pool *pgxpool.Pool, log *slog.Logger, names []string, batch int, p progress) (replayReport, error) {
	var rep replayReport
	store := app.NewStore()
	if err := awaitReadableLog(ctx, pool, store, log); err != nil {
		return rep, err
	}
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM events`).Scan(&rep.LogEvents); err != nil {
		return rep, fmt.Errorf("count events: %w", err)
	}
	p.total = rep.LogEvents
	runner := newRunner(pool, store, log)
	for _, name := range names {
		report, finish := p.track(name)
		st, err := runner.Rebuild(ctx, name, batch, report)
		finish()
		if err != nil {
			return rep, err
		}
		rep.Projections = append(rep.Projections, replayResult{
			Projection: name, Events: st.Events, Applied: st.Applied,
			Seconds: st.Duration.Seconds(), Rate: rate(st.Events, st.Duration),
		})
	}
	return rep, nil
}

// awaitReadableLog waits until every event committed now can be read in
// log order. A rebuild reads only below the oldest running transaction of
// the whole Postgres cluster, and stops at its first short batch: while any
// older transaction is open, even in another database, it would stop
// before the newest events and report a read model as rebuilt when it is
// not. Events committed after this call are the live projections' to read.
func awaitReadableLog(ctx context.Context, pool *pgxpool.Pool, store *pgstore.Store, log *slog.Logger) error {
	var xid, pos int64
	err := pool.QueryRow(ctx, `SELECT transaction_id::text::bigint, global_position FROM events
		ORDER BY events.transaction_id DESC, events.global_position DESC LIMIT 1`).Scan(&xid, &pos)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read the newest event: %w", err)
	}
	newest := events.Checkpoint{TransactionID: uint64(xid), Position: pos}
	start, warned := time.Now(), false
	for {
		head, err := store.Head(ctx, pool)
		if err != nil {
			return err
		}
		if !newest.After(head) {
			return nil
		}
		if !warned && time.Since(start) > 2*time.Second {
			log.Warn("waiting for older open transactions to finish before the newest events can be read",
				"newest_transaction", newest.TransactionID)
			warned = true
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func rate(n int, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

func printReplay(w io.Writer, asJSON bool, rep replayReport) error {
	if asJSON {
		return newJSONLines(w).write(rep)
	}
	for _, r := range rep.Projections {
		d := time.Duration(r.Seconds * float64(time.Second)).Round(time.Millisecond)
		if _, err := fmt.Fprintf(w, "replayed %d events into %s in %s (%.0f events/s)\n", r.Events, r.Projection, d, r.Rate); err != nil {
			return fmt.Errorf("write output: %w", err)
		}
	}
	return nil
}

// progress shows how a rebuild advances: a line redrawn in place on a
// terminal, or a log line every few seconds for logs and pipes.
type progress struct {
	term  io.Writer // nil: log instead
	log   *slog.Logger
	every time.Duration
	total int64
}

func newProgress(cfg Config, s Streams, log *slog.Logger) progress {
	if !cfg.JSON && isTerminal(s.Out) {
		// Redrawn ten times a second: fast enough to look live, slow
		// enough not to flicker.
		return progress{term: s.Out, log: log, every: 100 * time.Millisecond}
	}
	return progress{log: log, every: 5 * time.Second}
}

// track returns the progress callback for one projection's rebuild, and a
// function that clears the terminal line once the rebuild is over.
func (p progress) track(name string) (projections.Progress, func()) {
	// The first report waits a period too: a short rebuild shows none.
	start := time.Now()
	shown := start
	report := func(read int, _ events.Checkpoint) {
		now := time.Now()
		if now.Sub(shown) < p.every {
			return
		}
		shown = now
		p.show(name, read, now.Sub(start))
	}
	finish := func() {
		if p.term != nil {
			fmt.Fprint(p.term, "\r\033[K")
		}
	}
	return report, finish
}

func (p progress) show(name string, read int, elapsed time.Duration) {
	r := rate(read, elapsed)
	eta := p.eta(read, r)
	if p.term != nil {
		fmt.Fprintf(p.term, "\r\033[K%s: %d of %d events, %.0f events/s, ETA %s", name, read, p.total, r, eta)
		return
	}
	p.log.Info("replaying", "projection", name, "events", read, "of", p.total, "events_per_sec", int(r), "eta", eta.String())
}

// eta is the time left at rate r; the log may have grown since it was
// counted, so past the count it is zero.
func (p progress) eta(read int, r float64) time.Duration {
	left := p.total - int64(read)
	if left <= 0 || r <= 0 {
		return 0
	}
	return time.Duration(float64(left) / r * float64(time.Second)).Round(time.Second)
}
