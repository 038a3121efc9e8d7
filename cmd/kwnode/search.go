package main

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"kwsearch/api"
)

func newSearchCmd(e *env) *cobra.Command {
	var (
		asJSON bool
		limit  int
	)
	cmd := &cobra.Command{
		Use:   "search [--json] [--limit N] WORD...",
		Short: "Find files whose names match all words",
		Args:  minArgs(1, "word to search for"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if limit < 0 || limit > api.MaxSearchLimit {
				return usagef("search: --limit must be between 1 and %d, got %d", api.MaxSearchLimit, limit)
			}
			c, err := e.client()
			if err != nil {
				return err
			}
			hits, err := c.Search(cmd.Context(), api.SearchRequest{Words: args, Limit: limit})
			if err != nil {
				return fmt.Errorf("search: %w", e.explain(err))
			}
			if asJSON {
				return writeJSON(e.stdout, hits)
			}
			if len(hits) == 0 {
				fmt.Fprintf(e.stderr, "no files match %q\n", strings.Join(args, " "))
				return nil
			}
			tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "SCORE\tSIZE\tPROVIDERS\tCID\tNAME")
			for _, h := range hits {
				fmt.Fprintf(tw, "%.2f\t%s\t%d\t%s\t%s\n", h.Score, humanBytes(h.Size), len(h.Providers), h.CID, h.Name)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print a JSON array, best first")
	cmd.Flags().IntVar(&limit, "limit", 0, "at most N results (default: the node's default)")
	return cmd
}
