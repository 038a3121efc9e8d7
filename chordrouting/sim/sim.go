package sim

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"time"

	"kwsearch/chordrouting"
)

// Config configures a simulation.
type Config struct {
	// Net is the network model.
	Net NetConfig
	// Node is the configuration every node runs with. Its Validator is
	// RecordValidator unless the caller sets another.
	Node chordrouting.Config
}

// DefaultConfig returns the default network and the core's default node
// configuration with RecordValidator: the simulation runs what a real
// node runs.
func DefaultConfig() Config {
	nc := chordrouting.DefaultConfig()
	nc.Validator = RecordValidator{}
	return Config{Net: DefaultNetConfig(), Node: nc}
}

// Validate checks both parts.
func (c Config) Validate() error {
	if err := c.Net.Validate(); err != nil {
		return err
	}
	if err := c.Node.Validate(); err != nil {
		return fmt.Errorf("sim: node config: %w", err)
	}
	return nil
}

// status is where a simulated node is in its life.
type status uint8

const (
	stAdded   status = iota // created, not in the ring
	stJoining               // Join called, done not yet
	stMember                // created the ring or joined
	stFailed                // crashed
	stLeft                  // left gracefully
)

// simNode is one node of the simulation.
type simNode struct {
	node   *chordrouting.Node
	store  *chordrouting.MemStorage
	peer   chordrouting.Peer
	status status
	since  time.Duration // virtual time it became a member
}

// Sim runs chordrouting.Nodes on a simulated Network, keeps the ground
// truth (which nodes are live members) and checks the ring against it. It
// is not safe for concurrent use.
type Sim struct {
	cfg   Config
	seed  int64
	rng   *Rand
	net   *Network
	nodes []*simNode
	live  ring // live members in ID order: the ground truth
	recs  []Record
}

