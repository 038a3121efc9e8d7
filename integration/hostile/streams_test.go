package hostile

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	ma "github.com/multiformats/go-multiaddr"

	"kwsearch/blockxfer"
	cr "kwsearch/chordrouting"
	"kwsearch/chordrouting/p2p"
)

// holdStreams opens n streams on proto that each start a frame (one
// continuation byte of a length prefix) and then idle. It returns the
// streams the victim kept (not reset within probe).
func holdStreams(t testing.TB, a *attacker, target *node, proto protocol.ID, n int) (held []network.Stream) {
	t.Helper()
	var mu sync.Mutex
	parallel(n, 16, func(int) {
		s, err := a.open(target.h, proto)
		if err != nil {
			return
		}
		if _, err := s.Write([]byte{0x85}); err != nil {
			s.Reset()
			return
		}
		_ = s.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
		var b [1]byte
		_, err = s.Read(b[:])
		if errors.Is(err, network.ErrReset) || err == nil {
			s.Reset()
			return
		}
		mu.Lock()
		held = append(held, s)
		mu.Unlock()
	})
	return held
}

// waitAllEnded checks that the victim ends every held stream within limit.
func waitAllEnded(t testing.TB, what string, held []network.Stream, limit time.Duration) {
	t.Helper()
	var open atomic.Int32
	parallel(len(held), 16, func(i int) {
		took, _, _ := streamEnd(held[i], limit)
		if took >= limit {
			open.Add(1)
		}
		held[i].Reset()
	})
	if open.Load() > 0 {
		t.Errorf("%s: %d idle streams still open after %v", what, open.Load(), limit)
	}
}

// TestSlowloris: one attacker opens twice the per-peer cap of streams on
// both protocols, starts a frame on each and goes idle. The victim keeps
// at most its per-peer caps, ends every held stream at its deadline (ring
// streams at the 2 s header deadline), and honest searches and downloads
// work meanwhile.
func TestSlowloris(t *testing.T) {
	t.Parallel()
	o := defaultOpts(t)
	o.server.IdleTimeout = 2 * time.Second
	// The default stream deadline, so that the header deadline (2 s) is
	// what ends the idle ring streams.
	o.transport.RequestTimeout, o.transport.ReplyTimeout = 10*time.Second, 5*time.Second
	v := startVictim(t, o)
	v.share(t, "honest slowloris target track.wav", 700<<10)
	cl := startClient(t, infoOf(v.h))
	var hc honest
	hc.round(t, cl, v)

	a := newAttacker(t)
	ring := holdStreams(t, a, v, p2p.ProtocolID, 2*o.transport.MaxInboundPerPeer)
	blocks := holdStreams(t, a, v, blockxfer.ProtocolID, 2*o.server.MaxStreamsPerPeer)
	t.Logf("idle streams held: ring %d of %d opened (cap %d), block %d of %d (cap %d)",
		len(ring), 2*o.transport.MaxInboundPerPeer, o.transport.MaxInboundPerPeer,
		len(blocks), 2*o.server.MaxStreamsPerPeer, o.server.MaxStreamsPerPeer)
	if len(ring) > o.transport.MaxInboundPerPeer {
		t.Errorf("ring: %d idle streams held, cap %d", len(ring), o.transport.MaxInboundPerPeer)
	}
	if len(blocks) > o.server.MaxStreamsPerPeer {
		t.Errorf("blockxfer: %d idle streams held, cap %d", len(blocks), o.server.MaxStreamsPerPeer)
	}
	hc.round(t, cl, v) // while the streams are held
	// Half a length prefix never completes: the ring ends such a stream at
	// its header deadline, long before RequestTimeout.
	waitAllEnded(t, "ring", ring, o.transport.HeaderTimeout+2*time.Second)
	waitAllEnded(t, "blockxfer", blocks, o.server.IdleTimeout+3*time.Second)
	hc.round(t, cl, v)
	hc.requireAllOK(t)
}

// TestStreamFlood: one attacker opens thousands of ring streams, each a
// well-formed ping or search, as fast as 64 workers can, while an honest
// client searches and downloads. The victim answers what its caps and
// rate limit allow, refuses the rest, and stays available.
func TestStreamFlood(t *testing.T) {
	t.Parallel()
	v := startVictim(t, defaultOpts(t))
	v.share(t, "honest stream flood target.mp4", 400<<10)
	cl := startClient(t, infoOf(v.h))
	var hc honest
	hc.round(t, cl, v)
	before := v.snapshot(t)

	a := newAttacker(t)
	const streams = 3000
	var answered, refused, limited atomic.Int32
	var id atomic.Uint64
	done := make(chan struct{})
	go func() {
		defer close(done)
		parallel(streams, 64, func(i int) {
			m := &cr.Message{Type: cr.MsgPing, ID: id.Add(1), From: a.self}
			if i%2 == 1 {
				m = &cr.Message{Type: cr.MsgGet, ID: id.Add(1), From: a.self, Key: cr.KeywordKey("flood")}
			}
			r, err := a.ringRequest(v.h, m)
			switch {
			case err != nil:
				refused.Add(1)
			case r.Type == cr.MsgError:
				limited.Add(1)
			default:
				answered.Add(1)
			}
		})
	}()
	for {
		select {
		case <-done:
		default:
			hc.round(t, cl, v) // honest work during the flood
			continue
		}
		break
	}
	t.Logf("flood of %d streams: %d answered, %d rate limited, %d refused; %s",
		streams, answered.Load(), limited.Load(), refused.Load(), hc.String())
	if answered.Load() == 0 {
		t.Error("the victim answered nothing")
	}
	if r, err := a.ringRequest(v.h, &cr.Message{Type: cr.MsgPing, ID: id.Add(1), From: a.self}); err != nil || r.Type != cr.MsgPong {
		t.Errorf("ping after the flood: %v %v", r, err)
	}
	hc.round(t, cl, v)
	requireKept(t, before, v.snapshot(t))
	hc.requireAllOK(t)
}

