package hostile

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"

	"kwsearch/chordrouting/p2p"
)

// TestFingerDiversity: most of a ring's nodes sit in one subnet (an
// operator who placed many nodes). The victim keeps at most
// MaxFingersPerSubnet fingers from it, through the libp2p adapter's
// AdmitFinger, and searches through it still succeed. Every host is on
// 127.0.0.1, so the victim maps peers to addresses by peer ID: ten nodes
// in 203.0.113.0/24, the rest in no group.
func TestFingerDiversity(t *testing.T) {
	t.Parallel()
	o := defaultOpts(t)
	o.ring.SuccessorListLen, o.ring.Replicas = 2, 2 // fingers beyond a short list
	o.transport.MaxFingersPerIP, o.transport.MaxFingersPerSubnet = 1, 1
	v := startVictim(t, o)
	var groups sync.Map // peer.ID -> p2p.AddrGroup
	v.ring.Transport.SetAddrGrouper(func(p peer.ID, _ ma.Multiaddr) p2p.AddrGroup {
		g, _ := groups.Load(p)
		ag, _ := g.(p2p.AddrGroup)
		return ag
	})
	const n, crowd = 14, 10
	nodes := []*node{v}
	for i := 1; i < n; i++ {
		nd := startNode(t, o)
		if i <= crowd {
			groups.Store(nd.h.ID(), p2p.AddrGroup{IP: fmt.Sprintf("203.0.113.%d", i), Subnet: "203.0.113.0/24"})
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := nd.ring.JoinVia(ctx, []peer.AddrInfo{infoOf(nodes[i-1].h)})
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		nodes = append(nodes, nd)
	}
	inCrowd := func() (fingers, crowded int) {
		st := v.ring.Runner.State()
		for _, f := range st.Fingers {
			id, err := p2p.PeerID(f)
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := groups.Load(id); ok {
				crowded++
			}
		}
		return len(st.Fingers), crowded
	}
	// Fingers are refreshed every few ticks: wait until the victim holds
	// some, then watch them for a while.
	poll(t, "victim's fingers", 20*time.Second, func() error {
		if f, _ := inCrowd(); f < 1 {
			return fmt.Errorf("%d fingers", f)
		}
		return nil
	})
	maxCrowded, fingers := 0, 0
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) {
		f, c := inCrowd()
		fingers, maxCrowded = max(fingers, f), max(maxCrowded, c)
		time.Sleep(50 * time.Millisecond) // sampling interval, not a wait for a condition
	}
	t.Logf("ring of %d, %d in one /24: victim holds up to %d fingers, at most %d from that /24 (cap %d)",
		n, crowd, fingers, maxCrowded, o.transport.MaxFingersPerSubnet)
	if maxCrowded > o.transport.MaxFingersPerSubnet {
		t.Errorf("%d fingers from one /24, cap %d", maxCrowded, o.transport.MaxFingersPerSubnet)
	}
	root := nodes[n-1].share(t, "honest diversity ring song.flac", 64<<10)
	var hc honest
	for range 3 {
		hc.search(t, v, []string{"diversity", "song"}, root, nodes[n-1].h.ID())
	}
	hc.download(t, v, root, nodes[n-1].data[root], infoOf(nodes[n-1].h))
	hc.requireAllOK(t)
}
