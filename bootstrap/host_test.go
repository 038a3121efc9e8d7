package bootstrap

import (
	"context"
	"io"
	"net/netip"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
)

func TestForcedModes(t *testing.T) {
	cases := []struct {
		mode  Mode
		reach Reachability
		relay bool
	}{
		{ModeServer, ReachabilityPublic, true},
		{ModeClient, ReachabilityPrivate, false},
	}
	for _, c := range cases {
		t.Run(string(c.mode), func(t *testing.T) {
			h := newTestHost(t, testConfig(t, c.mode))
			st := waitStatus(t, h, func(s Status) bool { return s.Reachability == c.reach })
			if st.Mode != c.mode || st.Configured != c.mode || st.RelayService != c.relay {
				t.Errorf("status %+v, want mode %s relay service %v", st, c.mode, c.relay)
			}
		})
	}
}

func TestAutoModeStartsAsClient(t *testing.T) {
	h := newTestHost(t, testConfig(t, ModeAuto))
	if st := h.Status(); st.Mode != ModeClient || st.Reachability != ReachabilityUnknown {
		t.Errorf("fresh auto host: %+v, want client with unknown reachability", st)
	}
}

// TestRelayedConnection: client C (forced private) reserves a slot on relay
// R (forced public, relay service) through autorelay with R as a static
// relay; a third host D then reaches C through the /p2p-circuit address C
// reports, and they exchange a stream over the limited connection.
//
// Autorelay drops a relay's non-public addresses when it builds circuit
// addresses, so for this test only 127.0.0.0/8 counts as public (the
// exported ParsePublicCIDRs refuses loopback on purpose).
func TestRelayedConnection(t *testing.T) {
	restore := TreatAsPublic([]netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")})
	t.Cleanup(restore)

	rcfg := testConfig(t, ModeServer)
	rcfg.allowNonPublicReservationAddrs = true
	relay := newTestHost(t, rcfg)

	ccfg := testConfig(t, ModeClient)
	ccfg.StaticRelays = []peer.AddrInfo{{ID: relay.ID(), Addrs: relay.Addrs()}}
	ccfg.HolePunching = false // keep the relayed connection relayed
	client := newTestHost(t, ccfg)
	client.SetStreamHandler("/kwsearch/test/echo", func(s network.Stream) {
		defer s.Close()
		io.Copy(s, s)
	})

	st := waitStatus(t, client, func(s Status) bool { return len(s.RelayAddrs) > 0 })
	circuit := st.RelayAddrs[0]
	if _, err := circuit.ValueForProtocol(ma.P_CIRCUIT); err != nil {
		t.Fatalf("relay address %s is not a circuit address", circuit)
	}

	dialer := newTestHost(t, testConfig(t, ModeClient))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := dialer.Connect(ctx, peer.AddrInfo{ID: client.ID(), Addrs: []ma.Multiaddr{circuit}}); err != nil {
		t.Fatalf("connect through %s: %v", circuit, err)
	}
	conns := dialer.Network().ConnsToPeer(client.ID())
	if len(conns) == 0 || !IsRelayed(conns[0]) || !conns[0].Stat().Limited {
		t.Fatalf("connection to the client is not a limited relayed one: %v", conns)
	}
	s, err := dialer.NewStream(network.WithAllowLimitedConn(ctx, "test"), client.ID(), "/kwsearch/test/echo")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	msg := []byte("through the relay")
	if _, err := s.Write(msg); err != nil {
		t.Fatal(err)
	}
	s.CloseWrite()
	got, err := io.ReadAll(s)
	if err != nil || string(got) != string(msg) {
		t.Fatalf("echo = %q, %v", got, err)
	}
}

// waitStatus waits on Changes (or the current status) for cond.
func waitStatus(t *testing.T, h *Host, cond func(Status) bool) Status {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		if st := h.Status(); cond(st) {
			return st
		}
		select {
		case <-h.Changes():
		case <-timeout:
			t.Fatalf("status never matched; last %+v", h.Status())
		}
	}
}

func TestConfigValidate(t *testing.T) {
	good := testConfig(t, ModeAuto)
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	bad := map[string]func(*Config){
		"no identity":     func(c *Config) { c.Identity = nil },
		"no listen":       func(c *Config) { c.Listen = nil },
		"bad mode":        func(c *Config) { c.Mode = "sometimes" },
		"watermarks":      func(c *Config) { c.ConnHigh = c.ConnLow - 1 },
		"no relays":       func(c *Config) { c.NumRelays = 0 },
		"relay per ip":    func(c *Config) { c.Relay.MaxReservationsPerIP = c.Relay.MaxReservations + 1 },
		"short ttl":       func(c *Config) { c.Relay.ReservationTTL = time.Second },
		"static relay id": func(c *Config) { c.StaticRelays = []peer.AddrInfo{{}} },
	}
	for name, mutate := range bad {
		c := good
		mutate(&c)
		if c.Validate() == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestParsePeers(t *testing.T) {
	id := "12D3KooWGzxzKZYveHXtpG6AsrUJBcWxHBFS2HsEoGTxrMLvKXtf"
	got, err := ParsePeers([]string{"/ip4/198.18.0.1/tcp/4001/p2p/" + id, "/ip4/198.18.0.1/udp/4001/quic-v1/p2p/" + id})
	if err != nil || len(got) != 1 || len(got[0].Addrs) != 2 {
		t.Fatalf("ParsePeers = %v, %v; want one peer with two addresses", got, err)
	}
	for _, bad := range []string{"/ip4/198.18.0.1/tcp/4001", "not an address", "/p2p/nonsense"} {
		if _, err := ParsePeers([]string{bad}); err == nil {
			t.Errorf("ParsePeers(%q) accepted", bad)
		}
	}
}
