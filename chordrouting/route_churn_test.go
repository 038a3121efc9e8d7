package chordrouting

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// churnNet is a static ring (staticRing) driven one network hop at a
// time, with every node ticked between hops in ID order (reproducible
// by seed), so that nodes can join, leave and crash in the middle of an
// operation.
type churnNet struct {
	net   *pumpNet
	nodes []*Node // live and joining, sorted by ID
	clock *fakeClock
	rng   *rand.Rand
}

// hop delivers the messages sent so far, in order; what they cause waits
// for the next hop.
func (c *churnNet) hop() {
	q, d := c.net.queue, c.net.dest
	c.net.queue, c.net.dest = nil, nil
	for k := range q {
		if nd := c.net.nodes[d[k]]; nd != nil {
			nd.Step(q[k])
		}
	}
}

func (c *churnNet) tick() {
	for _, nd := range c.nodes {
		nd.Tick()
	}
}

// join starts a new node at id, joining through a random member.
func (c *churnNet) join(t *testing.T, id ID) *Node {
	t.Helper()
	nd, err := NewNode(Peer{ID: id, Addr: "joiner-" + id.Short()}, DefaultConfig(), pumpTransport{c.net}, NewMemStorage(), c.clock, c.rng)
	if err != nil {
		t.Fatal(err)
	}
	via := c.nodes[c.rng.IntN(len(c.nodes))].self
	c.net.nodes[nd.self.Addr] = nd
	c.nodes = append(c.nodes, nd)
	slices.SortFunc(c.nodes, func(a, b *Node) int { return a.self.ID.Cmp(b.self.ID) })
	nd.Join([]Peer{via}, func(error) {})
	return nd
}

// remove takes nd out of the ring: gracefully (Leave: its records handed
// on, its neighbours told) or by a crash.
func (c *churnNet) remove(nd *Node, graceful bool) {
	if graceful {
		nd.Leave()
	}
	delete(c.net.nodes, nd.self.Addr)
	c.nodes = slices.DeleteFunc(c.nodes, func(x *Node) bool { return x == nd })
}

// holdersOf are the live nodes that hold val under key.
func (c *churnNet) holdersOf(key ID, val []byte) []*Node {
	var out []*Node
	for _, nd := range c.nodes {
		if holds(nd, key, val) {
			out = append(out, nd)
		}
	}
	return out
}

// replicaSet is key's owner among the live nodes and the R-1 after it.
func (c *churnNet) replicaSet(key ID, replicas int) []*Node {
	k := ownerIn(c.nodes, key)
	i := slices.Index(c.nodes, k)
	var out []*Node
	for j := range min(replicas, len(c.nodes)) {
		out = append(out, c.nodes[(i+j)%len(c.nodes)])
	}
	return out
}

// storeWatch records the put stores a node sends and flags a key whose
// items go to one owner while a store of the same key to another owner
// is still in flight (in the sender's pending table).
type storeWatch struct {
	from   *Node
	stores []sentStore
	splits []string
}

type sentStore struct {
	id    uint64
	owner Peer
	keys  map[ID]bool
}

func (w *storeWatch) hook(to Peer, m *Message) bool {
	if m.Type != MsgStore || m.Replica || m.Forward {
		return true
	}
	keys := map[ID]bool{}
	for _, it := range m.Items {
		keys[it.Key] = true
	}
	for _, s := range w.stores {
		if s.owner.ID == to.ID || !w.inFlight(s.id) {
			continue
		}
		for k := range keys {
			if s.keys[k] {
				w.splits = append(w.splits, fmt.Sprintf("key %s to %s while its store %d to %s is in flight",
					k.Short(), to.ID.Short(), s.id, s.owner.ID.Short()))
			}
		}
	}
	w.stores = append(w.stores, sentStore{id: m.ID, owner: to, keys: keys})
	return true
}

func (w *storeWatch) inFlight(id uint64) bool {
	for _, p := range w.from.pending {
		if p.id == id {
			return true
		}
	}
	return false
}

// TestPutKeepsKeysTogetherUnderChurn: a Put of many items under many keys
// (several items per key) while a node joins inside the keys' ranges and
// an owner leaves or crashes mid-Put: no key's items go to two owners at
// one moment (a store of a key to one owner while another of the same key
// to another owner is in flight), the put stores every item, and once the
// ring has settled every item is at its key's owner and replicas. Group
// order alone (TestGroupKeepsKeysTogether) says nothing of a ring that
// changes between the grouping's lookups. Until the grouping took a key's
// lookup answer for all the key's items (route.go), 3 seeds of 48 (19, 33,
// 44) split a key: its answer, from an owner that named the joiner, not
// yet linked in, as its predecessor, did not cover the key; its first item
// went to that owner, and the next item's own lookup, once the joiner was
// linked in, named the joiner.
func TestPutKeepsKeysTogetherUnderChurn(t *testing.T) {
	for seed := uint64(1); seed <= 48; seed++ {
		t.Run(fmt.Sprintf("seed%d", seed), func(t *testing.T) { putChurn(t, seed) })
	}
}

