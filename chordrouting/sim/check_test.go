package sim

import (
	"bytes"
	"sort"
	"strings"
	"testing"

	"kwsearch/chordrouting"
)

// perfectRing returns the states of a converged ring of n members with
// successor lists of length r, in ID order.
func perfectRing(seed int64, n, r int) []chordrouting.NodeState {
	rng := NewRand(seed)
	peers := make([]chordrouting.Peer, n)
	for i := range peers {
		var id chordrouting.ID
		for k := range id {
			id[k] = byte(rng.IntN(256))
		}
		peers[i] = chordrouting.Peer{ID: id, Addr: Addr(i)}
	}
	sort.Slice(peers, func(i, j int) bool { return bytes.Compare(peers[i].ID[:], peers[j].ID[:]) < 0 })
	st := make([]chordrouting.NodeState, n)
	for k := range st {
		pred := peers[(k+n-1)%n]
		st[k] = chordrouting.NodeState{Self: peers[k], Member: true, Predecessor: &pred}
		for j := 1; j <= min(r, n-1); j++ {
			st[k].Successors = append(st[k].Successors, peers[(k+j)%n])
		}
	}
	return st
}

func TestClockwiseAndBetween(t *testing.T) {
	id := func(b ...byte) chordrouting.ID {
		var x chordrouting.ID
		copy(x[32-len(b):], b)
		return x
	}
	var max chordrouting.ID
	for k := range max {
		max[k] = 0xff
	}
	if d := clockwise(id(5), id(3)); d != (chordrouting.ID{}) && d[31] != 0xfe {
		t.Fatalf("clockwise(5, 3) low byte = %x, want fe", d[31])
	}
	if d := clockwise(max, id(0)); d != id(1) {
		t.Fatalf("clockwise(max, 0) = %x, want 1", d)
	}
	cases := []struct {
		a, x, b chordrouting.ID
		want    bool
	}{
		{id(1), id(2), id(3), true},
		{id(1), id(1), id(3), false},
		{id(1), id(3), id(3), false},
		{id(3), id(1), id(1), false},
		{id(3), id(0), id(1), true}, // wraps
		{id(3), max, id(1), true},
		{id(3), id(2), id(1), false},
		{id(7), id(2), id(7), true}, // a == b: all but a
		{id(7), id(7), id(7), false},
	}
	for _, c := range cases {
		if got := strictlyBetween(c.a, c.x, c.b); got != c.want {
			t.Errorf("strictlyBetween(%x, %x, %x) = %v, want %v", c.a[31], c.x[31], c.b[31], got, c.want)
		}
	}
}

func TestCheckRingAcceptsConvergedRings(t *testing.T) {
	for _, n := range []int{1, 2, 3, 5, 9, 40} {
		for _, r := range []int{2, 3, 8} {
			st := perfectRing(int64(n*10+r), n, r)
			if n == 1 {
				st[0].Predecessor = nil
			}
			if err := checkRing(st, r); err != nil {
				t.Errorf("n=%d r=%d: checkRing: %v", n, r, err)
			}
			if err := checkInvariant(st, r); err != nil {
				t.Errorf("n=%d r=%d: checkInvariant: %v", n, r, err)
			}
		}
	}
}

func TestCheckRingFindsFaults(t *testing.T) {
	const n, r = 10, 3
	cases := []struct {
		name      string
		mod       func(st []chordrouting.NodeState)
		ring      string // substring of checkRing's error
		invariant string // substring of checkInvariant's error, "" if it must pass
	}{
		{"wrong successor", func(st []chordrouting.NodeState) {
			st[2].Successors[0] = st[4].Self
		}, "successor 0", "not ordered"},
		{"short list", func(st []chordrouting.NodeState) {
			st[2].Successors = st[2].Successors[:2]
		}, "has 2 entries", ""},
		{"no predecessor", func(st []chordrouting.NodeState) {
			st[5].Predecessor = nil
		}, "no predecessor", ""},
		{"wrong predecessor", func(st []chordrouting.NodeState) {
			p := st[1].Self
			st[5].Predecessor = &p
		}, "predecessor", ""},
		{"self entry", func(st []chordrouting.NodeState) {
			st[3].Successors[1] = st[3].Self
		}, "successor 1", "lists itself"},
		{"duplicate", func(st []chordrouting.NodeState) {
			st[3].Successors[2] = st[3].Successors[1]
		}, "successor 2", "not ordered"},
		{"not a member", func(st []chordrouting.NodeState) {
			st[7].Member = false
		}, "not a ring member", ""},
		{"stale successor skipping one node", func(st []chordrouting.NodeState) {
			st[0].Successors = []chordrouting.Peer{st[2].Self, st[3].Self, st[4].Self}
		}, "successor 0", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st := perfectRing(3, n, r)
			tc.mod(st)
			if err := checkRing(st, r); err == nil || !strings.Contains(err.Error(), tc.ring) {
				t.Errorf("checkRing = %v, want an error containing %q", err, tc.ring)
			}
			err := checkInvariant(st, r)
			if tc.invariant == "" && err != nil {
				t.Errorf("checkInvariant = %v, want nil", err)
			}
			if tc.invariant != "" && (err == nil || !strings.Contains(err.Error(), tc.invariant)) {
				t.Errorf("checkInvariant = %v, want an error containing %q", err, tc.invariant)
			}
		})
	}
}

