package netlab

import (
	"errors"
	"io"
	"net"
	"net/netip"
	"strconv"
	"testing"
	"time"
)

func skipUnlessLab(t *testing.T) {
	t.Helper()
	if err := Check(); err != nil {
		t.Skip(err)
	}
}

// listenIn listens on TCP in h's namespace and reports the remote address
// of the first connection.
func listenIn(t *testing.T, h Host) (netip.AddrPort, <-chan netip.AddrPort) {
	t.Helper()
	var ln net.Listener
	if err := h.Do(func() (err error) {
		ln, err = net.Listen("tcp4", net.JoinHostPort(h.Addr.String(), "0"))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	from := make(chan netip.AddrPort, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		from <- c.RemoteAddr().(*net.TCPAddr).AddrPort()
		io.WriteString(c, "hi")
		c.Close()
	}()
	return ln.Addr().(*net.TCPAddr).AddrPort(), from
}

// dialFrom dials addr from h's namespace.
func dialFrom(h Host, addr netip.AddrPort, timeout time.Duration) error {
	var c net.Conn
	err := h.Do(func() (err error) {
		c, err = net.DialTimeout("tcp4", addr.String(), timeout)
		return err
	})
	if err == nil {
		c.Close()
	}
	return err
}

// TestLabNAT: a client reaches a server and is seen at its router's public
// address; nobody on the public segment reaches the client or opens a
// connection to the router itself.
func TestLabNAT(t *testing.T) {
	skipUnlessLab(t)
	lab := New(t, Options{Servers: 2})
	srv := lab.Servers[0]
	for i, c := range lab.Clients {
		addr, from := listenIn(t, srv)
		if err := dialFrom(c.Host, addr, 5*time.Second); err != nil {
			t.Fatalf("client %d cannot reach the server: %v", i, err)
		}
		if got := (<-from).Addr(); got != c.Router.Addr {
			t.Errorf("client %d seen from %v, want its router %v", i, got, c.Router.Addr)
		}

		caddr, _ := listenIn(t, c.Host)
		if err := dialFrom(srv, caddr, 300*time.Millisecond); err == nil {
			t.Errorf("server reached client %d's private address", i)
		}
		// Unsolicited packets to the router itself are dropped, not reset:
		// the dial times out rather than being refused.
		port := strconv.Itoa(int(caddr.Port()))
		err := dialFrom(srv, netip.MustParseAddrPort(c.Router.Addr.String()+":"+port), 300*time.Millisecond)
		var ne net.Error
		if err == nil || !errors.As(err, &ne) || !ne.Timeout() {
			t.Errorf("dial to router %d: %v, want a timeout (silent drop)", i, err)
		}
	}
	// Servers reach each other directly.
	addr, _ := listenIn(t, lab.Servers[1])
	if err := dialFrom(srv, addr, 5*time.Second); err != nil {
		t.Errorf("servers cannot reach each other: %v", err)
	}
}

// TestLabPorts: the plain masquerade keeps a client's source port (what
// hole punching relies on); the fully random one changes it.
func TestLabPorts(t *testing.T) {
	skipUnlessLab(t)
	for _, random := range []bool{false, true} {
		ports := sourcePorts(t, random)
		kept := ports[0] == 40000 && ports[1] == 40000
		if kept == random {
			t.Errorf("random ports %v: router used source ports %v for client port 40000", random, ports)
		}
	}
}

// sourcePorts returns the ports two connections from client port 40000 to
// the two servers arrive from.
func sourcePorts(t *testing.T, random bool) []uint16 {
	lab := New(t, Options{Servers: 2, RandomPorts: random})
	c := lab.Clients[0]
	var ports []uint16
	for _, s := range lab.Servers {
		addr, from := listenIn(t, s)
		var conn net.Conn
		err := c.Do(func() (err error) {
			d := net.Dialer{LocalAddr: &net.TCPAddr{IP: c.Addr.AsSlice(), Port: 40000}, Control: reuseAddr}
			conn, err = d.Dial("tcp4", addr.String())
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		ports = append(ports, (<-from).Port())
	}
	return ports
}
