package integration

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"kwsearch/integration/netlab"
)

// labPublicCIDR is the lab's "internet": the public segment and the
// routers' public side. The private networks stay non-public.
const labPublicCIDR = "198.18.0.0/15"

// natCase is one run of the lab.
type natCase struct {
	name      string
	transport string // tcp or quic
	random    bool   // routers randomize source ports: no punching
}

var natCases = []natCase{
	{name: "tcp", transport: "tcp"},
	{name: "quic", transport: "quic"},
	{name: "tcp-random-fully", transport: "tcp", random: true},
}

// listenAddr is the lab node's listen address for a transport.
func listenAddr(h netlab.Host, transport string) string {
	if transport == "quic" {
		return fmt.Sprintf("/ip4/%s/udp/4001/quic-v1", h.Addr)
	}
	return fmt.Sprintf("/ip4/%s/tcp/4001", h.Addr)
}

// TestNATHolePunchLibp2p proves the lab with plain libp2p hosts built by
// package bootstrap (helper nathost): the servers find they are public
// and the clients that they are private; each client reserves a relay
// slot; B dials A through the relay, and DCUtR turns that into a direct
// connection (not /p2p-circuit) over TCP and over QUIC. With routers that
// randomize ports, no direct connection appears.
func TestNATHolePunchLibp2p(t *testing.T) {
	natLabOrSkip(t)
	t.Parallel() // each run builds its own lab
	bin := buildBinary(t, t.TempDir(), "kwsearch/integration/netlab/nathost", "nathost")
	for _, c := range natCases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			runLibp2pPunch(t, bin, c)
		})
	}
}

func runLibp2pPunch(t *testing.T, bin string, c natCase) {
	lab := netlab.New(t, netlab.Options{Servers: 2, RandomPorts: c.random})
	const (
		ready = 20 * time.Second
		reach = 90 * time.Second
		// One DCUtR attempt of up to 10 s; with random ports, two, so
		// DirectConnect's retry path runs against a real NAT too.
		perAttempt = 10 * time.Second
	)
	attempts := 1
	if c.random {
		attempts = 2
	}
	punchTO := time.Duration(attempts)*(perAttempt+5*time.Second) + 5*time.Second
	common := []string{"-mode", "auto", "-public-cidr", labPublicCIDR}

	var boot []string
	var servers []*natProc
	for i, s := range lab.Servers {
		args := append([]string{"-listen", listenAddr(s, c.transport), "-relay-service"}, common...)
		for _, b := range boot {
			args = append(args, "-bootstrap", b)
		}
		p := startNatProc(t, s, fmt.Sprintf("server%d", i), bin, args...)
		e := p.wait("ready", ready, isEvent("ready"))
		boot = append(boot, listenAddr(s, c.transport)+"/p2p/"+e.str("id"))
		servers = append(servers, p)
	}
	// The first server learns of the second through its inbound connection.
	var clients []*natProc
	var ids []string
	for i, cl := range lab.Clients {
		args := append([]string{"-listen", listenAddr(cl.Host, c.transport)}, common...)
		for _, b := range boot {
			args = append(args, "-bootstrap", b)
		}
		p := startNatProc(t, cl.Host, fmt.Sprintf("client%c", 'A'+i), bin, args...)
		ids = append(ids, p.wait("ready", ready, isEvent("ready")).str("id"))
		clients = append(clients, p)
	}

	start := time.Now()
	for _, p := range servers {
		p.wait("public server status", reach, func(e natEvent) bool {
			return e.str("event") == "status" && e.str("reachability") == "public" && e.str("mode") == "server"
		})
	}
	var relayAddrA string
	for i, p := range clients {
		e := p.wait("private client status with a relay reservation", reach, func(e natEvent) bool {
			return e.str("event") == "status" && e.str("reachability") == "private" &&
				e.str("mode") == "client" && len(e.strs("relay_addrs")) > 0
		})
		if i == 0 {
			relayAddrA = e.strs("relay_addrs")[0] + "/p2p/" + ids[0]
		}
	}
	t.Logf("%s: servers public, clients private with relay reservations after %v", c.name, time.Since(start).Round(time.Millisecond))
	if !strings.Contains(relayAddrA, "/p2p-circuit") {
		t.Fatalf("client A's relay address %s is not a circuit address", relayAddrA)
	}

	b := clients[1]
	b.send("connect %s %d %s", relayAddrA, attempts, perAttempt)
	rel := b.wait("relayed connection", punchTO, func(e natEvent) bool {
		return e.str("event") == "relayed" || e.str("event") == "error"
	})
	if rel.str("event") == "error" {
		t.Fatalf("relayed dial from B to A failed: %s", rel.str("error"))
	}
	e := b.wait("hole punching outcome", punchTO, func(e natEvent) bool {
		return e.str("event") == "direct" || e.str("event") == "nodirect" || e.str("event") == "error"
	})
	if e.str("event") == "error" {
		t.Fatalf("B: %s", e.str("error"))
	}
	switch {
	case c.random && e.str("event") == "direct":
		t.Fatalf("direct connection %s through port-randomizing NATs", e.str("addr"))
	case c.random:
		if !strings.Contains(e.str("error"), "hole-punching") {
			t.Errorf("failure message %q does not say hole punching failed", e.str("error"))
		}
		t.Logf("%s: no direct connection after %.0f ms, as expected: %s", c.name, e["ms"], e.str("error"))
	case e.str("event") != "direct":
		t.Fatalf("no direct connection on the first attempt: %s", e.str("error"))
	default:
		addr := e.str("addr")
		if strings.Contains(addr, "p2p-circuit") || !strings.Contains(addr, lab.Clients[0].Router.Addr.String()) {
			t.Fatalf("direct connection to %s, want A's router %s", addr, lab.Clients[0].Router.Addr)
		}
		if (c.transport == "quic") != strings.Contains(addr, "quic") {
			t.Fatalf("direct connection %s is not over %s", addr, c.transport)
		}
		t.Logf("%s: relayed dial %.1f ms, direct connection %s after %.1f ms from the relayed dial",
			c.name, rel["ms"], addr, e["ms"])
	}
}

func isEvent(name string) func(natEvent) bool {
	return func(e natEvent) bool { return e.str("event") == name }
}
