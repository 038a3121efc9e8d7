package chordrouting

import "testing"

// sybilsAround returns made-up peers (addresses nobody answers at): one
// just before key (after the previous node a) and three just after it
// (before the owner b), as an attacker grinding IDs would place them.
func sybilsAround(a, key, b ID) []Peer {
	before := addIDs(a, halfDist(a, key))
	out := []Peer{{ID: before, Addr: "sybil-0"}}
	gap := halfDist(key, b)
	at := key
	for k := 1; k <= 3; k++ {
		gap = halfDist(ID{}, gap) // halve: each one closer to the key
		at = addIDs(key, gap)
		out = append(out, Peer{ID: at, Addr: "sybil-" + string(rune('0'+k))})
	}
	return out
}

// TestPoisonedTableFallsBackToFingers: a membership table poisoned with
// dead Sybils around a key (owner candidates after it, a range start
// before it) makes the one-hop attempt fail, but the lookup goes on by the
// finger path and names the right owner.
func TestPoisonedTableFallsBackToFingers(t *testing.T) {
	const n = 64
	net, nodes := oneHopStatic(t, n, 31, func(c *Config) { c.AntiEntropyTicks = 1 << 30 })
	for _, k := range []int{10, 30, 50} {
		owner, prev := nodes[k], nodes[k-1]
		key := addIDs(prev.self.ID, halfDist(prev.self.ID, owner.self.ID))
		from := nodes[(k+n/2)%n]
		for _, s := range sybilsAround(prev.self.ID, key, owner.self.ID) {
			if !Between(prev.self.ID, s.ID, owner.self.ID) {
				t.Fatalf("test setup: sybil %s outside (%s, %s)", s.ID.Short(), prev.self.ID.Short(), owner.self.ID.Short())
			}
			from.learnOne(s)
		}
		got := lookupTicking(t, &net.pumpNet, from, key)
		if got.Err != nil || len(got.Successors) == 0 || got.Successors[0].ID != owner.self.ID {
			t.Fatalf("lookup of %s through a poisoned table: %+v, want owner %s", key.Short(), got, owner.self.ID.Short())
		}
	}
}
