package main

import (
	"fmt"
	"math"
	"sort"

	cr "kwsearch/chordrouting"
)

// Result is the one JSON object the command prints with --json. Figures
// that could not be measured are null, and Missing says why.
type Result struct {
	Seed           int64   `json:"seed"`
	Network        string  `json:"network"`
	OneHop         bool    `json:"one_hop"` // our ring ran with one-hop routing
	Nodes          int     `json:"nodes"`
	Degree         int     `json:"degree"`
	RTTMinMs       float64 `json:"rtt_min_ms"`
	RTTMaxMs       float64 `json:"rtt_max_ms"`
	MeanRTTMs      float64 `json:"mean_rtt_ms"`
	Files          int     `json:"files"`
	KeywordRecords int     `json:"keyword_records"` // (file, keyword) pairs
	DistinctWords  int     `json:"distinct_keywords"`
	KadKeys        int     `json:"kad_keys"` // keys kad-dht provides
	Searches       int     `json:"searches"`
	SearchParallel int     `json:"search_parallel"`

	// Ours: one-word search until the first full result.
	SearchP50Ms   *float64 `json:"search_p50_ms"`
	SearchP99Ms   *float64 `json:"search_p99_ms"`
	SearchP50RTT  *float64 `json:"search_p50_rtt"`
	SearchP99RTT  *float64 `json:"search_p99_rtt"`
	SearchFailed  *int     `json:"search_failed"`
	HopsMean      *float64 `json:"hops_mean"`
	HopsP50       *float64 `json:"hops_p50"`
	HopsP99       *float64 `json:"hops_p99"`
	SearchMsgsPer *float64 `json:"search_msgs_per_search"`
	SearchLocal   *float64 `json:"search_local_fraction"` // answered in under 1 ms: this host held the records
	IdleMsgsPerS  *float64 `json:"idle_msgs_per_s"`       // ring maintenance, all hosts together
	IdleCores     *float64 `json:"idle_cpu_cores"`        // CPU the whole process used while the system idled
	// SearchBreakdown splits our search latency by hops, fresh
	// connections and the answering host's link RTT.
	SearchBreakdown *searchBreakdown `json:"search_breakdown,omitempty"`

	// kad-dht FindProvidersAsync: first provider, and lookup complete.
	// KadClient says who searched: the server DHTs, or fullrt clients.
	KadClient            string   `json:"kad_client"`
	KadFindProvP50Ms     *float64 `json:"kad_findprov_p50_ms"`
	KadFindProvP99Ms     *float64 `json:"kad_findprov_p99_ms"`
	KadFindProvP50RTT    *float64 `json:"kad_findprov_p50_rtt"`
	KadFindProvP99RTT    *float64 `json:"kad_findprov_p99_rtt"`
	KadFindProvDoneP50Ms *float64 `json:"kad_findprov_complete_p50_ms"`
	KadFindProvDoneP99Ms *float64 `json:"kad_findprov_complete_p99_ms"`
	KadSearchFailed      *int     `json:"kad_search_failed"`
	KadSearchMsgsPer     *float64 `json:"kad_msgs_per_search"`
	KadSearchLocal       *float64 `json:"kad_findprov_local_fraction"`
	// The same percentiles without the searches the searcher answered
	// from its own provider store (under 1 ms).
	KadFindProvRemoteP50Ms *float64 `json:"kad_findprov_remote_p50_ms"`
	KadFindProvRemoteP99Ms *float64 `json:"kad_findprov_remote_p99_ms"`
	KadIdleMsgsPerS        *float64 `json:"kad_idle_msgs_per_s"`
	KadIdleCores           *float64 `json:"kad_idle_cpu_cores"`

	// Publish: the whole workload from one host.
	PublishS        *float64 `json:"publish_s"`
	PublishMessages *int64   `json:"publish_messages"`
	PublishRPCs     *int     `json:"publish_rpcs"`
	PublishLookups  *int     `json:"publish_lookups"`
	PublishRecords  *int     `json:"publish_records"`
	KadProvideS     *float64 `json:"kad_provide_s"`
	KadProvideMsgs  *int64   `json:"kad_provide_messages"`
	KadProvideMode  string   `json:"kad_provide_mode"`
	KadMsPerKey     *float64 `json:"kad_provide_ms_per_key"` // wall time / keys
	KadProvideP50Ms *float64 `json:"kad_provide_p50_ms"`     // one Provide call
	KadProvideP99Ms *float64 `json:"kad_provide_p99_ms"`

	// Live heap per host once published.
	MemPerNode    *float64 `json:"mem_per_node_bytes"`
	KadMemPerNode *float64 `json:"kad_mem_per_node_bytes"`

	// Transfer between two real hosts on loopback.
	XferMiB       int      `json:"xfer_mib"`
	XferTransport string   `json:"xfer_transport"`
	XferMBs       *float64 `json:"xfer_mb_s"`
	RawMBs        *float64 `json:"raw_mb_s"`

	SearchP50Ratio *float64 `json:"search_p50_ratio"`
	SearchP99Ratio *float64 `json:"search_p99_ratio"`
	PublishRatio   *float64 `json:"publish_ratio"`
	XferRatio      *float64 `json:"xfer_ratio"`
	MemRatio       *float64 `json:"mem_ratio"`

	Loopback *loopbackResult `json:"loopback,omitempty"`
	Sizes    []sizePoint     `json:"sizes"`
	Missing  []string        `json:"missing"`
}

