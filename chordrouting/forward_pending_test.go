package chordrouting

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestForwardsKeepRingMaintenance: a member whose owners do not answer
// its stores (slow or unresponsive) while clients forward every store
// batch they may (MaxForwards, MaxForwardsPerClient) and its own Put
// sends hundreds of stores keeps its ring state: operations hold at most
// their share of the pending table, its stabilize queries still go out,
// its successor list stays whole and it claims no key it does not own;
// forwards beyond the share are refused. Then, with the table full to
// MaxPending (maintenance included), a stabilize query that cannot be
// sent drops no head and a predecessor ping that cannot be sent replaces
// no predecessor.
func TestForwardsKeepRingMaintenance(t *testing.T) {
	const n = 300
	net, nodes, _, _ := forwardRing(t, n, 71, nil, 0)
	entry := nodes[0]
	etr := &hookTransport{inner: entry.tr}
	entry.tr = etr
	// The owners never acknowledge: the stores stay in flight.
	etr.hook = func(_ Peer, m *Message) bool { return !(m.Type == MsgStore && !m.Forward && !m.Replica) }
	// The operations' share of the pending table is under test, not the
	// cap per peer (TestOpsPerPeerKeepMaintenance), which would refuse
	// most of these stores long before the share is full.
	entry.cfg.MaxOpsPerPeer = entry.cfg.MaxPending
	cfg := entry.cfg
	rng := rand.New(rand.NewPCG(71, 8))
	batch := func(tag int) []Item {
		items := make([]Item, cfg.ForwardBatchItems)
		for i := range items {
			items[i] = Item{Key: randomKey(rng), Value: []byte(fmt.Sprintf("pub|f%d-%d|1|3600", tag, i))}
		}
		return items
	}
	id := uint64(0)
	refused := 0
	for c := 0; c < cfg.MaxForwards/cfg.MaxForwardsPerClient; c++ {
		from := Peer{ID: randomKey(rng), Addr: fmt.Sprintf("client%d", c)}
		for range cfg.MaxForwardsPerClient {
			id++
			entry.Step(&Message{Type: MsgStore, Forward: true, ID: id, From: from, Items: batch(int(id))})
			net.run()
			if a := answersTo(etr, from, id); len(a) == 1 && a[0].Type == MsgError {
				refused++
			}
		}
	}
	if entry.fwd.total < cfg.MaxForwards/2 {
		t.Fatalf("only %d forwards run (%d refused): the test needs them", entry.fwd.total, refused)
	}
	// The member's own publishes: one store per owner each, no window.
	for k := range 12 {
		var items []Item
		for j := range 8 {
			items = append(items, batch(-8*k-j-1)...)
		}
		entry.Put(items, nil)
		net.run()
	}
	t.Logf("forwards running %d (%d refused), pending %d (operations %d, share %d) of MaxPending %d",
		entry.fwd.total, refused, len(entry.pending), entry.opPending, entry.opShare(), cfg.MaxPending)
	if entry.opPending != entry.opShare() {
		t.Fatalf("operations hold %d pending requests, want their whole share, %d (no more, and the test needs it full)", entry.opPending, entry.opShare())
	}
	from := Peer{ID: randomKey(rng), Addr: "late client"}
	id++
	entry.Step(&Message{Type: MsgStore, Forward: true, ID: id, From: from, Items: batch(0)})
	if a := answersTo(etr, from, id); len(a) != 1 || a[0].Type != MsgError {
		t.Fatalf("a forward with the operations' share full: %+v, want a refusal", a)
	}

	succ := append([]Peer(nil), entry.succ...)
	ticks := cfg.RequestTimeoutTicks - 1 // the stores stay in flight
	for range ticks {
		before := len(etr.sent)
		entry.Tick()
		net.run()
		asked := false
		for _, s := range etr.sent[before:] {
			asked = asked || (s.m.Type == MsgGetState && s.to.ID == succ[0].ID)
		}
		if !asked {
			t.Fatalf("the member sent no stabilize query to its head %s", succ[0].Addr)
		}
		if !samePeers(entry.succ, succ) {
			t.Fatalf("the successor list changed from %d to %d entries", len(succ), len(entry.succ))
		}
	}
	for _, k := range []int{1, n / 2, n - 1} {
		if _, own := entry.localAnswer(nodes[k].self.ID); own {
			t.Fatalf("the member claims the key of member %d", k)
		}
	}

	// The whole table full: nothing can be sent.
	entry.hasPred, entry.pred = true, nodes[n-1].self
	for len(entry.pending) < cfg.MaxPending {
		entry.pending = append(entry.pending, pending{id: 1 << 62, deadline: 1 << 62, cb: func(*Message) {}})
	}
	entry.stabBusy = false
	entry.stabilize()
	entry.rectify(nodes[n-2].self) // a farther notifier: the predecessor is pinged
	entry.Tick()
	net.run()
	if !samePeers(entry.succ, succ) {
		t.Fatalf("with the pending table full the successor list changed from %d to %d entries", len(succ), len(entry.succ))
	}
	if entry.pred.ID != nodes[n-1].self.ID {
		t.Fatalf("with the pending table full the predecessor was replaced by %s", entry.pred.Addr)
	}
}
