package sim

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"

	"kwsearch/chordrouting"
)

// short names a node in error messages: the first 8 hex digits of its ID
// and its address.
func short(p chordrouting.Peer) string {
	return hex.EncodeToString(p.ID[:4]) + "@" + p.Addr
}

func shortList(ps []chordrouting.Peer) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = short(p)
	}
	return "[" + strings.Join(s, " ") + "]"
}

// sortStates orders states by ID (ties cannot happen between distinct nodes).
func sortStates(states []chordrouting.NodeState) []chordrouting.NodeState {
	out := append([]chordrouting.NodeState(nil), states...)
	sort.Slice(out, func(i, j int) bool { return bytes.Compare(out[i].Self.ID[:], out[j].Self.ID[:]) < 0 })
	return out
}

// checkRing is the check at quiescence (RING.md, issue 2): every live node
// is a member; every member's successor is the next live member and its
// predecessor the previous one; its successor list is the next
// min(r, n-1) live members in order, without duplicates or itself. A ring of
// one may list itself as successor and predecessor, or nothing.
func checkRing(states []chordrouting.NodeState, r int) error {
	if len(states) == 0 {
		return nil
	}
	st := sortStates(states)
	for k := 1; k < len(st); k++ {
		if st[k].Self.ID == st[k-1].Self.ID {
			return fmt.Errorf("nodes %s and %s share an ID", short(st[k-1].Self), short(st[k].Self))
		}
	}
	n := len(st)
	for k := range st {
		s := &st[k]
		if !s.Member {
			return fmt.Errorf("node %s is live but not a ring member", short(s.Self))
		}
		if n == 1 {
			if err := checkAlone(s); err != nil {
				return err
			}
			continue
		}
		want := min(r, n-1)
		if len(s.Successors) != want {
			return fmt.Errorf("node %s: successor list %s has %d entries, want %d (next live: %s)",
				short(s.Self), shortList(s.Successors), len(s.Successors), want, short(st[(k+1)%n].Self))
		}
		for j, p := range s.Successors {
			if w := st[(k+1+j)%n].Self; p.ID != w.ID {
				return fmt.Errorf("node %s: successor %d is %s, want %s (list %s)",
					short(s.Self), j, short(p), short(w), shortList(s.Successors))
			}
		}
		wp := st[(k+n-1)%n].Self
		if s.Predecessor == nil {
			return fmt.Errorf("node %s: no predecessor, want %s", short(s.Self), short(wp))
		}
		if s.Predecessor.ID != wp.ID {
			return fmt.Errorf("node %s: predecessor %s, want %s", short(s.Self), short(*s.Predecessor), short(wp))
		}
	}
	return nil
}

// checkAlone checks the only member of a ring.
func checkAlone(s *chordrouting.NodeState) error {
	for _, p := range s.Successors {
		if p.ID != s.Self.ID {
			return fmt.Errorf("node %s is the only live member but lists successor %s", short(s.Self), short(p))
		}
	}
	if s.Predecessor != nil && s.Predecessor.ID != s.Self.ID {
		return fmt.Errorf("node %s is the only live member but has predecessor %s", short(s.Self), short(*s.Predecessor))
	}
	return nil
}

// checkInvariant checks Zave's inductive invariant and what it implies, for
// use after every step (RING.md): among the live members (states with
// Member set), (1) every member's successor list is ordered clockwise from
// it, without duplicates or itself; (2) every member has a live entry in
// it; (3) with at least r+1 members, at least r+1 of them are principals
// (skipped by no member's extended successor list); (4) following each
// member's first live successor leads every member into one cycle, and that
// cycle goes around the identifier space exactly once.
func checkInvariant(states []chordrouting.NodeState, r int) error {
	var ms []chordrouting.NodeState
	for _, s := range states {
		if s.Member {
			ms = append(ms, s)
		}
	}
	if len(ms) <= 1 {
		return nil
	}
	ms = sortStates(ms)
	live := &ring{m: make([]member, len(ms))}
	for k, s := range ms {
		live.m[k] = member{id: s.Self.ID, idx: k}
	}
	best := make([]int, len(ms)) // position of each member's first live successor
	for k := range ms {
		s := &ms[k]
		if err := checkOrdered(s); err != nil {
			return err
		}
		best[k] = -1
		for _, p := range s.Successors {
			if live.contains(p.ID) {
				best[k] = live.search(p.ID)
				break
			}
		}
		if best[k] < 0 {
			return fmt.Errorf("node %s has no live successor in %s", short(s.Self), shortList(s.Successors))
		}
	}
	if len(ms) >= r+1 {
		if p := countPrincipals(ms, live); p < r+1 {
			return fmt.Errorf("only %d principal members among %d, want at least r+1 = %d", p, len(ms), r+1)
		}
	}
	return checkOneOrderedCycle(ms, best)
}

