package chordrouting_test

import (
	"bytes"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"kwsearch/chordrouting"
	"kwsearch/chordrouting/sim"
)

// tick is the simulator's default tick.
const tick = 100 * time.Millisecond

// newSim returns a simulation with successor lists of r, R replicas and
// whatever else mod changes.
func newSim(t *testing.T, seed int64, r, replicas int, mod func(*chordrouting.Config)) *sim.Sim {
	t.Helper()
	cfg := sim.DefaultConfig()
	cfg.Node.SuccessorListLen, cfg.Node.Replicas = r, replicas
	if mod != nil {
		mod(&cfg.Node)
	}
	s, err := sim.New(cfg, seed)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// at returns an ID whose first byte is b (scenarios place nodes).
func at(b byte) chordrouting.ID {
	var id chordrouting.ID
	id[0] = b
	id[31] = 1
	return id
}

func addAt(t *testing.T, s *sim.Sim, b byte) int {
	t.Helper()
	i, err := s.AddNodeID(at(b))
	if err != nil {
		t.Fatal(err)
	}
	return i
}

func dump(s *sim.Sim) string {
	var sb strings.Builder
	s.DumpStates(&sb)
	return sb.String()
}

// join joins i through via and runs until the join reports back.
func join(t *testing.T, s *sim.Sim, i int, via ...int) {
	t.Helper()
	var done bool
	var jerr error
	s.Join(i, via, func(err error) { done, jerr = true, err })
	if err := s.RunUntil(func() bool { return done }, time.Minute); err != nil || jerr != nil {
		t.Fatalf("join of %d: %v %v\n%s", i, err, jerr, dump(s))
	}
}

func ringOK(t *testing.T, s *sim.Sim, limit time.Duration) {
	t.Helper()
	if err := s.RunUntilRing(tick, limit); err != nil {
		t.Fatalf("seed %d: %v\n%s", s.Seed(), err, dump(s))
	}
}

// build makes a ring of n nodes at random IDs, joining one by one.
func build(t *testing.T, s *sim.Sim, n int) []int {
	t.Helper()
	first, _ := s.AddNode()
	s.Create(first)
	nodes := []int{first}
	for len(nodes) < n {
		i, _ := s.AddNode()
		join(t, s, i, nodes[len(nodes)-1], nodes[0])
		nodes = append(nodes, i)
	}
	ringOK(t, s, time.Minute)
	return nodes
}

func TestJoinIntoSmallRings(t *testing.T) {
	const r = 3
	for _, size := range []int{1, 2, r + 1} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			s := newSim(t, int64(size), r, 2, nil)
			nodes := build(t, s, size)
			i, _ := s.AddNode()
			join(t, s, i, nodes[0])
			ringOK(t, s, 30*time.Second)
		})
	}
}

func TestConcurrentJoins(t *testing.T) {
	for seed := int64(1); seed <= 5; seed++ {
		s := newSim(t, seed, 4, 3, nil)
		t.Logf("seed %d", seed)
		nodes := build(t, s, 3)
		for k := range 20 {
			i, _ := s.AddNode()
			s.Join(i, []int{nodes[k%3]}, nil)
		}
		ringOK(t, s, time.Minute)
		if s.LiveCount() != 23 {
			t.Fatalf("seed %d: %d live members, want 23", seed, s.LiveCount())
		}
	}
}

func TestNodeFailsDuringJoin(t *testing.T) {
	s := newSim(t, 3, 3, 2, nil)
	s.AddNodeID(at(0x10))
	s.Create(0)
	for _, b := range []byte{0x40, 0x80, 0xc0} {
		join(t, s, addAt(t, s, b), 0)
	}
	ringOK(t, s, time.Minute)
	j := addAt(t, s, 0x50) // its successor will be the node at 0x80 (index 2)
	var jerr error
	done := false
	s.Join(j, []int{0}, func(err error) { done, jerr = true, err })
	s.RunFor(time.Millisecond) // the lookup is under way
	s.Fail(2)
	if err := s.RunUntil(func() bool { return done }, time.Minute); err != nil || jerr != nil {
		t.Fatalf("join: %v %v", err, jerr)
	}
	ringOK(t, s, time.Minute)
}

func TestGracefulLeaveRepairsAtOnce(t *testing.T) {
	// With a long request timeout a crash takes seconds to notice; a
	// graceful leave must be repaired well before.
	s := newSim(t, 4, 3, 2, func(c *chordrouting.Config) { c.RequestTimeoutTicks = 30; c.LookupTimeoutTicks = 300 })
	nodes := build(t, s, 8)
	s.Leave(nodes[3])
	ringOK(t, s, 10*tick)
}

func TestConsecutiveFailures(t *testing.T) {
	const r = 4
	s := newSim(t, 5, r, 3, func(c *chordrouting.Config) { c.HealTicks = 10 })
	build(t, s, 14)
	live := s.Live() // in ID order
	for _, i := range live[2 : 2+r-1] {
		s.Fail(i)
	}
	ringOK(t, s, time.Minute)

	// r consecutive failures take a node's whole successor list: it
	// finds the ring again through the peers it knows.
	live = s.Live()
	for _, i := range live {
		s.Node(i).AddKnownPeers([]chordrouting.Peer{s.Peer(live[len(live)-1]), s.Peer(live[len(live)-2])})
	}
	for _, i := range live[1 : 1+r] {
		s.Fail(i)
	}
	ringOK(t, s, time.Minute)
}

