package bootstrap

import (
	"net/netip"
	"strings"
	"testing"
)

// FuzzParsePublicCIDRs: whatever the input, parsing never panics, and an
// accepted range is masked, not loopback, and leaves no address of itself
// in a table it is subtracted from.
func FuzzParsePublicCIDRs(f *testing.F) {
	for _, s := range []string{"198.18.0.0/15", "192.0.2.7/24,2001:db8::/32", "127.0.0.0/8", "::ffff:198.18.0.0/111", "0.0.0.0/0", "10.0.0.0/33", ""} {
		f.Add(s)
	}
	table := parseNets(f, "10.0.0.0/8", "127.0.0.0/8", "198.18.0.0/15", "2001:db8::/32", "fc00::/7")
	f.Fuzz(func(t *testing.T, in string) {
		ps, err := ParsePublicCIDRs(strings.Split(in, ","))
		if err != nil {
			return
		}
		for _, p := range ps {
			if p != p.Masked() || p.Contains(netip.MustParseAddr("127.0.0.1")) || p.Contains(netip.IPv6Loopback()) {
				t.Fatalf("accepted %v", p)
			}
		}
		got := subtractTable(table, ps)
		for _, p := range ps {
			if inNets(got, p.Addr()) {
				t.Fatalf("%v still in the table after subtracting it: %v", p.Addr(), got)
			}
		}
	})
}
