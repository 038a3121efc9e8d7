package chordrouting

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"time"
)

// Node is one ring node: a state machine driven by Step (incoming
// messages) and Tick (time), with its output sent through the Transport.
// It is not safe for concurrent use: its owner serializes every call, and
// done callbacks run inside those calls.
type Node struct {
	self  Peer
	cfg   Config
	tr    Transport
	st    Storage
	clock Clock
	rng   *rand.Rand
	val   Validator

	member bool // created the ring or joined it
	// youngUntil is the tick until which a node that joined may lack
	// the replicas it holds for its predecessors' keys (they come with
	// their owners' next repair round): until then it answers no read
	// from its replicas (onGet).
	youngUntil uint64
	left       bool // Leave was called: the node is inert

	hasPred bool
	pred    Peer
	succ    []Peer // the successor list: ordered, no self, no duplicates, at most r; copy-on-write
	lbuf    []Peer // scratch for building the next successor list
	fingers []Peer // distinct finger entries beyond the successor list, in ring order

	entry []Peer // client mode: ring nodes to start lookups at
	known []Peer // remembered peers for partition checks and rejoins

	now       uint64 // ticks since NewNode
	phase     uint64 // offset of the periodic tasks, so nodes do not act in lockstep
	reqID     uint64
	pending   []pending
	opPending int              // of which operations' (rpc.go, opShare), held ones too
	ops       opsTo            // operations' requests per peer, sent and held (peerops.go)
	held      []heldOp         // operations' requests waiting for their peer's cap, oldest first
	deferred  []func(*Message) // callbacks of requests that could not be sent
	scratch   []pending

	stabBusy   bool
	stabGen    uint32 // bumped to abandon the stabilize round in flight
	stabTo     ID     // the head that step 1 asked
	stabSent   uint64 // when (tick)
	stabSentAt time.Time
	srtt       time.Duration // smoothed round trip of stabilize queries
	rt         rttState      // tick length and round trips, for timeouts (timeouts.go)
	predCheck  bool          // a ping to the predecessor is in flight
	predCand   Peer          // the notifier to adopt if that ping times out
	predPing   predPing      // that ping (rectify.go)
	hintBusy   bool          // a joined hint's state query is in flight (rectify.go)
	fixBusy    bool
	fingerNext int
	joinOp     *joinOp
	linking    *joinOp // joined, waiting for a predecessor to link it in (join.go)
	healBusy   bool
	repairBusy bool
	// offers is the digest offer chain running to each replica target
	// (offer.go): one at a time, a new round's digests replace an
	// earlier round's where it stands.
	offers map[ID]*offerChain
	// pushes is the replica stores waiting to go to each peer, pushWindow
	// at a time (push.go).
	pushes map[ID]*pushQueue

	pubCount   map[string]int // values held per publisher
	nextExpiry time.Time      // earliest expiry among held values; zero: none
	misplaced  []ID           // keys offered to their owners in the last repair round

	hood         uint64 // fingerprint of the replica neighbourhood now
	hoodSince    uint64 // tick it last changed
	hoodRepaired uint64 // fingerprint at the last repair round

	fwd fwdState     // forwards run for clients (forward_serve.go)
	fc  fwdClient    // a client's view of its entry points (forward.go)
	mf  memberFwd    // a member's forwards of its reads (forward_member.go)
	oh  oneHopState  // one-hop mode: membership table and dissemination (membership.go)
	sd  stateDigests // digests of stabilize answers (statedigest.go)
}

// NewNode returns a node that is not yet in a ring: call Create, Join or
// SetEntryPoints next. rng supplies every random choice (request IDs, task
// phases, peer choices).
func NewNode(self Peer, cfg Config, tr Transport, st Storage, clock Clock, rng *rand.Rand) (*Node, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if tr == nil || st == nil || clock == nil || rng == nil {
		return nil, errors.New("chordrouting: new node: transport, storage, clock and rng are required")
	}
	n := &Node{
		self: self, cfg: cfg, tr: tr, st: st, clock: clock, rng: rng,
		val:   cfg.Validator,
		lbuf:  make([]Peer, 0, cfg.SuccessorListLen+1),
		reqID: rng.Uint64() | 1,
		phase: rng.Uint64N(1 << 16),
		oh:    newOneHopState(cfg),
	}
	if n.val == nil {
		n.val = opaqueValidator{max: cfg.MaxValueSize}
	}
	if err := n.loadStorage(); err != nil {
		return nil, fmt.Errorf("chordrouting: new node: %w", err)
	}
	return n, nil
}

