package p2p

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peerstore"
	"github.com/libp2p/go-libp2p/p2p/security/noise"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
	"google.golang.org/protobuf/encoding/protowire"

	cr "kwsearch/chordrouting"
)

// newTestHost starts a libp2p host on loopback TCP; opts are added to
// its libp2p options.
func newTestHost(t testing.TB, seed uint64, opts ...libp2p.Option) host.Host {
	t.Helper()
	priv, _ := testPeer(t, seed)
	h, err := libp2p.New(append([]libp2p.Option{
		libp2p.Identity(priv),
		libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"),
		// TCP and Noise only: the cheapest handshake, which matters with
		// dozens of hosts in one process under the race detector.
		libp2p.NoTransports,
		libp2p.Transport(tcp.NewTCPTransport),
		libp2p.Security(noise.ID, noise.New),
		libp2p.DisableRelay(),
		libp2p.DisableMetrics(),
		libp2p.Ping(false),
	}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return h
}

// introduce puts b's addresses in a's peerstore.
func introduce(a, b host.Host) {
	a.Peerstore().AddAddrs(b.ID(), b.Addrs(), peerstore.PermanentAddrTTL)
}

// fakeNode stands in for a Runner: it records what it is given and, for a
// request, sends the reply its reply function makes (if any).
type fakeNode struct {
	tr    *Transport
	mu    sync.Mutex
	got   []*cr.Message
	reply func(m *cr.Message) *cr.Message
}

func (n *fakeNode) deliver(m *cr.Message) {
	n.mu.Lock()
	n.got = append(n.got, m)
	reply := n.reply
	n.mu.Unlock()
	if m.Type.IsRequest() && reply != nil {
		if r := reply(m); r != nil {
			n.tr.Send(m.From, r)
		}
	}
}

func (n *fakeNode) received() []*cr.Message {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]*cr.Message(nil), n.got...)
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func startFake(t testing.TB, h host.Host, cfg Config, clock cr.Clock, reply func(self cr.Peer, m *cr.Message) *cr.Message) *fakeNode {
	t.Helper()
	tr, err := NewTransport(h, cfg, clock)
	if err != nil {
		t.Fatal(err)
	}
	n := &fakeNode{tr: tr}
	if reply != nil {
		n.reply = func(m *cr.Message) *cr.Message { return reply(tr.Self(), m) }
	}
	tr.Start(n.deliver)
	t.Cleanup(func() { tr.Close() })
	return n
}

// fakePair starts two introduced hosts (seeds 1 and 2) with fake nodes,
// a with cfgA answering nothing, b with cfgB answering as replyB does
// (nil: nothing), on one fake clock.
func fakePair(t testing.TB, cfgA, cfgB Config, replyB func(self cr.Peer, m *cr.Message) *cr.Message) (a, b *fakeNode) {
	t.Helper()
	ha, hb := newTestHost(t, 1), newTestHost(t, 2)
	introduce(ha, hb)
	clock := &fakeClock{now: time.Unix(0, 0)}
	return startFake(t, ha, cfgA, clock, nil), startFake(t, hb, cfgB, clock, replyB)
}

func pong(self cr.Peer, m *cr.Message) *cr.Message {
	return &cr.Message{Type: cr.MsgPong, ID: m.ID, From: self}
}

func TestTransportRequestReply(t *testing.T) {
	a, b := fakePair(t, DefaultConfig(), DefaultConfig(), pong)

	a.tr.Send(b.tr.Self(), &cr.Message{Type: cr.MsgPing, ID: 7, From: a.tr.Self()})
	waitFor(t, "pong", func() bool { return len(a.received()) == 1 })
	got := a.received()[0]
	if got.Type != cr.MsgPong || got.ID != 7 || got.From != b.tr.Self() {
		t.Fatalf("reply %+v", got)
	}
	if in := b.received(); len(in) != 1 || in[0].From != a.tr.Self() {
		t.Fatalf("b received %+v", in)
	}

	// One-way: delivered, nothing comes back.
	a.tr.Send(b.tr.Self(), &cr.Message{Type: cr.MsgNotify, From: a.tr.Self()})
	waitFor(t, "notify", func() bool { return len(b.received()) == 2 })
	if m := b.received()[1]; m.Type != cr.MsgNotify || m.From != a.tr.Self() {
		t.Fatalf("b received %+v", m)
	}

	// To self: delivered locally.
	a.tr.Send(a.tr.Self(), &cr.Message{Type: cr.MsgNotify, From: a.tr.Self()})
	waitFor(t, "self delivery", func() bool { return len(a.received()) == 2 })
}

// A message whose sender is not the stream's peer is refused.
// TestTransportSenderIsStreamPeer: a message's sender is the stream's
// authenticated peer, whatever the message claims; one that names a
// sender (the field the codec no longer writes) is refused unread.
func TestTransportSenderIsStreamPeer(t *testing.T) {
	ha, hb, hc := newTestHost(t, 1), newTestHost(t, 2), newTestHost(t, 3)
	introduce(hc, hb)
	clock := &fakeClock{now: time.Unix(0, 0)}
	b := startFake(t, hb, DefaultConfig(), clock, pong)

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := hc.NewStream(ctx, hb.ID(), ProtocolID)
	if err != nil {
		t.Fatal(err)
	}
	body := appendPeer(Encode(&cr.Message{Type: cr.MsgPing, ID: 1}, nil), fSender, PeerOf(ha.ID()), nil)
	if _, err := s.Write(append(protowire.AppendVarint(nil, uint64(len(body))), body...)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Read(make([]byte, 1)); err == nil {
		t.Fatal("a message naming another sender was answered")
	}
	s.Reset()
	if n := len(b.received()); n != 0 {
		t.Fatalf("a message naming another sender was delivered (%d)", n)
	}

	s, err = hc.NewStream(ctx, hb.ID(), ProtocolID)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	r, _, err := RoundTrip(s, &cr.Message{Type: cr.MsgPing, ID: 2}, nil, 1<<20, nil)
	if err != nil || r.Type != cr.MsgPong {
		t.Fatalf("ping: %+v %v", r, err)
	}
	if in := b.received(); len(in) != 1 || in[0].From != PeerOf(hc.ID()) {
		t.Fatalf("delivered %+v, want one ping from the stream's peer %s", in, hc.ID())
	}
}

func TestTransportRateLimit(t *testing.T) {
	ha, hb := newTestHost(t, 1), newTestHost(t, 2)
	introduce(ha, hb)
	clock := &fakeClock{now: time.Unix(0, 0)}
	cfg := DefaultConfig()
	cfg.RequestRate, cfg.RequestBurst = 1, 2
	cfg.ReplicaRate, cfg.ReplicaBurst = 1, 2
	cfg.MembershipRate, cfg.MembershipBurst = 1, 2
	cfg.RepairRate, cfg.RepairBurst = 1, 2
	a := startFake(t, ha, DefaultConfig(), clock, nil)
	b := startFake(t, hb, cfg, clock, func(self cr.Peer, m *cr.Message) *cr.Message {
		return &cr.Message{Type: cr.MsgGetReply, ID: m.ID, From: self, Done: true}
	})
	for i := 1; i <= 3; i++ {
		a.tr.Send(b.tr.Self(), &cr.Message{Type: cr.MsgGet, ID: uint64(i), From: a.tr.Self()})
		waitFor(t, "get reply", func() bool { return len(a.received()) == i })
	}
	types := map[cr.MsgType]int{}
	for _, m := range a.received() {
		types[m.Type]++
		if m.Type == cr.MsgError && m.Err != errRateLimited {
			t.Fatalf("error reply %q", m.Err)
		}
	}
	if types[cr.MsgGetReply] != 2 || types[cr.MsgError] != 1 || len(b.received()) != 2 {
		t.Fatalf("replies %v, b got %d", types, len(b.received()))
	}
	// Replica stores have their own bucket: the exhausted publish bucket
	// does not stop them, and they meet their own limit.
	for i := 1; i <= 3; i++ {
		a.tr.Send(b.tr.Self(), &cr.Message{Type: cr.MsgStore, Replica: true, ID: uint64(10 + i), From: a.tr.Self()})
		waitFor(t, "replica store answered", func() bool { return len(a.received()) == 3+i })
	}
	if n := len(b.received()); n != 2+2 {
		t.Fatalf("b got %d messages after 3 replica stores with a burst of 2, want 4", n)
	}
	if last := a.received()[len(a.received())-1]; last.Type != cr.MsgError || last.Err != errRateLimited {
		t.Fatalf("third replica store answered %v %q, want rate limited", last.Type, last.Err)
	}
	// Membership page requests have a bucket of their own too.
	for i := 1; i <= 3; i++ {
		a.tr.Send(b.tr.Self(), &cr.Message{Type: cr.MsgGetMembers, ID: uint64(30 + i), From: a.tr.Self()})
		waitFor(t, "membership page answered", func() bool { return len(a.received()) == 6+i })
	}
	if n := len(b.received()); n != 4+2 {
		t.Fatalf("b got %d messages after 3 membership pages with a burst of 2, want 6", n)
	}
	if last := a.received()[len(a.received())-1]; last.Type != cr.MsgError || last.Err != errRateLimited {
		t.Fatalf("third membership page answered %v %q, want rate limited", last.Type, last.Err)
	}
	// Repair offers that scan a range (summaries, whole-range digest
	// offers) share a bucket of their own; other digest offers are not
	// limited.
	repair := []*cr.Message{
		{Type: cr.MsgDigestSummary, Query: make([]byte, cr.SummaryQueryLen)},
		{Type: cr.MsgDigest, Done: true, HasPred: true, Pred: a.tr.Self()},
		{Type: cr.MsgDigestSummary, Query: make([]byte, cr.SummaryQueryLen)},
	}
	for i, m := range repair {
		m.ID, m.From = uint64(40+i), a.tr.Self()
		a.tr.Send(b.tr.Self(), m)
		waitFor(t, "repair offer answered", func() bool { return len(a.received()) == 10+i })
	}
	if n := len(b.received()); n != 6+2 {
		t.Fatalf("b got %d messages after 3 repair offers with a burst of 2, want 8", n)
	}
	if last := a.received()[len(a.received())-1]; last.Type != cr.MsgError || last.Err != errRateLimited {
		t.Fatalf("third repair offer answered %v %q, want rate limited", last.Type, last.Err)
	}
	a.tr.Send(b.tr.Self(), &cr.Message{Type: cr.MsgDigest, ID: 50, From: a.tr.Self()})
	waitFor(t, "plain digest offer delivered", func() bool { return len(b.received()) == 9 })
	// A second later the buckets have one token again.
	clock.Advance(time.Second)
	a.tr.Send(b.tr.Self(), &cr.Message{Type: cr.MsgGet, ID: 21, From: a.tr.Self()})
	waitFor(t, "get after refill", func() bool { return len(b.received()) == 10 })
}

// Addresses of peers named in a message let its receiver dial them.
func TestTransportCarriesAddresses(t *testing.T) {
	ha, hb, hc := newTestHost(t, 1), newTestHost(t, 2), newTestHost(t, 3)
	introduce(ha, hb)
	introduce(hb, hc)
	clock := &fakeClock{now: time.Unix(0, 0)}
	a := startFake(t, ha, DefaultConfig(), clock, nil)
	c := startFake(t, hc, DefaultConfig(), clock, pong)
	startFake(t, hb, DefaultConfig(), clock, func(self cr.Peer, m *cr.Message) *cr.Message {
		return &cr.Message{Type: cr.MsgFindSuccessorReply, ID: m.ID, From: self, Peers: []cr.Peer{PeerOf(hc.ID())}}
	})
	if len(ha.Peerstore().Addrs(hc.ID())) != 0 {
		t.Fatal("a knows c already")
	}
	a.tr.Send(PeerOf(hb.ID()), &cr.Message{Type: cr.MsgFindSuccessor, ID: 1, From: a.tr.Self()})
	waitFor(t, "find successor reply", func() bool { return len(a.received()) == 1 })
	if len(ha.Peerstore().Addrs(hc.ID())) == 0 {
		t.Fatal("a did not learn c's addresses")
	}
	a.tr.Send(c.tr.Self(), &cr.Message{Type: cr.MsgPing, ID: 2, From: a.tr.Self()})
	waitFor(t, "pong from c", func() bool { return len(a.received()) == 2 })
	if m := a.received()[1]; m.Type != cr.MsgPong || m.From != c.tr.Self() {
		t.Fatalf("got %+v", m)
	}
}

// A peer over its stream cap is reset before its message is read.
func TestTransportInboundCapPerPeer(t *testing.T) {
	ha, hb := newTestHost(t, 1), newTestHost(t, 2)
	introduce(ha, hb)
	clock := &fakeClock{now: time.Unix(0, 0)}
	cfg := DefaultConfig()
	cfg.MaxInboundPerPeer = 2
	b := startFake(t, hb, cfg, clock, nil) // never replies
	from := PeerOf(ha.ID())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	open := func(id uint64) network.Stream {
		s, err := ha.NewStream(ctx, hb.ID(), ProtocolID)
		if err != nil {
			t.Fatal(err)
		}
		if err := WriteMessage(s, &cr.Message{Type: cr.MsgPing, ID: id, From: from}, nil, 1<<20); err != nil {
			t.Fatal(err)
		}
		return s
	}
	s1, s2 := open(1), open(2)
	defer s1.Reset()
	defer s2.Reset()
	waitFor(t, "two requests delivered", func() bool { return len(b.received()) == 2 })
	s3 := open(3)
	if _, _, err := ReadMessage(s3, 1<<20, nil); err == nil {
		t.Fatal("third stream answered")
	}
	if n := len(b.received()); n != 2 {
		t.Fatalf("third request delivered over the cap (%d delivered)", n)
	}
}

// An incoming request the node does not answer ends at ReplyTimeout, and
// Close does not wait for a stalled exchange.
func TestTransportReplyTimeoutAndClose(t *testing.T) {
	cfg := DefaultConfig()
	cfg.ReplyTimeout = 100 * time.Millisecond
	a, b := fakePair(t, DefaultConfig(), cfg, nil)
	a.tr.Send(b.tr.Self(), &cr.Message{Type: cr.MsgPing, ID: 1, From: a.tr.Self()})
	waitFor(t, "delivery", func() bool { return len(b.received()) == 1 })
	waitFor(t, "pending request dropped", func() bool {
		b.tr.mu.Lock()
		defer b.tr.mu.Unlock()
		return len(b.tr.pending) == 0 && b.tr.in.total == 0
	})
	// A late reply is dropped without harm.
	b.tr.Send(a.tr.Self(), pong(b.tr.Self(), &cr.Message{ID: 1}))

	// Close while a request waits for its reply.
	a.tr.Send(b.tr.Self(), &cr.Message{Type: cr.MsgPing, ID: 2, From: a.tr.Self()})
	waitFor(t, "second delivery", func() bool { return len(b.received()) == 2 })
	if err := a.tr.Close(); err != nil {
		t.Fatal(err)
	}
	a.tr.Send(b.tr.Self(), &cr.Message{Type: cr.MsgPing, ID: 3, From: a.tr.Self()})
	if len(a.received()) != 0 {
		t.Fatalf("a received %+v", a.received())
	}
}

// TestTransportTrySendRefusesBeyondMaxOutbound: with MaxOutbound exchanges
// in flight (requests the peer does not answer), TrySend refuses at once
// and reports it, so that the core takes the request as never sent; once
// an exchange ends, it sends again.
func TestTransportTrySendRefusesBeyondMaxOutbound(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaxOutbound = 2
	a, b := fakePair(t, cfg, DefaultConfig(), nil) // b never answers
	ping := func(id uint64) *cr.Message { return &cr.Message{Type: cr.MsgPing, ID: id, From: a.tr.Self()} }
	for id := uint64(1); id <= 2; id++ {
		if !a.tr.TrySend(b.tr.Self(), ping(id)) {
			t.Fatalf("request %d refused under MaxOutbound", id)
		}
	}
	waitFor(t, "both deliveries", func() bool { return len(b.received()) == 2 })
	if a.tr.TrySend(b.tr.Self(), ping(3)) {
		t.Fatal("a third request was taken beyond MaxOutbound 2")
	}
	b.tr.Send(a.tr.Self(), pong(b.tr.Self(), &cr.Message{ID: 1}))
	waitFor(t, "a place freed by the reply", func() bool { return a.tr.TrySend(b.tr.Self(), ping(4)) })
}
