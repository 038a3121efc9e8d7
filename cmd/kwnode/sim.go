package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/spf13/cobra"

	"kwsearch/chordrouting/sim"
)

// newSimCmd is `kwnode sim` (SPEC.md §5): the ring code on the simulated
// network, with the figures of issue 2's targets.
func newSimCmd() *cobra.Command {
	opt := sim.DefaultOptions()
	var asJSON, verbose bool
	cmd := &cobra.Command{
		Use:   "sim [--nodes N] [--lookups L] [--fail FRACTION] [--churn RATE] [--session D] [--one-hop] [--tick D] [--build joins|formed] [--churn-intervals N] [--seed S] [--json]",
		Short: "Run the ring on a simulated network and report lookup hops, failures and record loss",
		Long: `sim builds a ring of N nodes through real joins on a deterministic simulated
network, publishes records, then optionally crashes a fraction of the nodes at
once (--fail) or runs churn while the lookups run (--churn R: R joins and R
crashes per stabilization interval; --session D: Weibull sessions of mean D),
and checks every lookup against the sorted list of live members. The same
seed gives the same report. --build formed starts the ring settled instead of
through joins: a steady state of 100,000 one-hop nodes without the cost of
forming it.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := opt.Validate(); err != nil {
				return usageError{err}
			}
			if verbose {
				errw := cmd.ErrOrStderr()
				opt.Log = func(line string) { fmt.Fprintln(errw, line) }
			}
			// The simulation keeps a steady heap of a few hundred MiB at
			// 10,000 nodes and allocates fast; collecting at 5x the live
			// heap instead of 2x cuts the collector's share of the run by
			// about a seventh and stays far below a 2 GiB budget.
			debug.SetGCPercent(400)
			if opt.OneHop {
				// One-hop tables are most of the live heap (while the ring
				// forms they share few chunks, up to about N² handles):
				// collect at twice the live heap, not five times, to stay
				// within a few GiB at 10,000 nodes.
				debug.SetGCPercent(100)
			}
			// Ctrl-C or SIGTERM ends the run; a second one, the process
			// (a phase between two looks at Stop may be long).
			opt.Stop = cmd.Context().Done()
			defer context.AfterFunc(cmd.Context(), func() { signal.Reset(os.Interrupt, syscall.SIGTERM) })()
			rep, err := sim.Run(opt)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if asJSON {
				b, err := json.Marshal(rep)
				if err != nil {
					return fmt.Errorf("sim: encoding the report: %w", err)
				}
				_, err = fmt.Fprintln(out, string(b))
				return err
			}
			return rep.WriteTable(out)
		},
	}
	f := cmd.Flags()
	f.IntVar(&opt.Nodes, "nodes", opt.Nodes, "number of ring nodes")
	f.IntVar(&opt.Lookups, "lookups", opt.Lookups, "number of lookups to measure")
	f.Float64Var(&opt.Fail, "fail", opt.Fail, "fraction of nodes that crash at once after the records are stored")
	f.Float64Var(&opt.Churn, "churn", opt.Churn, "joins and crashes per stabilization interval while the lookups run")
	f.DurationVar(&opt.Session, "session", opt.Session, "mean session length (Weibull, shape 0.5); churn from sessions instead of --churn")
	f.BoolVar(&opt.OneHop, "one-hop", opt.OneHop, "one-hop routing: every node keeps a membership table (issue 10)")
	f.DurationVar(&opt.Tick, "tick", opt.Tick, "node tick, the unit of the ring's timings (default 100ms, or the daemon's 1s with --session)")
	f.IntVar(&opt.ChurnIntervals, "churn-intervals", opt.ChurnIntervals, "stabilization intervals of churn while the lookups run (and, with --session, of the maintenance window before them); 0: 100")
	f.StringVar(&opt.Build, "build", sim.BuildJoins, "how the ring is built: joins (real joins), or formed (started settled: a steady state without the cost of forming it)")
	f.Int64Var(&opt.Seed, "seed", opt.Seed, "random seed; the same seed replays the same run")
	f.IntVar(&opt.Records, "records", opt.Records, "records to publish (0: one per node)")
	f.BoolVar(&asJSON, "json", false, "print one JSON object")
	f.BoolVarP(&verbose, "verbose", "v", false, "print progress to stderr")
	return cmd
}
