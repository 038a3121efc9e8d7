package p2p

import (
	"context"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/peerstore"
	ma "github.com/multiformats/go-multiaddr"

	cr "kwsearch/chordrouting"
)

// blackholeProxy forwards TCP between its dialers and target until Cut;
// from then on it swallows every byte both ways and keeps the sockets
// open, as a host that died without closing its connections looks to the
// other end (kill -9 under a QUIC connection, a pulled cable).
type blackholeProxy struct {
	ln    net.Listener
	addr  ma.Multiaddr
	dead  atomic.Bool
	mu    sync.Mutex
	conns []net.Conn
}

func newBlackholeProxy(t *testing.T, target string) *blackholeProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr, err := ma.NewMultiaddr(fmt.Sprintf("/ip4/127.0.0.1/tcp/%d", ln.Addr().(*net.TCPAddr).Port))
	if err != nil {
		t.Fatal(err)
	}
	p := &blackholeProxy{ln: ln, addr: addr}
	go p.serve(target)
	t.Cleanup(p.close)
	return p
}

func (p *blackholeProxy) serve(target string) {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		u, err := net.Dial("tcp", target)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, c, u)
		p.mu.Unlock()
		go p.pump(u, c)
		go p.pump(c, u)
	}
}

// pump copies src to dst while the proxy lives; it never closes dst, so
// that the end of one side (the dead host closing) reaches nobody.
func (p *blackholeProxy) pump(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if err != nil {
			return
		}
		if !p.dead.Load() {
			dst.Write(buf[:n])
		}
	}
}

// Cut makes the proxy a black hole.
func (p *blackholeProxy) Cut() { p.dead.Store(true) }

func (p *blackholeProxy) close() {
	p.ln.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
}

// tcpTarget is h's loopback TCP listen address as host:port.
func tcpTarget(t *testing.T, h host.Host) string {
	t.Helper()
	for _, a := range h.Addrs() {
		if port, err := a.ValueForProtocol(ma.P_TCP); err == nil {
			return "127.0.0.1:" + port
		}
	}
	t.Fatalf("host %s listens on no TCP address: %v", h.ID(), h.Addrs())
	return ""
}

// ringStreams counts c's open streams of the ring protocol.
func ringStreams(c network.Conn) int {
	n := 0
	for _, s := range c.GetStreams() {
		if s.Protocol() == ProtocolID {
			n++
		}
	}
	return n
}

// TestTransportReachesRestartedPeer: a peer dies without closing its
// connection (here: a proxy that swallows everything) while requests are
// on it, and restarts with the same identity, connecting again from a new
// address. libp2p's swarm gives new streams to the connection with the
// most open streams, which is the dead one (the stuck requests are its
// streams), so without the transport's own choice every request to the
// restarted peer would go into the dead connection until it times out
// (30 s of QUIC idle timeout in the daemon). The transport opens ring
// streams on the connection the peer was last heard on (or that opened
// last), and closes the dead one once a request on it got nothing back
// while the peer answered on the other.
func TestTransportReachesRestartedPeer(t *testing.T) {
	cfg := DefaultConfig()
	// The silent exchanges end within the test.
	cfg.RequestTimeout, cfg.ReplyTimeout, cfg.HeaderTimeout = 5*time.Second, 2*time.Second, time.Second
	clock := &fakeClock{now: time.Unix(0, 0)}
	ha, hb := newTestHost(t, 1), newTestHost(t, 2)
	a := startFake(t, ha, cfg, clock, nil)
	b := startFake(t, hb, cfg, clock, pong)
	px := newBlackholeProxy(t, tcpTarget(t, hb))
	ha.Peerstore().AddAddrs(hb.ID(), []ma.Multiaddr{px.addr}, peerstore.PermanentAddrTTL)

	ping := func(id uint64) {
		a.tr.Send(b.tr.Self(), &cr.Message{Type: cr.MsgPing, ID: id, From: a.tr.Self()})
	}
	ponged := func(id uint64) func() bool {
		return func() bool {
			for _, m := range a.received() {
				if m.Type == cr.MsgPong && m.ID == id {
					return true
				}
			}
			return false
		}
	}
	ping(1)
	waitFor(t, "a pong through the proxy", ponged(1))
	conns := ha.Network().ConnsToPeer(hb.ID())
	if len(conns) != 1 {
		t.Fatalf("%d connections to b, want 1", len(conns))
	}
	dead := conns[0]

	// B dies silently with three requests on its connection.
	px.Cut()
	for id := uint64(2); id <= 4; id++ {
		ping(id)
	}
	waitFor(t, "three requests stuck on the dead connection", func() bool { return ringStreams(dead) == 3 })
	hb.Close()

	// B restarts with the same identity on a new port and connects to A.
	hb2 := newTestHost(t, 2)
	startFake(t, hb2, cfg, clock, pong)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := hb2.Connect(ctx, peer.AddrInfo{ID: ha.ID(), Addrs: ha.Addrs()}); err != nil {
		t.Fatal(err)
	}
	if n := len(ha.Network().ConnsToPeer(hb.ID())); n != 2 {
		t.Fatalf("%d connections to b after its restart, want 2 (the dead one and the new one)", n)
	}
	if ringStreams(dead) != 3 {
		t.Fatalf("the stuck requests ended before the restarted peer was asked (%d left): the machine is too slow for this test", ringStreams(dead))
	}

	ping(5)
	waitFor(t, "a pong from the restarted peer", ponged(5))
	waitFor(t, "the dead connection closed", dead.IsClosed)
	for id := uint64(2); id <= 4; id++ {
		if ponged(id)() {
			t.Fatalf("request %d, sent into the dead connection, was answered", id)
		}
	}
}
