package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"kwsearch/api"
)

func newShareCmd(e *env) *cobra.Command {
	var keywords string
	cmd := &cobra.Command{
		Use:   "share [--keywords W,W...] PATH...",
		Short: "Index and publish files (a folder: its files, recursively)",
		Long: "Indexes and publishes each file. Prints one line per file: CID<TAB>PATH<TAB>keywords.\n" +
			"A path that cannot be shared is reported on stderr; the others are still shared, and the exit status is 1.",
		Args: minArgs(1, "path to share"),
		RunE: func(cmd *cobra.Command, args []string) error {
			req := api.ShareRequest{Keywords: splitKeywords(keywords)}
			for _, a := range args {
				abs, err := filepath.Abs(a)
				if err != nil {
					return fmt.Errorf("share: %s: %w", a, err)
				}
				req.Paths = append(req.Paths, abs)
			}
			c, err := e.client()
			if err != nil {
				return err
			}
			return runShare(cmd, e, c, req, pathNamer(args, req.Paths))
		},
	}
	cmd.Flags().StringVar(&keywords, "keywords", "", "extra keywords for every file, comma-separated")
	return cmd
}

func splitKeywords(s string) []string {
	var out []string
	for _, w := range strings.Split(s, ",") {
		if w = strings.TrimSpace(w); w != "" {
			out = append(out, w)
		}
	}
	return out
}

// pathNamer returns a function that shows a path from the daemon (absolute)
// the way the user gave it: relative paths stay relative, like find(1).
func pathNamer(given, abs []string) func(string) string {
	return func(p string) string {
		for i, a := range abs {
			if p == a {
				return given[i]
			}
			if rel, ok := strings.CutPrefix(p, a+string(filepath.Separator)); ok {
				return filepath.Join(given[i], rel)
			}
		}
		return p
	}
}

func runShare(cmd *cobra.Command, e *env, c *api.Client, req api.ShareRequest, show func(string) string) error {
	bar := newShareBar(e.stderr)
	failed := 0
	done, err := c.Share(cmd.Context(), req, func(ev api.ShareEvent) {
		switch ev.Type {
		case api.EventFile:
			bar.clear()
			fmt.Fprintf(e.stdout, "%s\t%s\t%s\n", ev.CID, show(ev.Path), strings.Join(ev.Keywords, ","))
		case api.EventFailed:
			failed++
			bar.clear()
			fmt.Fprintf(e.stderr, "kwnode: share: %s: %s\n", show(ev.Path), ev.Error)
		}
		bar.update(ev)
	})
	bar.finish()
	if err != nil {
		return fmt.Errorf("share: %w", e.explain(err))
	}
	if failed > 0 || done.Failed > 0 {
		n := max(failed, done.Failed)
		return fmt.Errorf("share: %d of %d files could not be shared (see above)", n, n+done.FilesDone)
	}
	return nil
}

// shareBar shows a byte progress bar on a terminal for large shares.
type shareBar struct {
	bar *progressbar.ProgressBar
	tty bool
	w   io.Writer
}

func newShareBar(w io.Writer) *shareBar { return &shareBar{tty: isTerminal(w), w: w} }

func (b *shareBar) update(ev api.ShareEvent) {
	if !b.tty || ev.BytesTotal < 64<<20 { // small shares finish before a bar helps
		return
	}
	if b.bar == nil {
		b.bar = progressbar.NewOptions64(ev.BytesTotal, progressbar.OptionSetWriter(b.w),
			progressbar.OptionShowBytes(true), progressbar.OptionSetDescription("indexing"),
			progressbar.OptionThrottle(100*time.Millisecond), progressbar.OptionClearOnFinish())
	}
	b.bar.ChangeMax64(ev.BytesTotal)
	b.bar.Set64(ev.BytesDone)
}

func (b *shareBar) clear() {
	if b.bar != nil {
		b.bar.Clear()
	}
}

func (b *shareBar) finish() {
	if b.bar != nil {
		b.bar.Finish()
	}
}

func newUnshareCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "unshare CID",
		Short: "Withdraw a shared file's records",
		Args:  exactArgs(1, "CID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := api.CheckCID(args[0]); err != nil {
				return fmt.Errorf("unshare: %w", e.explain(err))
			}
			c, err := e.client()
			if err != nil {
				return err
			}
			res, err := c.Unshare(cmd.Context(), api.UnshareRequest{CID: args[0]})
			if err != nil {
				return fmt.Errorf("unshare: %w", e.explain(err))
			}
			fmt.Fprintf(e.stdout, "unshared %s\t%s\n", res.CID, res.Path)
			return nil
		},
	}
}

func newSharesCmd(e *env) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "shares [--json]",
		Short: "List this node's shared files",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := e.client()
			if err != nil {
				return err
			}
			shares, err := c.Shares(cmd.Context())
			if err != nil {
				return fmt.Errorf("shares: %w", e.explain(err))
			}
			if asJSON {
				return writeJSON(e.stdout, shares)
			}
			tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "CID\tSIZE\tPATH\tKEYWORDS")
			for _, s := range shares {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", s.CID, humanBytes(s.Size), s.Path, strings.Join(s.Keywords, ","))
			}
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print a JSON array")
	return cmd
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
