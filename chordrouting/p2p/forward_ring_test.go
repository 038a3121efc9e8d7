package p2p

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	cr "kwsearch/chordrouting"
)

// TestRingClientForwards runs forwarding over libp2p: a client (not a
// member) publishes and searches through its two entry points, which run
// the operations with their one-hop tables and answer on the client's
// streams. The client gets the values, and it never connects to any
// member but its entry points (the iterative path dials each key's owner).
func TestRingClientForwards(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cfg := testRingConfig()
	cfg.OneHop = true
	cfg.SuccessorListLen, cfg.Replicas = 2, 2
	rings, infos := oneHopRing(t, ctx, cfg, 6, 500)

	ch := newTestHost(t, 599)
	client, err := New(ch, cfg, cr.NewMemStorage(), Options{Tick: 10 * time.Millisecond, Rand: rand.New(rand.NewPCG(599, 1))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close(false) })
	entries := infos[4:6]
	if err := client.SetEntryPoints(ctx, entries); err != nil {
		t.Fatal(err)
	}
	ids := make([]cr.ID, len(rings))
	for i, r := range rings {
		ids[i] = r.Self().ID
	}
	slices.SortFunc(ids, func(a, b cr.ID) int { return a.Cmp(b) })
	isEntry := func(id cr.ID) bool {
		return slices.ContainsFunc(entries, func(ai peer.AddrInfo) bool { return PeerOf(ai.ID).ID == id })
	}
	// Keys owned by members other than the entry points.
	rng := rand.New(rand.NewPCG(5, 5))
	t.Logf("seed 5")
	var keys []cr.ID
	for len(keys) < 8 {
		key := cr.HashID(fmt.Appendf(nil, "key%d", rng.Uint64()))
		i, _ := slices.BinarySearchFunc(ids, key, func(a, b cr.ID) int { return a.Cmp(b) })
		if !isEntry(ids[i%len(ids)]) {
			keys = append(keys, key)
		}
	}
	var items []cr.Item
	for k, key := range keys {
		items = append(items, cr.Item{Key: key, Value: fmt.Appendf(nil, "value%d", k)})
	}
	pr, err := client.Runner.Put(ctx, items)
	if err != nil || pr.Stored != len(items) || pr.Lookups != 0 {
		t.Fatalf("client put: %+v %v; want %d stored by its entry points, no lookups of its own", pr, err, len(items))
	}
	for k, key := range keys {
		gr, err := client.Runner.Get(ctx, key, nil, 10)
		if err != nil || len(gr.Values) != 1 || string(gr.Values[0]) != string(items[k].Value) {
			t.Fatalf("client get %d: %+v %v, want %q", k, gr, err, items[k].Value)
		}
		if !isEntry(gr.From.ID) {
			t.Fatalf("client get %d answered by %s, not an entry point", k, gr.From.ID.Short())
		}
	}
	for _, p := range ch.Network().Peers() {
		if !isEntry(PeerOf(p).ID) {
			t.Fatalf("the client connected to %s, which is not one of its entry points", p)
		}
	}
	if client.Runner.State().Member {
		t.Fatal("the client is a member")
	}
}

// TestTransportForwardWaitsLonger: an incoming forwarded request waits for
// the node's reply beyond ReplyTimeout (the node runs its own operation
// first), up to shortly before the stream's deadline; a direct request
// is dropped at ReplyTimeout.
func TestTransportForwardWaitsLonger(t *testing.T) {
	cfg := DefaultConfig()
	cfg.ReplyTimeout = 100 * time.Millisecond
	a, b := fakePair(t, DefaultConfig(), cfg, nil)
	key := cr.HashID([]byte("k"))
	a.tr.Send(b.tr.Self(), &cr.Message{Type: cr.MsgGet, ID: 1, Key: key})
	a.tr.Send(b.tr.Self(), &cr.Message{Type: cr.MsgGet, ID: 2, Key: key, Forward: true})
	waitFor(t, "both requests delivered", func() bool { return len(b.received()) == 2 })
	waiting := func(id uint64) bool {
		b.tr.mu.Lock()
		defer b.tr.mu.Unlock()
		_, ok := b.tr.pending[pendingKey{a.tr.h.ID(), id}]
		return ok
	}
	waitFor(t, "the direct request dropped while the forwarded one waits", func() bool { return !waiting(1) && waiting(2) })
	b.tr.Send(a.tr.Self(), &cr.Message{Type: cr.MsgGetReply, ID: 2, Key: key, Done: true, From: b.tr.Self()})
	waitFor(t, "the forwarded request's reply", func() bool { return len(a.received()) == 1 })
	if got := a.received()[0]; got.ID != 2 || got.Type != cr.MsgGetReply || !got.Done {
		t.Fatalf("reply %+v", got)
	}
}

// TestTransportForwardWait: the core's wait for a forward's answer is
// capped at the transport's stream deadline (chordrouting.ForwardWaiter).
func TestTransportForwardWait(t *testing.T) {
	cfg := DefaultConfig()
	cfg.RequestTimeout = 7 * time.Second
	tr := startFake(t, newTestHost(t, 1), cfg, &fakeClock{now: time.Unix(0, 0)}, nil).tr
	var w cr.ForwardWaiter = tr
	if got := w.ForwardWait(); got != cfg.RequestTimeout {
		t.Fatalf("ForwardWait %v, want RequestTimeout %v", got, cfg.RequestTimeout)
	}
}
