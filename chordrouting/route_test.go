package chordrouting

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestGroupKeepsKeysTogether: a grouping whose keys are cut into runs of
// lookups at once (fanOut) puts all of one key's items in one group, in
// their order, and reports the groups in key order, so that a put sends
// one key's items to one owner in one store, in the caller's order.
func TestGroupKeepsKeysTogether(t *testing.T) {
	for seed := uint64(1); seed <= 4; seed++ {
		net, nodes := staticRing(t, 60, seed)
		t.Logf("seed %d", seed)
		rng := rand.New(rand.NewPCG(seed, 9))
		var keys []ID
		for range 50 {
			k := randomKey(rng)
			for range 1 + rng.IntN(3) {
				keys = append(keys, k)
			}
		}
		slices.SortFunc(keys, func(a, b ID) int {
			switch {
			case a.Less(b):
				return -1
			case b.Less(a):
				return 1
			}
			return 0
		})
		var got []ownerGroup
		ran := false
		nodes[0].groupByOwner(keys, func(groups []ownerGroup, _ int, failed []int, err error) {
			if err != nil || len(failed) > 0 {
				t.Fatalf("grouping failed: %v (%d keys)", err, len(failed))
			}
			got, ran = groups, true
		})
		net.run()
		if !ran {
			t.Fatal("the grouping never ended")
		}
		groupOf := map[ID]int{}
		last := -1
		for g, gr := range got {
			if !slices.IsSorted(gr.idx) || gr.idx[0] <= last {
				t.Fatalf("group %d's items %v are out of order (previous group began at %d)", g, gr.idx, last)
			}
			last = gr.idx[0]
			for _, i := range gr.idx {
				if h, seen := groupOf[keys[i]]; seen && h != g {
					t.Fatalf("key %s is in groups %d and %d", keys[i].Short(), h, g)
				}
				groupOf[keys[i]] = g
				if o := ownerIn(nodes, keys[i]); o.self.ID != gr.owner.ID {
					t.Fatalf("key %s grouped with %s, its owner is %s", keys[i].Short(), gr.owner.ID.Short(), o.self.ID.Short())
				}
			}
		}
	}
}
