package p2p

import (
	"context"
	"encoding/binary"
	"io"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"

	cr "kwsearch/chordrouting"
)

func TestDefaultAddrGroup(t *testing.T) {
	for _, c := range []struct {
		addr string
		want AddrGroup
	}{
		{"/ip4/203.0.113.7/tcp/4001", AddrGroup{IP: "203.0.113.7", Subnet: "203.0.113.0/24"}},
		{"/ip4/203.0.113.200/udp/4001/quic-v1", AddrGroup{IP: "203.0.113.200", Subnet: "203.0.113.0/24"}},
		{"/ip4/10.1.2.3/tcp/1", AddrGroup{IP: "10.1.2.3", Subnet: "10.1.2.0/24"}},
		{"/ip6/2001:db8:1:2::5/tcp/4001", AddrGroup{IP: "2001:db8:1:2::5", Subnet: "2001:db8:1::/48"}},
		{"/ip6/::ffff:203.0.113.9/tcp/1", AddrGroup{IP: "203.0.113.9", Subnet: "203.0.113.0/24"}},
		{"/ip4/127.0.0.1/tcp/4001", AddrGroup{}},
		{"/ip6/::1/tcp/4001", AddrGroup{}},
		{"/ip4/0.0.0.0/tcp/1", AddrGroup{}},
		{"/dns4/example.com/tcp/1", AddrGroup{}},
		{"/ip4/198.51.100.1/tcp/4001/p2p/12D3KooWGzBkaYYWN5BqpuQ5oWs8MMTVhdPZbjuJ8SX2wsqjh5wZ/p2p-circuit",
			AddrGroup{Subnet: "relay/12D3KooWGzBkaYYWN5BqpuQ5oWs8MMTVhdPZbjuJ8SX2wsqjh5wZ"}},
	} {
		if got := DefaultAddrGroup("", ma.StringCast(c.addr)); got != c.want {
			t.Errorf("%s: %+v, want %+v", c.addr, got, c.want)
		}
	}
	if got := DefaultAddrGroup("", nil); got != (AddrGroup{}) {
		t.Errorf("nil address: %+v", got)
	}
}

// The caps count per peer, per IP and per subnet; giving a slot back
// frees it at every level.
func TestInboundCounts(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaxInbound, cfg.MaxInboundPerPeer, cfg.MaxInboundPerIP, cfg.MaxInboundPerSubnet = 10, 3, 4, 5
	c := newInboundCounts()
	a1 := slotOf("a1", AddrGroup{IP: "203.0.113.1", Subnet: "203.0.113.0/24"})
	a2 := slotOf("a2", AddrGroup{IP: "203.0.113.1", Subnet: "203.0.113.0/24"})
	b := slotOf("b", AddrGroup{IP: "203.0.113.2", Subnet: "203.0.113.0/24"})

	take := func(s inboundSlot, n int) (got int) {
		for range n {
			if c.take(s, cfg) {
				got++
			}
		}
		return got
	}
	if got := take(a1, 5); got != 3 {
		t.Fatalf("peer a1 got %d slots, per-peer cap 3", got)
	}
	if got := take(a2, 5); got != 1 {
		t.Fatalf("peer a2 on a1's IP got %d slots, per-IP cap 4 (3 used)", got)
	}
	if got := take(b, 5); got != 1 {
		t.Fatalf("peer b in the same /24 got %d slots, per-subnet cap 5 (4 used)", got)
	}
	var local []inboundSlot // ungrouped peers (loopback): only the total and per-peer caps
	for i := range 20 {
		if s := slotOf(peer.ID(rune('A'+i)), AddrGroup{}); c.take(s, cfg) {
			local = append(local, s)
		}
	}
	if len(local) != 5 {
		t.Fatalf("ungrouped peers got %d slots, want the rest of the total (5)", len(local))
	}
	c.give(a1)
	if !c.take(b, cfg) {
		t.Fatal("a slot given back by a1 is not free for b in its subnet")
	}
	for _, s := range []inboundSlot{a1, a1, a2, b, b} {
		c.give(s)
	}
	for _, s := range local {
		c.give(s)
	}
	if c.total != 0 || len(c.perPeer) != 0 || len(c.perGroup) != 0 {
		t.Fatalf("after giving every slot back: %+v", c)
	}
}

// holdIdle opens a ring stream from h to target, writes prefix and then
// nothing; it returns a channel that receives how long the stream lived
// once the target ends it (or limit passes).
func holdIdle(t *testing.T, h, target host.Host, prefix []byte, limit time.Duration) <-chan time.Duration {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := h.NewStream(ctx, target.ID(), ProtocolID)
	if err != nil {
		t.Fatal(err)
	}
	if len(prefix) > 0 {
		if _, err := s.Write(prefix); err != nil {
			t.Fatal(err)
		}
	}
	done := make(chan time.Duration, 1)
	start := time.Now()
	go func() {
		defer s.Reset()
		_ = s.SetReadDeadline(start.Add(limit))
		_, _ = io.Copy(io.Discard, s) // also sends a lazy stream's protocol header
		done <- time.Since(start)
	}()
	return done
}