// sizePoint is search latency at one network size, for the plot.
type sizePoint struct {
	Nodes          int      `json:"nodes"`
	MeanRTTMs      float64  `json:"mean_rtt_ms"`
	SearchP50Ms    *float64 `json:"search_p50_ms"`
	SearchP99Ms    *float64 `json:"search_p99_ms"`
	HopsMean       *float64 `json:"hops_mean"`
	KadFirstP50Ms  *float64 `json:"kad_findprov_p50_ms"`
	KadFirstP99Ms  *float64 `json:"kad_findprov_p99_ms"`
	KadDoneP50Ms   *float64 `json:"kad_findprov_complete_p50_ms"`
	KadDoneP99Ms   *float64 `json:"kad_findprov_complete_p99_ms"`
	MemPerNode     *float64 `json:"mem_per_node_bytes"`
	KadMemPerNode  *float64 `json:"kad_mem_per_node_bytes"`
	PublishS       *float64 `json:"publish_s"`
	KadProvideS    *float64 `json:"kad_provide_s"`
	SearchFailed   *int     `json:"search_failed"`
	KadSearchFaild *int     `json:"kad_search_failed"`
	IdleMsgsPerS   *float64 `json:"idle_msgs_per_s"`
	IdleCores      *float64 `json:"idle_cpu_cores"`
	KadIdleCores   *float64 `json:"kad_idle_cpu_cores"`
}

func newResult(cfg Config) *Result {
	return &Result{
		Seed:           cfg.Seed,
		Network:        "mocknet",
		OneHop:         cfg.OneHop,
		Nodes:          cfg.Nodes,
		Degree:         cfg.Degree,
		RTTMinMs:       ms(cfg.RTTMin),
		RTTMaxMs:       ms(cfg.RTTMax),
		Files:          cfg.Files,
		Searches:       cfg.Searches,
		SearchParallel: cfg.SearchParallel,
		KadClient:      kadClientOf(cfg),
		Missing:        []string{},
	}
}

// kadClientOf names who searches kad-dht in cfg's run.
func kadClientOf(cfg Config) string {
	if cfg.KadFullRT > 0 {
		return fmt.Sprintf("fullrt (accelerated client) on %d hosts, after its crawl", cfg.KadFullRT)
	}
	return "dht (server mode, every host)"
}

func iptr(n int) *int       { return &n }
func i64ptr(n int64) *int64 { return &n }

