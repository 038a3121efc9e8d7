package main

import (
	"fmt"
	"os/exec"

	"github.com/spf13/cobra"
)

func newUICmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "ui",
		Short: "Print (and open, on a desktop) a one-time URL to the daemon's local web page",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := e.client()
			if err != nil {
				return fmt.Errorf("ui: %w", e.explain(err))
			}
			login, err := c.UILogin(cmd.Context())
			if err != nil {
				return fmt.Errorf("ui: %w", e.explain(err))
			}
			fmt.Fprintln(e.stdout, login.URL)
			if e.getenv("DISPLAY") != "" || e.getenv("WAYLAND_DISPLAY") != "" {
				openBrowser(e, login.URL)
			}
			return nil
		},
	}
}

// openBrowser asks the desktop to open url; the printed URL is the
// fallback, so a failure is only mentioned.
func openBrowser(e *env, url string) {
	cmd := exec.Command("xdg-open", url)
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(e.stderr, "ui: could not open a browser (%v); open the URL above\n", err)
		return
	}
	go cmd.Wait()
}
