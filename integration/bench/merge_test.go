package main

import "testing"

// TestMergeResults: a run of our side only and a run of kad-dht only on
// the same network merge into one result with both sides' figures and
// their ratios; a result of another network adds only its size point.
func TestMergeResults(t *testing.T) {
	ours := &Result{Nodes: 1000, Seed: 1, RTTMinMs: 10, RTTMaxMs: 150,
		SearchP50Ms: ptr(80), SearchP99Ms: ptr(150), Missing: []string{"a"},
		Sizes: []sizePoint{{Nodes: 1000, SearchP50Ms: ptr(80)}}}
	kad := &Result{Nodes: 1000, Seed: 1, RTTMinMs: 10, RTTMaxMs: 150,
		KadFindProvP50Ms: ptr(100), KadFindProvP99Ms: ptr(600), SearchP50Ms: ptr(999), KadProvideMode: "Provide",
		Sizes: []sizePoint{{Nodes: 1000, KadFirstP50Ms: ptr(100)}}}
	small := &Result{Nodes: 50, Seed: 1, RTTMinMs: 10, RTTMaxMs: 150, KadFindProvP50Ms: ptr(5),
		Sizes: []sizePoint{{Nodes: 50, SearchP50Ms: ptr(70), KadFirstP50Ms: ptr(15)}}}
	r, err := mergeResults([]*Result{ours, kad, small})
	if err != nil {
		t.Fatal(err)
	}
	if *r.SearchP50Ms != 80 {
		t.Errorf("headline p50 %v: a later result must not overwrite it", *r.SearchP50Ms)
	}
	if r.KadFindProvP50Ms == nil || *r.KadFindProvP50Ms != 100 {
		t.Errorf("kad p50 %v, want 100 from the same network, not 5 from another", r.KadFindProvP50Ms)
	}
	if r.SearchP50Ratio == nil || *r.SearchP50Ratio != 0.8 || r.SearchP99Ratio == nil || *r.SearchP99Ratio != 0.25 {
		t.Errorf("ratios %v / %v, want 0.8 / 0.25", r.SearchP50Ratio, r.SearchP99Ratio)
	}
	if r.KadProvideMode != "Provide" {
		t.Errorf("kad provide mode %q, want the kad run's", r.KadProvideMode)
	}
	if len(r.Sizes) != 2 || r.Sizes[0].Nodes != 50 || r.Sizes[1].Nodes != 1000 {
		t.Fatalf("sizes %+v", r.Sizes)
	}
	if p := r.Sizes[1]; p.SearchP50Ms == nil || *p.SearchP50Ms != 80 || p.KadFirstP50Ms == nil || *p.KadFirstP50Ms != 100 {
		t.Errorf("1000-host point %+v: want both sides", p)
	}
	if len(r.Missing) != 1 {
		t.Errorf("missing %v", r.Missing)
	}
	if ours.KadFindProvP50Ms != nil {
		t.Error("merging changed its input")
	}
	if _, err := mergeResults(nil); err == nil {
		t.Error("merging nothing succeeded")
	}
}
