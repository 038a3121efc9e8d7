package chordrouting

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestEnableOneHopRacesEveryHolder: under EnableOneHop a put reaches the
// owner and the next OneHopReplicas-1 members, and a read from elsewhere
// asks all of them at once, so that the last holder alone, with the
// owner and every other replica down, still answers it in one hop.
func TestEnableOneHopRacesEveryHolder(t *testing.T) {
	const n = 60
	seed := uint64(71)
	net, nodes := oneHopStatic(t, n, seed, func(c *Config) {
		c.Validator = recValidator{}
		c.EnableOneHop()
	})
	def := DefaultConfig()
	if c := nodes[0].cfg; c.MaxValuesPerPublisher != def.MaxValuesPerPublisher*OneHopReplicas/def.Replicas {
		t.Fatalf("EnableOneHop gave MaxValuesPerPublisher %d, want the default's %d scaled by %d/%d",
			c.MaxValuesPerPublisher, def.MaxValuesPerPublisher, OneHopReplicas, def.Replicas)
	}
	twice := nodes[0].cfg
	if twice.EnableOneHop(); twice.MaxValuesPerPublisher != nodes[0].cfg.MaxValuesPerPublisher {
		t.Fatalf("EnableOneHop twice scaled MaxValuesPerPublisher again: %d", twice.MaxValuesPerPublisher)
	}
	rng := rand.New(rand.NewPCG(seed, 9))
	key := randomKey(rng)
	o := ownerIn(nodes, key)
	holders := []*Node{o}
	for _, p := range o.succ[:OneHopReplicas-1] {
		holders = append(holders, findPeerNode(t, nodes, p.ID))
	}
	var from *Node
	for from == nil {
		c := nodes[rng.IntN(n)]
		if _, local := c.spanIndex(key); !local && !slices.Contains(holders, c) {
			from = c
		}
	}

	val := []byte("pub|eight-copies|1|3600")
	var put *PutResult
	from.Put([]Item{{Key: key, Value: val}}, func(r PutResult) { put = &r })
	net.run()
	if put == nil || put.Err != nil || put.Stored != 1 {
		t.Fatalf("put: %+v, want 1 stored", put)
	}
	for k, h := range holders {
		if vs, _ := h.st.Values(key); len(vs) != 1 {
			t.Fatalf("holder %d (%s) has %d values after the put, want 1", k, h.self.ID.Short(), len(vs))
		}
	}

	// Every holder up: one get to each of them, at once.
	read := func() (**GetResult, map[string]int) {
		t.Helper()
		var got *GetResult
		from.Get(key, nil, 0, func(r GetResult) { got = &r })
		asked := map[string]int{}
		for k, m := range net.queue {
			if m.Type == MsgGet {
				asked[net.dest[k]]++
			}
		}
		net.run()
		if got == nil {
			t.Fatal("the read never finished")
		}
		return &got, asked
	}
	got, asked := read()
	if len(asked) != len(holders) {
		t.Fatalf("the read asked %d nodes, want the %d holders", len(asked), len(holders))
	}
	for k, h := range holders {
		if asked[h.self.Addr] != 1 {
			t.Fatalf("the read sent %d gets to holder %d (%s), want 1", asked[h.self.Addr], k, h.self.ID.Short())
		}
	}
	if r := **got; r.Err != nil || len(r.Values) != 1 || r.Hops != 1 {
		t.Fatalf("read: %+v, want the value in one hop", r)
	}

	// Only the last holder up: it answers, still in one hop.
	last := holders[len(holders)-1]
	for _, h := range holders[:len(holders)-1] {
		net.down[h.self.Addr] = true
	}
	got, _ = read()
	if r := **got; r.Err != nil || len(r.Values) != 1 || r.From.ID != last.self.ID || r.Hops != 1 {
		t.Fatalf("read with only the last of %d holders up: %+v, want its value in one hop", len(holders), r)
	}
}

// TestReadHoldersNamesEveryHolder: a one-hop read names all of a key's
// OneHopReplicas holders in ring order, for a key at every place of the
// reader's successor list (the list names the first holders, the table
// the rest) and beyond it, and a reader that holds a copy itself names
// the others, before and after it; in a ring smaller than the holders,
// every other node once.
func TestReadHoldersNamesEveryHolder(t *testing.T) {
	for _, size := range []int{5, 60} {
		seed := uint64(73 + size)
		_, nodes := oneHopStatic(t, size, seed, func(c *Config) { c.EnableOneHop() })
		for r, reader := range nodes {
			for o := range nodes {
				// A key owned by nodes[o]: its ID.
				key := nodes[o].self.ID
				if _, local := reader.localAnswer(key); local {
					continue
				}
				var want []Peer
				for j := range min(OneHopReplicas, size) {
					if h := nodes[(o+j)%size]; h != reader {
						want = append(want, h.self)
					}
				}
				if got := reader.readHolders(key); !slices.Equal(got, want) {
					t.Fatalf("%d nodes: reader %d, key owned by %d: holders %v, want %v", size, r, o, addrs(got), addrs(want))
				}
			}
		}
	}
}

func addrs(ps []Peer) []string {
	out := make([]string, len(ps))
	for k, p := range ps {
		out[k] = p.Addr
	}
	return out
}
