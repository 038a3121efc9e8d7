package bootstrap

import (
	"math/rand/v2"
	"net"
	"net/netip"
	"testing"
	"time"

	ma "github.com/multiformats/go-multiaddr"
	manet "github.com/multiformats/go-multiaddr/net"
)

func TestParsePublicCIDRs(t *testing.T) {
	cases := []struct {
		name string
		in   []string
		want []string
		bad  bool
	}{
		{name: "benchmark range", in: []string{"198.18.0.0/15"}, want: []string{"198.18.0.0/15"}},
		{name: "host bits cleared", in: []string{"198.18.0.7/24"}, want: []string{"198.18.0.0/24"}},
		{name: "several", in: []string{"192.0.2.0/24", "2001:db8::/32"}, want: []string{"192.0.2.0/24", "2001:db8::/32"}},
		{name: "mapped v4", in: []string{"::ffff:198.18.0.0/111"}, want: []string{"198.18.0.0/15"}},
		{name: "garbage", in: []string{"198.18.0.0"}, bad: true},
		{name: "loopback", in: []string{"127.0.0.0/8"}, bad: true},
		{name: "covers loopback", in: []string{"64.0.0.0/2"}, bad: true},
		{name: "everything", in: []string{"0.0.0.0/0"}, bad: true},
		{name: "multicast", in: []string{"224.0.0.0/8"}, bad: true},
		{name: "v6 loopback", in: []string{"::1/128"}, bad: true},
		{name: "v6 ULA never public", in: []string{"fd00::/8"}, bad: true},
		{name: "v6 too wide", in: []string{"::/1"}, bad: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := ParsePublicCIDRs(c.in)
			if c.bad {
				if err == nil {
					t.Fatalf("ParsePublicCIDRs(%v) = %v, want error", c.in, got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(c.want) {
				t.Fatalf("got %v, want %v", got, c.want)
			}
			for i := range got {
				if got[i].String() != c.want[i] {
					t.Errorf("got %v, want %v", got[i], c.want[i])
				}
			}
		})
	}
	if _, err := ParsePublicCIDRs(make([]string, maxPublicCIDRs+1)); err == nil {
		t.Error("too many CIDRs accepted")
	}
}

// TestSubtractTableMatchesNaive checks subtractTable against a direct
// membership test on random addresses near the interesting ranges.
func TestSubtractTableMatchesNaive(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	table := parseNets(t, "10.0.0.0/8", "192.0.2.0/24", "198.18.0.0/15", "198.51.100.0/24", "2001:db8::/32", "fc00::/7")
	for round := 0; round < 200; round++ {
		remove := []netip.Prefix{randomPrefixIn(rng, table[rng.IntN(len(table))])}
		if rng.IntN(2) == 0 {
			remove = append(remove, randomPrefixIn(rng, table[rng.IntN(len(table))]))
		}
		got := subtractTable(table, remove)
		for i := 0; i < 200; i++ {
			a := randomAddrNear(rng, table[rng.IntN(len(table))])
			want := inNets(table, a) && !inPrefixes(remove, a)
			if inNets(got, a) != want {
				t.Fatalf("remove %v: %v in result = %v, want %v (result %v)", remove, a, !want, want, got)
			}
		}
	}
}

func TestTreatAsPublic(t *testing.T) {
	ps, err := ParsePublicCIDRs([]string{"198.18.0.0/24"})
	if err != nil {
		t.Fatal(err)
	}
	pub := ma.StringCast("/ip4/198.18.0.5/tcp/4001")
	sameSlash15 := ma.StringCast("/ip4/198.19.0.5/tcp/4001")
	doc := ma.StringCast("/ip4/192.0.2.1/tcp/4001")
	if manet.IsPublicAddr(pub) {
		t.Fatal("198.18.0.5 is public before TreatAsPublic")
	}
	restore := TreatAsPublic(ps)
	if !manet.IsPublicAddr(pub) {
		t.Error("198.18.0.5 not public after TreatAsPublic")
	}
	if manet.IsPublicAddr(sameSlash15) || manet.IsPublicAddr(doc) {
		t.Error("ranges outside the public CIDR became public")
	}
	restore()
	if manet.IsPublicAddr(pub) {
		t.Error("restore did not restore")
	}
}

func parseNets(t testing.TB, ss ...string) []*net.IPNet {
	var out []*net.IPNet
	for _, s := range ss {
		_, n, err := net.ParseCIDR(s)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, n)
	}
	return out
}

// randomPrefixIn returns a random prefix overlapping n: inside it, or
// (sometimes) a covering one.
func randomPrefixIn(rng *rand.Rand, n *net.IPNet) netip.Prefix {
	p, _ := prefixFromIPNet(n)
	bits := p.Bits() - 2 + rng.IntN(14)
	bits = max(1, min(bits, p.Addr().BitLen()))
	return netip.PrefixFrom(randomAddrNear(rng, n), bits).Masked()
}

// randomAddrNear returns an address in n or just around it.
func randomAddrNear(rng *rand.Rand, n *net.IPNet) netip.Addr {
	p, _ := prefixFromIPNet(n)
	b := p.Addr().AsSlice()
	for i := max(0, p.Bits()/8-1); i < len(b); i++ {
		b[i] = byte(rng.IntN(256))
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

func inNets(ns []*net.IPNet, a netip.Addr) bool {
	for _, n := range ns {
		if n.Contains(net.IP(a.AsSlice())) {
			return true
		}
	}
	return false
}

func inPrefixes(ps []netip.Prefix, a netip.Addr) bool {
	for _, p := range ps {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

func TestUsePublicCIDRs(t *testing.T) {
	lab := ma.StringCast("/ip4/198.18.3.4/udp/4001/quic-v1")
	if _, err := UsePublicCIDRs([]string{"198.18.0.0/15", "127.0.0.0/8"}); err == nil {
		t.Fatal("loopback accepted")
	}
	if manet.IsPublicAddr(lab) {
		t.Fatal("a refused list changed the tables")
	}
	restore, err := UsePublicCIDRs([]string{"198.18.0.0/15"})
	if err != nil {
		t.Fatal(err)
	}
	defer restore()
	if !manet.IsPublicAddr(lab) || manet.IsPrivateAddr(lab) {
		t.Error("198.18.3.4 not public after UsePublicCIDRs")
	}
}
