package bootstrap

import (
	"context"
	"errors"
	"io"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/control"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/protocol/holepunch"
	"github.com/libp2p/go-libp2p/p2p/protocol/ping"
	ma "github.com/multiformats/go-multiaddr"
)

// natGater simulates a NAT on loopback: it refuses every inbound
// connection that does not come through a relay.
type natGater struct{}

func (natGater) InterceptPeerDial(peer.ID) bool               { return true }
func (natGater) InterceptAddrDial(peer.ID, ma.Multiaddr) bool { return true }
func (natGater) InterceptAccept(c network.ConnMultiaddrs) bool {
	return isCircuit(c.LocalMultiaddr()) || isCircuit(c.RemoteMultiaddr())
}
func (natGater) InterceptSecured(d network.Direction, _ peer.ID, c network.ConnMultiaddrs) bool {
	return d == network.DirOutbound || isCircuit(c.LocalMultiaddr()) || isCircuit(c.RemoteMultiaddr())
}
func (natGater) InterceptUpgraded(network.Conn) (bool, control.DisconnectReason) { return true, 0 }

func isCircuit(a ma.Multiaddr) bool {
	_, err := a.ValueForProtocol(ma.P_CIRCUIT)
	return err == nil
}

// natedPair starts a relay and a client "behind NAT" (natGater, reserved
// on the relay) and returns the client and its circuit address.
func natedPair(t *testing.T, holePunching bool) (*Host, peer.AddrInfo) {
	t.Helper()
	restore := TreatAsPublic([]netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")})
	t.Cleanup(restore)
	rcfg := testConfig(t, ModeServer)
	rcfg.allowNonPublicReservationAddrs = true
	relay := newTestHost(t, rcfg)
	ccfg := testConfig(t, ModeClient, "/ip4/127.0.0.1/tcp/0")
	ccfg.StaticRelays = []peer.AddrInfo{{ID: relay.ID(), Addrs: relay.Addrs()}}
	ccfg.HolePunching = holePunching
	ccfg.gater = natGater{}
	client := newTestHost(t, ccfg)
	st := waitStatus(t, client, func(s Status) bool { return len(s.RelayAddrs) > 0 })
	return client, peer.AddrInfo{ID: client.ID(), Addrs: st.RelayAddrs}
}

// punched starts the NATed A (natedPair) and B, and returns B's direct
// connection to A, made by A's hole punch.
func punched(t *testing.T) (a, b *Host, info peer.AddrInfo, c network.Conn) {
	t.Helper()
	a, info = natedPair(t, true)
	b = newTestHost(t, testConfig(t, ModeClient, "/ip4/127.0.0.1/tcp/0"))
	// B answers DCUtR only once its service has seen a public address; A
	// asks right after the relayed connection's identify.
	eventually(t, "B's hole-punching service", func() bool {
		return slices.Contains(b.Mux().Protocols(), holepunch.Protocol)
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := DirectConnect(ctx, b, info, DefaultDirectConfig())
	if err != nil {
		t.Fatal(err)
	}
	return a, b, info, c
}

// TestDirectConnectPunches: B reaches the NATed A only through the relay;
// A's hole punch (its outbound dial) makes the direct connection.
func TestDirectConnectPunches(t *testing.T) {
	a, _, _, c := punched(t)
	if IsRelayed(c) || c.RemotePeer() != a.ID() || c.Stat().Direction != network.DirInbound {
		t.Fatalf("connection %s (%v) to %s is not A's direct dial", c.RemoteMultiaddr(), c.Stat().Direction, c.RemotePeer())
	}
}

// TestDirectConnectFails: without hole punching the NATed A stays behind
// the relay, and DirectConnect says so after its attempts.
func TestDirectConnectFails(t *testing.T) {
	_, info := natedPair(t, false)
	b := newTestHost(t, testConfig(t, ModeClient, "/ip4/127.0.0.1/tcp/0"))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cfg := DirectConfig{Attempts: 2, PerAttempt: time.Second, Pause: 10 * time.Millisecond}
	c, err := DirectConnect(ctx, b, info, cfg)
	if !errors.Is(err, ErrNoDirect) {
		t.Fatalf("DirectConnect = %v, %v; want ErrNoDirect", c, err)
	}
	t.Log(err)
}

// TestDirectConnectChecksExistingConnection: an existing direct
// connection that answers a ping is returned as it is; one whose peer
// stays silent (a provider that restarted leaves such a connection
// behind) is closed and replaced by a fresh dial.
func TestDirectConnectChecksExistingConnection(t *testing.T) {
	a, b, info := connectedClients(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c0 := directConn(b, a.ID())
	cfg := DirectConfig{Attempts: 1, PerAttempt: 10 * time.Second, Liveness: 2 * time.Second}
	c, err := DirectConnect(ctx, b, info, cfg)
	if err != nil || c != c0 {
		t.Fatalf("DirectConnect over a live connection = %v, %v; want the existing one", c, err)
	}

	// A's pings now go unanswered, as over a dead connection.
	a.SetStreamHandler(ping.ID, func(s network.Stream) { _, _ = io.Copy(io.Discard, s) })
	c, err = DirectConnect(ctx, b, info, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if c == c0 || !c0.IsClosed() || IsRelayed(c) {
		t.Fatalf("DirectConnect over a silent connection returned %p (the old one %p, closed %v)", c, c0, c0.IsClosed())
	}
}

// TestDirectConnectRepunchesSilentConnection: a punched connection to a
// NATed peer that goes silent is replaced by a new punch within one
// attempt: the relayed connection is closed with it, so that the dial
// through the relay is a fresh one, which makes the peer punch again.
func TestDirectConnectRepunchesSilentConnection(t *testing.T) {
	a, b, info, c0 := punched(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	a.SetStreamHandler(ping.ID, func(s network.Stream) { _, _ = io.Copy(io.Discard, s) })
	cfg := DirectConfig{Attempts: 1, PerAttempt: 10 * time.Second, Liveness: 2 * time.Second}
	c, err := DirectConnect(ctx, b, info, cfg)
	if err != nil {
		t.Fatalf("no new punch within one attempt: %v", err)
	}
	if c == c0 || IsRelayed(c) {
		t.Fatalf("DirectConnect returned %p (relayed %v), the silent one was %p", c, IsRelayed(c), c0)
	}
}

// TestDirectConnectProvesReturnedConnection: B holds two direct
// connections to A's identity, one to A's old process, which answers no
// ping (a provider that restarted left it behind), and a live one that the
// new process made. The old one comes first among B's connections, while
// a ping through the host would go over the swarm's pick, the newest: a
// check that pinged the peer, not the connection, returned the dead one.
// DirectConnect returns the live one and closes only the dead one.
func TestDirectConnectProvesReturnedConnection(t *testing.T) {
	key := newKey(t)
	ocfg := testConfig(t, ModeClient, "/ip4/127.0.0.1/tcp/0")
	ocfg.Identity = key
	old := newTestHost(t, ocfg)
	b := newTestHost(t, testConfig(t, ModeClient, "/ip4/127.0.0.1/tcp/0"))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := b.Connect(ctx, peer.AddrInfo{ID: old.ID(), Addrs: old.Addrs()}); err != nil {
		t.Fatal(err)
	}
	dead := directConn(b, old.ID())
	old.SetStreamHandler(ping.ID, func(s network.Stream) { _, _ = io.Copy(io.Discard, s) })

	ncfg := testConfig(t, ModeClient, "/ip4/127.0.0.1/tcp/0")
	ncfg.Identity = key
	restarted := newTestHost(t, ncfg)
	if err := restarted.Connect(ctx, peer.AddrInfo{ID: b.ID(), Addrs: b.Addrs()}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "B's second connection", func() bool { return len(directConns(b, old.ID())) == 2 })
	conns := directConns(b, old.ID())
	if conns[0] != dead {
		t.Fatalf("the old connection %p is not B's first (%p, %p)", dead, conns[0], conns[1])
	}
	live := conns[1]

	cfg := DirectConfig{Attempts: 1, PerAttempt: 10 * time.Second, Liveness: 2 * time.Second}
	c, err := DirectConnect(ctx, b, peer.AddrInfo{ID: restarted.ID(), Addrs: restarted.Addrs()}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if c != live || live.IsClosed() || !dead.IsClosed() {
		t.Fatalf("DirectConnect returned %p (live %p, closed %v; dead %p, closed %v)", c, live, live.IsClosed(), dead, dead.IsClosed())
	}
}

// holdPings opens n ping streams on c and reserves them with the resource
// manager (protocol and service), as the pings of other downloads from the
// same peer would; they are reset at the test's end.
func holdPings(t *testing.T, ctx context.Context, c network.Conn, n int) {
	t.Helper()
	for range n {
		s, err := c.NewStream(ctx)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Reset() })
		if err := s.SetProtocol(ping.ID); err != nil {
			t.Fatal(err)
		}
		if err := s.Scope().SetService(ping.ServiceName); err != nil {
			t.Fatal(err)
		}
	}
}

// TestProbeLocalRefusalIsUnknown: with libp2p's 3 outbound ping streams
// per peer taken (two downloads from one provider, each pinging its two
// connections, take 4), a ping whose stream the local resource manager
// refuses says nothing about the connection: it is not taken as alive
// (nor as dead), and DirectConnect, having nothing better, returns the
// connection without closing it.
func TestProbeLocalRefusalIsUnknown(t *testing.T) {
	a, b, info := connectedClients(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := directConn(b, a.ID())
	if v := probe(ctx, c, 2*time.Second); v != echoed {
		t.Fatalf("ping over a live connection: verdict %d, want echoed", v)
	}
	hctx, hcancel := context.WithCancel(ctx)
	defer hcancel()
	holdPings(t, hctx, c, 3)
	if v := probe(ctx, c, 2*time.Second); v != unknown {
		t.Fatalf("ping refused by the local resource manager: verdict %d, want unknown", v)
	}
	got, err := DirectConnect(ctx, b, info, DirectConfig{Attempts: 1, PerAttempt: 10 * time.Second, Liveness: 2 * time.Second})
	if err != nil || got != c || c.IsClosed() {
		t.Fatalf("DirectConnect = %p, %v (closed %v); want the unchecked connection %p kept", got, err, c.IsClosed(), c)
	}
}

// refusingConn is a connection on which no stream can be opened here, as
// when the resource manager refuses it; Close only records the call.
type refusingConn struct {
	network.Conn
	closed bool
}

func (c *refusingConn) NewStream(context.Context) (network.Stream, error) {
	return nil, network.ErrResourceLimitExceeded
}
func (c *refusingConn) Close() error   { c.closed = true; return nil }
func (c *refusingConn) IsClosed() bool { return c.closed }

// TestJudgePrefersEchoed: of two connections, one whose ping stream cannot
// be opened here (the newest, which judge would otherwise prefer) and one
// that echoed, the echoed one is returned and neither is closed.
func TestJudgePrefersEchoed(t *testing.T) {
	a, b, _ := connectedClients(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := directConn(b, a.ID())
	refusing := &refusingConn{Conn: c}
	live, closed := judge(ctx, []network.Conn{c, refusing}, 2*time.Second, probe)
	if live != c || closed || refusing.closed || c.IsClosed() {
		t.Fatalf("judge = %p, closed %v (refusing %p closed %v); want the echoed %p, nothing closed", live, closed, refusing, refusing.closed, c)
	}
	live, closed = judge(ctx, []network.Conn{refusing}, 2*time.Second, probe)
	if live != refusing || closed || refusing.closed {
		t.Fatalf("judge with only an unknown connection = %v, closed %v; want it, kept", live, closed)
	}
}

// connectedClients starts two client hosts on loopback TCP with b
// connected to a, and returns them and a's address info.
func connectedClients(t *testing.T) (a, b host.Host, info peer.AddrInfo) {
	t.Helper()
	a = newTestHost(t, testConfig(t, ModeClient, "/ip4/127.0.0.1/tcp/0"))
	b = newTestHost(t, testConfig(t, ModeClient, "/ip4/127.0.0.1/tcp/0"))
	info = peer.AddrInfo{ID: a.ID(), Addrs: a.Addrs()}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := b.Connect(ctx, info); err != nil {
		t.Fatal(err)
	}
	return a, b, info
}
