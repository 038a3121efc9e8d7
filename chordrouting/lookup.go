package chordrouting

// This file is the iterative lookup: the asking node drives every hop.

// maxCandidates bounds the candidates one lookup remembers.
const maxCandidates = 16

// lookupAnswer is what a lookup found: the key's owner and its successors,
// and the node that answered (the owner's predecessor as that node
// believes), which tells which key ranges the owners cover.
type lookupAnswer struct {
	owners []Peer
	from   Peer
	hops   int
	err    error
	// alone: the owner confirmed its ownership with no predecessor, a
	// ring of one by its own account (crosscheck.go).
	alone bool
	// dead: owner candidates that did not answer this lookup's
	// confirmation; owners may still list them (the confirmed owner had
	// not noticed), and their keys are the next live owner's.
	dead []ID
}

// lookupOp is one lookup in progress.
type lookupOp struct {
	key    ID
	cands  []Peer // closest to key first (entry points: in the order given)
	tried  []ID   // asked or presumed dead
	dead   []ID   // owner candidates that did not answer their confirmation, or were not yet linked in
	hops   int
	reasks int // times a node was asked again (confirm.go)
	// busy: a candidate was skipped, not asked, its operations at their
	// cap (peerops.go); with no candidate left the lookup ends ErrBusy.
	busy    bool
	start   uint64
	confirm bool // ask the owner itself before answering (confirm.go)
	// sparse: the owner candidates came from the membership table
	// (oneHopStart), whose gap before them, from lo, the table's
	// predecessor of the key, spans more than denseGaps mean gaps (a
	// table that lacks many nodes there): the first step back goes to
	// the iterative lookup from lo instead (confirm.go). Cleared when it
	// does.
	sparse bool
	op     bool // an operation's lookup, not maintenance's (rpc.go, opShare)
	// end: the lookup of a read run for a requester ends then (rpc.go);
	// its requests in flight end then too.
	end  endBy
	done func(lookupAnswer)
}

// Lookup finds the owner of key and its successors. done runs inside a
// later Step or Tick (or at once when this node knows the answer).
func (n *Node) Lookup(key ID, done func(LookupResult)) {
	n.opLookup(key, func(a lookupAnswer) {
		done(LookupResult{Key: key, Successors: a.owners, Hops: a.hops, Err: a.err})
	})
}

// opLookup starts an operation's lookup of key (Lookup, Get, Put): a
// confirmed one whose requests count against the operations' share of
// the pending table (rpc.go, opShare).
func (n *Node) opLookup(key ID, done func(lookupAnswer)) {
	n.opLookupBy(key, endBy{}, done)
}

// opLookupBy is opLookup for a lookup that must also end by end (a read
// run for a requester: forward_serve.go).
func (n *Node) opLookupBy(key ID, end endBy, done func(lookupAnswer)) {
	n.startLookup(&lookupOp{key: key, start: n.now, confirm: true, op: true, end: end, done: done}, nil)
}

// lookup starts a maintenance lookup of key (finger refreshes, joins,
// partition checks, repair). With via, it starts at those peers and
// uses nothing this node knows (client mode, joins, partition checks);
// without, a member starts at its own closest preceding nodes and a
// non-member at its entry points. With confirm, the owner the lookup
// finds is asked for its state before done runs (confirm.go): the answer
// then names a live owner that agrees it owns the key.
func (n *Node) lookup(key ID, via []Peer, confirm bool, done func(lookupAnswer)) {
	n.startLookup(&lookupOp{key: key, start: n.now, confirm: confirm, done: done}, via)
}

// startLookup starts op, at via when given.
func (n *Node) startLookup(op *lookupOp, via []Peer) {
	key, done := op.key, op.done
	if n.left {
		done(lookupAnswer{err: ErrLeft})
		return
	}
	switch {
	case via != nil:
		op.cands = appendPeers(op.cands, via, n.self.ID)
	case n.member:
		if a, ok := n.localAnswer(key); ok {
			done(a)
			return
		}
		if k, ok := n.spanIndex(key); ok {
			owners, lo := n.spanOwners(k, nil)
			n.lookupFound(op, append([]Peer(nil), owners...), lo)
			return
		}
		if n.oneHopStart(op) {
			return // straight to the owner the membership table names
		}
		if p, ok := n.oneHopCandidate(key); ok {
			// The table's guess first; the fingers stay the fallback.
			op.cands = append(make([]Peer, 0, 5), p)
			for _, c := range n.closestPreceding(key, maxCandidates, make([]Peer, 0, 4)) {
				if c.ID != p.ID && len(op.cands) < maxCandidates {
					op.cands = append(op.cands, c)
				}
			}
			break
		}
		op.cands = n.closestPreceding(key, maxCandidates, make([]Peer, 0, 4))
	default:
		if n.crossCheck(op) {
			return // a client asks two entry points (crosscheck.go)
		}
		op.cands = appendPeers(op.cands, n.entry, n.self.ID)
	}
	n.lookupStep(op)
}