func putChurn(t *testing.T, seed uint64) {
	t.Logf("seed %d", seed)
	net, nodes := staticRing(t, 24, seed)
	slices.SortFunc(nodes, func(a, b *Node) int { return a.self.ID.Cmp(b.self.ID) })
	rng := rand.New(rand.NewPCG(seed, 21))
	c := &churnNet{net: net, nodes: nodes, clock: &fakeClock{now: time.Unix(0, 0)}, rng: rng}
	cfg := DefaultConfig()

	// Keys all over the ring, and as many again in the range a joiner
	// will take (between jPred and joinKey's owner, below the joiner's
	// ID): their lookups meet the join half done.
	joinKey := randomKey(rng)
	jOwner := ownerIn(nodes, joinKey)
	jPred := nodes[(slices.Index(nodes, jOwner)+len(nodes)-1)%len(nodes)]
	joinID := mid(jPred.self.ID, joinKey)
	var items []Item
	for k := range 80 {
		key := randomKey(rng)
		if k%2 == 1 {
			key = addIDs(jPred.self.ID, randomBelow(rng, halfDist(jPred.self.ID, joinKey)))
		}
		for j := range 1 + rng.IntN(4) {
			items = append(items, Item{Key: key, Value: []byte(fmt.Sprintf("v%d-%d", k, j))})
		}
	}
	from := nodes[rng.IntN(len(nodes))]
	w := &storeWatch{from: from}
	from.tr = &hookTransport{inner: from.tr, hook: w.hook}

	// The churn: the joiner at a hop within the grouping's lookups, and
	// an owner of an item's key (not the putter) leaving or crashing at
	// another.
	joinAt, leaveAt := 1+rng.IntN(6), 2+rng.IntN(10)
	graceful := rng.IntN(2) == 0
	var leaver *Node
	for leaver == nil || leaver == from {
		leaver = ownerIn(nodes, items[rng.IntN(len(items))].Key)
	}
	t.Logf("%d items under 80 keys from %s; join at hop %d before %s (owner of %s), %s %s at hop %d",
		len(items), from.self.ID.Short(), joinAt, jOwner.self.ID.Short(), joinKey.Short(),
		map[bool]string{true: "leave of", false: "crash of"}[graceful], leaver.self.ID.Short(), leaveAt)

	var res *PutResult
	from.Put(slices.Clone(items), func(r PutResult) { res = &r })
	const hopsPerTick, maxHops = 2, 2000
	for h := 1; h <= maxHops && res == nil; h++ {
		switch h {
		case joinAt:
			c.join(t, joinID)
		case leaveAt:
			c.remove(leaver, graceful)
		}
		c.hop()
		if h%hopsPerTick == 0 {
			c.tick()
		}
	}
	if res == nil {
		t.Fatalf("the put did not end within %d hops", maxHops)
	}
	t.Logf("put: %+v", *res)
	if len(w.splits) > 0 {
		t.Fatalf("a key's items went to two owners at once (%d times), first: %s", len(w.splits), w.splits[0])
	}
	if res.Err != nil || res.Stored != len(items) {
		t.Fatalf("put under churn: %+v, want all %d items stored", *res, len(items))
	}

	// Settle: stabilization, handoffs and repair rounds.
	for range 2 * cfg.RepairTicks {
		c.hop()
		c.hop()
		c.tick()
	}
	c.net.run()
	for _, it := range items {
		have := c.holdersOf(it.Key, it.Value)
		for _, nd := range c.replicaSet(it.Key, cfg.Replicas) {
			if !slices.Contains(have, nd) {
				t.Fatalf("item %q of key %s is not at %s (owner and replicas %v, holders %v)",
					it.Value, it.Key.Short(), nd.self.ID.Short(), shortIDs(c.replicaSet(it.Key, cfg.Replicas)), shortIDs(have))
			}
		}
	}
}

// randomBelow is a random ID below d (d's leading bits kept clear).
func randomBelow(rng *rand.Rand, d ID) ID {
	r := randomKey(rng)
	for k := range r {
		if d[k] != 0 {
			r[k] %= d[k]
			return r
		}
		r[k] = 0
	}
	return r
}

func shortIDs(nodes []*Node) []string {
	out := make([]string, len(nodes))
	for i, nd := range nodes {
		out[i] = nd.self.ID.Short()
	}
	return out
}
