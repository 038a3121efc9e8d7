package chordrouting

import (
	"errors"
	"testing"
)

// TestLookupSkipsBusyPeer: on a 40-node Chord ring, a node starts more
// lookups of nearby keys at once than MaxOpsPerPeer, all of whose first
// hop is one finger, which is dead. MaxOpsPerPeer of them are sent to it
// and as many held, which end unsent when their wait does: those ask
// their next candidate, as the timed-out ones do, and every lookup finds
// its key's owner (before, every held one ended ErrBusy, as if the
// node's whole pending table were full). One more beyond the held queue
// is refused and skips the finger at once.
func TestLookupSkipsBusyPeer(t *testing.T) {
	const seed = 23
	net, nodes := sortedStaticRing(t, 40, seed)
	t.Logf("seed %d", seed)
	nd := nodes[0]
	if len(nd.fingers) == 0 {
		t.Fatal("no fingers: the test does not test it")
	}
	d := ringIndex(nodes, nd.fingers[len(nd.fingers)-1].ID)
	dead, owner := nodes[d], nodes[(d+1)%len(nodes)]
	delete(net.nodes, dead.self.Addr)
	lookups := 2*nd.cfg.MaxOpsPerPeer + 1
	type result struct {
		r    LookupResult
		done bool
	}
	res := make([]result, lookups)
	for i := range lookups {
		key := dead.self.ID
		key[len(key)-1] += byte(i + 1) // just after the finger, owned by the next node
		if ownerIn(nodes, key) != owner {
			t.Fatalf("key %d is not owned by the finger's successor", i)
		}
		nd.Lookup(key, func(r LookupResult) { res[i] = result{r, true} })
	}
	if len(nd.held) != nd.cfg.MaxOpsPerPeer {
		t.Fatalf("%d lookups held for the finger, want %d: the test does not test it", len(nd.held), nd.cfg.MaxOpsPerPeer)
	}
	for range 4 * nd.cfg.LookupTimeoutTicks {
		net.run()
		for _, x := range nodes {
			if x != dead {
				x.Tick()
			}
		}
	}
	net.run()
	for i, r := range res {
		switch {
		case !r.done:
			t.Fatalf("lookup %d did not end", i)
		case errors.Is(r.r.Err, ErrBusy):
			t.Fatalf("lookup %d ended %v: a busy finger ended the whole lookup", i, r.r.Err)
		case r.r.Err != nil || len(r.r.Successors) == 0 || r.r.Successors[0].ID != owner.self.ID:
			t.Fatalf("lookup %d: %+v, want owner %s", i, r.r, owner.self.Addr)
		}
	}
	if nd.opPending != 0 || len(nd.held) != 0 {
		t.Fatalf("left over: opPending %d, held %d", nd.opPending, len(nd.held))
	}
}
