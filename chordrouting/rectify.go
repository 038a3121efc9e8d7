package chordrouting

// This file is RING.md's rectify, which replaces the original notified
// and flush: the predecessor is never set to nil.

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
	switch {
	case !had:
		n.handoff(p, func(k ID) bool { return !BetweenRightIncl(p.ID, k, n.self.ID) })
	case Between(old.ID, p.ID, n.self.ID):
		n.handoff(p, func(k ID) bool { return BetweenRightIncl(old.ID, k, p.ID) })
	}
}