// Self is the node's own identity.
func (n *Node) Self() Peer { return n.self }

// Create makes the node the first member of a new ring: a ring of one.
func (n *Node) Create() {
	if n.left {
		return
	}
	n.member = true
	n.hasPred = false
	n.succ = nil
}

// SetEntryPoints puts the node in client mode (not a ring member): its
// lookups, puts and gets start at these ring nodes. They are also
// remembered as known peers.
func (n *Node) SetEntryPoints(p []Peer) {
	n.entry = n.entry[:0]
	for _, q := range p {
		if q.ID != n.self.ID && !containsPeer(n.entry, q.ID) && len(n.entry) < 64 {
			n.entry = append(n.entry, q)
		}
	}
	n.AddKnownPeers(p)
}

// AddKnownPeers remembers peers (bootstrap or previously seen ring nodes)
// for partition checks and rejoins; at most Config.MaxKnownPeers are kept,
// the newest replacing the oldest.
func (n *Node) AddKnownPeers(p []Peer) {
	for _, q := range p {
		if q.ID == n.self.ID || containsPeer(n.known, q.ID) {
			continue
		}
		if len(n.known) >= n.cfg.MaxKnownPeers {
			copy(n.known, n.known[1:])
			n.known = n.known[:len(n.known)-1]
		}
		n.known = append(n.known, q)
	}
}

// State returns a snapshot of the node's ring state.
func (n *Node) State() NodeState {
	s := NodeState{
		Self:       n.self,
		Member:     n.member,
		Successors: append([]Peer(nil), n.succ...),
		Fingers:    append([]Peer(nil), n.fingers...),
		Records:    n.st.Len(),
	}
	if n.hasPred {
		p := n.pred
		s.Predecessor = &p
	}
	return s
}

// Tick tells the node that one tick of time has passed: requests time out
// and the periodic tasks (stabilize, fix fingers, repair, partition check,
// expiry) run when due.
func (n *Node) Tick() {
	if n.left {
		// Callbacks that sent again after Leave (refused: the node has
		// left) still get their answer, one round per tick.
		n.runDeferred()
		return
	}
	n.now++
	n.rt.ticked(n.clock.Now())
	n.expireRequests()
	n.predOverdue()
	n.leaveOverdue()
	n.runDeferred()
	n.joinTick()
	t := n.now + n.phase
	if n.member {
		if t%uint64(n.cfg.StabilizeTicks) == 0 {
			n.stabilize()
		}
		if t%uint64(n.cfg.FixFingerTicks) == 0 {
			n.fixFingers()
		}
		if n.repairDue(t) && n.repair() {
			n.hoodRepaired = n.hood
		}
		if n.cfg.HealTicks > 0 && t%uint64(n.cfg.HealTicks) == 0 {
			n.checkPartition()
		}
		if n.cfg.OneHop {
			n.oneHopTick(t)
		}
	}
	n.expireValues()
}

// Step handles one incoming message.
func (n *Node) Step(m *Message) {
	if m == nil || n.left || m.From.ID == n.self.ID {
		return
	}
	if m.Type.IsReply() {
		n.onReply(m)
		return
	}
	switch m.Type {
	case MsgPing:
		n.reply(m, &Message{Type: MsgPong})
	case MsgGetState:
		n.onGetState(m)
	case MsgNotify:
		n.onNotify(m)
	case MsgFindSuccessor:
		n.onFindSuccessor(m)
	case MsgStore:
		n.onStore(m)
	case MsgGet:
		n.onGet(m)
	case MsgDigest:
		n.onDigest(m)
	case MsgDigestSummary:
		n.onDigestSummary(m)
	case MsgLeave:
		n.onLeave(m)
	case MsgMembership:
		n.onMembership(m)
	case MsgGetMembers:
		n.onGetMembers(m)
	default:
		if m.Type.IsRequest() {
			n.replyErr(m, "unknown request")
		}
	}
}

// onGetState answers with the predecessor and successor list as of now.
func (n *Node) onGetState(m *Message) {
	if !n.member {
		n.replyErr(m, ErrNotMember.Error())
		return
	}
	if n.unchangedState(m) {
		return
	}
	// n.succ is copy-on-write: the reply may share it.
	n.reply(m, &Message{Type: MsgState, HasPred: n.hasPred, Pred: n.pred, Peers: n.succ})
}

// containsPeer reports whether ps lists id.
func containsPeer(ps []Peer, id ID) bool {
	for _, p := range ps {
		if p.ID == id {
			return true
		}
	}
	return false
}
