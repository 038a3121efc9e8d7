package p2p

import (
	"io"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/p2p/protocol/identify"

	cr "kwsearch/chordrouting"
)

// TestTransportFreshConnectionSkipsIdentify: a request to a peer this
// host has no connection to goes out on the connection the dial opens,
// without waiting for identify on it. The peer's identify handler never
// answers, so a request that waited for identify (the host's NewStream
// does) would time out after RequestTimeout; it must be answered.
func TestTransportFreshConnectionSkipsIdentify(t *testing.T) {
	ha, hb := newTestHost(t, 1), newTestHost(t, 2)
	introduce(ha, hb)
	hb.SetStreamHandler(identify.ID, func(s network.Stream) {
		_, _ = io.Copy(io.Discard, s) // never answers; ends when reset
	})
	cfg := DefaultConfig()
	// Shorter than identify's own timeout (5 s), so a request that waited
	// for identify fails instead of proceeding after identify gives up.
	cfg.RequestTimeout = 2 * time.Second
	cfg.ReplyTimeout = 2 * time.Second
	clock := &fakeClock{now: time.Unix(0, 0)}
	a := startFake(t, ha, cfg, clock, nil)
	b := startFake(t, hb, cfg, clock, pong)

	if n := len(ha.Network().ConnsToPeer(hb.ID())); n != 0 {
		t.Fatalf("%d connections before the request, want none", n)
	}
	a.tr.Send(b.tr.Self(), &cr.Message{Type: cr.MsgPing, ID: 9, From: a.tr.Self()})
	waitFor(t, "pong over a connection whose identify never completes", func() bool { return len(a.received()) == 1 })
	if got := a.received()[0]; got.Type != cr.MsgPong || got.ID != 9 {
		t.Fatalf("reply %+v", got)
	}

	// A second request goes on the same, single, connection.
	a.tr.Send(b.tr.Self(), &cr.Message{Type: cr.MsgPing, ID: 10, From: a.tr.Self()})
	waitFor(t, "second pong", func() bool { return len(a.received()) == 2 })
	if n := len(ha.Network().ConnsToPeer(hb.ID())); n != 1 {
		t.Fatalf("%d connections after two requests, want 1", n)
	}
}
