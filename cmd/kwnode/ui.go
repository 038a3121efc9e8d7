package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"kwsearch/repo"
)

func newUICmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "ui",
		Short: "Print the URL of the daemon's local web page",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			path, err := e.repoPath()
			if err != nil {
				return err
			}
			c, err := e.client()
			if err != nil {
				return err
			}
			// Make sure a daemon answers before handing out a URL.
			if _, err := c.Status(cmd.Context()); err != nil {
				return fmt.Errorf("ui: %w", e.explain(err))
			}
			addr, err := repo.ReadAPI(path)
			if err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "http://%s/\n", addr)
			return nil
		},
	}
}
