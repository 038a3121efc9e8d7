package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
)

// networkRun is both systems measured on one network.
type networkRun struct {
	Nodes    int
	MeanRTT  time.Duration
	Work     *workload
	Kad      *sideResult
	Ours     *sideResult
	KadErr   error
	OursErr  error
	Topology string
}

// runLatency builds an n-host latency network and measures both systems on
// it, kad-dht first, then ours on the same hosts after every connection
// kad-dht opened has been closed.
func runLatency(ctx context.Context, cfg Config, n, files, searches int) (*networkRun, error) {
	label := fmt.Sprintf("latency-%d", n)
	ln, err := newLatencyNet(seededRand(cfg.Seed, label+"-net"), n, cfg.RTTMin, cfg.RTTMax, cfg.KadFullRT > 0)
	if err != nil {
		return nil, err
	}
	defer ln.Close()
	cfg.logf("latency network: %d hosts, seed %d, RTT %v..%v, mean RTT %.1f ms", n, cfg.Seed, cfg.RTTMin, cfg.RTTMax, ms(ln.MeanRTT))
	run, err := runBoth(ctx, cfg, label, ln.Hosts, files, searches, 32, ln.RTT)
	if err != nil {
		return nil, err
	}
	run.MeanRTT = ln.MeanRTT
	run.Topology = "mocknet"
	return run, nil
}

// runBoth measures kad-dht, then ours, on the same hosts and workload.
// dialWidth is how many dials run at once while connecting: mocknet dials
// are free, real ones (loopback) each cost a handshake's CPU. rtt, when
// known, is the link round trip between two hosts.
func runBoth(ctx context.Context, cfg Config, label string, hosts []host.Host, files, searches, dialWidth int,
	rtt func(a, b peer.ID) time.Duration) (*networkRun, error) {
	w, err := newWorkload(seededRand(cfg.Seed, label+"-workload"), len(hosts), files, cfg.KeywordsPerFile, cfg.Vocabulary, searches)
	if err != nil {
		return nil, err
	}
	run := &networkRun{Nodes: len(hosts), Work: w}
	if !cfg.SkipKad {
		k := newKadSystem(cfg, cfg.Seed, w.Publisher)
		k.dialWidth = dialWidth
		var sys system = k
		if cfg.KadFullRT > 0 {
			f := newFullRTSystem(cfg, cfg.Seed, w.Publisher, cfg.KadFullRT)
			f.dialWidth = dialWidth
			sys = f
		}
		run.Kad, run.KadErr = measure(ctx, cfg, label+" kad-dht", sys, hosts, w)
		if err := sys.Close(); err != nil && run.KadErr == nil {
			run.KadErr = err
		}
		disconnectAll(hosts)
		if run.KadErr != nil {
			cfg.logf("%s kad-dht: %v", label, run.KadErr)
		}
	}
	if !cfg.SkipOurs {
		o := newOursSystem(cfg, cfg.Seed, rtt)
		run.Ours, run.OursErr = measure(ctx, cfg, label+" kwsearch", o, hosts, w)
		if err := o.Close(); err != nil && run.OursErr == nil {
			run.OursErr = err
		}
		disconnectAll(hosts)
		if run.OursErr != nil {
			cfg.logf("%s kwsearch: %v", label, run.OursErr)
		}
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	return run, nil
}

// run is the whole benchmark: the latency network at cfg.Nodes, the sizes
// for the plot, loopback and transfer.
func run(ctx context.Context, cfg Config) (*Result, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	res := newResult(cfg)
	main, err := runLatency(ctx, cfg, cfg.Nodes, cfg.Files, cfg.Searches)
	if err != nil {
		return nil, err
	}
	res.addLatency(main)
	res.Sizes = append(res.Sizes, sizePointOf(main))
	for _, n := range cfg.Sizes {
		if n == cfg.Nodes {
			continue
		}
		r, err := runLatency(ctx, cfg, n, cfg.SizesFiles, cfg.SizesSearches)
		if err != nil {
			return nil, fmt.Errorf("bench: size %d: %w", n, err)
		}
		res.Sizes = append(res.Sizes, sizePointOf(r))
	}
	res.sortSizes()
	if cfg.LoopbackNodes > 0 {
		lb, err := runLoopback(ctx, cfg)
		if err != nil {
			return nil, err
		}
		res.Loopback = lb
	}
	if !cfg.SkipXfer {
		x, err := runXfer(ctx, cfg)
		if err != nil {
			return nil, err
		}
		res.addXfer(x)
	}
	res.finish()
	if cfg.Plot != "" {
		if err := writePlot(cfg.Plot, res); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// missing describes why a figure is absent.
func missing(what string, err error) string {
	if errors.Is(err, errUnavailable) {
		return what + ": not available in this build"
	}
	return what + ": " + err.Error()
}
