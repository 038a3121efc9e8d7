package chordrouting

// This file is RING.md's rectify, which replaces the original notified
// and flush: the predecessor is never set to nil.

// onNotify handles MsgNotify. Plain, it is RING.md's notify: the sender
// believes it is this node's predecessor. Two hints ride on it (beyond the
// model, to link nodes in sooner; each only triggers what the model's own
// steps would do later):
//
//   - Done: the sender has just joined with this node's successor as its
//     own, so it lies between: stabilize step 2 with it at once, instead
//     of at the next round after the successor has learnt of it.
//   - Peers names the sender's previous successor, which did not answer its
//     stabilize query: if that node is this node's predecessor, it is
//     presumed dead and the sender adopted at once, without waiting for a
//     ping to time out. The old predecessor is pinged all the same and
//     adopted again if it answers, so a false claim (a hostile peer, a
//     slow link) lasts one round trip; the live predecessor's own next
//     notify would also win, being closer.
func (n *Node) onNotify(m *Message) {
	if !n.member || m.From.ID == n.self.ID {
		return
	}
	if m.Done {
		n.onJoinedHint(m.From)
		return
	}
	if len(m.Peers) == 1 && n.hasPred && !n.predCheck && n.now >= n.deadQuietUntil && m.Peers[0].ID == n.pred.ID && Between(m.From.ID, n.pred.ID, n.self.ID) {
		n.adoptOverDead(m.From)
		return
	}
	n.rectify(m.From)
}

// adoptOverDead adopts p as predecessor because p says the current one is
// dead, and pings the current one all the same: if it answers, the claim
// was false (or the network slow) and it is the predecessor again, without
// a handoff (it still holds its keys), and dead notices are ignored for a
// request timeout, so a peer repeating false claims can neither flap the
// predecessor nor make this node push values back and forth.
func (n *Node) adoptOverDead(p Peer) {
	old := n.pred
	n.setPred(p)
	n.predCheck = true
	n.request(old, &Message{Type: MsgPing}, func(m *Message) {
		n.predCheck = false
		if m != nil && m.Type == MsgPong && n.member && n.hasPred && n.pred.ID == p.ID {
			n.pred = old
			n.deadQuietUntil = n.now + uint64(n.cfg.RequestTimeoutTicks)
		}
	})
}

// onJoinedHint runs stabilize step 2 with a node that says it has just
// joined right after this one, if it lies between this node and its head
// (in a ring of one, every other node does): ask it for its list, and
// adopt it as head with that list if it still lies between when the answer
// comes. It runs beside the stabilize rounds, which check that their
// answers are still current, and one at a time, so that hints (hostile
// ones too) can neither abandon nor delay the regular rounds.
func (n *Node) onJoinedHint(j Peer) {
	between := func() bool { return len(n.succ) == 0 || Between(n.self.ID, j.ID, n.succ[0].ID) }
	if n.hintBusy || !between() {
		return
	}
	n.hintBusy = true
	n.request(j, &Message{Type: MsgGetState}, func(m *Message) {
		n.hintBusy = false
		if m == nil || m.Type != MsgState || !n.member || !between() {
			return
		}
		n.setList(j, m.Peers)
		n.notify(j)
	})
}

// rectify handles a notification from `from`, which believes it is this
// node's predecessor.
func (n *Node) rectify(from Peer) {
	if !n.member || from.ID == n.self.ID {
		return
	}
	switch {
	case !n.hasPred || Between(n.pred.ID, from.ID, n.self.ID):
		// A closer predecessor is a joiner (it may already be in the
		// table, learnt from a lookup reply, but nobody announced it).
		n.announceJoin(from)
		n.learnOne(from)
		n.setPred(from)
	case from.ID == n.pred.ID:
		// Nothing new.
	default:
		// Keep the current predecessor if it is alive; adopt the notifier
		// if it is dead. One ping at a time; the best notifier waits.
		if !n.predCheck || Between(n.predCand.ID, from.ID, n.self.ID) {
			n.predCand = from
		}
		if n.predCheck {
			return
		}
		n.predCheck = true
		old := n.pred
		n.request(old, &Message{Type: MsgPing}, func(m *Message) {
			n.predCheck = false
			if m != nil && m.Type == MsgPong {
				return
			}
			if n.member && n.hasPred && n.pred.ID == old.ID {
				n.setPred(n.predCand)
			}
		})
	}
}

// setPred adopts p as predecessor and hands over the values whose keys p
// now owns (when p joined between the old predecessor and this node).
func (n *Node) setPred(p Peer) {
	if p.ID == n.self.ID {
		return
	}
	old, had := n.pred, n.hasPred
	n.pred, n.hasPred = p, true
	defer n.linked()
	switch {
	case !had:
		n.handoff(p, func(k ID) bool { return !BetweenRightIncl(p.ID, k, n.self.ID) })
	case Between(old.ID, p.ID, n.self.ID):
		n.handoff(p, func(k ID) bool { return BetweenRightIncl(old.ID, k, p.ID) })
	}
}
