package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"kwsearch/blockxfer"
)

func main() {
	mode := flag.String("mode", "single", "single | multi | mem")
	sizeMiB := flag.Int("size", 256, "file size in MiB (single, multi)")
	sizes := flag.String("sizes", "64,1024", "file sizes in MiB, comma-separated (mem)")
	rounds := flag.Int("rounds", 3, "rounds per measurement; the best and the median are reported")
	rateMB := flag.Float64("rate", 20, "per-provider rate limit in MB/s (multi)")
	mixed := flag.String("rates", "", "multi: instead of -rate, one limit per provider in MB/s, comma-separated (e.g. 5,10,20,40)")
	transport := flag.String("transport", "tcp", "tcp | quic")
	seed := flag.Int64("seed", 1, "seed of the file contents")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the measured transfers here")
	tracefile := flag.String("trace", "", "write an execution trace of the measured transfers here")
	only := flag.String("only", "", "single: run only raw or only blockxfer rounds (for profiling one side)")
	fetchOpts, serverCfg := blockxfer.DefaultFetchOptions(), blockxfer.DefaultServerConfig()
	flag.IntVar(&fetchOpts.InitialWindow, "initwindow", fetchOpts.InitialWindow, "FetchOptions.InitialWindow")
	flag.IntVar(&fetchOpts.MaxWindow, "maxwindow", fetchOpts.MaxWindow, "FetchOptions.MaxWindow")
	flag.IntVar(&serverCfg.Pipeline, "pipeline", serverCfg.Pipeline, "ServerConfig.Pipeline")
	flag.Parse()
	if err := errors.Join(fetchOpts.Validate(), serverCfg.Validate()); err != nil {
		fail(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	dir, err := os.MkdirTemp("", "blockxfer-bench-")
	if err != nil {
		fail(err)
	}
	defer os.RemoveAll(dir)
	env := &env{dir: dir, seed: *seed, transport: *transport, rounds: *rounds, cpuprofile: *cpuprofile, tracefile: *tracefile,
		fetchOpts: fetchOpts, serverCfg: serverCfg, only: *only}
	switch *mode {
	case "single":
		err = env.single(ctx, int64(*sizeMiB)<<20)
	case "multi":
		if *mixed != "" {
			err = env.mixed(ctx, int64(*sizeMiB)<<20, *mixed)
		} else {
			err = env.multi(ctx, int64(*sizeMiB)<<20, *rateMB*1e6)
		}
	case "mem":
		var list []int64
		for _, s := range strings.Split(*sizes, ",") {
			n, perr := strconv.Atoi(strings.TrimSpace(s))
			if perr != nil {
				fail(fmt.Errorf("bad -sizes: %v", perr))
			}
			list = append(list, int64(n)<<20)
		}
		err = env.memory(ctx, list)
	default:
		err = fmt.Errorf("unknown -mode %q", *mode)
	}
	env.stopProfile()
	if err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "bench:", err)
	os.Exit(1)
}
