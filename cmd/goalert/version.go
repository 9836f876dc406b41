package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func newVersionCommand(s Streams) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print version and build information.",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			return writeVersion(s.Out)
		},
	}
}

// writeVersion prints the release version and, when the Go toolchain recorded it, the commit the
// binary was built from, which is what a bug report needs for a "dev" build.
func writeVersion(w io.Writer) error {
	_, err := fmt.Fprintf(w, "goalert version %s\ngo version: %s %s/%s\n", version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	if err != nil {
		return err
	}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return nil
	}
	vcs := make(map[string]string)
	for _, s := range info.Settings {
		vcs[s.Key] = s.Value
	}
	if rev := vcs["vcs.revision"]; rev != "" {
		if vcs["vcs.modified"] == "true" {
			rev += " (modified)"
		}
		fmt.Fprintf(w, "commit: %s\n", rev)
	}
	if t := vcs["vcs.time"]; t != "" {
		fmt.Fprintf(w, "commit date: %s\n", t)
	}
	return nil
}
