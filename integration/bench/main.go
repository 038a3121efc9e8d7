package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	os.Exit(realMain(os.Args[1:], os.Stdout, os.Stderr))
}

// realMain parses args, runs the benchmark and prints the result; it returns
// the exit status (2 for bad usage).
func realMain(args []string, stdout, stderr io.Writer) int {
	cfg, asJSON, cpuProfile, err := parseFlags(args, stderr)
	if err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		fmt.Fprintln(stderr, err)
		return 2
	}
	if cfg.FromJSON != "" {
		return render(cfg, stdout, stderr)
	}
	if err := cfg.Validate(); err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	cfg.Progress = func(format string, args ...any) {
		fmt.Fprintf(stderr, time.Now().Format("15:04:05 ")+format+"\n", args...)
	}
	if cpuProfile != "" {
		f, err := os.Create(cpuProfile)
		if err != nil {
			fmt.Fprintln(stderr, "bench:", err)
			return 1
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(stderr, "bench:", err)
			return 1
		}
		defer pprof.StopCPUProfile()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := run(ctx, cfg)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(res); err != nil {
			fmt.Fprintln(stderr, "bench:", err)
			return 1
		}
		return 0
	}
	writeTable(stdout, res)
	return 0
}

func parseFlags(args []string, stderr io.Writer) (Config, bool, string, error) {
	cfg := DefaultConfig()
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	asJSON := fs.Bool("json", false, "print one JSON object instead of tables")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	fs.IntVar(&cfg.Nodes, "nodes", cfg.Nodes, "hosts on the latency network")
	sizes := fs.String("sizes", "", "comma-separated network sizes to also run, for the plot (e.g. 50,200,1000)")
	fs.IntVar(&cfg.Files, "files", cfg.Files, "files the publisher shares")
	fs.IntVar(&cfg.KeywordsPerFile, "keywords", cfg.KeywordsPerFile, "mean keywords per file name")
	fs.IntVar(&cfg.Vocabulary, "vocabulary", cfg.Vocabulary, "distinct words file names draw from")
	fs.IntVar(&cfg.Searches, "searches", cfg.Searches, "searches per system on the latency network")
	fs.IntVar(&cfg.SearchParallel, "search-parallel", cfg.SearchParallel, "searches running at once")
	fs.Int64Var(&cfg.Seed, "seed", cfg.Seed, "seed for keys, RTTs, connections and workload")
	fs.DurationVar(&cfg.RTTMin, "rtt-min", cfg.RTTMin, "smallest round-trip time between two hosts")
	fs.DurationVar(&cfg.RTTMax, "rtt-max", cfg.RTTMax, "largest round-trip time between two hosts")
	fs.IntVar(&cfg.Degree, "degree", cfg.Degree, "random hosts each host dials before bootstrap")
	fs.IntVar(&cfg.KadWorkers, "kad-workers", cfg.KadWorkers, "kad-dht Provide workers")
	fs.IntVar(&cfg.KadFullRT, "kad-fullrt", 0, "search kad-dht from this many accelerated (fullrt) clients, each crawling the network first; hosts get public addresses (0: search from the server DHTs)")
	fs.IntVar(&cfg.SizesFiles, "sizes-files", cfg.SizesFiles, "files published in each --sizes run")
	fs.IntVar(&cfg.SizesSearches, "sizes-searches", cfg.SizesSearches, "searches per system in each --sizes run")
	fs.DurationVar(&cfg.IdleSample, "idle-sample", cfg.IdleSample, "how long each system is watched idle to measure its maintenance traffic")
	fs.DurationVar(&cfg.RingTick, "ring-tick", cfg.RingTick, "the ring's tick once it has formed (it forms at 100 ms ticks); the daemon's is 1s")
	fs.IntVar(&cfg.RingRequestTimeoutTicks, "ring-timeout-ticks", 0, "ring request timeout in ring ticks (0: the daemon's default)")
	fs.BoolVar(&cfg.OneHop, "one-hop", false, "run our ring with one-hop routing (membership tables) and wait for full tables")
	fs.DurationVar(&cfg.SearchTimeout, "search-timeout", cfg.SearchTimeout, "deadline of one search")
	fs.IntVar(&cfg.LoopbackNodes, "loopback-nodes", cfg.LoopbackNodes, "real hosts on 127.0.0.1 (0: skip)")
	fs.IntVar(&cfg.LoopbackSearches, "loopback-searches", cfg.LoopbackSearches, "searches per system on loopback")
	fs.IntVar(&cfg.XferMiB, "xfer-mib", cfg.XferMiB, "size of the transfer benchmark's file in MiB")
	fs.BoolVar(&cfg.SkipXfer, "skip-xfer", false, "skip the transfer benchmark")
	fs.BoolVar(&cfg.SkipOurs, "skip-ours", false, "measure only kad-dht and raw streams")
	fs.BoolVar(&cfg.SkipKad, "skip-kad", false, "measure only kwsearch")
	fs.StringVar(&cfg.FromJSON, "from-json", "", "print the tables (and --plot) of results saved with --json instead of running; several files (comma-separated) are merged, the first being the headline")
	fs.StringVar(&cfg.Plot, "plot", "", "write a PNG of search latency against network size to this file")
	if err := fs.Parse(args); err != nil {
		return cfg, false, "", err
	}
	if fs.NArg() > 0 {
		return cfg, false, "", fmt.Errorf("bench: unexpected argument %q", fs.Arg(0))
	}
	if *sizes != "" {
		for _, s := range strings.Split(*sizes, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(s))
			if err != nil {
				return cfg, false, "", fmt.Errorf("bench: --sizes: %q is not a number", s)
			}
			cfg.Sizes = append(cfg.Sizes, n)
		}
	}
	return cfg, *asJSON, *cpuProfile, nil
}

// render prints the tables of saved results (a comma-separated list,
// merged: see mergeResults) and draws their plot.
func render(cfg Config, stdout, stderr io.Writer) int {
	var rs []*Result
	for _, path := range strings.Split(cfg.FromJSON, ",") {
		b, err := os.ReadFile(path)
		if err != nil {
			fmt.Fprintln(stderr, "bench:", err)
			return 1
		}
		r := new(Result)
		if err := json.Unmarshal(b, r); err != nil {
			fmt.Fprintf(stderr, "bench: %s: %v\n", path, err)
			return 1
		}
		rs = append(rs, r)
	}
	r, err := mergeResults(rs)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	writeTable(stdout, r)
	if cfg.Plot != "" {
		if err := writePlot(cfg.Plot, r); err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
	}
	return 0
}