// Zave's scenarios (RING.md), with r = 2 and n0 < n1 < n2 < n3.
func TestZaveRingLost(t *testing.T) {
	s := newSim(t, 6, 2, 2, nil)
	n0, n1, n2 := addAt(t, s, 0x10), addAt(t, s, 0x40), addAt(t, s, 0x80)
	s.Create(n0)
	join(t, s, n2, n0)
	ringOK(t, s, time.Minute)
	join(t, s, n1, n0) // n1 notifies n2 ...
	s.Fail(n1)         // ... and fails before n0 stabilizes onto it
	ringOK(t, s, time.Minute)
}

func TestZaveUnreachableJoiner(t *testing.T) {
	s := newSim(t, 7, 2, 2, nil)
	n0, n1, n2 := addAt(t, s, 0x10), addAt(t, s, 0x40), addAt(t, s, 0x80)
	s.Create(n0)
	join(t, s, n2, n0)
	ringOK(t, s, time.Minute)
	s.Fail(n2) // n0 still lists n2 when n1 joins through it
	done := false
	var jerr error
	s.Join(n1, []int{n0}, func(err error) { done, jerr = true, err })
	if err := s.RunUntil(func() bool { return done }, time.Minute); err != nil || jerr != nil {
		t.Fatalf("join: %v %v", err, jerr)
	}
	ringOK(t, s, time.Minute)
	if s.LiveCount() != 2 {
		t.Fatalf("%d members, want n0 and n1", s.LiveCount())
	}
}

func TestZaveTwoRings(t *testing.T) {
	s := newSim(t, 8, 2, 2, nil)
	n0, n1, n2, n3 := addAt(t, s, 0x10), addAt(t, s, 0x40), addAt(t, s, 0x80), addAt(t, s, 0xc0)
	s.Create(n0)
	join(t, s, n2, n0)
	ringOK(t, s, time.Minute)
	join(t, s, n1, n0)
	join(t, s, n3, n2)
	ringOK(t, s, time.Minute) // r+1 = 3 principals before the failures
	s.Fail(n1)
	s.Fail(n3)
	ringOK(t, s, time.Minute)
}

func TestPartitionHeals(t *testing.T) {
	s := newSim(t, 9, 3, 2, func(c *chordrouting.Config) { c.HealTicks = 20 })
	nodes := build(t, s, 12)
	// Every node knows one peer on each side.
	a, b := nodes[:6], nodes[6:]
	for _, i := range nodes {
		s.Node(i).AddKnownPeers([]chordrouting.Peer{s.Peer(a[0]), s.Peer(b[0])})
	}
	s.Partition(a, b)
	s.RunFor(20 * time.Second) // long enough for two rings to form
	if err := s.CheckRing(); err == nil {
		t.Fatal("the ring looks whole during a partition")
	}
	s.Heal()
	ringOK(t, s, 2*time.Minute)
}

// owner is the naive reference: the first live node at or after key.
func owner(ids []chordrouting.ID, key chordrouting.ID) chordrouting.ID {
	k := sort.Search(len(ids), func(j int) bool { return bytes.Compare(ids[j][:], key[:]) >= 0 })
	return ids[k%len(ids)]
}

func TestLookupMatchesNaiveScan(t *testing.T) {
	for seed := int64(1); seed <= 12; seed++ {
		s := newSim(t, seed, 4, 3, nil)
		size := 2 + int(s.Rand().IntN(60))
		t.Logf("seed %d: %d nodes", seed, size)
		build(t, s, size)
		s.RunFor(5 * time.Second) // fingers
		var ids []chordrouting.ID
		for _, i := range s.Live() {
			ids = append(ids, s.Peer(i).ID)
		}
		sort.Slice(ids, func(a, b int) bool { return bytes.Compare(ids[a][:], ids[b][:]) < 0 })
		pending := 0
		for range 50 {
			var key chordrouting.ID
			for k := range key {
				key[k] = byte(s.Rand().Uint32())
			}
			if s.Rand().IntN(4) == 0 { // exactly a node ID now and then
				key = ids[s.Rand().IntN(len(ids))]
			}
			want := owner(ids, key)
			from := s.RandomLive()
			pending++
			s.Node(from).Lookup(key, func(res chordrouting.LookupResult) {
				pending--
				if res.Err != nil || len(res.Successors) == 0 || res.Successors[0].ID != want {
					t.Errorf("seed %d: lookup of %s from %d: %+v, want owner %s", seed, key.Short(), from, res, want.Short())
				}
				if len(res.Successors) != min(4, len(ids)) && len(ids) > 1 {
					t.Errorf("seed %d: %d successors returned, want %d", seed, len(res.Successors), min(4, len(ids)))
				}
			})
		}
		if err := s.RunUntil(func() bool { return pending == 0 }, time.Minute); err != nil {
			t.Fatalf("seed %d: %d lookups unanswered", seed, pending)
		}
	}
}