// appendPeers appends ps except self and duplicates.
func appendPeers(out, ps []Peer, self ID) []Peer {
	for _, p := range ps {
		if p.ID != self && !containsPeer(out, p.ID) && len(out) < maxCandidates {
			out = append(out, p)
		}
	}
	return out
}

// localAnswer answers a member's lookup without asking anyone when the
// key is in its own range.
func (n *Node) localAnswer(key ID) (lookupAnswer, bool) {
	if len(n.succ) == 0 || key == n.self.ID || (n.hasPred && BetweenRightIncl(n.pred.ID, key, n.self.ID)) {
		owners := make([]Peer, 0, len(n.succ)+1)
		owners = append(owners, n.self)
		rl := n.routeList()
		owners = append(owners, rl[:min(len(rl), n.cfg.SuccessorListLen-1)]...)
		from := n.self
		if n.hasPred {
			from = n.pred
		}
		return lookupAnswer{owners: owners, from: from}, true
	}
	return lookupAnswer{}, false
}

// spanIndex finds the entry k of the routing list whose range
// (entry k-1, entry k] holds key (entry -1 is this node): the key's owner
// as far as this node knows. ok is false when the key lies beyond the list.
func (n *Node) spanIndex(key ID) (int, bool) {
	prev := n.self.ID
	for k, p := range n.routeList() {
		if BetweenRightIncl(prev, key, p.ID) {
			return k, true
		}
		prev = p.ID
	}
	return 0, false
}

// spanOwners returns, for the index spanIndex found, the owner and the
// nodes after it (the routing list from k on, and this node after it in a
// ring of at most r nodes, where the list holds every other node), and
// the node before the owner. The routing list is copy-on-write: owners
// may share it, so callers that hand it out copy it.
func (n *Node) spanOwners(k int, buf []Peer) (owners []Peer, lo Peer) {
	rl := n.routeList()
	lo = n.self
	if k > 0 {
		lo = rl[k-1]
	}
	if n.smallRing() {
		return append(append(buf, rl[k:]...), n.self), lo
	}
	return rl[k:], lo
}

// smallRing reports whether the successor list holds every other node of
// a ring of at most r nodes: it is short and closes the ring (its last
// entry is the predecessor). A list that is short because successors
// failed does not close it, and naming this node after it would name a
// node far before the key as a replica, or as the owner when the others
// are dead.
func (n *Node) smallRing() bool {
	return len(n.succ) < n.cfg.SuccessorListLen && (!n.hasPred || n.pred.ID == n.succ[len(n.succ)-1].ID)
}

// lookupStep asks the best candidate not yet tried.
func (n *Node) lookupStep(op *lookupOp) {
	if n.left {
		op.done(lookupAnswer{hops: op.hops, err: ErrLeft})
		return
	}
	if n.lookupOver(op) {
		return
	}
	var next Peer
	found := false
	for len(op.cands) > 0 {
		next = op.cands[0]
		op.cands = op.cands[1:]
		if !containsID(op.tried, next.ID) {
			found = true
			break
		}
	}
	if !found {
		err := ErrNoPeers
		if op.busy {
			err = ErrBusy
		}
		op.done(lookupAnswer{hops: op.hops, err: err})
		return
	}
	op.tried = append(op.tried, next.ID)
	op.hops++
	n.requestBy(next, &Message{Type: MsgFindSuccessor, Key: op.key}, op.op, op.end, func(m *Message) {
		if n.peerBusy(m) {
			// Not asked, next's operations at their cap: ask the next
			// candidate; next is no suspect, nor tried again.
			op.hops--
			op.busy = true
			n.lookupStep(op)
			return
		}
		if n.unsent(m) {
			op.done(lookupAnswer{hops: op.hops, err: n.unsentErr()}) // the table full or left: the next one would not be sent either
			return
		}
		if m == nil || m.Type != MsgFindSuccessorReply {
			n.lookupStep(op) // dead or refused: route around it
			return
		}
		if m.Done {
			owners := sanitizeOwners(m.Peers, n.cfg.SuccessorListLen)
			n.learn(owners)
			if len(owners) > 0 {
				// Pred names the node before the owner when the answer
				// comes from the answering node's successor list; it must
				// lie between the answering node and the key.
				lo := next
				if m.HasPred && Between(next.ID, m.Pred.ID, op.key) {
					lo = m.Pred
				}
				n.lookupFound(op, owners, lo)
				return
			}
		}
		n.learn(m.Peers[:min(len(m.Peers), maxCandidates)])
		n.addCandidates(op, next.ID, m.Peers)
		n.lookupStep(op)
	})
}

