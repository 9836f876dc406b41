package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/oncallhq/goalert/cmd/goalert/app"
	"github.com/oncallhq/goalert/domain/alert"
	"github.com/oncallhq/goalert/events"
	"github.com/oncallhq/goalert/projections/alerts"
)

func newAlertCommand(cfg *Config, s Streams) *cobra.Command {
	return parentCommand("alert", "Inspect alerts.", newAlertHistoryCommand(cfg, s))
}

func newAlertHistoryCommand(cfg *Config, s Streams) *cobra.Command {
	return &cobra.Command{
		Use:   "history ID",
		Short: "Print the full timeline of one alert.",
		Long: "Print everything that happened to alert ID, read from its event stream rather than from the\n" +
			"read models: when, what (worded as the alert log words it), by whom and through what.\n" +
			"An alert that does not exist is an error (exit code 1)." +
			jsonHelp("one JSON document with the alert and its entries,"),
		Args: usageArgs(cobra.ExactArgs(1)),
		RunE: adminCommand(cfg, s, func(ctx context.Context, cfg Config, args []string) error {
			id, err := strconv.ParseInt(args[0], 10, 64)
			if err != nil || id <= 0 {
				return usageError{fmt.Errorf("%q is not an alert number", args[0])}
			}
			return runAlertHistory(ctx, cfg, s, id)
		}),
	}
}

// historyEntry is one line of an alert's timeline.
type historyEntry struct {
	At        time.Time `json:"at"`
	Event     string    `json:"event"`
	Message   string    `json:"message"`
	Actor     string    `json:"actor,omitempty"`
	ActorName string    `json:"actor_name,omitempty"`
	Source    string    `json:"source,omitempty"`
}

// alertHistory is the JSON document of alert history.
type alertHistory struct {
	AlertID   int64          `json:"alert_id"`
	ServiceID string         `json:"service_id"`
	Summary   string         `json:"summary"`
	Entries   []historyEntry `json:"entries"`
}

// alertLogEvents names each alert event the way the alerts read model's
// log does, so that alerts.Message words it the same.
var alertLogEvents = map[string]string{
	events.AlertTriggered{}.EventName():           alerts.LogCreated,
	events.AlertDeduplicated{}.EventName():        alerts.LogDuplicate,
	events.AlertAcknowledged{}.EventName():        alerts.LogAcknowledged,
	events.AlertEscalationRequested{}.EventName(): alerts.LogEscalationRequest,
	events.AlertClosed{}.EventName():              alerts.LogClosed,
}

func runAlertHistory(ctx context.Context, cfg Config, s Streams, id int64) error {
	pool, err := openLog(ctx, cfg, false)
	if err != nil {
		return err
	}
	defer pool.Close()
	store := app.NewStore()
	envs, err := store.Load(ctx, pool, alert.Stream(id), 1)
	if err != nil {
		return err
	}
	if len(envs) == 0 {
		return fmt.Errorf("no such alert: %d", id)
	}
	h := alertHistory{AlertID: id, Entries: make([]historyEntry, 0, len(envs))}
	if e, err := store.Registry().DecodeEnvelope(envs[0]); err == nil {
		if t, ok := e.(events.AlertTriggered); ok {
			h.ServiceID, h.Summary = t.ServiceID, t.Summary
		}
	}
	for _, env := range envs {
		h.Entries = append(h.Entries, historyEntryOf(env))
	}
	if cfg.JSON {
		return newJSONLines(s.Out).write(h)
	}
	return printAlertHistory(s.Out, h)
}

func historyEntryOf(env events.Envelope) historyEntry {
	name, ok := alertLogEvents[env.Name]
	if !ok {
		name = env.Name // an event this build has no wording for
	}
	m := env.Metadata
	l := alerts.LogEntry{Event: name, Actor: m.Actor, ActorName: m.ActorName, Source: m.Source}
	return historyEntry{At: env.OccurredAt, Event: name, Message: alerts.Message(l),
		Actor: m.Actor, ActorName: m.ActorName, Source: m.Source}
}

func printAlertHistory(w io.Writer, h alertHistory) error {
	if _, err := fmt.Fprintf(w, "Alert %d: %s\n\n", h.AlertID, h.Summary); err != nil {
		return fmt.Errorf("write output: %w", err)
	}
	tw := newTable(w, "TIME\tWHAT\tACTOR\tSOURCE")
	for _, e := range h.Entries {
		who := e.ActorName
		if who == "" {
			who = e.Actor
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", formatTime(e.At), e.Message, dash(who), dash(e.Source))
	}
	return tw.Flush()
}