// TestSybilSlowloris: attacker identities (free to make) from one subnet
// keep re-opening idle ring streams, each identity up to its per-peer
// cap, to take the node's whole inbound cap. The caps are scaled down
// (total 64, per IP 16, per subnet 32, and per peer the least the ring
// core's operations and maintenance per peer with their headroom allow,
// p2p.InboundPerPeerFor, 29, so the per-IP cap binds each sybil first):
// without the
// per-subnet cap four identities do what 32 do against the defaults. Every
// test host is on 127.0.0.1, which DefaultAddrGroup puts in no group, so
// the victim classifies connections by peer ID: the attackers in
// 203.0.113.0/24, the honest client in 198.51.100.0/24. The honest client's
// searches and downloads must succeed while the attackers hold their
// streams.
func TestSybilSlowloris(t *testing.T) {
	t.Parallel()
	o := defaultOpts(t)
	o.transport.MaxInbound, o.transport.MaxInboundPerPeer = 64, p2p.InboundPerPeerFor(o.ring)
	o.transport.MaxInboundPerIP, o.transport.MaxInboundPerSubnet = 16, 32
	// The default stream deadline: longer than the client's lookup
	// timeout (250 ticks, 5 s), so the outcome does not depend on when a
	// held stream happens to expire.
	o.transport.RequestTimeout, o.transport.ReplyTimeout = 10*time.Second, 5*time.Second
	v := startVictim(t, o)
	root := v.share(t, "honest sybil target album.zip", 100<<10)
	cl := startClient(t, infoOf(v.h))
	var groups sync.Map // peer.ID -> p2p.AddrGroup
	groups.Store(cl.h.ID(), p2p.AddrGroup{IP: "198.51.100.7", Subnet: "198.51.100.0/24"})
	v.ring.Transport.SetAddrGrouper(func(p peer.ID, _ ma.Multiaddr) p2p.AddrGroup {
		g, _ := groups.Load(p)
		ag, _ := g.(p2p.AddrGroup)
		return ag
	})
	sybil := func(i int) *attacker {
		a := newAttacker(t)
		groups.Store(a.h.ID(), p2p.AddrGroup{IP: fmt.Sprintf("203.0.113.%d", 1+i), Subnet: "203.0.113.0/24"})
		return a
	}
	var hc honest
	hc.round(t, cl, v)

	// Each sybil keeps its share of slots full: a stream the victim ends
	// is opened again at once.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	live := map[network.Stream]bool{}
	var opened atomic.Int64
	const sybils = 8
	for i := 0; i < sybils; i++ {
		a := sybil(i)
		for j := 0; j < o.transport.MaxInboundPerPeer; j++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					select {
					case <-stop:
						return
					default:
					}
					s, err := a.open(v.h, p2p.ProtocolID)
					if err != nil {
						continue
					}
					opened.Add(1)
					mu.Lock()
					live[s] = true
					mu.Unlock()
					s.Write([]byte{0x85})
					streamEnd(s, o.transport.RequestTimeout+time.Second)
					s.Reset()
					mu.Lock()
					delete(live, s)
					mu.Unlock()
				}
			}()
		}
	}
	// Poll until one more sybil's stream is refused at once: the sybils'
	// subnet is full.
	probe := sybil(sybils)
	poll(t, "sybils filling their subnet's cap", 10*time.Second, func() error {
		s, err := probe.open(v.h, p2p.ProtocolID)
		if err != nil {
			return nil
		}
		defer s.Reset()
		s.Write([]byte{0x85})
		_ = s.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		var b [1]byte
		if _, err := s.Read(b[:]); errors.Is(err, network.ErrReset) {
			return nil
		}
		return errors.New("one more sybil's stream is still accepted")
	})
	var during honest
	start := time.Now()
	const rounds = 3
	for range rounds {
		during.search(t, cl, []string{"album"}, root, v.h.ID())
		during.download(t, cl, root, v.data[root], infoOf(v.h))
	}
	t.Logf("during the hold (%d sybils in one /24, %d streams opened, total cap %d, subnet cap %d): %s in %v",
		sybils, opened.Load(), o.transport.MaxInbound, o.transport.MaxInboundPerSubnet,
		during.String(), time.Since(start).Round(time.Millisecond))
	close(stop)
	mu.Lock()
	for s := range live {
		s.Reset()
	}
	mu.Unlock()
	wg.Wait()
	hc.round(t, cl, v)
	hc.requireAllOK(t)
	during.requireAllOK(t)
}
