package p2p

import (
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/peerstore"
	ma "github.com/multiformats/go-multiaddr"

	cr "kwsearch/chordrouting"
)

// AdmitFinger keeps at most MaxFingersPerIP fingers per IP and
// MaxFingersPerSubnet per subnet; peers in no group are always admitted.
func TestAdmitFinger(t *testing.T) {
	h := newTestHost(t, 1)
	tr, err := NewTransport(h, DefaultConfig(), &fakeClock{now: time.Unix(0, 0)})
	if err != nil {
		t.Fatal(err)
	}
	groups := map[peer.ID]AddrGroup{}
	tr.SetAddrGrouper(func(p peer.ID, _ ma.Multiaddr) AddrGroup { return groups[p] })
	peerIn := func(seed uint64, g AddrGroup) cr.Peer {
		_, p := testPeer(t, seed)
		pid, err := PeerID(p)
		if err != nil {
			t.Fatal(err)
		}
		groups[pid] = g
		h.Peerstore().AddAddrs(pid, []ma.Multiaddr{ma.StringCast("/ip4/127.0.0.1/tcp/1")}, peerstore.PermanentAddrTTL)
		return p
	}
	netA := func(ip string) AddrGroup { return AddrGroup{IP: "203.0.113." + ip, Subnet: "203.0.113.0/24"} }
	a1, a1b := peerIn(10, netA("1")), peerIn(11, netA("1"))
	a2, a3 := peerIn(12, netA("2")), peerIn(13, netA("3"))
	other := peerIn(14, AddrGroup{IP: "198.51.100.1", Subnet: "198.51.100.0/24"})
	none1, none2 := peerIn(15, AddrGroup{}), peerIn(16, AddrGroup{})
	_, unknown := testPeer(t, 17) // no address known

	for _, c := range []struct {
		name    string
		cand    cr.Peer
		fingers []cr.Peer
		want    bool
	}{
		{"empty table", a1, nil, true},
		{"same IP as a finger", a1b, []cr.Peer{a1}, false},
		{"same /24, one there", a2, []cr.Peer{a1, other}, true},
		{"same /24, two there", a3, []cr.Peer{a1, a2}, false},
		{"replacing itself", a1, []cr.Peer{a1, a2}, true},
		{"another subnet", other, []cr.Peer{a1, a2}, true},
		{"no group", none1, []cr.Peer{none2, a1, a2}, true},
		{"fingers in no group do not count", a1, []cr.Peer{none1, none2, unknown}, true},
		{"no address known", unknown, []cr.Peer{a1, a2}, true},
	} {
		if got := tr.AdmitFinger(c.cand, c.fingers); got != c.want {
			t.Errorf("%s: admitted %v, want %v", c.name, got, c.want)
		}
	}
}
