package chordrouting

import (
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
)

// formedNodes returns n one-hop nodes sharing a Directory, with random
// IDs, sorted by ID, and their peers.
func formedNodes(t *testing.T, n int, cfg Config, rng *rand.Rand) ([]*Node, []Peer) {
	t.Helper()
	cfg.OneHop = true
	if cfg.Directory == nil {
		cfg.Directory = NewDirectory()
	}
	var ps []Peer
	for k := range n {
		ps = append(ps, Peer{ID: randomKey(rng), Addr: strconv.Itoa(k)})
	}
	slices.SortFunc(ps, func(a, b Peer) int { return a.ID.Cmp(b.ID) })
	nodes := make([]*Node, n)
	for k, p := range ps {
		nd, err := NewNode(p, cfg, &captureTransport{}, NewMemStorage(), &fakeClock{now: epoch}, rng)
		if err != nil {
			t.Fatal(err)
		}
		nodes[k] = nd
	}
	return nodes, ps
}

// TestStartFormedCopiesTables: nodes started settled hold every other
// member, the copies share the first table's chunks, and the Directory
// stays consistent; the fingers are the owners Owner names.
func TestStartFormedCopiesTables(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 3))
	t.Logf("seed 31")
	const n = 600
	nodes, ps := formedNodes(t, n, DefaultConfig(), rng)
	owner := func(key ID) Peer {
		k, _ := slices.BinarySearchFunc(ps, key, func(p Peer, key ID) int { return p.ID.Cmp(key) })
		return ps[k%n]
	}
	r := nodes[0].cfg.SuccessorListLen
	for k, nd := range nodes {
		var succ []Peer
		for j := 1; j <= r; j++ {
			succ = append(succ, ps[(k+j)%n])
		}
		f := Formed{Pred: ps[(k+n-1)%n], Successors: succ, Owner: owner, Members: ps}
		if k > 0 {
			f.Like, f.Members = nodes[0], nil
		}
		if err := nd.StartFormed(f); err != nil {
			t.Fatalf("node %d: %v", k, err)
		}
	}
	var tabs []*memberTable
	for k, nd := range nodes {
		want := slices.Delete(slices.Clone(ps), k, k+1)
		if got := nd.Members(); !slices.Equal(got, want) {
			t.Fatalf("node %d's table: %d entries, want the %d other members", k, len(got), len(want))
		}
		st := nd.State()
		if !st.Member || st.Predecessor == nil || st.Predecessor.ID != ps[(k+n-1)%n].ID || st.Successors[0].ID != ps[(k+1)%n].ID {
			t.Fatalf("node %d: member %v, predecessor %v, successors %v", k, st.Member, st.Predecessor, st.Successors)
		}
		if len(st.Fingers) == 0 {
			t.Fatalf("node %d has no fingers", k)
		}
		for _, f := range st.Fingers {
			if _, ok := slices.BinarySearchFunc(ps, f.ID, func(p Peer, id ID) int { return p.ID.Cmp(id) }); !ok {
				t.Fatalf("node %d's finger %v is not a member", k, f.ID)
			}
		}
		tabs = append(tabs, &nd.oh.table)
	}
	d := nodes[0].cfg.Directory
	checkDirectory(t, d, tabs...)
	if c := d.Chunks(); c > 3*n {
		t.Fatalf("%d tables hold %d chunks: the copies do not share", n, c)
	}
}

// TestStartFormedRefuses: bad starts are refused with an error and leave
// the node out of any ring.
func TestStartFormedRefuses(t *testing.T) {
	rng := rand.New(rand.NewPCG(32, 3))
	t.Logf("seed 32")
	cfg := DefaultConfig()
	cfg.MaxTableSize = 8
	nodes, ps := formedNodes(t, 12, cfg, rng)
	other, _ := formedNodes(t, 1, cfg, rng) // another Directory
	owner := func(ID) Peer { return ps[1] }
	self := nodes[0]
	if err := nodes[1].StartFormed(Formed{Pred: ps[0], Successors: ps[2:3], Owner: owner, Members: ps[1:10]}); err != nil {
		t.Fatal(err)
	}
	long := make([]Peer, cfg.SuccessorListLen+1)
	for k := range long {
		long[k] = ps[1+k%11]
	}
	bad := map[string]Formed{
		"no owner":          {Pred: ps[11], Successors: ps[1:2], Members: ps[:8]},
		"list too long":     {Pred: ps[11], Successors: long, Owner: owner, Members: ps[:8]},
		"self in list":      {Pred: ps[11], Successors: ps[0:2], Owner: owner, Members: ps[:8]},
		"like not a member": {Pred: ps[11], Successors: ps[1:2], Owner: owner, Like: nodes[2]},
		"like elsewhere":    {Pred: ps[11], Successors: ps[1:2], Owner: owner, Like: other[0]},
		"members over cap":  {Pred: ps[11], Successors: ps[1:2], Owner: owner, Members: ps},
		"like's table full": {Pred: ps[11], Successors: ps[1:2], Owner: owner, Like: nodes[1]},
	}
	for what, f := range bad {
		if err := self.StartFormed(f); err == nil {
			t.Fatalf("%s: accepted", what)
		}
		if st := self.State(); st.Member || len(st.Successors) > 0 || self.MembershipSize() != 0 {
			t.Fatalf("%s: refused, but the node is a member %v with %d successors and %d table entries", what, st.Member, len(st.Successors), self.MembershipSize())
		}
	}
	if err := nodes[1].StartFormed(Formed{Pred: ps[0], Successors: ps[2:3], Owner: owner, Members: ps[:8]}); err == nil {
		t.Fatal("a second start of a member accepted")
	}
}