// A stream that sends nothing, half a length prefix, or a length and
// part of a small body is ended after about HeaderTimeout, not after
// RequestTimeout; an honest request that comes a little late is answered.
func TestTransportHeaderTimeout(t *testing.T) {
	ha, hb := newTestHost(t, 1), newTestHost(t, 2)
	introduce(ha, hb)
	clock := &fakeClock{now: time.Unix(0, 0)}
	cfg := DefaultConfig()
	cfg.HeaderTimeout = 300 * time.Millisecond
	startFake(t, hb, cfg, clock, pong)
	limit := cfg.RequestTimeout // what an idle stream got before
	cases := map[string][]byte{
		"nothing":           nil,
		"half a length":     {0x85},
		"length, some body": append(binary.AppendUvarint(nil, 200), make([]byte, 20)...),
	}
	ends := map[string]<-chan time.Duration{}
	for name, prefix := range cases {
		ends[name] = holdIdle(t, ha, hb, prefix, limit)
	}
	// Ended within HeaderTimeout plus the body's time at MinReadRate,
	// with generous slack for a loaded machine, far below RequestTimeout.
	bound := cfg.HeaderTimeout*2 + 2*time.Second
	for name, ch := range ends {
		if took := <-ch; took > bound {
			t.Errorf("%s: idle stream held %v, want at most %v (RequestTimeout %v)", name, took.Round(time.Millisecond), bound, cfg.RequestTimeout)
		} else {
			t.Logf("%s: ended after %v", name, took.Round(time.Millisecond))
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := ha.NewStream(ctx, hb.ID(), ProtocolID)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Reset()
	time.Sleep(cfg.HeaderTimeout / 3) // a slow but honest requester (the delay under test, not a wait for a condition)
	r, _, err := RoundTrip(s, &cr.Message{Type: cr.MsgPing, ID: 5, From: PeerOf(ha.ID())}, nil, 1<<20, nil)
	if err != nil || r.Type != cr.MsgPong {
		t.Fatalf("late honest ping: %+v, %v", r, err)
	}
}

// bodyDeadline gives a large frame time at MinReadRate, capped by
// RequestTimeout.
func TestBodyDeadline(t *testing.T) {
	cfg := DefaultConfig()
	start := time.Unix(100, 0)
	d := streamDeadlines{cfg: cfg, start: start}
	now := start.Add(time.Second)
	if got, want := d.bodyDeadline(100, now), now.Add(cfg.HeaderTimeout+time.Duration(100)*time.Second/time.Duration(cfg.MinReadRate)); !got.Equal(want) {
		t.Errorf("small body: %v, want %v", got, want)
	}
	if got, want := d.bodyDeadline(cfg.MaxMessageSize, now), start.Add(cfg.RequestTimeout); !got.Equal(want) {
		t.Errorf("largest body: %v, want the stream's end %v", got, want)
	}
}

// Many peer IDs from one subnet cannot take the whole inbound cap: a peer
// from another address is still answered. Loopback is in no group, so
// the test maps hosts to addresses by peer ID.
func TestTransportInboundCapPerSubnet(t *testing.T) {
	hb := newTestHost(t, 10)
	sybils := []host.Host{newTestHost(t, 11), newTestHost(t, 12), newTestHost(t, 13)}
	honest := newTestHost(t, 14)
	fake := map[peer.ID]AddrGroup{honest.ID(): {IP: "198.51.100.1", Subnet: "198.51.100.0/24"}}
	for i, s := range sybils {
		fake[s.ID()] = AddrGroup{IP: "203.0.113." + string(rune('1'+i)), Subnet: "203.0.113.0/24"}
	}
	clock := &fakeClock{now: time.Unix(0, 0)}
	cfg := DefaultConfig()
	cfg.MaxInbound, cfg.MaxInboundPerPeer, cfg.MaxInboundPerIP, cfg.MaxInboundPerSubnet = 8, 4, 4, 6
	cfg.HeaderTimeout = cfg.RequestTimeout // idle streams hold their slots for the whole test
	tr, err := NewTransport(hb, cfg, clock)
	if err != nil {
		t.Fatal(err)
	}
	tr.SetAddrGrouper(func(p peer.ID, _ ma.Multiaddr) AddrGroup { return fake[p] })
	n := &fakeNode{tr: tr, reply: func(m *cr.Message) *cr.Message { return pong(tr.Self(), m) }}
	tr.Start(n.deliver)
	t.Cleanup(func() { tr.Close() })

	var held []<-chan time.Duration
	for _, s := range sybils {
		introduce(s, hb)
		for range cfg.MaxInboundPerPeer {
			held = append(held, holdIdle(t, s, hb, []byte{0x85}, cfg.RequestTimeout))
		}
	}
	waitFor(t, "sybil streams counted", func() bool {
		tr.mu.Lock()
		defer tr.mu.Unlock()
		return tr.in.total == cfg.MaxInboundPerSubnet && len(held)-countEnded(held) == cfg.MaxInboundPerSubnet
	})
	introduce(honest, hb)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := honest.NewStream(ctx, hb.ID(), ProtocolID)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Reset()
	r, _, err := RoundTrip(s, &cr.Message{Type: cr.MsgPing, ID: 1, From: PeerOf(honest.ID())}, nil, 1<<20, nil)
	if err != nil || r.Type != cr.MsgPong {
		t.Fatalf("honest peer from another subnet: %+v, %v (sybils hold %d of %d)", r, err, cfg.MaxInboundPerSubnet, cfg.MaxInbound)
	}
}

// countEnded counts the streams whose end has been reported (without
// receiving the report).
func countEnded(chs []<-chan time.Duration) int {
	n := 0
	for _, ch := range chs {
		if len(ch) > 0 {
			n++
		}
	}
	return n
}