// addLatency fills the headline figures from the default-size network.
func (r *Result) addLatency(run *networkRun) {
	r.MeanRTTMs = ms(run.MeanRTT)
	r.KeywordRecords = run.Work.keywordCount()
	r.DistinctWords = len(run.Work.Words)
	r.KadKeys = len(kadKeys(run.Work))
	rtt := r.MeanRTTMs
	if k := run.Kad; k != nil {
		r.KadFindProvP50Ms = ptr(percentile(k.SearchFirstMs, 50))
		r.KadFindProvP99Ms = ptr(percentile(k.SearchFirstMs, 99))
		r.KadFindProvP50RTT = ptr(percentile(k.SearchFirstMs, 50) / rtt)
		r.KadFindProvP99RTT = ptr(percentile(k.SearchFirstMs, 99) / rtt)
		r.KadFindProvDoneP50Ms = ptr(percentile(k.SearchDoneMs, 50))
		r.KadFindProvDoneP99Ms = ptr(percentile(k.SearchDoneMs, 99))
		r.KadSearchFailed = iptr(k.SearchFailed)
		r.KadSearchMsgsPer = ptr(netPerSearch(k, len(run.Work.Searches)))
		r.KadSearchLocal = ptr(localFraction(k))
		remote := remoteOnly(k.SearchFirstMs)
		r.KadFindProvRemoteP50Ms = ptr(percentile(remote, 50))
		r.KadFindProvRemoteP99Ms = ptr(percentile(remote, 99))
		r.KadIdleMsgsPerS = ptr(k.IdleMsgsPerS)
		r.KadIdleCores = ptr(k.IdleCPU)
		r.KadProvideP50Ms = ptr(percentile(k.Publish.PerKeyMs, 50))
		r.KadProvideP99Ms = ptr(percentile(k.Publish.PerKeyMs, 99))
		r.KadProvideS = ptr(k.PublishS)
		r.KadProvideMsgs = i64ptr(k.PublishMsgs)
		r.KadProvideMode = k.Publish.Mode
		r.KadMsPerKey = ptr(k.PublishS * 1000 / float64(max(1, k.Publish.Keys)))
		r.KadMemPerNode = ptr(k.HeapPerNode)
	} else if run.KadErr != nil {
		r.Missing = append(r.Missing, missing("kad-dht", run.KadErr))
	}
	if o := run.Ours; o != nil {
		r.SearchP50Ms = ptr(percentile(o.SearchFirstMs, 50))
		r.SearchP99Ms = ptr(percentile(o.SearchFirstMs, 99))
		r.SearchP50RTT = ptr(percentile(o.SearchFirstMs, 50) / rtt)
		r.SearchP99RTT = ptr(percentile(o.SearchFirstMs, 99) / rtt)
		r.SearchFailed = iptr(o.SearchFailed)
		r.HopsMean = ptr(mean(o.Hops))
		r.HopsP50 = ptr(percentile(o.Hops, 50))
		r.HopsP99 = ptr(percentile(o.Hops, 99))
		// Our ring's maintenance (about 10 requests per host per second)
		// drowns a search's few requests in the process-wide count, so
		// the per-search figure is the API's: the nodes the read asked in
		// sequence, the get itself included (the ring's GetResult.Hops),
		// plus, with one-hop routing, the replica holders a read asks
		// beside the owner.
		r.SearchMsgsPer = ptr(mean(nodesAsked(o.Hops, r.OneHop)))
		r.SearchLocal = ptr(localFraction(o))
		r.SearchBreakdown = breakdownOf(o)
		r.IdleMsgsPerS = ptr(o.IdleMsgsPerS)
		r.IdleCores = ptr(o.IdleCPU)
		r.PublishS = ptr(o.PublishS)
		r.PublishMessages = i64ptr(o.PublishMsgs)
		r.PublishRPCs = iptr(o.Publish.RPCs)
		r.PublishLookups = iptr(o.Publish.Lookups)
		r.PublishRecords = iptr(o.Publish.Keys)
		r.MemPerNode = ptr(o.HeapPerNode)
	} else if run.OursErr != nil {
		r.Missing = append(r.Missing, missing("kwsearch", run.OursErr))
	}
}