// addCandidates merges a reply's closer nodes into the candidates. Only
// nodes strictly between the answering node and the key are taken, so
// every hop makes progress and the lookup ends.
func (n *Node) addCandidates(op *lookupOp, from ID, ps []Peer) {
	span := distTo(from, op.key)
	for k, p := range ps {
		if k >= maxCandidates {
			break
		}
		d := distTo(p.ID, op.key)
		if d.zero() || (!span.zero() && !d.less(span)) || p.ID == from || p.ID == n.self.ID || containsID(op.tried, p.ID) || containsPeer(op.cands, p.ID) {
			continue // not strictly between from and the key, or known
		}
		pos := 0
		for pos < len(op.cands) && !d.less(distTo(op.cands[pos].ID, op.key)) {
			pos++
		}
		if pos >= maxCandidates {
			continue
		}
		if len(op.cands) < maxCandidates {
			op.cands = append(op.cands, Peer{})
		}
		copy(op.cands[pos+1:], op.cands[pos:len(op.cands)-1])
		op.cands[pos] = p
	}
}

// sanitizeOwners keeps at most r entries without duplicates.
func sanitizeOwners(ps []Peer, r int) []Peer {
	out := make([]Peer, 0, min(len(ps), r))
	for _, p := range ps {
		if len(out) == r {
			break
		}
		if !containsPeer(out, p.ID) {
			out = append(out, p)
		}
	}
	return out
}

func containsID(ids []ID, id ID) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}

// routeList is the successor list as lookups should see it: without the
// head while the head is suspect (its stabilize query has gone unanswered
// for SuspectTicks and for twice the smoothed round trip of those queries),
// so that lookups stop naming a crashed owner before the timeout confirms
// it. Stabilization itself still waits for the timeout.
func (n *Node) routeList() []Peer {
	if len(n.succ) > 1 && n.stabBusy && n.stabTo == n.succ[0].ID && n.now-n.stabSent >= uint64(n.cfg.SuspectTicks) &&
		n.srtt > 0 && n.clock.Now().Sub(n.stabSentAt) > 2*n.srtt {
		return n.succ[1:]
	}
	return n.succ
}

// onFindSuccessor answers a lookup step: the owner and its successors when
// the key lies between this node and the last entry of its successor list
// (with Pred, the entry before the owner), else closer nodes. Answering
// from the whole list, not only when the key lies before the first
// successor, saves the hop to the key's predecessor and routes around a
// predecessor that is dead or not yet integrated, which every other node
// would name as its closest preceding node.
func (n *Node) onFindSuccessor(m *Message) {
	if !n.member {
		n.replyErr(m, ErrNotMember.Error())
		return
	}
	if !n.hasPred && len(n.succ) > 0 {
		// Joined, but no node has stabilized onto this one yet: its
		// successor came from a lookup that may have been answered from
		// state older than other joins, so its answers could be far off.
		// The asker routes around it.
		n.replyErr(m, "not yet integrated")
		return
	}
	r := &Message{Type: MsgFindSuccessorReply, Key: m.Key}
	switch {
	case len(n.succ) == 0:
		r.Done, r.Peers = true, []Peer{n.self}
	default:
		if k, ok := n.spanIndex(m.Key); ok {
			// copy-on-write: the reply may share the list
			r.Done, r.HasPred = true, true
			r.Peers, r.Pred = n.spanOwners(k, make([]Peer, 0, len(n.succ)+1))
		} else {
			r.Peers = n.closestPreceding(m.Key, n.cfg.LookupCandidates, make([]Peer, 0, n.cfg.LookupCandidates))
		}
	}
	n.reply(m, r)
}
