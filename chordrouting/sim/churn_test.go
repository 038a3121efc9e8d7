package sim

import (
	"testing"

	"kwsearch/chordrouting"
)

// Under churn (3 joins and 3 crashes per stabilization interval) lookups
// name the correct live owner: they confirm the owner with the owner
// itself, route around a dead or not yet linked predecessor of the key,
// and joiners are linked in within round trips. Before those changes this
// ring failed about 0.7% of its lookups (crashed owners, missed joiners,
// lookups wandering to the hop limit).
func TestChurnLookupsFindLiveOwner(t *testing.T) {
	for _, seed := range []int64{1, 2} {
		t.Logf("seed %d", seed)
		rep, err := Run(Options{Nodes: 500, Lookups: 8000, Churn: 3, ChurnIntervals: 50, Seed: seed})
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		t.Logf("seed %d: %d lookups, %d failed (%d wrong owner: %d dead, %d after a new joiner; errors %v), mean hops %.2f",
			seed, rep.Lookups, rep.FailedLookups, rep.WrongOwner, rep.WrongOwnerDead, rep.WrongOwnerNewJoiner, rep.LookupErrorKinds, rep.MeanHops)
		if rep.Lookups < 7000 {
			t.Fatalf("seed %d: only %d lookups measured", seed, rep.Lookups)
		}
		if rep.FailedFrac > 0.0025 {
			t.Errorf("seed %d: %.3f%% of lookups failed, want at most 0.25%%", seed, 100*rep.FailedFrac)
		}
		if rep.LookupErrorKinds[chordrouting.ErrTooManyHops.Error()] > 0 {
			t.Errorf("seed %d: %d lookups hit the hop limit", seed, rep.LookupErrorKinds[chordrouting.ErrTooManyHops.Error()])
		}
		if !rep.RingCorrect || rep.RecordsLost > 0 {
			t.Errorf("seed %d: ring correct %v (%s), %d records lost", seed, rep.RingCorrect, rep.RingError, rep.RecordsLost)
		}
	}
}