func sizePointOf(run *networkRun) sizePoint {
	p := sizePoint{Nodes: run.Nodes, MeanRTTMs: ms(run.MeanRTT)}
	if k := run.Kad; k != nil {
		p.KadFirstP50Ms = ptr(percentile(k.SearchFirstMs, 50))
		p.KadFirstP99Ms = ptr(percentile(k.SearchFirstMs, 99))
		p.KadDoneP50Ms = ptr(percentile(k.SearchDoneMs, 50))
		p.KadDoneP99Ms = ptr(percentile(k.SearchDoneMs, 99))
		p.KadMemPerNode = ptr(k.HeapPerNode)
		p.KadProvideS = ptr(k.PublishS)
		p.KadSearchFaild = iptr(k.SearchFailed)
		p.KadIdleCores = ptr(k.IdleCPU)
	}
	if o := run.Ours; o != nil {
		p.SearchP50Ms = ptr(percentile(o.SearchFirstMs, 50))
		p.SearchP99Ms = ptr(percentile(o.SearchFirstMs, 99))
		p.HopsMean = ptr(mean(o.Hops))
		p.MemPerNode = ptr(o.HeapPerNode)
		p.PublishS = ptr(o.PublishS)
		p.SearchFailed = iptr(o.SearchFailed)
		p.IdleMsgsPerS = ptr(o.IdleMsgsPerS)
		p.IdleCores = ptr(o.IdleCPU)
	}
	return p
}

func (r *Result) sortSizes() {
	sort.Slice(r.Sizes, func(i, j int) bool { return r.Sizes[i].Nodes < r.Sizes[j].Nodes })
}

func (r *Result) addXfer(x *xferResult) {
	r.XferMiB = x.MiB
	r.XferTransport = x.Transport
	r.RawMBs = ptr(x.RawMBs)
	if x.OursErr != nil {
		r.Missing = append(r.Missing, missing("blockxfer transfer", x.OursErr))
		return
	}
	r.XferMBs = ptr(x.OursMBs)
}

// finish computes the ratios (ours / theirs).
func (r *Result) finish() {
	r.SearchP50Ratio = ratio(r.SearchP50Ms, r.KadFindProvP50Ms)
	r.SearchP99Ratio = ratio(r.SearchP99Ms, r.KadFindProvP99Ms)
	r.PublishRatio = ratio(r.PublishS, r.KadProvideS)
	r.XferRatio = ratio(r.XferMBs, r.RawMBs)
	r.MemRatio = ratio(r.MemPerNode, r.KadMemPerNode)
}

// finite reports whether every non-nil float in the headline is finite.
func finite(xs ...*float64) bool {
	for _, x := range xs {
		if x != nil && (math.IsNaN(*x) || math.IsInf(*x, 0)) {
			return false
		}
	}
	return true
}

// netMsgs is the requests of a phase less what the system sends when idle
// over the same time (maintenance), never below zero.
func netMsgs(total int64, idlePerS, seconds float64) int64 {
	return max(0, total-int64(idlePerS*seconds+0.5))
}

// netPerSearch is the requests per search, maintenance taken out.
func netPerSearch(s *sideResult, searches int) float64 {
	if searches == 0 {
		return math.NaN()
	}
	return float64(netMsgs(s.SearchMsgs, s.IdleMsgsPerS, s.SearchWallS)) / float64(searches)
}

// remoteOnly is xs without the local answers (under 1 ms).
func remoteOnly(xs []float64) []float64 {
	var out []float64
	for _, x := range xs {
		if x >= 1 {
			out = append(out, x)
		}
	}
	return out
}

// localFraction is the share of searches answered in under a millisecond:
// the searching host held the records itself.
func localFraction(s *sideResult) float64 {
	if len(s.SearchFirstMs) == 0 {
		return math.NaN()
	}
	n := 0
	for _, x := range s.SearchFirstMs {
		if x < 1 {
			n++
		}
	}
	return float64(n) / float64(len(s.SearchFirstMs))
}

// nodesAsked is, per search, the nodes its read asked: its hops, and with
// one-hop routing the ReadFanout-1 replica holders a read that left this
// node (hops >= 1) asked at the same moment as the owner (the daemon's
// configuration, as ours.go runs it: chordrouting's EnableOneHop; rings
// of more than ReadFanout hosts).
func nodesAsked(hops []float64, oneHop bool) []float64 {
	extra := 0.0
	if oneHop {
		c := cr.DefaultConfig()
		c.EnableOneHop()
		extra = float64(min(c.ReadFanout, c.Replicas) - 1)
	}
	out := make([]float64, len(hops))
	for k, h := range hops {
		out[k] = h
		if h >= 1 {
			out[k] += extra
		}
	}
	return out
}