// checkOrdered checks that s's successor list runs clockwise from s with no
// duplicates and no self entry.
func checkOrdered(s *chordrouting.NodeState) error {
	prev := s.Self.ID
	for j, p := range s.Successors {
		if p.ID == s.Self.ID {
			return fmt.Errorf("node %s lists itself at position %d of %s", short(s.Self), j, shortList(s.Successors))
		}
		if j > 0 && !strictlyBetween(prev, p.ID, s.Self.ID) {
			return fmt.Errorf("node %s: successor list %s is not ordered clockwise or repeats an entry at %d",
				short(s.Self), shortList(s.Successors), j)
		}
		prev = p.ID
	}
	return nil
}

// countPrincipals counts members that no member's extended successor list
// (itself followed by its successors) skips over.
func countPrincipals(ms []chordrouting.NodeState, live *ring) int {
	n := len(ms)
	diff := make([]int, n+1)
	mark := func(a, b chordrouting.ID) { // members strictly inside (a, b)
		lo := live.search(a)
		if lo < n && live.m[lo].id == a {
			lo++
		}
		hi := live.search(b)
		switch {
		case a == b:
			// (a, a) is everything but a: mark all, then unmark a.
			diff[0]++
			diff[n]--
			if k := live.search(a); k < n && live.m[k].id == a {
				diff[k]--
				diff[k+1]++
			}
		case bytes.Compare(a[:], b[:]) < 0:
			if lo < hi {
				diff[lo]++
				diff[hi]--
			}
		default: // wraps past zero
			diff[lo]++
			diff[n]--
			diff[0]++
			diff[hi]--
		}
	}
	for k := range ms {
		prev := ms[k].Self.ID
		for _, p := range ms[k].Successors {
			mark(prev, p.ID)
			prev = p.ID
		}
	}
	count, run := 0, 0
	for k := 0; k < n; k++ {
		run += diff[k]
		if run == 0 {
			count++
		}
	}
	return count
}

// checkOneOrderedCycle follows best (each member's first live successor)
// from every member: all must end in the same cycle, and the cycle must wrap
// around the identifier space exactly once (one descent in ID order).
func checkOneOrderedCycle(ms []chordrouting.NodeState, best []int) error {
	n := len(ms)
	// The cycle reached from member 0: walk n steps to be surely on it.
	k := 0
	for range n {
		k = best[k]
	}
	onCycle := make([]bool, n)
	start, length, descents := k, 0, 0
	for {
		onCycle[k] = true
		length++
		nx := best[k]
		if nx <= k {
			descents++
		}
		k = nx
		if k == start {
			break
		}
	}
	if descents != 1 {
		return fmt.Errorf("the ring through %s winds %d times around the identifier space (length %d)",
			short(ms[start].Self), descents, length)
	}
	// Every member must reach that cycle.
	reach := make([]int8, n) // 0 unknown, 1 reaches the cycle, 2 being walked
	for k := range onCycle {
		if onCycle[k] {
			reach[k] = 1
		}
	}
	for k := range ms {
		path := []int{}
		j := k
		for reach[j] == 0 {
			reach[j] = 2
			path = append(path, j)
			j = best[j]
		}
		if reach[j] == 2 {
			return fmt.Errorf("member %s is on a second ring, apart from the one through %s",
				short(ms[j].Self), short(ms[start].Self))
		}
		for _, p := range path {
			reach[p] = 1
		}
	}
	return nil
}
