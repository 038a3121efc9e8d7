package chordrouting

import "fmt"

// joinOp is a Join in progress.
type joinOp struct {
	via      []Peer
	attempts int
	dead     []ID   // predecessors stepped back to that did not answer
	linkBy   uint64 // tick by which the join reports success even if not yet linked in
	retryAt  uint64 // tick of the next attempt (0: none scheduled)
	done     func(error)
}

// Join makes the node a member through any of the given members (RING.md
// join): it finds the member m whose interval (m, successor of m) holds
// this node's ID, takes m's successor s, and sets its list to s followed
// by s's list. It then tells s (notify) and m (a joined hint, so that m
// runs stabilize step 2 with it at once), and done reports success once
// the node is linked in: a node has stabilized onto it and notified it
// (it has a predecessor), so lookups through the ring reach it. Until then
// the node is a member of the model (it stabilizes, answers state
// queries) but not yet the owner of its keys to the outside. If no link
// comes within a few timeouts (its predecessor crashed, say), done
// reports success anyway: stabilization links it in later. done runs
// once, inside a later Step or Tick.
func (n *Node) Join(via []Peer, done func(error)) {
	if done == nil {
		done = func(error) {}
	}
	switch {
	case n.left:
		done(ErrLeft)
		return
	case n.member:
		done(nil)
		return
	case n.joinOp != nil:
		done(fmt.Errorf("chordrouting: join: already joining"))
		return
	}
	n.AddKnownPeers(via)
	op := &joinOp{via: appendPeers(nil, via, n.self.ID), done: done}
	if len(op.via) == 0 {
		done(fmt.Errorf("chordrouting: join: %w", ErrNoPeers))
		return
	}
	n.joinOp = op
	n.joinAttempt(op)
}

// joinAttempt runs one lookup of this node's ID and adopts the successor.
func (n *Node) joinAttempt(op *joinOp) {
	op.attempts++
	n.lookup(n.self.ID, op.via, false, func(a lookupAnswer) {
		if n.joinOp != op {
			return
		}
		if a.err != nil {
			n.joinRetry(op, a.err)
			return
		}
		var s Peer
		for _, p := range a.owners {
			if p.ID != n.self.ID { // a stale entry for an earlier run of this node
				s = p
				break
			}
		}
		if s.ID == n.self.ID || s == (Peer{}) {
			n.joinRetry(op, ErrNoPeers)
			return
		}
		n.joinAt(op, s, 2*n.cfg.SuccessorListLen, nil)
	})
}

// joinAt asks the successor candidate s for its state. If s already knows
// a predecessor between this node and s (another node that joined into
// the same interval and notified s), the lookup was answered from state
// that did not yet include it: step back to it, a bounded number of
// times, so that concurrent joiners line up at once instead of one
// stabilization round per joiner. If the node stepped back to does not
// answer (a stale predecessor: rectify keeps a dead predecessor until a
// live node notifies), the attempt fails and the next one does not step
// back to it.
func (n *Node) joinAt(op *joinOp, s Peer, back int, prev *Message) {
	n.request(s, &Message{Type: MsgGetState}, func(m *Message) {
		if n.joinOp != op {
			return
		}
		if m == nil || m.Type != MsgState {
			if prev != nil && !n.unsent(m) {
				// A stale predecessor: start over with a fresh lookup
				// (the last answer is a timeout old by now), and do not
				// step back to this node again.
				op.dead = append(op.dead, s.ID)
			}
			n.joinRetry(op, fmt.Errorf("successor %s did not answer: %w", s.ID.Short(), ErrTimeout))
			return
		}
		if back > 0 && m.HasPred && Between(n.self.ID, m.Pred.ID, s.ID) && !containsID(op.dead, m.Pred.ID) {
			n.joinAt(op, m.Pred, back-1, m)
			return
		}
		if !m.HasPred && len(m.Peers) > 0 {
			// s has joined but is not linked in yet: nodes between
			// this one and s may exist that s does not know (its
			// predecessor will), and joining at s would skip them. Try
			// again once s is linked in.
			n.joinRetry(op, fmt.Errorf("successor %s is not yet linked in: %w", s.ID.Short(), ErrNoPeers))
			return
		}
		n.joinDone(op, s, m)
	})
}

// joinDone makes the node a member with successor s, whose state is m.
func (n *Node) joinDone(op *joinOp, s Peer, m *Message) {
	n.joinOp = nil
	n.member = true
	n.youngUntil = n.now + uint64(n.cfg.RepairTicks+n.cfg.RepairSettleTicks) + 1
	n.setList(s, m.Peers)
	n.notify(s)
	switch {
	case m.HasPred && m.Pred.ID != n.self.ID && m.Pred.ID != s.ID:
		n.sendOneWay(m.Pred, &Message{Type: MsgNotify, Done: true})
	case !m.HasPred && len(m.Peers) == 0:
		n.sendOneWay(s, &Message{Type: MsgNotify, Done: true}) // a ring of one
	}
	n.oneHopJoined(s)
	if n.hasPred {
		op.done(nil)
		return
	}
	op.linkBy = n.now + uint64(2*n.cfg.RequestTimeoutTicks+2*n.cfg.StabilizeTicks)
	n.linking = op
}

// linked ends a join waiting to be linked in: a node has notified this
// one, so it lies on the ring as some node's successor.
func (n *Node) linked() {
	if op := n.linking; op != nil && n.hasPred {
		n.linking = nil
		op.done(nil)
	}
}

// joinTick starts a join attempt that is due, and ends a join that has
// waited long enough to be linked in.
func (n *Node) joinTick() {
	if op := n.joinOp; op != nil && op.retryAt > 0 && n.now >= op.retryAt {
		op.retryAt = 0
		n.joinAttempt(op)
	}
	if op := n.linking; op != nil && n.now >= op.linkBy {
		n.linking = nil
		op.done(nil)
	}
}

// joinRetry tries again after a pause, or gives up. The pause grows by a
// tick per attempt: an attempt refused at once (the entry point's
// neighbours are joining themselves and not yet linked in) would
// otherwise use up every attempt within a few round trips, while the ring
// forms around it.
func (n *Node) joinRetry(op *joinOp, err error) {
	if n.left || op.attempts >= n.cfg.JoinAttempts {
		n.joinOp = nil
		op.done(fmt.Errorf("chordrouting: join after %d attempts: %w", op.attempts, err))
		return
	}
	op.retryAt = n.now + uint64(op.attempts)
}
