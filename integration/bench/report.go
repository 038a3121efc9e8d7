package main

import (
	"fmt"
	"io"
	"text/tabwriter"
)

func fmtF(x *float64, format string) string {
	if x == nil {
		return "-"
	}
	return fmt.Sprintf(format, *x)
}

func fmtI(x *int) string {
	if x == nil {
		return "-"
	}
	return fmt.Sprint(*x)
}

func fmtI64(x *int64) string {
	if x == nil {
		return "-"
	}
	return fmt.Sprint(*x)
}

func kib(x *float64) *float64 {
	if x == nil {
		return nil
	}
	v := *x / (1 << 10)
	return &v
}

// writeTable prints the result as text tables.
func writeTable(w io.Writer, r *Result) {
	fmt.Fprintf(w, "latency network: %s, %d hosts, %d random connections each, RTT %.0f-%.0f ms uniform, mean RTT %.1f ms, seed %d\n",
		r.Network, r.Nodes, r.Degree, r.RTTMinMs, r.RTTMaxMs, r.MeanRTTMs, r.Seed)
	if r.OneHop {
		fmt.Fprintln(w, "kwsearch: one-hop routing (membership tables settled before measuring)")
	}
	if r.KadClient != "" {
		fmt.Fprintf(w, "kad-dht searched from: %s\n", r.KadClient)
	}
	fmt.Fprintf(w, "workload: %d files, %d keyword records, %d distinct keywords (%d kad-dht keys), %d searches, %d at a time\n\n",
		r.Files, r.KeywordRecords, r.DistinctWords, r.KadKeys, r.Searches, r.SearchParallel)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "what\tkwsearch\tkad-dht\tours/kad\t")
	fmt.Fprintf(tw, "search p50 ms (kad: first provider)\t%s\t%s\t%s\t\n", fmtF(r.SearchP50Ms, "%.1f"), fmtF(r.KadFindProvP50Ms, "%.1f"), fmtF(r.SearchP50Ratio, "%.2f"))
	fmt.Fprintf(tw, "search p99 ms (kad: first provider)\t%s\t%s\t%s\t\n", fmtF(r.SearchP99Ms, "%.1f"), fmtF(r.KadFindProvP99Ms, "%.1f"), fmtF(r.SearchP99Ratio, "%.2f"))
	fmt.Fprintf(tw, "search p50 / p99 in mean RTTs\t%s / %s\t%s / %s\t\t\n", fmtF(r.SearchP50RTT, "%.2f"), fmtF(r.SearchP99RTT, "%.2f"), fmtF(r.KadFindProvP50RTT, "%.2f"), fmtF(r.KadFindProvP99RTT, "%.2f"))
	fmt.Fprintf(tw, "kad lookup complete p50 / p99 ms\t\t%s / %s\t\t\n", fmtF(r.KadFindProvDoneP50Ms, "%.1f"), fmtF(r.KadFindProvDoneP99Ms, "%.1f"))
	fmt.Fprintf(tw, "hops mean / p50 / p99\t%s / %s / %s\t\t\t\n", fmtF(r.HopsMean, "%.2f"), fmtF(r.HopsP50, "%.0f"), fmtF(r.HopsP99, "%.0f"))
	fmt.Fprintf(tw, "searches answered locally (< 1 ms)\t%s\t%s\t\t\n", fmtF(r.SearchLocal, "%.3f"), fmtF(r.KadSearchLocal, "%.3f"))
	fmt.Fprintf(tw, "kad first provider, not local, p50 / p99 ms\t\t%s / %s\t\t\n", fmtF(r.KadFindProvRemoteP50Ms, "%.1f"), fmtF(r.KadFindProvRemoteP99Ms, "%.1f"))
	fmt.Fprintf(tw, "requests per search (ours: nodes asked)\t%s\t%s\t\t\n", fmtF(r.SearchMsgsPer, "%.1f"), fmtF(r.KadSearchMsgsPer, "%.1f"))
	fmt.Fprintf(tw, "idle requests/s, all hosts\t%s\t%s\t\t\n", fmtF(r.IdleMsgsPerS, "%.0f"), fmtF(r.KadIdleMsgsPerS, "%.0f"))
	fmt.Fprintf(tw, "idle CPU, cores (whole process)\t%s\t%s\t\t\n", fmtF(r.IdleCores, "%.2f"), fmtF(r.KadIdleCores, "%.2f"))
	fmt.Fprintf(tw, "failed searches\t%s\t%s\t\t\n", fmtI(r.SearchFailed), fmtI(r.KadSearchFailed))
	fmt.Fprintf(tw, "publish s (kad: %s)\t%s\t%s\t%s\t\n", r.KadProvideMode, fmtF(r.PublishS, "%.2f"), fmtF(r.KadProvideS, "%.2f"), fmtF(r.PublishRatio, "%.3f"))
	fmt.Fprintf(tw, "publish requests (all, maintenance in)\t%s\t%s\t\t\n", fmtI64(r.PublishMessages), fmtI64(r.KadProvideMsgs))
	fmt.Fprintf(tw, "publish: records / store RPCs / lookups\t%s / %s / %s\t\t\t\n", fmtI(r.PublishRecords), fmtI(r.PublishRPCs), fmtI(r.PublishLookups))
	fmt.Fprintf(tw, "kad Provide p50 / p99 ms (one key)\t\t%s / %s\t\t\n", fmtF(r.KadProvideP50Ms, "%.0f"), fmtF(r.KadProvideP99Ms, "%.0f"))
	fmt.Fprintf(tw, "heap per host KiB\t%s\t%s\t%s\t\n", fmtF(kib(r.MemPerNode), "%.0f"), fmtF(kib(r.KadMemPerNode), "%.0f"), fmtF(r.MemRatio, "%.2f"))
	if r.XferMiB > 0 {
		fmt.Fprintf(tw, "transfer MB/s (%d MiB, %s; raw: io.Copy)\t%s\t%s (raw)\t%s\t\n", r.XferMiB, r.XferTransport, fmtF(r.XferMBs, "%.0f"), fmtF(r.RawMBs, "%.0f"), fmtF(r.XferRatio, "%.2f"))
	}
	tw.Flush()
	if b := r.SearchBreakdown; b != nil {
		writeBreakdown(w, b)
	}
	if lb := r.Loopback; lb != nil {
		fmt.Fprintf(w, "\nloopback: %d real hosts, %s on 127.0.0.1, %d searches\n", lb.Nodes, lb.Transports, lb.Searches)
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "what\tkwsearch\tkad-dht\tours/kad\t")
		fmt.Fprintf(tw, "start (join, warm) s\t%s\t%s\t\t\n", fmtF(lb.StartS, "%.2f"), fmtF(lb.KadStartS, "%.2f"))
		fmt.Fprintf(tw, "heap per host KiB\t%s\t%s\t%s\t\n", fmtF(kib(lb.Heap), "%.0f"), fmtF(kib(lb.KadHeap), "%.0f"), fmtF(lb.MemRatio, "%.2f"))
		fmt.Fprintf(tw, "publish s / CPU s\t%s / %s\t%s / %s\t\t\n", fmtF(lb.PublishS, "%.2f"), fmtF(lb.PublishCPU, "%.2f"), fmtF(lb.KadProvideS, "%.2f"), fmtF(lb.KadProvCPU, "%.2f"))
		fmt.Fprintf(tw, "search p50 ms\t%s\t%s\t\t\n", fmtF(lb.SearchMs, "%.2f"), fmtF(lb.KadSearchMs, "%.2f"))
		fmt.Fprintf(tw, "idle CPU ms per second (all hosts)\t%s\t%s\t\t\n", fmtF(lb.IdleCPU, "%.0f"), fmtF(lb.KadIdleCPU, "%.0f"))
		fmt.Fprintf(tw, "CPU ms per search (all hosts)\t%s\t%s\t%s\t\n", fmtF(lb.CPUms, "%.2f"), fmtF(lb.KadCPUms, "%.2f"), fmtF(lb.CPURatio, "%.2f"))
		tw.Flush()
	}
	if len(r.Sizes) > 1 {
		fmt.Fprintf(w, "\nsearch latency by network size (ms)\n")
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "hosts\tmean RTT\tours p50\tours p99\thops\tkad first p50\tkad first p99\tkad complete p50\tours heap KiB\tkad heap KiB\tours idle req/s\tours failed\t")
		for _, s := range r.Sizes {
			fmt.Fprintf(tw, "%d\t%.1f\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", s.Nodes, s.MeanRTTMs, fmtF(s.SearchP50Ms, "%.1f"), fmtF(s.SearchP99Ms, "%.1f"), fmtF(s.HopsMean, "%.2f"),
				fmtF(s.KadFirstP50Ms, "%.1f"), fmtF(s.KadFirstP99Ms, "%.1f"), fmtF(s.KadDoneP50Ms, "%.1f"), fmtF(kib(s.MemPerNode), "%.0f"), fmtF(kib(s.KadMemPerNode), "%.0f"), fmtF(s.IdleMsgsPerS, "%.0f"), fmtI(s.SearchFailed))
		}
		tw.Flush()
	}
	for _, m := range r.Missing {
		fmt.Fprintf(w, "missing: %s\n", m)
	}
}

