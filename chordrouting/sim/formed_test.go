package sim

import (
	"math"
	"sort"
	"testing"
	"time"

	"kwsearch/chordrouting"
)

// TestFormRingOneHop: a ring started settled is correct at once and stays
// so, every table lists every other member, and the tables share the
// Directory's chunks (one chunk per range, plus the few that differ in
// each node's own entry), not an entry per member each.
func TestFormRingOneHop(t *testing.T) {
	const n = 400
	cfg := Options{OneHop: true, Session: time.Hour}.configure(DefaultConfig())
	s, err := New(cfg, 7)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("seed 7")
	if err := s.FormRing(n); err != nil {
		t.Fatal(err)
	}
	if err := s.CheckRing(); err != nil {
		t.Fatalf("formed ring: %v", err)
	}
	ids := make([]chordrouting.ID, 0, n)
	for _, i := range s.Live() {
		ids = append(ids, s.Peer(i).ID)
	}
	sort.Slice(ids, func(a, b int) bool { return ids[a].Less(ids[b]) })
	for _, i := range s.Live() {
		if got := s.Node(i).MembershipLive(ids); got != n-1 || s.Node(i).MembershipSize() != n-1 {
			t.Fatalf("node %d's table holds %d live of %d entries, want %d", i, got, s.Node(i).MembershipSize(), n-1)
		}
		if len(s.Node(i).State().Fingers) == 0 {
			t.Fatalf("node %d has no fingers", i)
		}
	}
	dir := s.Config().Node.Directory
	if c := dir.Chunks(); c > 3*n {
		t.Fatalf("%d tables of %d members hold %d chunks: they do not share", n, n-1, c)
	}
	if err := s.FormRing(3); err == nil {
		t.Fatal("FormRing on a ring with members succeeded")
	}
	if err := s.RunFor(60 * time.Second); err != nil {
		t.Fatal(err)
	}
	if err := s.CheckRing(); err != nil {
		t.Fatalf("formed ring after a minute: %v", err)
	}
}

// TestRunFormedMatchesJoins: without one-hop routing, lookups on a ring
// started settled take as many hops as on one built by joins (its fingers
// are right), and both are correct.
func TestRunFormedMatchesJoins(t *testing.T) {
	opt := Options{Nodes: 300, Lookups: 2000, Seed: 4}
	t.Logf("seed %d", opt.Seed)
	joins, err := Run(opt)
	if err != nil {
		t.Fatal(err)
	}
	opt.Build = BuildFormed
	formed, err := Run(opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("mean hops: joins %.3f, formed %.3f", joins.MeanHops, formed.MeanHops)
	switch {
	case formed.Build != BuildFormed || joins.Build != BuildJoins:
		t.Fatalf("builds reported %q and %q", joins.Build, formed.Build)
	case formed.FailedLookups > 0 || joins.FailedLookups > 0 || !formed.RingCorrect:
		t.Fatalf("failed lookups: joins %d, formed %d; formed ring correct %v", joins.FailedLookups, formed.FailedLookups, formed.RingCorrect)
	case math.Abs(formed.MeanHops-joins.MeanHops) > 0.5:
		t.Fatalf("mean hops %.3f on the formed ring, %.3f on the joined one", formed.MeanHops, joins.MeanHops)
	}
}
