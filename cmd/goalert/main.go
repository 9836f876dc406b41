// Command goalert is the on-call alerting server and its administration tools, in one binary.
package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
	"golang.org/x/term"
)

// Streams is the process's view of the outside world, passed in so tests can run commands in-process.
type Streams struct {
	In       io.Reader
	Out, Err io.Writer
	Getenv   func(string) string
}

// AddUserOptions are the flags of `goalert add-user`.
type AddUserOptions struct {
	Admin                     bool
	Email, Pass, User, UserID string
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// After the first signal starts a graceful shutdown, a second one kills the process as usual.
	go func() { <-ctx.Done(); stop() }()

	code := run(ctx, os.Args[1:], Streams{In: os.Stdin, Out: os.Stdout, Err: os.Stderr, Getenv: os.Getenv})
	stop()
	os.Exit(code)
}

// run executes the command line in args and returns the process exit code: 0 on success, 2 when the
// command line or environment is wrong, 1 when the command itself failed.
func run(ctx context.Context, args []string, s Streams) int {
	root := newRootCommand(s)
	root.SetArgs(args)
	root.SetIn(s.In)
	root.SetOut(s.Out)
	root.SetErr(s.Err)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	printError(s.Err, err)
	var ue usageError
	if errors.As(err, &ue) {
		return 2
	}
	return 1
}

// usageError marks a mistake in the command line or environment, as opposed to a failure at work.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// printError writes one "error: " line per problem, so a joined list of problems reads as a list.
func printError(w io.Writer, err error) {
	var ue usageError
	if errors.As(err, &ue) {
		err = ue.err
	}
	if joined, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range joined.Unwrap() {
			printError(w, e)
		}
		return
	}
	fmt.Fprintf(w, "error: %v\n", err)
}

func newRootCommand(s Streams) *cobra.Command {
	cfg := &Config{}
	root := &cobra.Command{
		Use:   "goalert",
		Short: "On-call alerting server",
		Long: "goalert is an on-call alerting server compatible with GoAlert's integrations and API.\n" +
			"With no command it applies pending database migrations and serves the API and the engine.",
		Args:          rootArgs,
		SilenceErrors: true,
		SilenceUsage:  true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			if err := applyEnv(cmd.Flags(), s.Getenv); err != nil {
				return err
			}
			cfg.Set = explicitFlags(cmd.Flags())
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cfg.ListExperimental {
				return listExperimental(s.Out)
			}
			if err := cfg.check(true); err != nil {
				return err
			}
			warnExperimental(*cfg, s)
			return callAction(*cfg, s, func() error { return runServe(cmd.Context(), *cfg, s) })
		},
	}
	root.CompletionOptions.DisableDefaultCmd = true
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		return usageError{fmt.Errorf("%w (see '%s --help')", err, cmd.CommandPath())}
	})
	addGlobalFlags(root.PersistentFlags(), cfg)
	addServeFlags(root.Flags(), cfg)
	root.AddCommand(
		newConfigCommand(cfg, s),
		newAddUserCommand(cfg, s),
		newMigrateCommand(cfg, s),
		newVersionCommand(s),
		newDevCommand(cfg, s),
		newEventsCommand(cfg, s),
		newReplayCommand(cfg, s),
		newAlertCommand(cfg, s),
		newAuditCommand(cfg, s),
		newOncallCommand(cfg, s),
	)
	return root
}

// rootArgs reports a mistyped command as a usage error (exit code 2), with the closest match.
func rootArgs(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	msg := fmt.Sprintf("unknown command %q for %q", args[0], cmd.CommandPath())
	if suggestions := cmd.SuggestionsFor(args[0]); len(suggestions) > 0 {
		msg += fmt.Sprintf(" (did you mean %q?)", suggestions[0])
	}
	return usageError{errors.New(msg)}
}

func newMigrateCommand(cfg *Config, s Streams) *cobra.Command {
	return &cobra.Command{
		Use:   "migrate",
		Short: "Apply pending database migrations and exit.",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := cfg.check(true); err != nil {
				return err
			}
			return callAction(*cfg, s, func() error { return runMigrate(cmd.Context(), *cfg, s) })
		},
	}
}

