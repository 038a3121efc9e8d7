package chordrouting

import (
	"math/rand/v2"
	"sort"
	"testing"
)

func TestMemberTableAgainstScan(t *testing.T) {
	seed := uint64(7)
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	for round := 0; round < 200; round++ {
		tb := newMemberTable(nil, 1<<10)
		var ids []ID
		for k := rng.IntN(40); k > 0; k-- {
			var id ID
			id[0] = byte(rng.Uint32())
			id[1] = byte(rng.Uint32())
			if tb.add(Peer{ID: id, Addr: "a"}) {
				ids = append(ids, id)
			}
		}
		if len(ids) > 0 && rng.IntN(2) == 0 {
			gone := ids[rng.IntN(len(ids))]
			if !tb.remove(gone) {
				t.Fatalf("round %d: remove of a present entry failed", round)
			}
			for k, id := range ids {
				if id == gone {
					ids = append(ids[:k], ids[k+1:]...)
					break
				}
			}
		}
		sort.Slice(ids, func(a, b int) bool { return ids[a].Less(ids[b]) })
		if tb.len() != len(ids) {
			t.Fatalf("round %d: %d entries, want %d", round, tb.len(), len(ids))
		}
		var key ID
		key[0], key[1] = byte(rng.Uint32()), byte(rng.Uint32())
		p, ok := tb.predOf(key)
		if ok != (len(ids) > 0) {
			t.Fatalf("round %d: predOf ok=%v with %d entries", round, ok, len(ids))
		}
		if ok {
			// Scan: the entry with the largest clockwise distance-to-key
			// below the whole ring, i.e. nothing lies in (p, key).
			for _, id := range ids {
				if id != key && Between(p.ID, id, key) {
					t.Fatalf("round %d: predOf(%v) = %v but %v lies between", round, key, p.ID, id)
				}
			}
			if p.ID == key && len(ids) > 1 {
				t.Fatalf("round %d: predOf returned the key itself", round)
			}
		}
		if len(ids) > 1 {
			self := ids[rng.IntN(len(ids))]
			next, ok := tb.after(self, 1)
			if !ok || next.ID == self {
				t.Fatalf("round %d: after(self, 1) = %v, %v", round, next.ID, ok)
			}
			for _, id := range ids {
				if Between(self, id, next.ID) {
					t.Fatalf("round %d: after skipped %v", round, id)
				}
			}
			if _, ok := tb.after(self, len(ids)); ok {
				t.Fatalf("round %d: after beyond the other entries answered", round)
			}
		}
	}
}

func TestMemberTableCapAndPage(t *testing.T) {
	tb := newMemberTable(nil, 3)
	for b := byte(1); b <= 5; b++ {
		tb.add(Peer{ID: idAt(b * 16), Addr: "x"})
	}
	if tb.len() != 3 {
		t.Fatalf("cap 3 holds %d entries", tb.len())
	}
	pg := tb.page(idAt(16), 10, nil)
	if len(pg) != 2 || pg[0].ID != idAt(32) || pg[1].ID != idAt(48) {
		t.Fatalf("page after 0x10: %v", pg)
	}
	if tb.add(Peer{ID: idAt(32), Addr: "y"}) || tb.peer(1).Addr != "y" {
		t.Fatal("re-adding an entry must update its address and report it as known")
	}
	if tb.remove(idAt(0x70)) {
		t.Fatal("removed an absent entry")
	}
}