func TestCheckInvariantNoLiveSuccessor(t *testing.T) {
	st := perfectRing(4, 10, 2)
	// Members 4 and 5 failed: member 3's whole list is dead.
	live := append(append([]chordrouting.NodeState{}, st[:4]...), st[6:]...)
	if err := checkInvariant(live, 2); err == nil || !strings.Contains(err.Error(), "no live successor") {
		t.Fatalf("checkInvariant = %v, want no live successor", err)
	}
}

// Zave's third scenario: two disjoint rings that each look fine locally.
func TestCheckInvariantTwoRings(t *testing.T) {
	st := perfectRing(5, 8, 2)
	// Even positions form one ring, odd positions another.
	for k := range st {
		st[k].Successors = []chordrouting.Peer{st[(k+2)%8].Self, st[(k+4)%8].Self}
		p := st[(k+6)%8].Self
		st[k].Predecessor = &p
	}
	err := checkInvariant(st, 2)
	if err == nil {
		t.Fatal("checkInvariant accepted two rings")
	}
	t.Logf("two rings: %v", err)
	if err := checkRing(st, 2); err == nil {
		t.Fatal("checkRing accepted two rings")
	}
}

// A ring that winds twice around the identifier space: every list is
// ordered and live, but the cycle is not.
func TestCheckInvariantDoubleWinding(t *testing.T) {
	st := perfectRing(6, 7, 1)
	for k := range st {
		st[k].Successors = []chordrouting.Peer{st[(k+2)%7].Self}
	}
	if err := checkInvariant(st, 1); err == nil {
		t.Fatal("checkInvariant accepted a double winding")
	}
	best := make([]int, len(st))
	for k := range best {
		best[k] = (k + 2) % 7
	}
	err := checkOneOrderedCycle(st, best)
	if err == nil || !strings.Contains(err.Error(), "winds 2 times") {
		t.Fatalf("checkOneOrderedCycle = %v, want a double winding", err)
	}
}

func TestCountPrincipals(t *testing.T) {
	st := perfectRing(7, 10, 3)
	live := &ring{}
	for k, s := range st {
		live.add(s.Self.ID, k)
	}
	if p := countPrincipals(st, live); p != 10 {
		t.Fatalf("converged ring: %d principals, want 10", p)
	}
	// Member 0 jumps over 1 and 2: they stop being principals.
	st[0].Successors = []chordrouting.Peer{st[3].Self, st[4].Self, st[5].Self}
	if p := countPrincipals(st, live); p != 8 {
		t.Fatalf("after a skip: %d principals, want 8", p)
	}
	// Member 9 wraps past zero and skips 0.
	st[9].Successors = []chordrouting.Peer{st[1].Self, st[2].Self, st[3].Self}
	if p := countPrincipals(st, live); p != 7 {
		t.Fatalf("after a wrapping skip: %d principals, want 7", p)
	}
}

func TestRingOwner(t *testing.T) {
	var r ring
	id := func(b byte) chordrouting.ID { var x chordrouting.ID; x[0] = b; return x }
	for _, b := range []byte{50, 10, 30} {
		r.add(id(b), int(b))
	}
	r.add(id(30), 99) // duplicate: ignored
	cases := []struct{ key, owner byte }{{5, 10}, {10, 10}, {11, 30}, {30, 30}, {49, 50}, {51, 10}, {255, 10}}
	for _, c := range cases {
		if got := r.m[r.owner(id(c.key))].id[0]; got != c.owner {
			t.Errorf("owner(%d) = %d, want %d", c.key, got, c.owner)
		}
	}
	reps := r.replicas(id(40), 5)
	if len(reps) != 3 || r.m[reps[0]].id[0] != 50 || r.m[reps[1]].id[0] != 10 {
		t.Fatalf("replicas(40, 5) = %v", reps)
	}
	r.remove(id(10))
	if r.contains(id(10)) || r.Len() != 2 {
		t.Fatal("remove did not remove")
	}
}
