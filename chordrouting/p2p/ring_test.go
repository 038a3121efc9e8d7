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

func testRingConfig() cr.Config {
	cfg := cr.DefaultConfig()
	cfg.RequestTimeoutTicks = 50
	cfg.LookupTimeoutTicks = 300
	cfg.RepairTicks = 60
	return cfg
}

// TestRingNew wires real Nodes with New: a ring of 8 forms through one
// introducer (addresses travel in ring messages), stores and fetches, a
// client (not a member) does the same, and a graceful leave keeps the data.
func TestRingNew(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var rings []*Ring
	var infos []peer.AddrInfo
	start := func(seed uint64) *Ring {
		h := newTestHost(t, seed)
		r, err := New(h, testRingConfig(), cr.NewMemStorage(), Options{Tick: 10 * time.Millisecond,
			Rand: rand.New(rand.NewPCG(seed, 1))})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { r.Close(false) })
		return r
	}
	for i := 0; i < 8; i++ {
		r := start(uint64(200 + i))
		if i == 0 {
			if err := r.Create(ctx); err != nil {
				t.Fatal(err)
			}
		} else if err := r.JoinVia(ctx, infos[:1]); err != nil {
			t.Fatalf("join %d: %v", i, err)
		}
		rings = append(rings, r)
		infos = append(infos, peer.AddrInfo{ID: r.host.ID(), Addrs: r.host.Addrs()})
	}
	ids := make([]cr.ID, len(rings))
	for i, r := range rings {
		ids[i] = r.Self().ID
	}
	slices.SortFunc(ids, func(a, b cr.ID) int { return a.Cmp(b) })
	waitFor(t, "a correct ring", func() bool {
		for _, r := range rings {
			st := r.Runner.State()
			k, _ := slices.BinarySearchFunc(ids, st.Self.ID, func(a, b cr.ID) int { return a.Cmp(b) })
			if len(st.Successors) == 0 || st.Successors[0].ID != ids[(k+1)%len(ids)] {
				return false
			}
		}
		return true
	})

	key := cr.HashID([]byte("key"))
	pr, err := rings[2].Runner.Put(ctx, []cr.Item{{Key: key, Value: []byte("v1")}})
	if err != nil || pr.Stored != 1 {
		t.Fatalf("put %+v %v", pr, err)
	}
	gr, err := rings[5].Runner.Get(ctx, key, nil, 10)
	if err != nil || len(gr.Values) != 1 || string(gr.Values[0]) != "v1" {
		t.Fatalf("get %+v %v", gr, err)
	}

	client := start(300)
	if err := client.SetEntryPoints(ctx, infos[3:5]); err != nil {
		t.Fatal(err)
	}
	if _, err := client.Runner.Put(ctx, []cr.Item{{Key: key, Value: []byte("v2")}}); err != nil {
		t.Fatal(err)
	}
	// Reads are eventually consistent: the owner acknowledges once it has
	// stored the value and pushes it to the replicas, and a get may be
	// answered by a replica (an owner suspected under load) that the push
	// has not reached yet. Both values are there within a few ticks.
	waitFor(t, "the client's get to return both values", func() bool {
		gr, err = client.Runner.Get(ctx, key, nil, 10)
		return err == nil && len(gr.Values) == 2
	})
	if client.Runner.State().Member {
		t.Fatal("client is a member")
	}

	// The owner leaves gracefully; the values stay.
	lr, err := rings[0].Runner.Lookup(ctx, key)
	if err != nil || len(lr.Successors) == 0 {
		t.Fatalf("lookup %+v %v", lr, err)
	}
	for i, r := range rings {
		if r.Self().ID == lr.Successors[0].ID && i != 5 {
			if err := r.Close(true); err != nil {
				t.Fatal(err)
			}
			r.host.Close()
		}
	}
	waitFor(t, "values after the owner left", func() bool {
		gr, err := rings[5].Runner.Get(ctx, key, nil, 10)
		return err == nil && gr.Err == nil && len(gr.Values) == 2
	})
}
