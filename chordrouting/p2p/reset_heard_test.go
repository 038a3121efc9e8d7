package p2p

import (
	"testing"
	"time"

	cr "kwsearch/chordrouting"
)

// TestRemoteResetIsSignOfLife: a request whose stream the peer resets
// (here: over the peer's MaxInboundPerPeer) shows that the peer lives on
// that connection: the connection counts as heard on then, so a later
// request on it that the core cancels unanswered after half a
// ReplyTimeout does not close it as dead (closeIfDead). Before, only a
// reply counted, and a peer that reset a burst looked silent.
func TestRemoteResetIsSignOfLife(t *testing.T) {
	ha, hb := newTestHost(t, 25), newTestHost(t, 26)
	introduce(ha, hb)
	bcfg := DefaultConfig()
	bcfg.ReplyTimeout = bcfg.RequestTimeout // silent until the stream's end
	bcfg.MaxInboundPerPeer = 1
	b := startFake(t, hb, bcfg, WallClock{}, nil)
	a := startFake(t, ha, DefaultConfig(), WallClock{}, nil)
	if !a.tr.TrySend(b.tr.Self(), &cr.Message{Type: cr.MsgPing, ID: 1}) {
		t.Fatal("TrySend refused")
	}
	waitFor(t, "the first request at b", func() bool { return len(b.received()) == 1 })
	conns := ha.Network().ConnsToPeer(hb.ID())
	if len(conns) != 1 {
		t.Fatalf("%d connections to b, want 1", len(conns))
	}
	c := conns[0]
	sign := func() time.Time {
		a.tr.life.mu.Lock()
		defer a.tr.life.mu.Unlock()
		return a.tr.life.lastSign(c)
	}
	before := time.Now()
	if !sign().Before(before) {
		t.Fatal("the connection counts as heard on before b said anything")
	}
	if !a.tr.TrySend(b.tr.Self(), &cr.Message{Type: cr.MsgPing, ID: 2}) {
		t.Fatal("TrySend refused the second request")
	}
	waitWithin(t, 5*time.Second, func() bool { return sign().After(before) }, func() string {
		return "b reset the second request's stream (over its cap of 1) and the connection still does not count as heard on"
	})
	if got := len(b.received()); got != 1 {
		t.Fatalf("b took %d requests with MaxInboundPerPeer 1", got)
	}
}
