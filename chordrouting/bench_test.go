package chordrouting

import (
	"math/rand/v2"
	"sort"
	"strconv"
	"testing"
	"time"
)

// pumpNet delivers messages in FIFO order at once, without ticks: a static
// ring with no failures needs nothing else.
type pumpNet struct {
	nodes map[string]*Node
	queue []*Message
	dest  []string
}

type pumpTransport struct{ net *pumpNet }

func (t pumpTransport) Send(to Peer, m *Message) {
	t.net.queue = append(t.net.queue, m)
	t.net.dest = append(t.net.dest, to.Addr)
}

func (p *pumpNet) run() {
	for k := 0; k < len(p.queue); k++ {
		if n := p.nodes[p.dest[k]]; n != nil {
			n.Step(p.queue[k])
		}
		p.queue[k] = nil
	}
	p.queue, p.dest = p.queue[:0], p.dest[:0]
}

// staticRing builds n members with correct successor lists, predecessors
// and fingers, set directly.
func staticRing(tb testing.TB, n int, seed uint64) (*pumpNet, []*Node) {
	tb.Helper()
	rng := rand.New(rand.NewPCG(seed, 3))
	net := &pumpNet{nodes: make(map[string]*Node, n)}
	cfg := DefaultConfig()
	clock := &fakeClock{now: time.Unix(0, 0)}
	nodes := make([]*Node, n)
	for i := range nodes {
		var id ID
		for k := 0; k < len(id); k += 8 {
			v := rng.Uint64()
			for j := range 8 {
				id[k+j] = byte(v >> (8 * j))
			}
		}
		nd, err := NewNode(Peer{ID: id, Addr: strconv.Itoa(i)}, cfg, pumpTransport{net}, NewMemStorage(), clock, rng)
		if err != nil {
			tb.Fatal(err)
		}
		nodes[i] = nd
	}
	linkStatic(nodes, cfg.SuccessorListLen)
	for _, nd := range nodes {
		net.nodes[nd.self.Addr] = nd
	}
	setFingers(nodes)
	return net, nodes
}

// setFingers gives every member of a static ring (nodes sorted by ID) its
// correct fingers beyond its successor list.
func setFingers(nodes []*Node) {
	for _, nd := range nodes {
		for b := IDBits - 1; b >= 0; b-- {
			start := nd.self.ID.AddPow2(b)
			if BetweenRightIncl(nd.self.ID, start, nd.lastKnown()) {
				break
			}
			end := nd.self.ID
			if b+1 < IDBits {
				end = nd.self.ID.AddPow2(b + 1)
			}
			nd.setFinger(start, end, ownerIn(nodes, start).self)
		}
	}
}

// linkStatic sorts nodes by ID and makes each a member with its correct
// predecessor and successor list of length r.
func linkStatic(nodes []*Node, r int) {
	n := len(nodes)
	sort.Slice(nodes, func(a, b int) bool { return nodes[a].self.ID.Less(nodes[b].self.ID) })
	for i, nd := range nodes {
		nd.member = true
		nd.pred, nd.hasPred = nodes[(i+n-1)%n].self, true
		for j := 1; j <= min(r, n-1); j++ {
			nd.succ = append(nd.succ, nodes[(i+j)%n].self)
		}
	}
}

// ownerIn is the owner of key among nodes, sorted by ID.
func ownerIn(nodes []*Node, key ID) *Node {
	return nodes[sort.Search(len(nodes), func(j int) bool { return !nodes[j].self.ID.Less(key) })%len(nodes)]
}

func TestStaticRingLookups(t *testing.T) {
	for _, size := range []int{1, 2, 9, 300} {
		seed := uint64(size)
		net, nodes := staticRing(t, size, seed)
		t.Logf("seed %d, %d nodes", seed, size)
		rng := rand.New(rand.NewPCG(seed, 9))
		for range 200 {
			var key ID
			key[0], key[5], key[31] = byte(rng.Uint32()), byte(rng.Uint32()), byte(rng.Uint32())
			from := nodes[rng.IntN(size)]
			want := nodes[sort.Search(size, func(j int) bool { return !nodes[j].self.ID.Less(key) })%size].self
			var got LookupResult
			from.Lookup(key, func(r LookupResult) { got = r })
			net.run()
			if got.Err != nil || len(got.Successors) == 0 || got.Successors[0].ID != want.ID {
				t.Fatalf("%d nodes: lookup of %s: %+v, want %s", size, key.Short(), got, want.ID.Short())
			}
			// A key in the asker's own range is answered locally; one in its
			// successor list's span costs one hop, the owner's confirmation.
			local := size == 1 || BetweenRightIncl(from.pred.ID, key, from.self.ID)
			span := size > 1 && BetweenRightIncl(from.self.ID, key, from.succ[len(from.succ)-1].ID)
			switch {
			case local && got.Hops != 0:
				t.Fatalf("lookup of a key in the asker's range answered with %d hops, want 0", got.Hops)
			case !local && span && got.Hops != 1:
				t.Fatalf("lookup of a key in the asker's successor list answered with %d hops, want 1 (the confirmation)", got.Hops)
			case !local && got.Hops == 0:
				t.Fatalf("lookup of a key outside the asker's range answered locally")
			}
		}
	}
}

// BenchmarkLookupHops10k measures lookups on a static ring of 10,000
// nodes with complete fingers: hops per lookup and the CPU per lookup.
func BenchmarkLookupHops10k(b *testing.B) {
	net, nodes := staticRing(b, 10000, 1)
	rng := rand.New(rand.NewPCG(1, 4))
	hops := 0
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		var key ID
		for k := range key {
			key[k] = byte(rng.Uint32())
		}
		nodes[rng.IntN(len(nodes))].Lookup(key, func(r LookupResult) {
			if r.Err != nil {
				b.Fatal(r.Err)
			}
			hops += r.Hops
		})
		net.run()
	}
	b.ReportMetric(float64(hops)/float64(b.N), "hops/lookup")
}
