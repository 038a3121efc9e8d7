package chordrouting_test

import (
	"bytes"
	"sort"
	"strconv"
	"testing"
	"time"

	"kwsearch/chordrouting"
)

// TestFingerDiversity: with AdmitFinger keeping at most one finger per
// "subnet" (here: the simulator's node number modulo 2), no node holds two
// fingers of one subnet, and lookups still find the right owner; without
// it the same ring has nodes that do (so the check can fail).
func TestFingerDiversity(t *testing.T) {
	subnet := func(p chordrouting.Peer) int {
		i, err := strconv.Atoi(p.Addr)
		if err != nil {
			t.Fatalf("simulator address %q", p.Addr)
		}
		return i % 2
	}
	limit := func(c chordrouting.Peer, fingers []chordrouting.Peer) bool {
		for _, f := range fingers {
			if subnet(f) == subnet(c) {
				return false
			}
		}
		return true
	}
	crowded := func(admit func(chordrouting.Peer, []chordrouting.Peer) bool) int {
		s := newSim(t, 7, 4, 3, func(c *chordrouting.Config) { c.AdmitFinger = admit })
		t.Logf("seed %d", s.Seed())
		build(t, s, 64)
		s.RunFor(20 * time.Second) // fingers
		n := 0
		var ids []chordrouting.ID
		for _, i := range s.Live() {
			ids = append(ids, s.Peer(i).ID)
			seen := map[int]bool{}
			for _, f := range s.Node(i).State().Fingers {
				if seen[subnet(f)] {
					n++
					break
				}
				seen[subnet(f)] = true
			}
		}
		sort.Slice(ids, func(a, b int) bool { return bytes.Compare(ids[a][:], ids[b][:]) < 0 })
		pending := 0
		for range 200 {
			var key chordrouting.ID
			for k := range key {
				key[k] = byte(s.Rand().Uint32())
			}
			want, from := owner(ids, key), s.RandomLive()
			pending++
			s.Node(from).Lookup(key, func(res chordrouting.LookupResult) {
				pending--
				if res.Err != nil || len(res.Successors) == 0 || res.Successors[0].ID != want {
					t.Errorf("lookup of %s from %d: %+v, want owner %s", key.Short(), from, res, want.Short())
				}
			})
		}
		if err := s.RunUntil(func() bool { return pending == 0 }, time.Minute); err != nil {
			t.Fatalf("%d lookups unanswered", pending)
		}
		return n
	}
	if n := crowded(limit); n != 0 {
		t.Errorf("with the limit, %d nodes hold two fingers of one subnet", n)
	}
	if n := crowded(nil); n == 0 {
		t.Error("without the limit no node holds two fingers of one subnet: the test shows nothing")
	} else {
		t.Logf("without the limit, %d of 64 nodes hold two fingers of one subnet", n)
	}
}
