package chordrouting

// This file ends a lookup: the owner a lookup finds is asked, before the
// lookup answers, for its own state (MsgGetState), so that the answer
// names a live node that agrees it owns the key.
//
// Without it a lookup names the owner as the answering node last saw it,
// which under churn is wrong in two ways: the owner may have crashed (the
// answering node learns it only when its own stabilize query times out),
// or a node may have joined just before it (the answering node learns it
// only at its next stabilize round). The owner knows both sooner: a joiner
// notifies its successor as soon as it has joined, and a candidate that
// does not answer is presumed dead and the next one on the list is asked.

// maxReasks bounds how often one lookup asks a node again after every
// owner candidate it named failed.
const maxReasks = 2

// lookupOver ends op with an error when it has left, used up its hops or
// run out of time (LookupTimeoutTicks, or its end), and reports whether
// it did.
func (n *Node) lookupOver(op *lookupOp) bool {
	var err error
	switch {
	case n.left:
		err = ErrLeft
	case op.hops >= n.cfg.MaxLookupHops:
		err = ErrTooManyHops
	case n.now-op.start > uint64(n.cfg.LookupTimeoutTicks) || n.passed(op.end):
		err = ErrTimeout
	default:
		return false
	}
	op.done(lookupAnswer{hops: op.hops, err: err})
	return true
}

// lookupFound is called when op has found the owner candidates (the owner
// first, then its successors) and the node lo just before them.
func (n *Node) lookupFound(op *lookupOp, owners []Peer, lo Peer) {
	if !op.confirm {
		op.done(lookupAnswer{owners: owners, from: lo, hops: op.hops})
		return
	}
	n.confirmOwner(op, owners, lo, nil, n.cfg.SuccessorListLen)
}

// confirmOwner asks the first candidate that has not failed for its state.
//
//   - It does not answer: it is presumed dead, and the next candidate is
//     asked (the dead node's keys are its successor's now).
//   - It names a predecessor P between the key and itself (P == key
//     included; a candidate whose ID is the key owns it for sure): P owns the key by the candidate's view (a node that
//     joined, or one the answering node's list skipped). P is asked the
//     same way, at most `back` more times. If P does not answer, the
//     candidate's view of its range is stale (a crashed predecessor it has
//     not yet replaced, maybe with a live node between the key and P), so
//     lo, the node before the owner, is asked for its current list, and
//     the owner it names is asked in turn; the candidate that named P is
//     the answer (fb) when that finds nothing better.
//   - It has no predecessor but successors: it has joined but is not yet
//     linked in (its Join has not completed), so it does not own keys to
//     the outside yet: it is skipped like a dead one (its successor still
//     owns its keys), unless it is the last hope.
//   - Otherwise it owns the key: the answer is it followed by its
//     successor list, as of that instant, and its range starts at its
//     predecessor (or at lo when that lies outside (lo, candidate)).
//
// A candidate that is this node answers from its own state, without a hop.
func (n *Node) confirmOwner(op *lookupOp, cands []Peer, lo Peer, fb *lookupAnswer, back int) {
	if n.lookupOver(op) {
		return
	}
	var c Peer
	found := false
	for len(cands) > 0 && !found {
		c, cands = cands[0], cands[1:]
		found = !containsID(op.dead, c.ID)
	}
	if !found {
		n.confirmFailed(op, lo, fb, back)
		return
	}
	n.askState(op, c, func(m *Message) {
		if m == nil {
			op.dead = append(op.dead, c.ID)
			if fb != nil && len(cands) == 0 {
				n.confirmFrom(op, lo, fb, back-1)
				return
			}
			n.confirmOwner(op, cands, lo, fb, back)
			return
		}
		if !m.HasPred && len(m.Peers) > 0 && (len(cands) > 0 || fb != nil) {
			// Joined but not yet linked in (Join has not completed):
			// not the owner to the outside yet; its successor still is.
			op.dead = append(op.dead, c.ID)
			if len(cands) == 0 {
				n.learn(fb.owners)
				op.done(*fb)
				return
			}
			n.confirmOwner(op, cands, lo, fb, back)
			return
		}
		a := lookupAnswer{owners: ownersOf(c, m.Peers, n.cfg.SuccessorListLen), from: lo, hops: op.hops, alone: !m.HasPred}
		if len(op.dead) > 0 {
			a.dead = append([]ID(nil), op.dead...)
		}
		p := m.Pred
		hasP := m.HasPred && p.ID != c.ID
		if hasP && Between(lo.ID, p.ID, c.ID) && !containsID(op.dead, p.ID) {
			// c's range starts at its predecessor; not at one this
			// lookup found dead, whose keys are c's now.
			a.from = p
		}
		if hasP && c.ID != op.key && !containsID(op.dead, p.ID) && (p.ID == op.key || Between(op.key, p.ID, c.ID)) {
			if back == 0 || op.sparse && fb == nil {
				// Still not the owner after r steps back: the
				// candidates were far from the key (a one-hop table
				// that lacks many nodes there). Never name a node that
				// disowns the key: look it up again from lo. A table
				// whose gap (lo, c] spans more than denseGaps mean gaps
				// (a joiner's table still being copied) lacks that many
				// nodes (op.sparse): each step back would cost a hop,
				// r of them before this (14 hops at 10,000 nodes), so
				// go now.
				n.confirmFailed(op, lo, nil, back)
				return
			}
			n.confirmOwner(op, []Peer{p}, lo, &a, back-1)
			return
		}
		n.learn(a.owners)
		op.done(a)
	})
}