// New returns an empty simulation whose randomness all comes from seed.
func New(cfg Config, seed int64) (*Sim, error) {
	if cfg.Node.Validator == nil {
		cfg.Node.Validator = RecordValidator{}
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	shareDirectory(&cfg)
	rng := NewRand(seed)
	net, err := NewNetwork(cfg.Net, rng)
	if err != nil {
		return nil, err
	}
	return &Sim{cfg: cfg, seed: seed, rng: rng, net: net}, nil
}

// Seed is the seed the simulation was created with.
func (s *Sim) Seed() int64 { return s.seed }

// Rand is the simulation's random source (for drivers that need to draw
// from the same stream).
func (s *Sim) Rand() *Rand { return s.rng }

// Net is the underlying network (partitions, statistics, scheduling).
func (s *Sim) Net() *Network { return s.net }

// Config is the simulation's configuration.
func (s *Sim) Config() Config { return s.cfg }

// Now implements chordrouting.Clock.
func (s *Sim) Now() time.Time { return s.net.Now() }

// Len is the number of nodes ever added.
func (s *Sim) Len() int { return len(s.nodes) }

// Node returns node i's state machine.
func (s *Sim) Node(i int) *chordrouting.Node { return s.nodes[i].node }

// Peer returns node i's ring identity.
func (s *Sim) Peer(i int) chordrouting.Peer { return s.nodes[i].peer }

// Storage returns node i's store.
func (s *Sim) Storage(i int) *chordrouting.MemStorage { return s.nodes[i].store }

// IsLive reports whether node i is up and a ring member.
func (s *Sim) IsLive(i int) bool { return s.nodes[i].status == stMember }

// MemberSince is the virtual time at which node i became a member.
func (s *Sim) MemberSince(i int) time.Duration { return s.nodes[i].since }

// IsUp reports whether node i has not failed or left.
func (s *Sim) IsUp(i int) bool {
	st := s.nodes[i].status
	return st != stFailed && st != stLeft
}

// AddNode creates a node with a random ID and starts its ticks; it is not
// in the ring until Create or Join.
func (s *Sim) AddNode() (int, error) { return s.AddNodeID(s.randomID()) }

// randomID draws a 256-bit identifier.
func (s *Sim) randomID() chordrouting.ID {
	var id chordrouting.ID
	for k := 0; k < len(id); k += 8 {
		v := s.rng.Uint64()
		for j := range 8 {
			id[k+j] = byte(v >> (8 * j))
		}
	}
	return id
}

// AddNodeID is AddNode with a chosen ID (scenario tests place nodes).
func (s *Sim) AddNodeID(id chordrouting.ID) (int, error) {
	i, tr := s.net.Reserve()
	peer := chordrouting.Peer{ID: id, Addr: Addr(i)}
	store := chordrouting.NewMemStorage()
	node, err := chordrouting.NewNode(peer, s.cfg.Node, tr, store, s, s.rng)
	if err != nil {
		// Keep node indices aligned with the network's slots: the slot
		// stays down for good.
		s.nodes = append(s.nodes, &simNode{store: store, peer: peer, status: stFailed})
		return 0, fmt.Errorf("sim: new node %d: %w", i, err)
	}
	s.nodes = append(s.nodes, &simNode{node: node, store: store, peer: peer})
	s.net.Start(i, node)
	return i, nil
}

// Create makes node i a ring of one.
func (s *Sim) Create(i int) {
	s.nodes[i].node.Create()
	s.setMember(i)
}

func (s *Sim) setMember(i int) {
	n := s.nodes[i]
	n.status = stMember
	n.since = s.net.Elapsed()
	s.live.add(n.peer.ID, i)
}

// Join starts node i's join through the given nodes. done (may be nil) is
// called when the join completes or fails; on success the node counts as a
// live member from then on.
func (s *Sim) Join(i int, via []int, done func(error)) {
	n := s.nodes[i]
	peers := make([]chordrouting.Peer, len(via))
	for k, v := range via {
		peers[k] = s.nodes[v].peer
	}
	n.status = stJoining
	n.node.Join(peers, func(err error) {
		if n.status != stJoining {
			return // failed or left meanwhile
		}
		if err == nil {
			s.setMember(i)
		} else {
			n.status = stAdded
		}
		if done != nil {
			done(err)
		}
	})
}

// Fail crashes node i: it stops at once, without telling anyone.
func (s *Sim) Fail(i int) {
	n := s.nodes[i]
	if n.status == stFailed || n.status == stLeft {
		return
	}
	n.status = stFailed
	s.live.remove(n.peer.ID)
	s.net.Stop(i)
	n.node.ReleaseMembership() // its process's memory is gone
}

// Leave makes node i leave gracefully: it hands its records on and tells
// its neighbours (Node.Leave), then stops. What it sent is still delivered.
func (s *Sim) Leave(i int) {
	n := s.nodes[i]
	if n.status == stFailed || n.status == stLeft {
		return
	}
	n.node.Leave()
	n.status = stLeft
	s.live.remove(n.peer.ID)
	s.net.Stop(i)
	n.node.ReleaseMembership()
}

// Partition splits the nodes into groups (see Network.Partition).
func (s *Sim) Partition(groups ...[]int) { s.net.Partition(groups...) }

// Heal ends every partition.
func (s *Sim) Heal() { s.net.Heal() }

// RunFor advances the simulation by d of virtual time.
func (s *Sim) RunFor(d time.Duration) error { return s.wrap(s.net.RunFor(d)) }

// RunUntil runs until cond holds (checked once per tick) or limit passes.
func (s *Sim) RunUntil(cond func() bool, limit time.Duration) error {
	return s.wrap(s.net.RunUntil(cond, limit))
}

// RunUntilRing runs until CheckRing passes, checking every `every` of
// virtual time (a whole-ring check is O(N)); on timeout it returns the last
// CheckRing error.
func (s *Sim) RunUntilRing(every, limit time.Duration) error {
	var last error
	err := s.net.RunUntilEvery(func() bool { last = s.CheckRing(); return last == nil }, every, limit)
	if errors.Is(err, ErrLimit) {
		return fmt.Errorf("sim: seed %d: ring not correct after %v: %w", s.seed, limit, last)
	}
	return s.wrap(err)
}

func (s *Sim) wrap(err error) error {
	if err == nil || errors.Is(err, ErrLimit) || errors.Is(err, ErrInterrupted) {
		return err
	}
	return fmt.Errorf("sim: seed %d: %w", s.seed, err)
}

// Live returns the indices of the live members in ID order.
func (s *Sim) Live() []int {
	out := make([]int, len(s.live.m))
	for k, m := range s.live.m {
		out[k] = m.idx
	}
	return out
}

// LiveCount is the number of live members.
func (s *Sim) LiveCount() int { return s.live.Len() }

// RandomLive returns a live member chosen uniformly, or -1.
func (s *Sim) RandomLive() int {
	if s.live.Len() == 0 {
		return -1
	}
	return s.live.m[s.rng.IntN(s.live.Len())].idx
}

// Owner returns the index of the live member that owns key, or -1 if the
// ring is empty. This is the reference a lookup is checked against.
func (s *Sim) Owner(key chordrouting.ID) int {
	if s.live.Len() == 0 {
		return -1
	}
	return s.live.m[s.live.owner(key)].idx
}

// upStates returns the states of every node that is up and meant to be in
// the ring (members and joiners).
func (s *Sim) upStates() []chordrouting.NodeState {
	out := make([]chordrouting.NodeState, 0, len(s.live.m))
	for _, n := range s.nodes {
		if n.status == stMember || n.status == stJoining {
			out = append(out, n.node.State())
		}
	}
	return out
}

// CheckRing checks the converged ring (see checkRing): call it at
// quiescence.
func (s *Sim) CheckRing() error {
	if err := checkRing(s.upStates(), s.cfg.Node.SuccessorListLen); err != nil {
		return fmt.Errorf("ring: %w", err)
	}
	return nil
}

// CheckInvariant checks Zave's inductive invariant (see checkInvariant). It
// must hold after every step as long as failures respect RING.md's
// assumptions.
func (s *Sim) CheckInvariant() error {
	if err := checkInvariant(s.upStates(), s.cfg.Node.SuccessorListLen); err != nil {
		return fmt.Errorf("invariant: %w", err)
	}
	return nil
}

// CheckEveryStep turns the invariant check after every event on or off.
// Runs then stop at the first step that breaks it, with the step number and
// seed in the error.
func (s *Sim) CheckEveryStep(on bool) {
	if on {
		s.net.SetCheck(s.CheckInvariant)
	} else {
		s.net.SetCheck(nil)
	}
}

// Publish puts records through node from and remembers them for
// CheckRecords. done (may be nil) gets the core's result.
func (s *Sim) Publish(from int, recs []Record, done func(chordrouting.PutResult)) {
	items := make([]chordrouting.Item, len(recs))
	for k, r := range recs {
		items[k] = chordrouting.Item{Key: r.Key, Value: r.Value}
	}
	s.recs = append(s.recs, recs...)
	s.nodes[from].node.Put(items, func(res chordrouting.PutResult) {
		if done != nil {
			done(res)
		}
	})
}

// Records returns every record published so far (with repeats if one was
// published twice).
func (s *Sim) Records() []Record { return s.recs }

// holds reports whether node i's store has value under key.
func (s *Sim) holds(i int, key chordrouting.ID, value []byte) bool {
	vs, err := s.nodes[i].store.Values(key)
	if err != nil {
		return false
	}
	for _, v := range vs {
		if bytes.Equal(v.Data, value) {
			return true
		}
	}
	return false
}

// RecordStats says where the published records are.
type RecordStats struct {
	Records   int // distinct records published
	Findable  int // held by the key's owner
	Lost      int // with a live publisher or a live holder, but not on the owner
	Gone      int // publisher dead and no live node holds it (no protocol can find it)
	Replicas  int // copies on the R live replica nodes, summed
	FirstLost *Record
}

// RecordStats checks every distinct record: a record whose publisher is live
// or which some live node holds must be on its owner (so a Get finds it).
func (s *Sim) RecordStats() RecordStats {
	var st RecordStats
	seen := make(map[string]bool, len(s.recs))
	for k := range s.recs {
		r := &s.recs[k]
		if seen[string(r.Value)] {
			continue
		}
		seen[string(r.Value)] = true
		st.Records++
		if s.live.Len() == 0 {
			st.Gone++
			continue
		}
		reps := s.live.replicas(r.Key, s.cfg.Node.Replicas)
		for _, p := range reps {
			if s.holds(s.live.m[p].idx, r.Key, r.Value) {
				st.Replicas++
			}
		}
		if s.holds(s.live.m[reps[0]].idx, r.Key, r.Value) {
			st.Findable++
			continue
		}
		if s.IsLive(r.Publisher) || s.heldByLive(r) {
			st.Lost++
			if st.FirstLost == nil {
				st.FirstLost = r
			}
		} else {
			st.Gone++
		}
	}
	return st
}

func (s *Sim) heldByLive(r *Record) bool {
	for _, m := range s.live.m {
		if s.holds(m.idx, r.Key, r.Value) {
			return true
		}
	}
	return false
}

// CheckRecords fails if some record with a live publisher or a live holder
// is not held by its key's owner.
func (s *Sim) CheckRecords() error {
	st := s.RecordStats()
	if st.Lost > 0 {
		r := st.FirstLost
		owner := s.Owner(r.Key)
		return fmt.Errorf("records: %d of %d not on their owner; first %q (key %x, publisher %d live=%v) missing on owner %d",
			st.Lost, st.Records, r.Value, r.Key[:4], r.Publisher, s.IsLive(r.Publisher), owner)
	}
	return nil
}

// DumpStates writes every up node's ring state, in ID order, one line each:
// for the log of a failing seed.
func (s *Sim) DumpStates(w io.Writer) {
	for _, st := range sortStates(s.upStates()) {
		pred := "none"
		if st.Predecessor != nil {
			pred = short(*st.Predecessor)
		}
		fmt.Fprintf(w, "%s member=%v pred=%s succ=%s records=%d\n", short(st.Self), st.Member, pred, shortList(st.Successors), st.Records)
	}
}
