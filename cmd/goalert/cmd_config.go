package main

import (
	"context"
	"fmt"
	"io"
	"sort"

	"github.com/spf13/cobra"

	"github.com/oncallhq/goalert/adapters/keyring"
	"github.com/oncallhq/goalert/cmd/goalert/app"
	"github.com/oncallhq/goalert/commands"
	"github.com/oncallhq/goalert/domain/clock"
	"github.com/oncallhq/goalert/domain/config"
	"github.com/oncallhq/goalert/events"
	"github.com/oncallhq/goalert/projections"
)

func newConfigCommand(cfg *Config, s Streams) *cobra.Command {
	get := &cobra.Command{
		Use:   "get [KEY]",
		Short: "Print the admin configuration, or one value (secrets are masked).",
		Long: "Print every admin config value, or the value of KEY (such as Mailgun.EmailDomain).\n" +
			"Secrets print as " + config.Mask + " when set." + jsonHelp("a JSON object of ids to values"),
		Args: usageArgs(cobra.MaximumNArgs(1)),
		RunE: adminCommand(cfg, s, func(ctx context.Context, cfg Config, args []string) error {
			return runConfigGet(ctx, cfg, s, args)
		}),
	}
	set := &cobra.Command{
		Use:   "set KEY VALUE",
		Short: "Change one admin config value.",
		Long: "Set KEY (such as Twilio.AuthToken) to VALUE. Secrets are encrypted with\n" +
			"--data-encryption-key before they are written. Booleans are true or false; a list's\n" +
			"entries are separated by newlines. Running servers see the change within a second.",
		Args: usageArgs(cobra.ExactArgs(2)),
		RunE: adminCommand(cfg, s, func(ctx context.Context, cfg Config, args []string) error {
			return runConfigSet(ctx, cfg, s, args[0], args[1])
		}),
	}
	return parentCommand("config", "Read or change the admin configuration.", get, set)
}

// configAccess opens the database and the keyring for a config command.
func configAccess(ctx context.Context, cfg Config) (*commands.Handler, *keyring.Keyring, func(), error) {
	kr, err := keyring.New(cfg.DataEncryptionKey, cfg.DataEncryptionKeyOld)
	if err != nil {
		return nil, nil, nil, usageError{err}
	}
	pool, err := openLog(ctx, cfg, true)
	if err != nil {
		return nil, nil, nil, err
	}
	h := commands.New(pool, app.NewStore(), clock.System{}, commands.OnCommit(func(events.Checkpoint) {
		_ = projections.NotifyOthers(context.WithoutCancel(ctx), pool)
	}))
	return h, kr, pool.Close, nil
}

func runConfigGet(ctx context.Context, cfg Config, s Streams, args []string) error {
	h, kr, closeDB, err := configAccess(ctx, cfg)
	if err != nil {
		return err
	}
	defer closeDB()
	vals, err := h.Config(ctx, func(sealed string) (string, error) {
		v, _, err := kr.DecryptString(sealed)
		return v, err
	})
	if err != nil {
		return err
	}
	shown := map[string]string{}
	for _, f := range config.Fields() {
		v := vals[f.ID]
		if f.Password && v != "" {
			v = config.Mask
		}
		shown[f.ID] = v
	}
	if len(args) == 1 {
		v, ok := shown[args[0]]
		if !ok {
			return usageError{fmt.Errorf("unknown config key %q", args[0])}
		}
		if cfg.JSON {
			return newJSONLines(s.Out).write(map[string]string{args[0]: v})
		}
		_, err := fmt.Fprintln(s.Out, v)
		return err
	}
	if cfg.JSON {
		return newJSONLines(s.Out).write(shown)
	}
	return printConfig(s.Out, shown)
}

func printConfig(w io.Writer, vals map[string]string) error {
	ids := make([]string, 0, len(vals))
	for id := range vals {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	t := newTable(w, "KEY\tVALUE")
	for _, id := range ids {
		fmt.Fprintf(t, "%s\t%s\n", id, dash(vals[id]))
	}
	return t.Flush()
}

func runConfigSet(ctx context.Context, cfg Config, s Streams, key, value string) error {
	f, ok := config.Lookup(key)
	if !ok {
		return usageError{fmt.Errorf("unknown config key %q", key)}
	}
	h, kr, closeDB, err := configAccess(ctx, cfg)
	if err != nil {
		return err
	}
	defer closeDB()
	ctx = events.WithMetadata(ctx, events.Metadata{Actor: "cli", ActorName: osUser(), Source: "cli"})
	if _, err := h.SetConfig(ctx, map[string]string{key: value}, func(secret string) (string, error) {
		return app.SealSecret(kr, []byte(secret))
	}); err != nil {
		return err
	}
	shown := value
	if f.Password && value != "" {
		shown = config.Mask
	}
	_, err = fmt.Fprintf(s.Out, "%s = %s\n", key, shown)
	return err
}