// writeBreakdown prints where our search time goes.
func writeBreakdown(w io.Writer, b *searchBreakdown) {
	fmt.Fprintf(w, "\nkwsearch searches by hops: %v; %s of them dialed the host that answered\n", b.Hops, fmtF(b.FreshFraction, "%.3f"))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "one hop: time / link RTT to the owner, p50 / p99\t%s / %s\t\n", fmtF(b.OneHopOverRTTP50, "%.2f"), fmtF(b.OneHopOverRTTP99, "%.2f"))
	fmt.Fprintf(tw, "one hop: time beyond that RTT, p50 / p99 ms\t%s / %s\t\n", fmtF(b.OneHopExcessP50, "%.1f"), fmtF(b.OneHopExcessP99, "%.1f"))
	fmt.Fprintf(tw, "one hop, connection existed: p50 / p99 ms\t%s / %s\t\n", fmtF(b.OneHopWarmP50Ms, "%.1f"), fmtF(b.OneHopWarmP99Ms, "%.1f"))
	fmt.Fprintf(tw, "one hop, dialed: p50 / p99 ms\t%s / %s\t\n", fmtF(b.OneHopFreshP50Ms, "%.1f"), fmtF(b.OneHopFreshP99Ms, "%.1f"))
	fmt.Fprintf(tw, "two hops or more: p50 / p99 ms\t%s / %s\t\n", fmtF(b.MultiHopP50Ms, "%.1f"), fmtF(b.MultiHopP99Ms, "%.1f"))
	if b.TableMinEntries != nil {
		fmt.Fprintf(tw, "one-hop tables: smallest, share of entries missing\t%s, %s\t\n", fmtI(b.TableMinEntries), fmtF(b.TableMissing, "%.4f"))
	}
	tw.Flush()
}
