package p2p

import (
	"context"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	cr "kwsearch/chordrouting"
)

// TestRingOneHop runs one-hop routing over libp2p: eight members fill
// their membership tables through the wire (table pages, membership events
// in the compact form, digest sweeps), and then every lookup of a key
// outside the asker's successor list reaches its owner in one hop.
func TestRingOneHop(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cfg := testRingConfig()
	cfg.OneHop = true
	cfg.SuccessorListLen = 2 // so that most keys lie beyond the list
	cfg.Replicas = 2
	// At 10 ms ticks a loaded machine (the race detector, other packages'
	// tests) delays stabilize queries past one tick, and lookups then
	// pass over a suspected head: a second hop in about 1 run in 10.
	// Suspecting a head after 200 ms keeps this test about routing.
	cfg.SuspectTicks = 20
	rings, _ := oneHopRing(t, ctx, cfg, 8, 400)
	ids := make([]cr.ID, len(rings))
	for i, r := range rings {
		ids[i] = r.Self().ID
	}
	slices.SortFunc(ids, func(a, b cr.ID) int { return a.Cmp(b) })
	rng := rand.New(rand.NewPCG(4, 4))
	for k := 0; k < 40; k++ {
		var key cr.ID
		for b := range key {
			key[b] = byte(rng.Uint32())
		}
		i, _ := slices.BinarySearchFunc(ids, key, func(a, b cr.ID) int { return a.Cmp(b) })
		want := ids[i%len(ids)]
		res, err := rings[k%len(rings)].Runner.Lookup(ctx, key)
		if err != nil || len(res.Successors) == 0 || res.Successors[0].ID != want {
			t.Fatalf("lookup %d: %+v %v, want owner %s", k, res, err, want.Short())
		}
		if res.Hops > 1 {
			t.Fatalf("lookup %d took %d hops with complete tables", k, res.Hops)
		}
	}
}

// oneHopRing starts n one-hop members on real hosts (seeds seed0...),
// the first creating the ring and the others joining through it, and
// waits until every membership table names every other member and every
// member's successor and predecessor are right (until stabilization has
// caught up, an owner asked to confirm a key may still refuse it, which
// costs a lookup a second hop).
func oneHopRing(t testing.TB, ctx context.Context, cfg cr.Config, n int, seed0 uint64) ([]*Ring, []peer.AddrInfo) {
	t.Helper()
	var rings []*Ring
	var infos []peer.AddrInfo
	for i := 0; i < n; i++ {
		seed := seed0 + uint64(i)
		h := newTestHost(t, seed)
		r, err := New(h, cfg, cr.NewMemStorage(), Options{Tick: 10 * time.Millisecond, Rand: rand.New(rand.NewPCG(seed, 1))})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { r.Close(false) })
		if i == 0 {
			err = r.Create(ctx)
		} else {
			err = r.JoinVia(ctx, infos[:1])
		}
		if err != nil {
			t.Fatalf("member %d: %v", i, err)
		}
		rings = append(rings, r)
		infos = append(infos, peer.AddrInfo{ID: r.host.ID(), Addrs: r.host.Addrs()})
	}
	ids := make([]cr.ID, len(rings))
	for i, r := range rings {
		ids[i] = r.Self().ID
	}
	slices.SortFunc(ids, func(a, b cr.ID) int { return a.Cmp(b) })
	waitFor(t, "complete membership tables and a correct ring", func() bool {
		for _, r := range rings {
			size := 0
			if err := r.Runner.Do(ctx, func(n *cr.Node) { size = n.MembershipSize() }); err != nil || size != len(rings)-1 {
				return false
			}
			st := r.Runner.State()
			k, _ := slices.BinarySearchFunc(ids, st.Self.ID, func(a, b cr.ID) int { return a.Cmp(b) })
			if len(st.Successors) == 0 || st.Successors[0].ID != ids[(k+1)%len(ids)] ||
				st.Predecessor == nil || st.Predecessor.ID != ids[(k+len(ids)-1)%len(ids)] {
				return false
			}
		}
		return true
	})
	return rings, infos
}
