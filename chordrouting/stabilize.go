package chordrouting

import "time"

// This file is RING.md's stabilize (steps 1 and 2) and the successor list
// it maintains.

// stabilize runs step 1: ask the head of the successor list, in one query,
// for its predecessor and successor list.
func (n *Node) stabilize() {
	if !n.member || n.stabBusy || n.stabilizeIdle() {
		return
	}
	if len(n.succ) == 0 {
		// A ring of one: the model's node is its own successor and asks
		// itself, so a predecessor other than itself goes to step 2.
		if n.hasPred {
			n.stabilizeStep2(n.pred, 0)
		}
		return
	}
	head := n.succ[0]
	n.stabBusy = true
	n.stabTo, n.stabSent, n.stabSentAt = head.ID, n.now, n.clock.Now()
	gen := n.stabGen
	n.request(head, &Message{Type: MsgGetState, Count: n.stateQuery(head.ID)}, func(m *Message) {
		if gen != n.stabGen {
			return // abandoned (the head left gracefully)
		}
		n.stabBusy, n.stabTo = false, ID{}
		if n.unsent(m) {
			return // never asked (rpc.go): not a dead head; the next round asks again
		}
		m = n.expandState(head.ID, m) // an unchanged state comes back whole
		if m != nil {
			n.sampleRTT(n.clock.Now().Sub(n.stabSentAt))
		}
		if !n.member || len(n.succ) == 0 || n.succ[0].ID != head.ID {
			return // the list changed meanwhile: this answer is stale
		}
		if m == nil || m.Type != MsgState {
			n.dropHead()
			return
		}
		n.setList(head, m.Peers)
		if m.HasPred && Between(n.self.ID, m.Pred.ID, head.ID) {
			n.stabilizeStep2(m.Pred, n.cfg.SuccessorListLen)
			return
		}
		if !m.HasPred || m.Pred.ID != n.self.ID {
			n.notify(head) // (a notify from the current predecessor changes nothing)
		}
	})
}

// dropHead removes a dead head, notifies the new head and goes on with
// it at once.
func (n *Node) dropHead() {
	dead := n.succ[0]
	n.commitList(append(n.lbuf[:0], n.succ[1:]...))
	n.removeFinger(dead.ID)
	if len(n.succ) == 0 {
		// Every successor failed: below RING.md's failure assumptions.
		// Recover beyond the model: fall back to the fingers (in ring
		// order, then the predecessor), which stabilization walks back
		// from, and look for the ring through the known peers.
		buf := append(n.lbuf[:0], n.fingers[:min(len(n.fingers), n.cfg.SuccessorListLen)]...)
		if n.hasPred && n.pred.ID != dead.ID && len(buf) < n.cfg.SuccessorListLen && !containsPeer(buf, n.pred.ID) {
			buf = append(buf, n.pred)
		}
		n.commitList(buf)
		n.checkPartition()
		if len(n.succ) == 0 {
			return
		}
	}
	n.sendOneWay(n.succ[0], &Message{Type: MsgNotify, Peers: []Peer{dead}})
	n.stabilize()
}

// stabilizeStep2 asks p, which lies between this node and its head, for
// its successor list and adopts p as the new head. If p's answer names a
// predecessor between this node and p, the next round's step 1 would go
// straight to step 2 with it: up to `more` such rounds run at once, so a
// line of newly joined nodes is taken in within round trips, not ticks.
func (n *Node) stabilizeStep2(p Peer, more int) {
	if p.ID == n.self.ID {
		return
	}
	n.stabBusy = true
	gen := n.stabGen
	n.request(p, &Message{Type: MsgGetState}, func(m *Message) {
		if gen != n.stabGen {
			return
		}
		n.stabBusy = false
		if !n.member {
			return
		}
		if len(n.succ) > 0 && !Between(n.self.ID, p.ID, n.succ[0].ID) {
			n.notify(n.succ[0]) // no longer between: the answer is stale
			return
		}
		if m == nil || m.Type != MsgState {
			if len(n.succ) > 0 {
				n.notify(n.succ[0])
			}
			return
		}
		n.setList(p, m.Peers)
		if more > 0 && m.HasPred && Between(n.self.ID, m.Pred.ID, p.ID) {
			n.stabilizeStep2(m.Pred, more-1)
			return
		}
		n.notify(p)
	})
}

// sampleRTT folds one stabilize round trip into the smoothed estimate
// (weight 1/8, as TCP does).
func (n *Node) sampleRTT(d time.Duration) {
	if d < 0 {
		return
	}
	if n.srtt == 0 {
		n.srtt = d
		return
	}
	n.srtt += (d - n.srtt) / 8
}

// restartStabilize abandons the round in flight (its answer will be
// ignored) and starts a new one at once.
func (n *Node) restartStabilize() {
	n.stabGen++
	n.stabTo = ID{}
	n.stabBusy = false
	n.stabilize()
}

// notify tells p that this node believes it is p's predecessor.
func (n *Node) notify(p Peer) { n.sendOneWay(p, &Message{Type: MsgNotify}) }

// setList sets the successor list to head followed by rest, keeping only
// entries that run clockwise from this node (which drops self entries,
// duplicates and anything after a wrap), cut to r.
func (n *Node) setList(head Peer, rest []Peer) {
	buf := n.lbuf[:0]
	if head.ID != n.self.ID {
		buf = append(buf, head)
		buf = n.appendClockwise(buf, rest)
	}
	n.commitList(buf)
}

// appendClockwise appends the entries of rest that continue buf clockwise
// from this node, up to r entries.
func (n *Node) appendClockwise(buf, rest []Peer) []Peer {
	r := n.cfg.SuccessorListLen
	for _, p := range rest {
		if len(buf) >= r {
			break
		}
		last := n.self.ID
		if len(buf) > 0 {
			last = buf[len(buf)-1].ID
		}
		if Between(last, p.ID, n.self.ID) {
			buf = append(buf, p)
		}
	}
	return buf
}

// commitList makes buf the successor list. The list is copy-on-write: a
// slice once installed is never modified, so replies can carry it without
// copying; an unchanged list allocates nothing.
func (n *Node) commitList(buf []Peer) {
	if !samePeers(buf, n.succ) {
		if len(buf) == 0 {
			n.succ = nil
		} else {
			n.succ = append(make([]Peer, 0, len(buf)), buf...)
		}
		n.learn(buf)
	}
	n.lbuf = buf[:0]
}

func samePeers(a, b []Peer) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if a[k] != b[k] {
			return false
		}
	}
	return true
}

// mergeList merges peers into the successor list by clockwise distance
// from this node, without duplicates or self, cut to r. It only adds
// knowledge; stabilization then keeps what is right.
func (n *Node) mergeList(peers []Peer) {
	all := make([]Peer, 0, len(n.succ)+len(peers))
	all = append(all, n.succ...)
	for _, p := range peers {
		if p.ID != n.self.ID && !containsPeer(all, p.ID) {
			all = append(all, p)
		}
	}
	sortByDistance(n.self.ID, all)
	n.commitList(all[:min(len(all), n.cfg.SuccessorListLen)])
}

// sortByDistance orders peers by clockwise distance from base (insertion
// sort: the lists are short).
func sortByDistance(base ID, ps []Peer) {
	for i := 1; i < len(ps); i++ {
		for j := i; j > 0 && Between(base, ps[j].ID, ps[j-1].ID); j-- {
			ps[j], ps[j-1] = ps[j-1], ps[j]
		}
	}
}
