package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// TestFullRTSearches: with --kad-fullrt the kad-dht side searches from
// fullrt clients, which must crawl the (public-addressed) mocknet and find
// the publisher of every searched word.
func TestFullRTSearches(t *testing.T) {
	const seed = "5"
	t.Logf("seed %s", seed)
	args := []string{"--json", "--seed", seed, "--nodes", "10", "--degree", "3", "--files", "2", "--searches", "6",
		"--rtt-min", "2ms", "--rtt-max", "6ms", "--idle-sample", "0s", "--loopback-nodes", "0", "--skip-xfer",
		"--skip-ours", "--kad-fullrt", "2"}
	var stdout, stderr bytes.Buffer
	if code := realMain(args, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d\nstderr:\n%s", code, stderr.String())
	}
	var r Result
	if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
		t.Fatalf("output is not one JSON object: %v\n%s", err, stdout.String())
	}
	if !strings.HasPrefix(r.KadClient, "fullrt") {
		t.Errorf("kad_client %q, want fullrt", r.KadClient)
	}
	if r.KadSearchFailed == nil || *r.KadSearchFailed != 0 || r.KadFindProvP50Ms == nil {
		t.Fatalf("fullrt searches: failed %v, p50 %v\nstderr:\n%s", r.KadSearchFailed, r.KadFindProvP50Ms, stderr.String())
	}
}
