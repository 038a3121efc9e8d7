package chordrouting

// This file is the graceful leave added on top of RING.md: it speeds
// repair up, but correctness never depends on it (a node that leaves
// without it is a failure, which the protocol handles).

// Leave hands the values this node owns to its successor (up to
// leaveChunks messages of them: push.go says what a larger range leaves
// to repair; replica stores still queued for any peer are dropped), tells
// its successor and predecessor (MsgLeave) so that they repair at once,
// and makes the node inert: pending operations fail with ErrLeft.
func (n *Node) Leave() {
	if n.left {
		return
	}
	if n.member && len(n.succ) > 0 {
		s := n.succ[0]
		if keys, err := n.st.Keys(); err == nil {
			var items []Item
			for _, k := range keys {
				if !n.responsible(k) {
					continue
				}
				for _, v := range n.liveValues(k) {
					items = append(items, Item{Key: k, Value: v.Data})
				}
			}
			n.handOnAtLeave(s, items)
		}
		peers := append([]Peer(nil), n.succ...)
		n.sendOneWay(s, &Message{Type: MsgLeave, HasPred: n.hasPred, Pred: n.pred, Peers: peers})
		if n.hasPred && n.pred.ID != s.ID {
			n.sendOneWay(n.pred, &Message{Type: MsgLeave, HasPred: true, Pred: n.pred, Peers: peers})
		}
	}
	n.left, n.member, n.joinOp = true, false, nil
	if op := n.linking; op != nil {
		n.linking = nil
		op.done(ErrLeft)
	}
	for _, p := range n.pending {
		n.cancel(p)
		n.deferred = append(n.deferred, p.cb)
	}
	for _, h := range n.held {
		n.deferred = append(n.deferred, h.p.cb)
	}
	n.pending, n.held, n.ops, n.opPending = nil, nil, opsTo{}, 0
	n.runDeferred()
}

// onLeave repairs around a neighbour that leaves gracefully.
func (n *Node) onLeave(m *Message) {
	if !n.member {
		return
	}
	from := m.From
	n.removeFinger(from.ID)
	if len(n.succ) > 0 && n.succ[0].ID == from.ID {
		n.announceLeave(from)
	} else {
		n.forget(from.ID)
	}
	if n.hasPred && n.pred.ID == from.ID {
		if m.HasPred && m.Pred.ID != n.self.ID && Between(m.Pred.ID, from.ID, n.self.ID) {
			n.pred = m.Pred
		} else if m.HasPred && m.Pred.ID == n.self.ID {
			n.hasPred = false // the leaver was the only other node
		}
	}
	k := -1
	for j, p := range n.succ {
		if p.ID == from.ID {
			k = j
			break
		}
	}
	if k < 0 {
		return
	}
	// Only drop the leaver: its list may be staler than this node's and
	// could skip members (lowering the principal count); stabilization
	// asks the new head for a current one at once. The leaver's list is
	// used only when nothing else is left.
	buf := append(n.lbuf[:0], n.succ[:k]...)
	buf = append(buf, n.succ[k+1:]...)
	if len(buf) == 0 {
		buf = n.appendClockwise(buf, m.Peers[:min(len(m.Peers), 2*n.cfg.SuccessorListLen)])
	}
	n.commitList(buf)
	if k == 0 && len(n.succ) > 0 {
		n.notify(n.succ[0])
		n.restartStabilize()
	}
}
