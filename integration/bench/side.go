package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"syscall"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
)

// errUnavailable marks a system that this build cannot run yet.
var errUnavailable = errors.New("bench: not available in this build")

// system is one side of the comparison running on a set of hosts.
type system interface {
	// Start brings the system up on every host and waits until it is warm.
	Start(ctx context.Context, hosts []host.Host) error
	// Publish shares every file of w from host w.Publisher.
	Publish(ctx context.Context, w *workload) (publishStats, error)
	// Search runs one search and reports when the first full result (or
	// provider) arrived and when the search completed.
	Search(ctx context.Context, s search, w *workload) (searchSample, error)
	// Close stops the system on every host (not the hosts).
	Close() error
	// Messages is the count of requests sent so far.
	Messages() int64
}

type publishStats struct {
	RPCs    int // requests the API reports (0: not reported)
	Lookups int
	Keys    int // keys published
	Mode    string
	// PerKeyMs is the latency of each per-key operation (kad-dht's Provide).
	PerKeyMs []float64
}

type searchSample struct {
	First   time.Duration
	Done    time.Duration
	Hops    int
	Results int
	// OwnerRTT is the link round trip between the searcher and the host
	// that answered (0: unknown, or answered locally).
	OwnerRTT time.Duration
	// Fresh is true when the searcher had no connection to the host that
	// answered before the search (the read dialed it).
	Fresh bool
}

// sideResult is what one system measured on one network.
type sideResult struct {
	StartS          float64
	HeapStartPerN   float64 // live heap per host once warm
	IdleMsgsPerS    float64 // requests per second with nothing asked (maintenance)
	IdleCPU         float64 // CPU seconds per second with nothing asked
	HeapPerNode     float64 // live heap per host after the publish
	PublishS        float64
	PublishMsgs     int64
	Publish         publishStats
	PublishCPUs     float64
	SearchFirstMs   []float64
	SearchDoneMs    []float64
	Hops            []float64
	SearchFailed    int
	SearchMsgs      int64
	SearchCPUms     float64 // CPU time per search
	SearchWallS     float64
	FirstSearchErr  string
	SearchedResults int
	// Per successful search, in SearchFirstMs's order (ours only): the
	// answering host's link RTT (0: local or unknown) and whether the
	// searcher dialed it.
	SearchOwnerRTTms []float64
	SearchFresh      []bool
	// Tables is the one-hop tables' completeness (nil: not one-hop).
	Tables *tableStats
}

// measure runs a system through start, publish and searches on hosts.
func measure(ctx context.Context, cfg Config, name string, sys system, hosts []host.Host, w *workload) (*sideResult, error) {
	r := &sideResult{}
	heap0 := liveHeap()
	t0 := time.Now()
	if err := sys.Start(ctx, hosts); err != nil {
		return nil, fmt.Errorf("%s: start: %w", name, err)
	}
	r.StartS = time.Since(t0).Seconds()
	if tr, ok := sys.(interface{ TableStats() (tableStats, bool) }); ok {
		if st, ok := tr.TableStats(); ok {
			r.Tables = &st
		}
	}
	r.HeapStartPerN = perNode(heap0, liveHeap(), len(hosts))
	m0, t1, c0 := sys.Messages(), time.Now(), cpuTime()
	select {
	case <-time.After(cfg.IdleSample):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	r.IdleMsgsPerS = float64(sys.Messages()-m0) / time.Since(t1).Seconds()
	r.IdleCPU = (cpuTime() - c0).Seconds() / time.Since(t1).Seconds()
	cfg.logf("%s: warm on %d hosts in %.1fs; %.0f requests/s when idle", name, len(hosts), r.StartS, r.IdleMsgsPerS)

	msgs0, cpu0 := sys.Messages(), cpuTime()
	t0 = time.Now()
	ps, err := sys.Publish(ctx, w)
	if err != nil {
		return nil, fmt.Errorf("%s: publish: %w", name, err)
	}
	r.PublishS = time.Since(t0).Seconds()
	r.PublishCPUs = (cpuTime() - cpu0).Seconds()
	r.PublishMsgs = sys.Messages() - msgs0
	r.Publish = ps
	r.HeapPerNode = perNode(heap0, liveHeap(), len(hosts))
	cfg.logf("%s: published %d files (%d keys) in %.2fs, %d messages", name, len(w.Files), ps.Keys, r.PublishS, r.PublishMsgs)

	msgs0, cpu0 = sys.Messages(), cpuTime()
	t0 = time.Now()
	runSearches(ctx, cfg, name, sys, w, r)
	r.SearchWallS = time.Since(t0).Seconds()
	r.SearchMsgs = sys.Messages() - msgs0
	if n := len(w.Searches); n > 0 {
		r.SearchCPUms = ms(cpuTime()-cpu0) / float64(n)
	}
	cfg.logf("%s: %d searches in %.1fs, %d failed; first result p50 %.1f ms, p99 %.1f ms; complete p50 %.1f ms; heap per host %.0f KiB",
		name, len(w.Searches), r.SearchWallS, r.SearchFailed, percentile(r.SearchFirstMs, 50), percentile(r.SearchFirstMs, 99),
		percentile(r.SearchDoneMs, 50), r.HeapPerNode/1024)
	return r, nil
}

// runSearches answers w's searches, cfg.SearchParallel at a time.
func runSearches(ctx context.Context, cfg Config, name string, sys system, w *workload, r *sideResult) {
	var mu sync.Mutex
	_ = parallel(ctx, cfg.SearchParallel, len(w.Searches), func(ctx context.Context, i int) error {
		sctx, cancel := context.WithTimeout(ctx, cfg.SearchTimeout)
		defer cancel()
		s, err := sys.Search(sctx, w.Searches[i], w)
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			r.SearchFailed++
			if r.FirstSearchErr == "" {
				r.FirstSearchErr = err.Error()
				cfg.logf("%s: search %d (%q from host %d): %v", name, i, w.Searches[i].Word, w.Searches[i].Host, err)
			}
			return nil
		}
		r.SearchFirstMs = append(r.SearchFirstMs, ms(s.First))
		r.SearchDoneMs = append(r.SearchDoneMs, ms(s.Done))
		r.Hops = append(r.Hops, float64(s.Hops))
		r.SearchOwnerRTTms = append(r.SearchOwnerRTTms, ms(s.OwnerRTT))
		r.SearchFresh = append(r.SearchFresh, s.Fresh)
		r.SearchedResults += s.Results
		return nil
	})
}

// cpuTime is the process's user plus system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
