package chordrouting

import "time"

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
//     stabilize query: if that node is this node's predecessor, the
//     sender is the candidate to adopt if it is dead. It is handled like
//     any notify from a node farther than the predecessor: the
//     predecessor is pinged first, and the sender adopted only if the
//     ping goes unanswered (predOverdue: sooner than the timeout, once
//     the ping is overdue by twice the smoothed round trip). Nothing
//     changes before that, so a false notice (a hostile peer) costs one
//     ping: during the round trip this node neither claims the
//     predecessor's range nor names the sender as its predecessor to
//     lookups confirming an owner.
func (n *Node) onNotify(m *Message) {
	if !n.member || m.From.ID == n.self.ID {
		return
	}
	if m.Done {
		n.onJoinedHint(m.From)
		return
	}
	n.rectify(m.From)
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
		n.learnLive(from)
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
		n.predPing = predPing{to: old.ID, tick: n.now, at: n.clock.Now()}
		n.request(old, &Message{Type: MsgPing}, func(m *Message) {
			n.predCheck = false
			if n.unsent(m) || (m != nil && m.Type == MsgPong) {
				return // alive, or never asked (rpc.go): no reason to replace it
			}
			if n.member && n.hasPred && n.pred.ID == old.ID {
				n.setPred(n.predCand)
			}
		})
	}
}

// predPing is the ping to the predecessor in flight (predCheck).
type predPing struct {
	to   ID
	tick uint64
	at   time.Time
}

// predOverdue adopts the waiting notifier when the ping to the
// predecessor has gone unanswered for SuspectTicks and for twice the
// smoothed round trip of requests, before the request times out: a
// crashed predecessor's range is taken over about as soon as a dead
// notice used to do it at once. A live predecessor answers within that
// (a slow one that does not is replaced by a farther node until its next
// notify, which wins, being closer). The ping's callback still runs.
func (n *Node) predOverdue() {
	pp := n.predPing
	if !n.predCheck || !n.member || !n.hasPred || n.pred.ID != pp.to || n.rt.srtt <= 0 ||
		n.now-pp.tick < uint64(n.cfg.SuspectTicks) || n.clock.Now().Sub(pp.at) <= 2*n.rt.srtt {
		return
	}
	n.setPred(n.predCand)
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
