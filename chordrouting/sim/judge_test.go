package sim

import (
	"testing"

	"kwsearch/chordrouting"
)

// A lookup is judged against every node that owned its key at some instant
// while it ran (start, end, and each owner in between), not only at its
// start and end: a node that joined and crashed during the lookup was a
// correct answer while it lived.
func TestLookupJudgedAgainstOwnersWhileRunning(t *testing.T) {
	s, err := New(DefaultConfig(), 1)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("seed 1")
	id := func(b byte) chordrouting.ID {
		var x chordrouting.ID
		x[0] = b
		return x
	}
	add := func(b byte) int {
		i, err := s.AddNodeID(id(b))
		if err != nil {
			t.Fatal(err)
		}
		return i
	}
	a, far := add(0x80), add(0x10)
	s.setMember(a)
	s.setMember(far)
	e := &experiment{s: s}
	key := id(0x40)
	e.lookups = []lookupRec{{key: key, owners: []chordrouting.ID{s.Peer(a).ID}}}
	e.inflight = []int{0}

	b := add(0x60) // joins in front of a: owns the key
	s.setMember(b)
	e.ownersChanged()
	c := add(0x50) // joins in front of b
	s.setMember(c)
	e.ownersChanged()
	s.Fail(c) // b owns it again
	e.ownersChanged()
	s.Fail(b) // a owns it at the end
	e.ownersChanged()

	got := e.lookups[0].owners
	want := []chordrouting.ID{id(0x80), id(0x60), id(0x50), id(0x60), id(0x80)}
	if len(got) != len(want) {
		t.Fatalf("owners while running %v, want %v", got, want)
	}
	for k := range want {
		if got[k] != want[k] {
			t.Fatalf("owners while running %v, want %v", got, want)
		}
	}
	if containsOwner(got, s.Peer(far).ID) {
		t.Fatalf("a node that never owned the key counts as correct")
	}
	e.lookups[0].done = true
	e.ownersChanged()
	if len(e.inflight) != 0 {
		t.Fatalf("a finished lookup is still followed")
	}
}
