package main

import (
	"math"
	"testing"
)

// TestBreakdownOf: searches are split by hops and by whether the searcher
// dialed the answering host, and one-hop searches are compared with their
// own link RTT; searches without an RTT (local, or loopback) are left out
// of the ratios.
func TestBreakdownOf(t *testing.T) {
	s := &sideResult{
		SearchFirstMs:    []float64{0.2, 100, 60, 90, 300},
		Hops:             []float64{0, 1, 1, 1, 3},
		SearchOwnerRTTms: []float64{0, 80, 50, 0, 70},
		SearchFresh:      []bool{false, true, false, false, false},
		Tables:           &tableStats{Min: 46, Missing: 0.02},
	}
	b := breakdownOf(s)
	if b == nil {
		t.Fatal("no breakdown")
	}
	if b.Hops["0"] != 1 || b.Hops["1"] != 3 || b.Hops["3"] != 1 || len(b.Hops) != 3 {
		t.Errorf("hops %v", b.Hops)
	}
	want := map[string]struct {
		got  *float64
		want float64
	}{
		"fresh fraction": {b.FreshFraction, 0.2},
		"over RTT p50":   {b.OneHopOverRTTP50, 1.2}, // 100/80 and 60/50: nearest rank
		"over RTT p99":   {b.OneHopOverRTTP99, 1.25},
		"excess p99":     {b.OneHopExcessP99, 20},
		"warm p50":       {b.OneHopWarmP50Ms, 60},
		"fresh p50":      {b.OneHopFreshP50Ms, 100},
		"multi-hop p50":  {b.MultiHopP50Ms, 300},
		"owner RTT p50":  {b.OwnerRTTP50Ms, 70},
		"tables missing": {b.TableMissing, 0.02},
	}
	for name, c := range want {
		if c.got == nil || math.Abs(*c.got-c.want) > 1e-9 {
			t.Errorf("%s = %v, want %v", name, c.got, c.want)
		}
	}
	if b.TableMinEntries == nil || *b.TableMinEntries != 46 {
		t.Errorf("table min %v, want 46", b.TableMinEntries)
	}
	// Without the per-search detail (kad-dht's side) there is none.
	if breakdownOf(&sideResult{SearchFirstMs: []float64{1}, Hops: []float64{1}}) != nil {
		t.Error("breakdown without per-search detail")
	}
}

func TestRemoteOnly(t *testing.T) {
	got := remoteOnly([]float64{0.1, 5, 0.9, 1, 30})
	if len(got) != 3 || got[0] != 5 || got[1] != 1 || got[2] != 30 {
		t.Fatalf("remoteOnly = %v, want [5 1 30]", got)
	}
}

// TestNodesAsked: with one-hop routing a read that left the searcher asked
// the seven replica holders beside the owner (the daemon's eight holders);
// a local answer asked nobody; without one-hop routing the hops are the
// nodes asked.
func TestNodesAsked(t *testing.T) {
	hops := []float64{0, 1, 3}
	for _, c := range []struct {
		oneHop bool
		want   []float64
	}{{true, []float64{0, 8, 10}}, {false, []float64{0, 1, 3}}} {
		got := nodesAsked(hops, c.oneHop)
		for k := range hops {
			if got[k] != c.want[k] {
				t.Fatalf("nodesAsked(%v, one-hop %v) = %v, want %v", hops, c.oneHop, got, c.want)
			}
		}
	}
}