func newAddUserCommand(cfg *Config, s Streams) *cobra.Command {
	var opts AddUserOptions
	cmd := &cobra.Command{
		Use:   "add-user",
		Short: "Adds a user for basic authentication.",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := cfg.check(true); err != nil {
				return err
			}
			if opts.User == "" {
				return usageError{errors.New("--user is required: it is the login username")}
			}
			if opts.Pass == "" {
				pass, err := readPassword(cmd.Context(), s)
				if err != nil {
					return err
				}
				opts.Pass = pass
			}
			return callAction(*cfg, s, func() error { return runAddUser(cmd.Context(), *cfg, opts, s) })
		},
	}
	f := cmd.Flags()
	f.BoolVar(&opts.Admin, "admin", false, "If specified, the user will be created with the admin role (ignored if user-id is provided).")
	f.StringVar(&opts.Email, "email", "", "Specifies the email address of the new user (ignored if user-id is provided).")
	f.StringVar(&opts.Pass, "pass", "", "Specify new users password (if blank, prompt will be given).")
	f.StringVar(&opts.User, "user", "", "Specifies the login username.")
	f.StringVar(&opts.UserID, "user-id", "", "If specified, the auth entry will be created for an existing user ID. Default is to create a new user.")
	return cmd
}

var (
	errEmptyPassword   = usageError{errors.New("empty password: give --pass, type it at the prompt, or pipe it on stdin")}
	errPasswordsDiffer = usageError{errors.New("passwords do not match")}
)

// readPassword prompts without echo on a terminal and otherwise reads one line, so scripts can pipe
// the password in rather than put it on a command line where other users can see it.
func readPassword(ctx context.Context, s Streams) (string, error) {
	if f, ok := s.In.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		return promptPassword(ctx, int(f.Fd()), s.Err)
	}
	line, err := bufio.NewReader(s.In).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read password from stdin: %w", err)
	}
	pass := strings.TrimRight(line, "\r\n")
	if pass == "" {
		return "", errEmptyPassword
	}
	return pass, nil
}

func promptPassword(ctx context.Context, fd int, w io.Writer) (string, error) {
	fmt.Fprint(w, "Password: ")
	pass, err := readSecret(ctx, fd, w)
	if err != nil {
		return "", err
	}
	if len(pass) == 0 {
		return "", errEmptyPassword
	}
	fmt.Fprint(w, "Confirm password: ")
	confirm, err := readSecret(ctx, fd, w)
	if err != nil {
		return "", err
	}
	if !bytes.Equal(pass, confirm) {
		return "", errPasswordsDiffer
	}
	return string(pass), nil
}

// readSecret reads a line without echo. The signal handler keeps Ctrl-C from killing the process, so
// the read is abandoned on cancellation, restoring the terminal first: echo must not stay off.
func readSecret(ctx context.Context, fd int, w io.Writer) ([]byte, error) {
	state, err := term.GetState(fd)
	if err != nil {
		return nil, fmt.Errorf("read terminal state: %w", err)
	}
	type result struct {
		b   []byte
		err error
	}
	done := make(chan result, 1)
	go func() {
		b, err := term.ReadPassword(fd)
		done <- result{b, err}
	}()
	select {
	case r := <-done:
		fmt.Fprintln(w)
		if r.err != nil {
			return nil, fmt.Errorf("read password: %w", r.err)
		}
		return r.b, nil
	case <-ctx.Done():
		_ = term.Restore(fd, state)
		fmt.Fprintln(w)
		return nil, errors.New("interrupted")
	}
}

func listExperimental(w io.Writer) error {
	_, err := fmt.Fprintln(w, "No experimental features are available.")
	return err
}

// warnExperimental reports the experimental features asked for; none exist, so each is ignored.
func warnExperimental(cfg Config, s Streams) {
	if len(cfg.Experimental) == 0 {
		return
	}
	log := newLogger(cfg, s.Err)
	for _, name := range cfg.Experimental {
		log.Warn("ignoring unknown experimental feature", "feature", name)
	}
}

// callAction runs an action and turns a panic into an error, so an operator sees one line rather than
// a goroutine dump; --stack-traces prints the stack for whoever debugs it.
func callAction(cfg Config, s Streams, action func() error) (err error) {
	defer func() {
		r := recover()
		if r == nil {
			return
		}
		if cfg.StackTraces {
			s.Err.Write(debug.Stack())
		}
		err = fmt.Errorf("internal error: %v", r)
	}()
	return action()
}

// newLogger returns the process logger: JSON with --json, text otherwise; --log-errors-only wins
// over --verbose.
func newLogger(cfg Config, w io.Writer) *slog.Logger {
	level := slog.LevelInfo
	switch {
	case cfg.LogErrorsOnly:
		level = slog.LevelError
	case cfg.Verbose:
		level = slog.LevelDebug
	}
	opts := &slog.HandlerOptions{Level: level}
	if cfg.JSON {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
