package p2p

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	cr "kwsearch/chordrouting"
)

// TestTransportPrepare: Connected reports a direct connection only;
// Prepare opens one in the background and sends nothing over it, and
// does nothing for the host itself, a connected peer, or a peer address
// that is no peer ID; the dial it made is measured.
func TestTransportPrepare(t *testing.T) {
	a, b := fakePair(t, DefaultConfig(), DefaultConfig(), pong)
	if a.tr.Connected(b.tr.Self()) {
		t.Fatal("connected before anything was sent")
	}
	a.tr.Prepare(a.tr.Self())
	a.tr.Prepare(cr.Peer{Addr: "not a peer id"})
	a.tr.Prepare(b.tr.Self())
	a.tr.Prepare(b.tr.Self()) // under way already, or connected: nothing more
	waitFor(t, "the prepared connection", func() bool { return a.tr.Connected(b.tr.Self()) })
	conns := a.tr.h.Network().ConnsToPeer(b.tr.h.ID())
	if len(conns) != 1 || conns[0].Stat().Direction != network.DirOutbound {
		t.Fatalf("%d connections to b after two prepares, want one that a opened", len(conns))
	}
	waitFor(t, "the prepare to end", func() bool {
		a.tr.mu.Lock()
		defer a.tr.mu.Unlock()
		return len(a.tr.preparing) == 0
	})
	// (The connection shows before the dial returns and is measured.)
	a.tr.mu.Lock()
	cost := a.tr.dialCost
	a.tr.mu.Unlock()
	if cost <= 0 {
		t.Fatalf("dial cost %v after a prepared dial, want it measured", cost)
	}
	a.tr.Prepare(b.tr.Self())
	a.tr.mu.Lock()
	busy := len(a.tr.preparing)
	a.tr.mu.Unlock()
	if busy != 0 {
		t.Fatal("a prepare of a connected peer dials")
	}
	if got := b.received(); len(got) != 0 {
		t.Fatalf("b received %d messages from prepares, want none", len(got))
	}
}

// TestRingMemberForwards runs forwarding for members over libp2p: a member
// with no connection to a key's holder but one to the owner's predecessor
// (its own successor, which it stabilizes onto) reads the key through the
// predecessor, which answers on the same stream with the value; and its
// transport meanwhile dials the owner, so that afterwards it holds a
// direct connection to the owner that it opened itself.
func TestRingMemberForwards(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cfg := testRingConfig()
	cfg.OneHop = true
	cfg.SuccessorListLen, cfg.Replicas = 2, 2
	cfg.SuspectTicks = 20 // see TestRingOneHop
	rings, _ := oneHopRing(t, ctx, cfg, 6, 700)
	slices.SortFunc(rings, func(a, b *Ring) int { return a.Self().ID.Cmp(b.Self().ID) })
	// Reader 0 lists 1 and 2 as successors; key owned by 2, held by 2
	// and 3; 1 is the owner's predecessor.
	reader, pred, owner, replica := rings[0], rings[1], rings[2], rings[3]
	key := owner.Self().ID
	t.Logf("seed 700")
	val := []byte("member-forwarded")
	if pr, err := owner.Runner.Put(ctx, []cr.Item{{Key: key, Value: val}}); err != nil || pr.Stored != 1 {
		t.Fatalf("put: %+v %v", pr, err)
	}
	holderIDs := []peer.ID{owner.host.ID(), replica.host.ID()}
	predInfo := peer.AddrInfo{ID: pred.host.ID(), Addrs: pred.host.Addrs()}
	var got cr.GetResult
	for attempt := 1; ; attempt++ {
		if err := reader.host.Connect(ctx, predInfo); err != nil {
			t.Fatal(err)
		}
		ch := make(chan cr.GetResult, 1)
		started := false
		err := reader.Runner.Do(ctx, func(n *cr.Node) {
			// On the node's loop: no request of this node can reopen a
			// connection between the close and the read's choice.
			for _, h := range holderIDs {
				reader.host.Network().ClosePeer(h)
			}
			if !reader.Transport.Connected(pred.Self()) || reader.Transport.Connected(owner.Self()) || reader.Transport.Connected(replica.Self()) {
				return // a holder dialed in meanwhile: try again
			}
			// On loopback a dial (TCP and Noise) costs a few
			// milliseconds of CPU and a round trip a fraction of one, but
			// the reader may have measured none yet (its connections
			// came from the others), and a loaded machine blurs both: a
			// dial measured at ten round trips keeps this test about the
			// forward.
			measured := reader.Transport.DialRoundTrips()
			reader.Transport.mu.Lock()
			reader.Transport.dialCost, reader.Transport.openRTT = time.Second, 100*time.Millisecond
			reader.Transport.mu.Unlock()
			t.Logf("dial measured on loopback: %.1f round trips", measured)
			started = true
			n.Get(key, nil, 10, func(r cr.GetResult) { ch <- r })
		})
		if err != nil {
			t.Fatal(err)
		}
		if !started {
			if attempt == 5 {
				t.Fatal("could not leave the reader without connections to the holders")
			}
			continue
		}
		select {
		case got = <-ch:
		case <-ctx.Done():
			t.Fatal("the read did not end")
		}
		break
	}
	if got.Err != nil || len(got.Values) != 1 || string(got.Values[0]) != string(val) {
		t.Fatalf("get: %+v, want %q", got, val)
	}
	if got.From.ID != pred.Self().ID || got.Hops < 2 {
		t.Fatalf("get answered by %s in %d hops, want the owner's predecessor %s (a forward)", got.From.ID.Short(), got.Hops, pred.Self().ID.Short())
	}
	waitFor(t, "a direct connection from the reader to the owner", func() bool {
		for _, c := range reader.host.Network().ConnsToPeer(owner.host.ID()) {
			if !c.Stat().Limited && c.Stat().Direction == network.DirOutbound {
				return true
			}
		}
		return false
	})
	// The next read of the owner's keys goes direct, to both holders at
	// once: the first to answer ends it, the owner or its replica.
	next, err := reader.Runner.Get(ctx, key, nil, 10)
	if err != nil || len(next.Values) != 1 || next.Hops != 1 || next.From.ID != owner.Self().ID && next.From.ID != replica.Self().ID {
		t.Fatalf("the read after the forward: %+v %v, want the value from a holder (%s or %s) in one hop", next, err, owner.Self().ID.Short(), replica.Self().ID.Short())
	}
}

