package bootstrap

import (
	"context"
	"fmt"
	"testing"

	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
)

func fakeInfo(i int) peer.AddrInfo {
	return peer.AddrInfo{
		ID:    peer.ID(fmt.Sprintf("peer-%03d", i)),
		Addrs: []ma.Multiaddr{ma.StringCast(fmt.Sprintf("/ip4/198.18.0.%d/tcp/4001", i%250+1))},
	}
}

// TestRelayCandidates: static relays and bootstrap peers come first, then
// ring nodes newest first; duplicates, self and address-less peers are
// dropped; the learnt list is capped.
func TestRelayCandidates(t *testing.T) {
	cfg := DefaultConfig()
	cfg.StaticRelays = []peer.AddrInfo{fakeInfo(1)}
	cfg.BootstrapPeers = []peer.AddrInfo{fakeInfo(2), fakeInfo(1)}
	c := newCandidates(cfg)
	c.self = fakeInfo(9).ID
	c.add([]peer.AddrInfo{fakeInfo(3), fakeInfo(4), fakeInfo(9), {ID: "no-addrs"}, fakeInfo(3)})
	var got []peer.ID
	for p := range c.source(context.Background(), 10) {
		got = append(got, p.ID)
	}
	want := []peer.ID{fakeInfo(1).ID, fakeInfo(2).ID, fakeInfo(3).ID, fakeInfo(4).ID}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("candidates %v, want %v", got, want)
	}
	if n := len(c.list(2)); n != 2 {
		t.Errorf("list(2) gave %d", n)
	}
	for i := 10; i < 10+2*maxRelayCandidates; i++ {
		c.add([]peer.AddrInfo{fakeInfo(i)})
	}
	if len(c.learnt) != maxRelayCandidates || c.learnt[0].ID != fakeInfo(9+2*maxRelayCandidates).ID {
		t.Errorf("learnt list: %d entries, first %s", len(c.learnt), c.learnt[0].ID)
	}
}
