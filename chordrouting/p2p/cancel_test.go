package p2p

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	cr "kwsearch/chordrouting"
)

// TestCancelFreesOutboundSlot: a ring core's request to a silent peer
// gives its exchange back when the core times the request out (Cancel),
// long before the transport's own RequestTimeout (10 s): the only
// MaxOutbound slot is free again, and TrySend accepts, well within 2 s.
// Before, the exchange held the slot until RequestTimeout, so a long
// flood at silent peers could fill MaxOutbound and pause maintenance.
func TestCancelFreesOutboundSlot(t *testing.T) {
	ha, hb := newTestHost(t, 21), newTestHost(t, 22)
	introduce(ha, hb)
	bcfg := DefaultConfig()
	bcfg.ReplyTimeout = bcfg.RequestTimeout // silent until the stream's end
	b := startFake(t, hb, bcfg, WallClock{}, nil)

	acfg := DefaultConfig()
	acfg.MaxOutbound = 1
	tr, err := NewTransport(ha, acfg, WallClock{})
	if err != nil {
		t.Fatal(err)
	}
	tr.Start(func(*cr.Message) {}) // nothing comes back: b is silent
	t.Cleanup(func() { tr.Close() })
	core := cr.DefaultConfig()
	core.ClientForward = false
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	n, err := cr.NewNode(tr.Self(), core, tr, cr.NewMemStorage(), WallClock{}, rand.New(rand.NewPCG(seed, 1)))
	if err != nil {
		t.Fatal(err)
	}
	n.SetEntryPoints([]cr.Peer{b.tr.Self()})
	ended := false
	n.Lookup(cr.HashID([]byte("silent")), func(cr.LookupResult) { ended = true })
	waitFor(t, "the lookup's request at the silent peer", func() bool { return len(b.received()) == 1 })
	if tr.TrySend(b.tr.Self(), &cr.Message{Type: cr.MsgPing, ID: 1 << 40}) {
		t.Fatal("TrySend accepted a second exchange with MaxOutbound 1 taken")
	}
	// The core's timeout (in ticks, driven here at once).
	began := time.Now()
	for range 2 * core.RequestTimeoutTicks {
		n.Tick()
	}
	if !ended {
		t.Fatal("the lookup did not end with its request's timeout")
	}
	waitWithin(t, 2*time.Second, func() bool {
		tr.mu.Lock()
		defer tr.mu.Unlock()
		return tr.outTotal == 0
	}, func() string {
		return "the exchange the core stopped waiting for still holds the transport's only slot 2 s later (RequestTimeout 10 s)"
	})
	t.Logf("slot free %v after the core's timeout", time.Since(began))
	if !tr.TrySend(b.tr.Self(), &cr.Message{Type: cr.MsgPing, ID: 1 << 41}) {
		t.Fatal("TrySend refused with no exchange in flight")
	}
}

// TestRequesterResetFreesInboundSlot: a request whose requester resets
// its stream (Cancel) gives the receiver's slot for that peer
// (MaxInboundPerPeer) back at once, not when the receiver's node answers
// or its ReplyTimeout (10 s here) ends: the two sides then agree on how
// many of the requester's streams are open, which the ring core's cap on
// operations per peer counts on. A requester that only closes its side
// still gets its reply.
func TestRequesterResetFreesInboundSlot(t *testing.T) {
	ha, hb := newTestHost(t, 23), newTestHost(t, 24)
	introduce(ha, hb)
	bcfg := DefaultConfig()
	bcfg.ReplyTimeout = bcfg.RequestTimeout
	b := startFake(t, hb, bcfg, WallClock{}, nil)
	a := startFake(t, ha, DefaultConfig(), WallClock{}, nil)
	held := func() int {
		b.tr.mu.Lock()
		defer b.tr.mu.Unlock()
		return b.tr.in.perPeer[ha.ID()]
	}
	if !a.tr.TrySend(b.tr.Self(), &cr.Message{Type: cr.MsgPing, ID: 5}) {
		t.Fatal("TrySend refused")
	}
	waitFor(t, "the request at b", func() bool { return len(b.received()) == 1 && held() == 1 })
	a.tr.Cancel(b.tr.Self(), 5)
	waitWithin(t, 2*time.Second, func() bool { return held() == 0 }, func() string {
		return "the receiver still holds the stream of a request its requester reset, 2 s later (ReplyTimeout 10 s)"
	})

	// Closing the write side only is no reset: the reply still comes.
	s, err := ha.NewStream(context.Background(), hb.ID(), ProtocolID)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Reset()
	_ = s.SetDeadline(time.Now().Add(5 * time.Second))
	if err := WriteMessage(s, &cr.Message{Type: cr.MsgPing, ID: 6}, nil, 1<<20); err != nil {
		t.Fatal(err)
	}
	if err := s.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the second request at b", func() bool { return len(b.received()) == 2 })
	b.tr.Send(a.tr.Self(), &cr.Message{Type: cr.MsgPong, ID: 6, From: b.tr.Self()})
	reply, _, err := ReadMessage(s, 1<<20, nil)
	if err != nil || reply.Type != cr.MsgPong || reply.ID != 6 {
		t.Fatalf("reply after CloseWrite: %+v, %v", reply, err)
	}
}
