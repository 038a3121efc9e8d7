package chordrouting

// Operations per peer. The receiving transport takes only so many streams
// at once from one peer (chordrouting/p2p: MaxInboundPerPeer) and resets
// the rest, which the core cannot tell from silence. A node with more
// operations in flight to one peer than that (an entry running forwarded
// puts for several clients whose keys share one popular owner, many
// searches at once) had its stabilize query to that peer reset too,
// timed it out and dropped its live successor. So the core bounds one
// peer's operation requests in flight (Config.MaxOpsPerPeer) below what
// the receiver takes, less what ring maintenance may have in flight to
// one peer (Config.MaintenancePerPeer); maintenance is never held back by
// them.
//
// An operation's request beyond the cap waits in a small per-peer queue
// (as long as the cap) and goes out when one of that peer's operations
// ends (its reply, its timeout); one beyond the queue is refused as
// unsent, with a stand-in of its own (errPeerBusy, rpc.go). A held
// request that is still waiting when its own wait would have ended (its
// timeout, or the end its operation set) gets it too, and so does one
// whose wait ended between ticks (its until) when a reply frees its
// place: it was never sent, so its target is no suspect. Unlike a request
// beyond the operations' share of the pending table (errUnsent, which
// ends a lookup with ErrBusy: no other request would be sent either),
// errPeerBusy says only that this peer is busy, and a lookup asks its
// next candidate instead (lookup.go).
//
// Holding, not refusing at once: a put's store refused is a store failed,
// which the put (or the client whose batch it runs) must redo, while a
// store held for a round trip or two is stored; a short queue keeps what
// a flood can pile up, and how long it waits, small. A held request gets
// its ID when it is sent, so hurry (forward.go) finds a held one by its
// message: its wait, held and once sent, then ends by the hurried
// deadline.

// heldOp is an operation's request waiting for its peer's cap.
type heldOp struct {
	to Peer
	m  *Message
	p  pending // p.deadline: when waiting ends unsent; p.cb: its callback
	// wait is the request's own wait once sent, in ticks.
	wait uint64
	// by, if not 0, is the tick by which the request's wait ends once
	// sent, whenever it is sent (hurry).
	by uint64
}

// opsTo counts, per peer, the operations' requests in flight (sent) and
// held. Maps with no entry for a peer at zero.
type opsTo struct {
	sent map[ID]int
	held map[ID]int
}

func (c *opsTo) add(m *map[ID]int, id ID, d int) {
	if *m == nil {
		*m = map[ID]int{}
	}
	if (*m)[id] += d; (*m)[id] <= 0 {
		delete(*m, id)
	}
}

// atPeerCap reports whether an operation's request to `to` must wait:
// the peer has MaxOpsPerPeer in flight, or others wait before it.
func (n *Node) atPeerCap(to ID) bool {
	return n.ops.sent[to] >= n.cfg.MaxOpsPerPeer || n.ops.held[to] > 0
}

// hold queues an operation's request for its peer's cap; false when the
// peer's queue is full (the request is refused as unsent).
func (n *Node) hold(to Peer, m *Message, p pending, cb func(*Message)) bool {
	if n.ops.held[to.ID] >= n.cfg.MaxOpsPerPeer {
		return false
	}
	p.cb = cb
	wait := uint64(0)
	if p.deadline > n.now {
		wait = p.deadline - n.now
	}
	n.held = append(n.held, heldOp{to: to, m: m, p: p, wait: wait})
	n.ops.add(&n.ops.held, to.ID, 1)
	n.opPending++
	return true
}

// opEnded counts an operation's request to `to` out of the peer's
// requests in flight and sends the requests held for it that now fit.
func (n *Node) opEnded(to ID) {
	n.ops.add(&n.ops.sent, to, -1)
	for n.ops.held[to] > 0 && n.ops.sent[to] < n.cfg.MaxOpsPerPeer {
		k := 0
		for n.held[k].to.ID != to {
			k++
		}
		h := n.held[k]
		n.held = append(n.held[:k], n.held[k+1:]...)
		n.ops.add(&n.ops.held, to, -1)
		if h.p.over(n.now, n.clock.Now()) {
			// Its wait ended between ticks (its until): never sent.
			n.opPending--
			n.deferBusy(h.p.cb)
			continue
		}
		h.p.deadline = n.now + h.wait
		if h.by != 0 {
			h.p.deadline = min(h.p.deadline, h.by)
		}
		if !n.launch(h.to, h.m, h.p) {
			n.opPending--
			n.deferred = append(n.deferred, h.p.cb)
		}
	}
}

// expireHeld gives the errPeerBusy stand-in to the held requests whose
// wait has ended (their timeout, or their operation's end) and returns their
// callbacks.
func (n *Node) expireHeld(out []func(*Message)) []func(*Message) {
	keep := n.held[:0]
	now := n.clock.Now()
	for _, h := range n.held {
		if h.p.over(n.now, now) {
			n.ops.add(&n.ops.held, h.to.ID, -1)
			n.opPending--
			out = append(out, h.p.cb)
			continue
		}
		keep = append(keep, h)
	}
	clear(n.held[len(keep):])
	n.held = keep
	return out
}

// hurryHeld is hurry for request m while it is held: it ends unsent by
// deadline, and once sent its wait ends by deadline too. It reports
// whether that shortened anything.
func (n *Node) hurryHeld(m *Message, deadline uint64) bool {
	for k := range n.held {
		h := &n.held[k]
		if h.m != m {
			continue
		}
		cut := false
		if h.p.deadline > deadline {
			h.p.deadline, cut = deadline, true
		}
		if h.by == 0 || h.by > deadline {
			h.by, cut = deadline, true
		}
		return cut
	}
	return false
}
