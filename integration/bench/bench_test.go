package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSmokeJSON runs the whole command in a tiny configuration and checks
// that the JSON object has every field the issue names, with sane values
// for what this build can measure.
func TestSmokeJSON(t *testing.T) {
	const seed = "7"
	t.Logf("seed %s", seed)
	plotPath := filepath.Join(t.TempDir(), "latency.png")
	args := []string{"--json", "--seed", seed, "--nodes", "8", "--degree", "3",
		"--files", "8", "--searches", "16", "--search-parallel", "4",
		"--rtt-min", "2ms", "--rtt-max", "6ms", "--idle-sample", "200ms", "--sizes-files", "4", "--sizes-searches", "8",
		"--loopback-nodes", "4", "--loopback-searches", "8", "--xfer-mib", "2",
		"--sizes", "6,8", "--plot", plotPath}
	var stdout, stderr bytes.Buffer
	if code := realMain(args, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d\nstderr:\n%s", code, stderr.String())
	}
	t.Log(stderr.String())
	var obj map[string]any
	if err := json.Unmarshal(stdout.Bytes(), &obj); err != nil {
		t.Fatalf("output is not one JSON object: %v\n%s", err, stdout.String())
	}
	for _, k := range []string{"search_p50_ms", "search_p99_ms", "kad_findprov_p50_ms", "kad_findprov_p99_ms",
		"publish_s", "kad_provide_s", "xfer_mb_s", "raw_mb_s", "search_p50_ratio", "search_p99_ratio",
		"publish_ratio", "xfer_ratio", "mem_ratio", "mean_rtt_ms", "hops_mean", "nodes", "files", "seed"} {
		if _, ok := obj[k]; !ok {
			t.Errorf("JSON lacks %q", k)
		}
	}
	var r Result
	if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
		t.Fatal(err)
	}
	if r.Nodes != 8 || r.Files != 8 || r.MeanRTTMs < 2 || r.MeanRTTMs > 6 {
		t.Errorf("sizes: nodes %d files %d mean RTT %.2f ms", r.Nodes, r.Files, r.MeanRTTMs)
	}
	checkOrdered(t, "kad first provider", r.KadFindProvP50Ms, r.KadFindProvP99Ms)
	checkOrdered(t, "kad complete", r.KadFindProvDoneP50Ms, r.KadFindProvDoneP99Ms)
	if r.KadSearchFailed == nil || *r.KadSearchFailed != 0 {
		t.Errorf("kad-dht failed searches: %v", r.KadSearchFailed)
	}
	positive(t, "kad_provide_s", r.KadProvideS)
	positive(t, "kad_mem_per_node_bytes", r.KadMemPerNode)
	positive(t, "raw_mb_s", r.RawMBs)
	if len(r.Sizes) != 2 || r.Sizes[0].Nodes != 6 || r.Sizes[1].Nodes != 8 {
		t.Errorf("sizes: %+v", r.Sizes)
	}
	if r.Loopback == nil || r.Loopback.KadHeap == nil || r.Loopback.KadCPUms == nil {
		t.Errorf("loopback figures missing: %+v", r.Loopback)
	}
	png, err := os.ReadFile(plotPath)
	if err != nil || !bytes.HasPrefix(png, []byte("\x89PNG")) {
		t.Errorf("plot: %v, %d bytes", err, len(png))
	}
	if r.SearchP50Ms == nil {
		// Our side is missing only with a reason.
		if !strings.Contains(strings.Join(r.Missing, "\n"), "kwsearch") {
			t.Errorf("search_p50_ms is null but missing says %q", r.Missing)
		}
		return
	}
	checkOrdered(t, "our search", r.SearchP50Ms, r.SearchP99Ms)
	if r.SearchFailed == nil || *r.SearchFailed != 0 {
		t.Errorf("our failed searches: %v", r.SearchFailed)
	}
	positive(t, "publish_s", r.PublishS)
	positive(t, "search_p50_ratio", r.SearchP50Ratio)
	positive(t, "publish_ratio", r.PublishRatio)
	positive(t, "mem_ratio", r.MemRatio)
	if r.HopsMean == nil || *r.HopsMean < 0 || *r.HopsMean > 8 {
		t.Errorf("hops_mean %v out of range for 8 hosts", r.HopsMean)
	}
}

func TestBadUsage(t *testing.T) {
	for _, args := range [][]string{{"--nodes", "2"}, {"--sizes", "x"}, {"extra"}, {"--degree", "0"}} {
		var out, errb bytes.Buffer
		if code := realMain(args, &out, &errb); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
		if errb.Len() == 0 {
			t.Errorf("%v: no message on stderr", args)
		}
	}
}

func TestPercentile(t *testing.T) {
	xs := []float64{5, 1, 4, 2, 3, 6, 7, 8, 9, 10}
	for _, c := range []struct{ p, want float64 }{{50, 5}, {99, 10}, {10, 1}, {100, 10}} {
		if got := percentile(xs, c.p); got != c.want {
			t.Errorf("p%v = %v, want %v", c.p, got, c.want)
		}
	}
}

func TestWorkloadDeterministic(t *testing.T) {
	a, err := newWorkload(seededRand(3, "w"), 10, 50, 5, 200, 20)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := newWorkload(seededRand(3, "w"), 10, 50, 5, 200, 20)
	if a.Files[7].Name != b.Files[7].Name || a.Searches[5] != b.Searches[5] {
		t.Error("same seed gave different workloads")
	}
	for _, s := range a.Searches {
		if s.Host == a.Publisher {
			t.Errorf("search from the publisher %d", s.Host)
		}
	}
	if n := a.keywordCount(); n < 4*50 || n > 6*50 {
		t.Errorf("%d keyword records for 50 files of ~5 keywords", n)
	}
}

func checkOrdered(t *testing.T, what string, p50, p99 *float64) {
	t.Helper()
	if p50 == nil || p99 == nil || *p50 < 0 || *p99 < *p50 {
		t.Errorf("%s: p50 %v p99 %v", what, p50, p99)
	}
}

func positive(t *testing.T, what string, x *float64) {
	t.Helper()
	if x == nil || *x <= 0 {
		t.Errorf("%s = %v, want > 0", what, x)
	}
}
