package bootstrap

import (
	"fmt"
	"net"
	"net/netip"

	manet "github.com/multiformats/go-multiaddr/net"
)

// maxPublicCIDRs bounds --public-cidr: a handful of lab ranges is the use.
const maxPublicCIDRs = 64

// globalUnicast6 is the only IPv6 space go-multiaddr ever counts as public.
var globalUnicast6 = netip.MustParsePrefix("2000::/3")

// ParsePublicCIDRs parses and validates --public-cidr values. A range is
// refused when it cannot or must not become public: it overlaps loopback
// (the node would advertise 127.0.0.1 to the world), is multicast, is the
// whole address space, or (IPv6) lies outside 2000::/3, which go-multiaddr
// never counts as public whatever its tables say. Host bits are cleared.
func ParsePublicCIDRs(ss []string) ([]netip.Prefix, error) {
	if len(ss) > maxPublicCIDRs {
		return nil, fmt.Errorf("bootstrap: %d public CIDRs, at most %d", len(ss), maxPublicCIDRs)
	}
	out := make([]netip.Prefix, 0, len(ss))
	for _, s := range ss {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return nil, fmt.Errorf("bootstrap: public CIDR %q: %w", s, err)
		}
		p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-unmapBits(p.Addr())).Masked()
		if err := checkPublicCIDR(p); err != nil {
			return nil, fmt.Errorf("bootstrap: public CIDR %q: %w", s, err)
		}
		out = append(out, p)
	}
	return out, nil
}

// unmapBits is how many prefix bits an IPv4-mapped IPv6 address loses.
func unmapBits(a netip.Addr) int {
	if a.Is4In6() {
		return 96
	}
	return 0
}

func checkPublicCIDR(p netip.Prefix) error {
	if p.Bits() < 0 {
		return fmt.Errorf("prefix length below the IPv4-mapped prefix")
	}
	if p.Bits() == 0 {
		return fmt.Errorf("the whole address space cannot be public")
	}
	loop := netip.MustParsePrefix("127.0.0.0/8")
	if p.Addr().Is6() {
		loop = netip.MustParsePrefix("::1/128")
		if !globalUnicast6.Overlaps(p) || p.Bits() < globalUnicast6.Bits() {
			return fmt.Errorf("IPv6 ranges outside %s are never public to libp2p", globalUnicast6)
		}
	}
	if p.Overlaps(loop) {
		return fmt.Errorf("overlaps loopback %s", loop)
	}
	if p.Addr().IsMulticast() || p.Overlaps(netip.MustParsePrefix("224.0.0.0/4")) {
		return fmt.Errorf("overlaps multicast")
	}
	return nil
}

// TreatAsPublic makes libp2p treat the given ranges as public internet, for
// the whole process: it removes them from go-multiaddr's Private4/6 and
// Unroutable4/6 tables (splitting a larger table entry around a smaller
// range), which every reachability, relay and hole-punching decision in
// go-libp2p consults through manet.IsPublicAddr and manet.IsPrivateAddr.
//
// Call it once at daemon start, before the first host is built and while no
// other goroutine uses go-multiaddr: the tables are plain package variables
// with no lock. The prefixes must come from ParsePublicCIDRs. It returns a
// function that restores the previous tables (for tests; same rule applies).
func TreatAsPublic(prefixes []netip.Prefix) (restore func()) {
	p4, p6, u4, u6 := manet.Private4, manet.Private6, manet.Unroutable4, manet.Unroutable6
	manet.Private4 = subtractTable(manet.Private4, prefixes)
	manet.Private6 = subtractTable(manet.Private6, prefixes)
	manet.Unroutable4 = subtractTable(manet.Unroutable4, prefixes)
	manet.Unroutable6 = subtractTable(manet.Unroutable6, prefixes)
	return func() {
		manet.Private4, manet.Private6, manet.Unroutable4, manet.Unroutable6 = p4, p6, u4, u6
	}
}

// subtractTable returns a new table covering the addresses of table that lie
// in none of remove. The input table is not modified.
func subtractTable(table []*net.IPNet, remove []netip.Prefix) []*net.IPNet {
	ps := make([]netip.Prefix, 0, len(table))
	for _, n := range table {
		if p, ok := prefixFromIPNet(n); ok {
			ps = append(ps, p)
		}
	}
	for _, r := range remove {
		ps = subtractPrefix(ps, r)
	}
	out := make([]*net.IPNet, 0, len(ps))
	for _, p := range ps {
		out = append(out, ipNetFromPrefix(p))
	}
	return out
}

// subtractPrefix removes r from each prefix of ps.
func subtractPrefix(ps []netip.Prefix, r netip.Prefix) []netip.Prefix {
	var out []netip.Prefix
	for _, p := range ps {
		switch {
		case !p.Overlaps(r) || p.Addr().Is4() != r.Addr().Is4():
			out = append(out, p)
		case r.Bits() <= p.Bits(): // r covers p
		default: // p strictly covers r: keep the siblings on the path to r
			out = append(out, splitAround(p, r)...)
		}
	}
	return out
}

// splitAround returns the prefixes that cover p minus r, where r lies inside
// p and is longer: at each length between them, the sibling of r's ancestor.
func splitAround(p, r netip.Prefix) []netip.Prefix {
	out := make([]netip.Prefix, 0, r.Bits()-p.Bits())
	for l := p.Bits() + 1; l <= r.Bits(); l++ {
		anc := netip.PrefixFrom(r.Addr(), l).Masked()
		out = append(out, netip.PrefixFrom(flipBit(anc.Addr(), l-1), l))
	}
	return out
}

// flipBit flips bit i (0 = most significant) of a.
func flipBit(a netip.Addr, i int) netip.Addr {
	b := a.AsSlice()
	b[i/8] ^= 0x80 >> (i % 8)
	out, _ := netip.AddrFromSlice(b)
	return out
}

func prefixFromIPNet(n *net.IPNet) (netip.Prefix, bool) {
	a, ok := netip.AddrFromSlice(n.IP)
	if !ok {
		return netip.Prefix{}, false
	}
	ones, bits := n.Mask.Size()
	if a.Is4In6() && bits == 32 {
		a = a.Unmap()
	}
	if a.BitLen() != bits {
		return netip.Prefix{}, false
	}
	return netip.PrefixFrom(a, ones).Masked(), true
}

func ipNetFromPrefix(p netip.Prefix) *net.IPNet {
	return &net.IPNet{IP: net.IP(p.Addr().AsSlice()), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
}

// UsePublicCIDRs parses --public-cidr values (ParsePublicCIDRs) and applies
// them (TreatAsPublic). The daemon calls it once at start, before it
// builds the host; no values, no change. The returned function undoes it
// (tests).
func UsePublicCIDRs(ss []string) (restore func(), err error) {
	ps, err := ParsePublicCIDRs(ss)
	if err != nil {
		return func() {}, err
	}
	return TreatAsPublic(ps), nil
}
