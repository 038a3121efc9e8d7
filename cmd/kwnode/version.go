package main

import (
	"fmt"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// buildVersion returns the module version and VCS commit of this binary.
func buildVersion() (version, commit string) {
	version, commit = "(devel)", "unknown"
	if bi, ok := debug.ReadBuildInfo(); ok {
		if bi.Main.Version != "" {
			version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				commit = s.Value
			}
		}
	}
	return version, commit
}

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print version and commit",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			version, commit := buildVersion()
			fmt.Fprintf(cmd.OutOrStdout(), "kwnode %s commit %s\n", version, commit)
			return nil
		},
	}
}