// TestTransportMeasuresDials: a request that opens a connection is
// measured as a dial, one over an open connection as a round trip, and
// DialRoundTrips is their ratio once both are known.
func TestTransportMeasuresDials(t *testing.T) {
	a, b := fakePair(t, DefaultConfig(), DefaultConfig(), pong)
	costs := func() (time.Duration, time.Duration) {
		a.tr.mu.Lock()
		defer a.tr.mu.Unlock()
		return a.tr.dialCost, a.tr.openRTT
	}
	if r := a.tr.DialRoundTrips(); r != 0 {
		t.Fatalf("DialRoundTrips %v before any dial", r)
	}
	a.tr.Send(b.tr.Self(), &cr.Message{Type: cr.MsgPing, ID: 1})
	waitFor(t, "the first pong", func() bool { return len(a.received()) == 1 })
	dial, rtt := costs()
	if dial <= 0 || rtt != 0 || a.tr.DialRoundTrips() != 0 {
		t.Fatalf("after the request that dialed: dial %v, round trip %v, want the dial only", dial, rtt)
	}
	a.tr.Send(b.tr.Self(), &cr.Message{Type: cr.MsgPing, ID: 2})
	waitFor(t, "the second pong", func() bool { return len(a.received()) == 2 })
	dial2, rtt := costs()
	if dial2 != dial || rtt <= 0 {
		t.Fatalf("after a request over the open connection: dial %v (was %v), round trip %v, want the round trip only", dial2, dial, rtt)
	}
	if r := a.tr.DialRoundTrips(); r != float64(dial)/float64(rtt) {
		t.Fatalf("DialRoundTrips %v, want %v / %v", r, dial, rtt)
	}
	t.Logf("on loopback: a dial %v, a round trip %v: %.1f round trips", dial, rtt, a.tr.DialRoundTrips())
}

// BenchmarkRingMemberColdRead times a member's read of a key whose
// holders it has no connection to (closed before each read) but whose
// owner's predecessor it is connected to, over real libp2p hosts on
// loopback (TCP and Noise): with forwarding for members off (the read
// dials the holder), on as the transport's measure decides (on loopback a
// dial costs about two round trips of a busy ring's: handshake CPU, no
// wire delay, so it mostly reads directly), and on with a dial taken to
// cost ten round trips (every read goes through the predecessor).
//
//	go test -run '^$' -bench RingMemberColdRead -benchtime 50x ./chordrouting/p2p/
func BenchmarkRingMemberColdRead(b *testing.B) {
	for _, mode := range []string{"direct", "measured", "forced"} {
		b.Run(mode, func(b *testing.B) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			cfg := testRingConfig()
			cfg.OneHop, cfg.MemberForward = true, mode != "direct"
			cfg.SuccessorListLen, cfg.Replicas = 2, 2
			cfg.SuspectTicks = 20
			rings, _ := oneHopRing(b, ctx, cfg, 6, 800)
			slices.SortFunc(rings, func(a, b *Ring) int { return a.Self().ID.Cmp(b.Self().ID) })
			reader, pred, owner, replica := rings[0], rings[1], rings[2], rings[3]
			key := owner.Self().ID
			if _, err := owner.Runner.Put(ctx, []cr.Item{{Key: key, Value: []byte("cold")}}); err != nil {
				b.Fatal(err)
			}
			predInfo := peer.AddrInfo{ID: pred.host.ID(), Addrs: pred.host.Addrs()}
			var measured float64
			read := func() (cr.GetResult, time.Duration) {
				if err := reader.host.Connect(ctx, predInfo); err != nil {
					b.Fatal(err)
				}
				ch := make(chan cr.GetResult, 1)
				var began time.Time
				err := reader.Runner.Do(ctx, func(n *cr.Node) {
					reader.host.Network().ClosePeer(owner.host.ID())
					reader.host.Network().ClosePeer(replica.host.ID())
					measured = reader.Transport.DialRoundTrips()
					if mode == "forced" {
						reader.Transport.mu.Lock()
						reader.Transport.dialCost, reader.Transport.openRTT = 10*time.Millisecond, time.Millisecond
						reader.Transport.mu.Unlock()
					}
					began = time.Now()
					n.Get(key, nil, 10, func(r cr.GetResult) { ch <- r })
				})
				if err != nil {
					b.Fatal(err)
				}
				r := <-ch
				return r, time.Since(began)
			}
			read() // a dial measured
			var total time.Duration
			through := 0
			b.ResetTimer()
			for range b.N {
				r, d := read()
				if len(r.Values) != 1 {
					b.Fatalf("read: %+v", r)
				}
				total += d
				if r.From.ID == pred.Self().ID {
					through++
				}
			}
			b.ReportMetric(float64(total)/float64(b.N)/float64(time.Millisecond), "ms/read")
			b.ReportMetric(float64(through)/float64(b.N), "forwarded")
			b.Logf("dial measured at %.1f round trips", measured)
		})
	}
}
