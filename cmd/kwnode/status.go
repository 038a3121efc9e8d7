package main

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
)

func newStatusCmd(e *env) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "status [--json]",
		Short: "Show the node: identity, addresses, mode, reachability, ring",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := e.client()
			if err != nil {
				return err
			}
			st, err := c.Status(cmd.Context())
			if err != nil {
				return fmt.Errorf("status: %w", e.explain(err))
			}
			if asJSON {
				return writeJSON(e.stdout, st)
			}
			tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintf(tw, "peer id:\t%s\n", st.PeerID)
			fmt.Fprintf(tw, "mode:\t%s\n", st.Mode)
			fmt.Fprintf(tw, "reachability:\t%s\n", st.Reachability)
			fmt.Fprintf(tw, "peers:\t%d\n", st.Peers)
			for i, a := range st.Addrs {
				fmt.Fprintf(tw, "%s\t%s\n", label(i, "addresses:"), a)
			}
			for i, a := range st.Relays {
				fmt.Fprintf(tw, "%s\t%s\n", label(i, "relays:"), a)
			}
			if st.Ring.ID != "" {
				fmt.Fprintf(tw, "ring id:\t%s\n", st.Ring.ID)
				fmt.Fprintf(tw, "successor:\t%s\n", orNone(st.Ring.Successor))
				fmt.Fprintf(tw, "predecessor:\t%s\n", orNone(st.Ring.Predecessor))
				fmt.Fprintf(tw, "records held:\t%d\n", st.Ring.Records)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print a JSON object")
	return cmd
}

func label(i int, s string) string {
	if i == 0 {
		return s
	}
	return strings.Repeat(" ", len(s))
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

func newPeersCmd(e *env) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "peers [--json]",
		Short: "List connected peers",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := e.client()
			if err != nil {
				return err
			}
			peers, err := c.Peers(cmd.Context())
			if err != nil {
				return fmt.Errorf("peers: %w", e.explain(err))
			}
			if asJSON {
				return writeJSON(e.stdout, peers)
			}
			tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "PEER ID\tCONNECTION\tADDRESS")
			for _, p := range peers {
				kind := "direct"
				if !p.Direct {
					kind = "relayed"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\n", p.PeerID, kind, p.Addr)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print a JSON array")
	return cmd
}
