package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"kwsearch/api"
)

func newGetCmd(e *env) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "get [-o PATH] CID",
		Short: "Download a file, verify it, resume a partial download",
		Long: "Downloads the file named by CID. Without -o it is saved under its published name\n" +
			"in the current folder (never outside it).",
		Args: exactArgs(1, "CID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := api.CheckCID(args[0]); err != nil {
				return fmt.Errorf("get: %w", e.explain(err))
			}
			req := api.GetRequest{CID: args[0]}
			var err error
			if output != "" {
				req.Output, err = filepath.Abs(output)
			} else {
				req.Dir, err = os.Getwd()
			}
			if err != nil {
				return fmt.Errorf("get: %w", err)
			}
			c, err := e.client()
			if err != nil {
				return err
			}
			p := newGetProgress(e.stderr)
			done, err := c.Get(cmd.Context(), req, p.update)
			p.finish()
			if err != nil {
				return fmt.Errorf("get: %w", e.explain(err))
			}
			fmt.Fprintf(e.stdout, "%s\t%s\t%d bytes\n", done.CID, done.Path, done.Total)
			return nil
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "", "write the file to PATH")
	return cmd
}

// getProgress shows a progress bar on a terminal and plain lines otherwise
// (at most one per second, and one at the end).
type getProgress struct {
	w    io.Writer
	tty  bool
	bar  *progressbar.ProgressBar
	last time.Time
}

func newGetProgress(w io.Writer) *getProgress { return &getProgress{w: w, tty: isTerminal(w)} }

func (p *getProgress) update(ev api.GetEvent) {
	if ev.Type != api.EventProgress {
		return
	}
	if p.tty {
		if p.bar == nil {
			p.bar = progressbar.NewOptions64(ev.Total, progressbar.OptionSetWriter(p.w),
				progressbar.OptionShowBytes(true), progressbar.OptionSetDescription(ev.Name),
				progressbar.OptionThrottle(100*time.Millisecond), progressbar.OptionShowCount(),
				progressbar.OptionFullWidth(), progressbar.OptionClearOnFinish())
		}
		p.bar.ChangeMax64(ev.Total)
		p.bar.Set64(ev.Bytes)
		return
	}
	if now := time.Now(); now.Sub(p.last) >= time.Second || ev.Bytes == ev.Total {
		p.last = now
		fmt.Fprintf(p.w, "get: %s: %d/%d bytes (%s) from %d peers\n", ev.Name, ev.Bytes, ev.Total, percent(ev.Bytes, ev.Total), ev.Peers)
	}
}

func (p *getProgress) finish() {
	if p.bar != nil {
		p.bar.Finish()
	}
}

func percent(a, b int64) string {
	if b <= 0 {
		return "100%"
	}
	return fmt.Sprintf("%d%%", a*100/b)
}
