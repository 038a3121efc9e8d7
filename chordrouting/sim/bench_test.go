package sim

import (
	"runtime"
	"testing"
	"time"
)

// The issue-2 targets as benchmarks. Each reports the experiment's figures
// as custom metrics next to the time and memory:
//
//	go test ./chordrouting/sim -run '^$' -bench 'Ring10k' -benchtime 1x -timeout 30m
//	go test ./chordrouting/sim -run '^$' -bench 'MassFailure|Churn' -benchtime 1x
func benchRun(b *testing.B, opt Options) {
	b.Helper()
	for b.Loop() {
		var before runtime.MemStats
		runtime.ReadMemStats(&before)
		rep, err := Run(opt)
		if err != nil {
			b.Fatalf("seed %d: %v", opt.Seed, err)
		}
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		b.ReportMetric(rep.MeanHops, "mean_hops")
		b.ReportMetric(float64(rep.P99Hops), "p99_hops")
		b.ReportMetric(float64(rep.FailedLookups), "failed_lookups")
		b.ReportMetric(float64(rep.RecordsLost), "records_lost")
		b.ReportMetric(boolMetric(rep.RingCorrect), "ring_correct")
		b.ReportMetric(rep.SimS, "sim_s")
		b.ReportMetric(float64(after.Sys)/(1<<20), "sys_MiB")
		b.ReportMetric(float64(rep.Events), "events")
		b.Logf("seed %d: %+v", opt.Seed, rep)
	}
}

func boolMetric(v bool) float64 {
	if v {
		return 1
	}
	return 0
}

// BenchmarkRing10k: 10,000 nodes, 100,000 lookups (target: mean hops ≤
// ½·log₂N + 0.5 ≈ 7.1, p99 ≤ log₂N + 1 ≈ 14.3, 0 failed; ≤ 60 s, ≤ 2 GiB).
func BenchmarkRing10k(b *testing.B) {
	benchRun(b, Options{Nodes: 10000, Lookups: 100000, Seed: 1})
}

// BenchmarkMassFailure2k: half of 2,000 nodes crash at once (target: 0
// failed lookups after repair, 0 records lost, ring correct).
func BenchmarkMassFailure2k(b *testing.B) {
	benchRun(b, Options{Nodes: 2000, Lookups: 20000, Fail: 0.5, Seed: 1})
}

// BenchmarkChurn500: 3 joins and 3 crashes per stabilization interval at 500
// nodes (target: ≤ 0.1% failed lookups).
func BenchmarkChurn500(b *testing.B) {
	benchRun(b, Options{Nodes: 500, Lookups: 20000, Churn: 3, Seed: 1})
}

// BenchmarkRing1k is the small everyday figure.
func BenchmarkRing1k(b *testing.B) {
	benchRun(b, Options{Nodes: 1000, Lookups: 10000, Seed: 1})
}

// BenchmarkNetworkEvents measures the bare simulator: one ping-pong per
// event pair between fake endpoints, no ring code.
func BenchmarkNetworkEvents(b *testing.B) {
	net, err := NewNetwork(DefaultNetConfig(), NewRand(1))
	if err != nil {
		b.Fatal(err)
	}
	eps := make([]*fakeEndpoint, 1000)
	for k := range eps {
		i, tr := net.Reserve()
		eps[k] = &fakeEndpoint{net: net, self: i, tr: tr}
		net.Start(i, eps[k])
	}
	for k := range eps {
		f := eps[k]
		f.onTick = func() {
			f.ping(net.rng.IntN(len(eps)), 0)
			f.got = f.got[:0]
			f.ticks = f.ticks[:0]
		}
	}
	b.ReportAllocs()
	start := net.Steps()
	for b.Loop() {
		if err := net.RunFor(100 * time.Millisecond); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(net.Steps()-start)/float64(b.N), "events/op")
}
