package netlab

import (
	"errors"
	"fmt"
	"net/netip"
	"os/exec"
	"testing"

	"github.com/vishvananda/netns"
)

// Options shape a lab.
type Options struct {
	// Servers is how many nodes sit on the public segment (at least 2).
	Servers int
	// RandomPorts makes both routers randomize source ports (symmetric
	// NAT): hole punching cannot work.
	RandomPorts bool
}

// maxServers keeps server addresses (.10 up) below the routers' (.101 up).
const maxServers = 50

// Subnets and addresses of the lab (RFC 2544 and RFC 5737 ranges, which
// no real network routes).
var (
	publicNet   = netip.MustParsePrefix("198.18.0.0/24")
	privateNets = [2]netip.Prefix{netip.MustParsePrefix("192.0.2.0/24"), netip.MustParsePrefix("198.51.100.0/24")}
)

// Host is a namespace with its address on its segment.
type Host struct {
	Name string     // namespace name (ip netns list)
	Addr netip.Addr // the address tests dial
	ns   netns.NsHandle
}

// Client is a host behind a NAT router.
type Client struct {
	Host
	// Router is the NAT router; Router.Addr is its public address, the one
	// the client's connections come from.
	Router Host
}

// Lab is a built topology.
type Lab struct {
	Servers []Host
	Clients [2]Client
	prefix  string  // kwlab-PID-RANDOM: unique per lab
	hosts   []*Host // every namespace, for Close
}

// Check reports why a lab cannot be built here, or nil: it needs root and
// a kernel with network namespaces and nftables NAT, which it tries out in
// a throw-away namespace.
func Check() error {
	if !isRoot() {
		return errors.New("netlab: needs root (network namespaces, nftables)")
	}
	name := uniquePrefix() + "-check"
	ns, err := newNamed(name)
	if err != nil {
		return fmt.Errorf("netlab: no network namespaces: %w", err)
	}
	defer netns.DeleteNamed(name)
	defer ns.Close()
	if err := natRules(ns, "lo", "lo", true); err != nil {
		return fmt.Errorf("netlab: kernel lacks nftables NAT: %w", err)
	}
	return nil
}

// New builds a lab and removes it when t ends. It fails t if it cannot.
func New(t testing.TB, opt Options) *Lab {
	t.Helper()
	l, err := Build(opt)
	if l != nil {
		t.Cleanup(func() {
			if err := l.Close(); err != nil {
				t.Errorf("netlab: %v", err)
			}
		})
	}
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// Build builds a lab; the caller must Close it, also on error when the
// returned lab is not nil.
func Build(opt Options) (*Lab, error) {
	if opt.Servers < 2 || opt.Servers > maxServers {
		return nil, fmt.Errorf("netlab: %d servers, want 2 to %d", opt.Servers, maxServers)
	}
	sweepStale()
	l := &Lab{prefix: uniquePrefix()}
	return l, l.build(opt)
}

func (l *Lab) build(opt Options) error {
	sw, err := l.newHost("sw", netip.Addr{})
	if err != nil {
		return err
	}
	if err := makeBridge(sw.ns, "br0"); err != nil {
		return err
	}
	for i := 0; i < opt.Servers; i++ {
		s, err := l.newHost(fmt.Sprintf("s%d", i), hostAddr(publicNet, 10+i))
		if err != nil {
			return err
		}
		if err := plug(s.ns, "eth0", prefixOf(s.Addr, publicNet), sw.ns, fmt.Sprintf("s%d", i), "br0"); err != nil {
			return err
		}
		l.Servers = append(l.Servers, *s)
	}
	for i, lan := range privateNets {
		c, err := l.buildClient(i, lan, sw, opt.RandomPorts)
		if err != nil {
			return err
		}
		l.Clients[i] = c
	}
	return nil
}

// buildClient builds router i (public .101+i, LAN .1) and its client (.10).
func (l *Lab) buildClient(i int, lan netip.Prefix, sw *Host, randomPorts bool) (Client, error) {
	tag := string(rune('a' + i))
	r, err := l.newHost("r"+tag, hostAddr(publicNet, 101+i))
	if err != nil {
		return Client{}, err
	}
	if err := plug(r.ns, "wan", prefixOf(r.Addr, publicNet), sw.ns, "r"+tag, "br0"); err != nil {
		return Client{}, err
	}
	c, err := l.newHost("c"+tag, hostAddr(lan, 10))
	if err != nil {
		return Client{}, err
	}
	gw := hostAddr(lan, 1)
	if err := plug(c.ns, "eth0", prefixOf(c.Addr, lan), r.ns, "lan", ""); err != nil {
		return Client{}, err
	}
	if err := addAddr(r.ns, "lan", prefixOf(gw, lan)); err != nil {
		return Client{}, err
	}
	if err := defaultRoute(c.ns, "eth0", gw); err != nil {
		return Client{}, err
	}
	if err := writeSysctl(r.ns, "net/ipv4/ip_forward", "1"); err != nil {
		return Client{}, err
	}
	if err := natRules(r.ns, "wan", "lan", randomPorts); err != nil {
		return Client{}, err
	}
	return Client{Host: *c, Router: *r}, nil
}

// newHost creates namespace kwlab-PID-RANDOM-role with loopback up.
func (l *Lab) newHost(role string, addr netip.Addr) (*Host, error) {
	name := l.prefix + "-" + role
	ns, err := newNamed(name)
	if err != nil {
		return nil, err
	}
	h := &Host{Name: name, Addr: addr, ns: ns}
	l.hosts = append(l.hosts, h)
	if err := linkUp(ns, "lo"); err != nil {
		return nil, err
	}
	return h, nil
}

// Start starts cmd inside h's namespace.
func (h Host) Start(cmd *exec.Cmd) error { return startIn(h.ns, cmd) }

// Run runs cmd inside h's namespace and returns its combined output.
func (h Host) Run(cmd *exec.Cmd) ([]byte, error) {
	var out limitedBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := h.Start(cmd); err != nil {
		return nil, err
	}
	err := cmd.Wait()
	return out.Bytes(), err
}

// Close removes every namespace of the lab. Processes still running in
// them keep their namespace alive until they exit: stop them first.
func (l *Lab) Close() error {
	var errs []error
	for i := len(l.hosts) - 1; i >= 0; i-- {
		h := l.hosts[i]
		h.ns.Close()
		if err := netns.DeleteNamed(h.Name); err != nil {
			errs = append(errs, fmt.Errorf("removing namespace %s: %w", h.Name, err))
		}
	}
	l.hosts = nil
	return errors.Join(errs...)
}

// hostAddr is the n-th address of p.
func hostAddr(p netip.Prefix, n int) netip.Addr {
	b := p.Masked().Addr().As4()
	b[3] += byte(n)
	return netip.AddrFrom4(b)
}

func prefixOf(a netip.Addr, net netip.Prefix) netip.Prefix { return netip.PrefixFrom(a, net.Bits()) }

// Do runs f on an OS thread inside h's namespace: sockets f opens belong to
// the namespace and may be used from any goroutine afterwards.
func (h Host) Do(f func() error) error { return onThreadIn(h.ns, f) }
