package chordrouting

import (
	"math/rand/v2"
	"testing"
)

// putTicking runs a put to the end, ticking every node in net between
// message rounds, at most maxTicks ticks; false if it did not end.
func putTicking(net *pumpNet, from *Node, items []Item, maxTicks int) (PutResult, bool) {
	var got *PutResult
	from.Put(items, func(r PutResult) { got = &r })
	if !untilDone(net, maxTicks, func() bool { return got != nil }) {
		return PutResult{}, false
	}
	return *got, true
}

// A put of a key whose owner crashed (its successor, which still names it
// as its predecessor, has not noticed yet) stores at the successor. The
// lookup finds the owner dead and confirms its successor, but the answer
// used to keep the dead node as the start of the successor's range, so
// the grouping of keys by owner gave the key back to the dead node (in a
// small ring, whose list wraps round to it) and both store attempts timed
// out, or found no owner for it and looked it up again and again (in a
// larger ring) until the successor noticed the crash.
func TestPutToCrashedOwnerStoresAtSuccessor(t *testing.T) {
	for _, size := range []int{5, 64} {
		seed := uint64(size)
		rng := rand.New(rand.NewPCG(seed, 11))
		t.Logf("seed %d, %d nodes", seed, size)
		for range 8 {
			net, nodes := sortedStaticRing(t, size, seed)
			o := rng.IntN(size)
			succ := nodes[(o+1)%size]
			from := nodes[(o+2+rng.IntN(size-2))%size]
			delete(net.nodes, nodes[o].self.Addr)
			for _, key := range []ID{nodes[o].self.ID, mid(nodes[(o+size-1)%size].self.ID, nodes[o].self.ID)} {
				val := []byte("v-" + key.Short())
				res, ok := putTicking(net, from, []Item{{Key: key, Value: val}}, 60)
				if !ok {
					t.Fatalf("%d nodes: put of %s (owner %s crashed) from %s did not end within 60 ticks",
						size, key.Short(), nodes[o].self.ID.Short(), from.self.ID.Short())
				}
				t.Logf("%d nodes: %+v", size, res)
				if res.Err != nil || res.Stored != 1 || res.RPCs != 1 || res.Lookups != 1 {
					t.Fatalf("%d nodes: put of %s (owner %s crashed): %+v, want it stored at the successor %s",
						size, key.Short(), nodes[o].self.ID.Short(), res, succ.self.ID.Short())
				}
				if vs, _ := succ.st.Values(key); len(vs) != 1 {
					t.Fatalf("%d nodes: the successor %s holds %d values under %s, want 1", size, succ.self.ID.Short(), len(vs), key.Short())
				}
			}
		}
	}
}

// mid is the point halfway from a clockwise to b.
func mid(a, b ID) ID { return addIDs(a, halfDist(a, b)) }

// dropTransport drops what drop selects and passes the rest on.
type dropTransport struct {
	inner Transport
	drop  func(to Peer, m *Message) bool
}

func (d dropTransport) Send(to Peer, m *Message) {
	if !d.drop(to, m) {
		d.inner.Send(to, m)
	}
}

// A put's retry does not store again, unconfirmed, at an owner whose
// store just failed. The putter cannot reach b (to every other node b is
// alive: a connection of the putter's that died, say), and the first
// store to x, b's predecessor, is lost. The first round names b as the
// owner of its key from x's successor list, and both stores fail; the
// retry's lookup of x's key confirms x and its list names b again, which
// the retry used to take, so the put failed although b's successor would
// have stored the item. It now looks b's key up on its own: b does not
// answer the confirmation and its successor is the owner.
func TestPutRetryAvoidsFailedOwner(t *testing.T) {
	const size = 5
	for o := range size {
		net, nodes := sortedStaticRing(t, size, 12)
		t.Logf("seed 12, owner %d", o)
		x, b, y := nodes[(o+size-1)%size], nodes[o], nodes[(o+1)%size]
		from := nodes[(o+2)%size]
		lostX := false
		from.tr = dropTransport{inner: from.tr, drop: func(to Peer, m *Message) bool {
			if to.ID == x.self.ID && m.Type == MsgStore && !lostX {
				lostX = true
				return true
			}
			return to.ID == b.self.ID
		}}
		kx, kb := mid(nodes[(o+size-2)%size].self.ID, x.self.ID), mid(x.self.ID, b.self.ID)
		res, ok := putTicking(net, from, []Item{{Key: kx, Value: []byte("x")}, {Key: kb, Value: []byte("b")}}, 80)
		if !ok || res.Err != nil || res.Stored != 2 {
			t.Fatalf("owner %d: put with b unreachable and x's first store lost: %+v (ended %v), want both stored", o, res, ok)
		}
		if vs, _ := y.st.Values(kb); len(vs) != 1 {
			t.Fatalf("owner %d: b's successor holds %d values under b's key, want 1", o, len(vs))
		}
	}
}
