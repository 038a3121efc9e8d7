package main

import (
	"context"
	"fmt"
	"math/rand"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
)

// loopbackResult is CPU and memory cost on real hosts over 127.0.0.1, where
// dials, handshakes and encryption are real and latency is not.
type loopbackResult struct {
	Nodes       int      `json:"nodes"`
	Transports  string   `json:"transports"`
	Searches    int      `json:"searches"`
	KadStartS   *float64 `json:"kad_start_s"`
	StartS      *float64 `json:"start_s"`
	KadHeap     *float64 `json:"kad_mem_per_node_bytes"`
	Heap        *float64 `json:"mem_per_node_bytes"`
	KadProvideS *float64 `json:"kad_provide_s"`
	PublishS    *float64 `json:"publish_s"`
	KadProvCPU  *float64 `json:"kad_provide_cpu_s"`
	PublishCPU  *float64 `json:"publish_cpu_s"`
	KadSearchMs *float64 `json:"kad_findprov_p50_ms"`
	SearchMs    *float64 `json:"search_p50_ms"`
	KadCPUms    *float64 `json:"kad_cpu_ms_per_search"`
	CPUms       *float64 `json:"cpu_ms_per_search"`
	KadIdleCPU  *float64 `json:"kad_idle_cpu_ms_per_s"` // whole process, nothing asked
	IdleCPU     *float64 `json:"idle_cpu_ms_per_s"`
	MemRatio    *float64 `json:"mem_ratio"`
	CPURatio    *float64 `json:"cpu_ratio"`
	Missing     []string `json:"missing"`
}

// newLoopbackHosts starts n real hosts listening on TCP and QUIC on
// 127.0.0.1 with keys drawn from rng.
func newLoopbackHosts(rng *rand.Rand, n int) ([]host.Host, error) {
	var hosts []host.Host
	for i := 0; i < n; i++ {
		sk, _, err := crypto.GenerateEd25519Key(rng)
		if err != nil {
			closeHosts(hosts)
			return nil, fmt.Errorf("bench: loopback key %d: %w", i, err)
		}
		h, err := libp2p.New(
			libp2p.Identity(sk),
			libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0", "/ip4/127.0.0.1/udp/0/quic-v1"),
		)
		if err != nil {
			closeHosts(hosts)
			return nil, fmt.Errorf("bench: loopback host %d: %w", i, err)
		}
		hosts = append(hosts, h)
	}
	return hosts, nil
}

func closeHosts(hosts []host.Host) {
	for _, h := range hosts {
		_ = h.Close()
	}
}

// runLoopback measures both systems on cfg.LoopbackNodes real hosts.
func runLoopback(ctx context.Context, cfg Config) (*loopbackResult, error) {
	hosts, err := newLoopbackHosts(seededRand(cfg.Seed, "loopback-keys"), cfg.LoopbackNodes)
	if err != nil {
		return nil, err
	}
	defer closeHosts(hosts)
	cfg.logf("loopback: %d real hosts on 127.0.0.1 (TCP and QUIC)", len(hosts))
	run, err := runBoth(ctx, cfg, "loopback", hosts, cfg.Files, cfg.LoopbackSearches, 4, nil)
	if err != nil {
		return nil, err
	}
	lb := &loopbackResult{Nodes: len(hosts), Transports: "tcp+quic", Searches: cfg.LoopbackSearches, Missing: []string{}}
	if k := run.Kad; k != nil {
		lb.KadStartS = ptr(k.StartS)
		lb.KadHeap = ptr(k.HeapPerNode)
		lb.KadProvideS = ptr(k.PublishS)
		lb.KadProvCPU = ptr(k.PublishCPUs)
		lb.KadSearchMs = ptr(percentile(k.SearchFirstMs, 50))
		lb.KadCPUms = ptr(k.SearchCPUms)
		lb.KadIdleCPU = ptr(k.IdleCPU * 1000)
	} else if run.KadErr != nil {
		lb.Missing = append(lb.Missing, missing("kad-dht", run.KadErr))
	}
	if o := run.Ours; o != nil {
		lb.StartS = ptr(o.StartS)
		lb.Heap = ptr(o.HeapPerNode)
		lb.PublishS = ptr(o.PublishS)
		lb.PublishCPU = ptr(o.PublishCPUs)
		lb.SearchMs = ptr(percentile(o.SearchFirstMs, 50))
		lb.CPUms = ptr(o.SearchCPUms)
		lb.IdleCPU = ptr(o.IdleCPU * 1000)
	} else if run.OursErr != nil {
		lb.Missing = append(lb.Missing, missing("kwsearch", run.OursErr))
	}
	lb.MemRatio = ratio(lb.Heap, lb.KadHeap)
	lb.CPURatio = ratio(lb.CPUms, lb.KadCPUms)
	return lb, nil
}