// confirmFailed ends a confirmation whose candidates all failed: with
// the fallback answer if there is one; else lo is asked again through the
// iterative lookup, whose answer goes on past the dead candidates (an
// answer from the end of a successor list names few), with this node's
// own closest preceding nodes (fingers, successor list) after it; else it
// fails. The fingers after lo matter when the candidates and lo all came
// from a membership table that names nodes which do not answer (crashed,
// or made up by a forged membership message): the lookup then goes on by
// the finger path, as if there were no table.
func (n *Node) confirmFailed(op *lookupOp, lo Peer, fb *lookupAnswer, back int) {
	op.sparse = false // the candidates from here on are other nodes' answers
	switch {
	case fb != nil:
		n.learn(fb.owners)
		op.done(*fb)
	case lo.ID != n.self.ID && !containsID(op.dead, lo.ID) && op.reasks < maxReasks:
		op.reasks++
		op.tried = removeID(op.tried, lo.ID)
		op.cands = append([]Peer{lo}, op.cands...)
		n.addFingerFallback(op)
		n.lookupStep(op)
	case op.reasks < maxReasks && n.addFingerFallback(op):
		op.reasks++
		n.lookupStep(op)
	default:
		op.done(lookupAnswer{hops: op.hops, err: ErrNoPeers})
	}
}

// addFingerFallback appends to op's candidates this node's closest
// preceding nodes of the key that the lookup has neither asked nor found
// dead, and reports whether it added any.
func (n *Node) addFingerFallback(op *lookupOp) bool {
	added := false
	for _, p := range n.closestPreceding(op.key, maxCandidates, make([]Peer, 0, maxCandidates)) {
		if len(op.cands) >= 2*maxCandidates {
			break
		}
		if containsID(op.tried, p.ID) || containsID(op.dead, p.ID) || containsPeer(op.cands, p.ID) {
			continue
		}
		op.cands = append(op.cands, p)
		added = true
	}
	return added
}

// confirmFrom asks lo for its successor list, moves on to the node that
// list puts just before the key (it knows the nodes after it best) and
// confirms the owner that node's list names; fb is the answer if that
// fails. A lookup whose time is up ends here (ErrTimeout), not with fb:
// a request ended by op.end calls back at that end, and a GetState sent
// then would outlive the lookup's requester.
func (n *Node) confirmFrom(op *lookupOp, lo Peer, fb *lookupAnswer, back int) {
	if n.lookupOver(op) {
		return
	}
	if back < 0 || containsID(op.dead, lo.ID) {
		n.confirmFailed(op, lo, fb, back)
		return
	}
	n.askState(op, lo, func(m *Message) {
		if m == nil {
			op.dead = append(op.dead, lo.ID)
			n.confirmFailed(op, lo, fb, back)
			return
		}
		prev := lo
		for k, p := range m.Peers {
			if BetweenRightIncl(prev.ID, op.key, p.ID) {
				if prev.ID != lo.ID && !containsID(op.dead, prev.ID) && back > 0 {
					// The node just before the key knows the nodes
					// after it best: ask it.
					n.confirmFrom(op, prev, fb, back-1)
					return
				}
				n.confirmOwner(op, m.Peers[k:], prev, fb, back)
				return
			}
			prev = p
		}
		n.confirmFailed(op, lo, fb, back)
	})
}

// askState asks p for its predecessor and successor list (a hop) and
// calls cb with the MsgState answer, or nil if p does not answer. This
// node answers for itself at once.
func (n *Node) askState(op *lookupOp, p Peer, cb func(*Message)) {
	if p.ID == n.self.ID {
		if !n.member {
			cb(nil)
			return
		}
		cb(&Message{Type: MsgState, HasPred: n.hasPred, Pred: n.pred, Peers: n.succ})
		return
	}
	op.hops++
	n.requestBy(p, &Message{Type: MsgGetState}, op.op, op.end, func(m *Message) {
		if n.unsent(m) {
			// Not asked (the pending table full, or p's operations at
			// their cap: errPeerBusy): nothing is known of p, which
			// must not be skipped as dead (the next candidate would be
			// named owner), so the lookup ends ErrBusy, even when only
			// p was busy: there is no other node to ask in its place.
			op.done(lookupAnswer{hops: op.hops, err: n.unsentErr()})
			return
		}
		if m == nil || m.Type != MsgState {
			cb(nil)
			return
		}
		cb(m)
	})
}

// ownersOf is owner followed by its successor list, without repeats, cut
// to r entries: a fresh slice.
func ownersOf(owner Peer, succ []Peer, r int) []Peer {
	return sanitizeOwners(append(append(make([]Peer, 0, len(succ)+1), owner), succ...), r)
}

// removeID returns ids without id (in place).
func removeID(ids []ID, id ID) []ID {
	out := ids[:0]
	for _, x := range ids {
		if x != id {
			out = append(out, x)
		}
	}
	return out
}
