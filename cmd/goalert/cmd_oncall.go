package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/oncallhq/goalert/cmd/goalert/app"
	"github.com/oncallhq/goalert/commands"
	"github.com/oncallhq/goalert/domain/clock"
	"github.com/oncallhq/goalert/domain/escalation"
	"github.com/oncallhq/goalert/domain/user"
	"github.com/oncallhq/goalert/events"
	"github.com/oncallhq/goalert/events/pgstore"
)

// oncallOptions are the flags of `goalert oncall`.
type oncallOptions struct {
	schedule, rotation, at, until string
}

func newOncallCommand(cfg *Config, s Streams) *cobra.Command {
	var o oncallOptions
	cmd := &cobra.Command{
		Use:   "oncall",
		Short: "Show who was, is or will be on call on a schedule or rotation.",
		Long: "Show who is on call on a schedule (--schedule) or rotation (--rotation) at an instant (--at, in\n" +
			"RFC 3339; now by default), read from the event log: the answer uses the configuration as it\n" +
			"stood at that instant, so later edits never change what the past looks like. Name a schedule\n" +
			"or rotation by id, by name, or by a name it had before it was renamed or deleted.\n\n" +
			"With --until, list the shifts from --at until --until instead, each instant computed with the\n" +
			"configuration of that instant (schedules only)." +
			jsonHelp("one JSON document with the subject, the instant and the users (or the shifts),"),
		Args: usageArgs(cobra.NoArgs),
		RunE: adminCommand(cfg, s, func(ctx context.Context, cfg Config, _ []string) error {
			if (o.schedule == "") == (o.rotation == "") {
				return usageError{errors.New("give one of --schedule and --rotation")}
			}
			at, err := timeFlag("at", o.at)
			if err != nil {
				return err
			}
			until, err := timeFlag("until", o.until)
			if err != nil {
				return err
			}
			if at == nil {
				now := time.Now()
				at = &now
			}
			if until != nil && (o.rotation != "" || !until.After(*at)) {
				return usageError{errors.New("--until needs --schedule and must be after --at")}
			}
			return runOncall(ctx, cfg, s, o, *at, until)
		}),
	}
	f := cmd.Flags()
	f.StringVar(&o.schedule, "schedule", "", "The schedule, by name or id.")
	f.StringVar(&o.rotation, "rotation", "", "The rotation, by name or id.")
	f.StringVar(&o.at, "at", "", "The instant, in RFC 3339 (default now).")
	f.StringVar(&o.until, "until", "", "List the shifts from --at until this RFC 3339 time.")
	return cmd
}

// oncallUser is a user in the output.
type oncallUser struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// oncallShift is a shift in the output.
type oncallShift struct {
	oncallUser
	Start     time.Time `json:"start"`
	End       time.Time `json:"end"`
	Truncated bool      `json:"truncated,omitempty"`
}

// oncallReport is the JSON document of `goalert oncall`.
type oncallReport struct {
	Kind   string        `json:"kind"`
	ID     string        `json:"id"`
	At     time.Time     `json:"at"`
	Until  *time.Time    `json:"until,omitempty"`
	Users  []oncallUser  `json:"users"`
	Shifts []oncallShift `json:"shifts,omitempty"`
}

func runOncall(ctx context.Context, cfg Config, s Streams, o oncallOptions, at time.Time, until *time.Time) error {
	pool, err := openLog(ctx, cfg, false)
	if err != nil {
		return err
	}
	defer pool.Close()
	store := app.NewStore()
	h := commands.New(pool, store, clock.System{})
	kind, name := escalation.ActionSchedule, o.schedule
	rep := oncallReport{Kind: "schedule", At: at.UTC(), Users: []oncallUser{}}
	if o.rotation != "" {
		kind, name, rep.Kind = escalation.ActionRotation, o.rotation, "rotation"
	}
	if rep.ID, err = h.FindOnCallSubject(ctx, kind, name); err != nil {
		return fmt.Errorf("%s %q: %w", rep.Kind, name, err)
	}
	names := userNames{ctx: ctx, store: store, q: pool, cache: map[string]string{}}
	ids, err := h.OnCallAsOf(ctx, kind, rep.ID, at)
	if err != nil {
		return err
	}
	for _, id := range ids {
		rep.Users = append(rep.Users, oncallUser{ID: id, Name: names.of(id)})
	}
	if until != nil {
		u := until.UTC()
		rep.Until = &u
		shifts, err := h.ShiftsAsOf(ctx, rep.ID, at, *until)
		if err != nil {
			return err
		}
		rep.Shifts = []oncallShift{}
		for _, sh := range shifts {
			rep.Shifts = append(rep.Shifts, oncallShift{oncallUser: oncallUser{ID: sh.UserID, Name: names.of(sh.UserID)},
				Start: sh.Start.UTC(), End: sh.End.UTC(), Truncated: sh.Truncated})
		}
	}
	if cfg.JSON {
		return newJSONLines(s.Out).write(rep)
	}
	return printOncall(s.Out, rep)
}

// userNames reads users' names from their streams, as they are now.
type userNames struct {
	ctx   context.Context
	store *pgstore.Store
	q     pgstore.Querier
	cache map[string]string
}

func (n userNames) of(id string) string {
	if name, ok := n.cache[id]; ok {
		return name
	}
	var evs []events.Event
	envs, err := n.store.Load(n.ctx, n.q, user.Stream(id), 1)
	if err == nil {
		for _, env := range envs {
			if e, err := n.store.Registry().DecodeEnvelope(env); err == nil {
				evs = append(evs, e)
			}
		}
	}
	name := ""
	if u := user.FromHistory(evs); u != nil {
		name = u.Name()
	}
	n.cache[id] = name
	return name
}

func printOncall(w io.Writer, rep oncallReport) error {
	if rep.Until != nil {
		if _, err := fmt.Fprintf(w, "Shifts on %s %s from %s until %s:\n\n", rep.Kind, rep.ID, formatTime(rep.At), formatTime(*rep.Until)); err != nil {
			return fmt.Errorf("write output: %w", err)
		}
		tw := newTable(w, "START\tEND\tUSER\tNAME")
		for _, sh := range rep.Shifts {
			end := formatTime(sh.End)
			if sh.Truncated {
				end += "+"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", formatTime(sh.Start), end, sh.ID, dash(sh.Name))
		}
		return tw.Flush()
	}
	if _, err := fmt.Fprintf(w, "On call on %s %s at %s:\n\n", rep.Kind, rep.ID, formatTime(rep.At)); err != nil {
		return fmt.Errorf("write output: %w", err)
	}
	if len(rep.Users) == 0 {
		_, err := fmt.Fprintln(w, "Nobody.")
		return err
	}
	tw := newTable(w, "USER\tNAME")
	for _, u := range rep.Users {
		fmt.Fprintf(tw, "%s\t%s\n", u.ID, dash(u.Name))
	}
	return tw.Flush()
}
