package chordrouting

import "time"

// This file keeps the finger table: only distinct entries that lie beyond
// the successor list, in ring order. Fingers only speed lookups up;
// correctness never depends on them.

// lastKnown is the farthest node of the successor list (self when empty).
func (n *Node) lastKnown() ID {
	if len(n.succ) == 0 {
		return n.self.ID
	}
	return n.succ[len(n.succ)-1].ID
}

// fixFingers refreshes the next FingersPerFix fingers, from the widest
// (self + 2^255) down to the first whose start the successor list covers.
func (n *Node) fixFingers() {
	if n.fixBusy || len(n.succ) == 0 {
		return
	}
	n.pruneFingers()
	for range n.cfg.FingersPerFix {
		i := n.nextFingerIndex()
		if i < 0 {
			return
		}
		n.fixFinger(i)
	}
}

// nextFingerIndex returns the exponent to refresh next, or -1 when the
// successor list covers every finger start.
func (n *Node) nextFingerIndex() int {
	last := n.lastKnown()
	for tries := 0; tries < 2; tries++ {
		if n.fingerNext <= 0 || n.fingerNext >= IDBits {
			n.fingerNext = IDBits - 1
		}
		i := n.fingerNext
		start := n.self.ID.AddPow2(i)
		if !BetweenRightIncl(n.self.ID, start, last) {
			n.fingerNext--
			return i
		}
		n.fingerNext = IDBits - 1 // covered from here down: wrap
	}
	return -1
}

// fixFinger looks up the start of finger i and records its owner.
func (n *Node) fixFinger(i int) {
	start := n.self.ID.AddPow2(i)
	end := n.self.ID
	if i+1 < IDBits {
		end = n.self.ID.AddPow2(i + 1)
	}
	n.fixBusy = true
	n.lookup(start, nil, false, func(a lookupAnswer) {
		n.fixBusy = false
		if a.err != nil || len(a.owners) == 0 || !n.member {
			return
		}
		if o, ok := n.fingerCandidate(start, end, a.owners); ok { // diversity.go
			n.setFinger(start, end, o)
		}
	})
}

// setFinger records o as the owner of the finger interval [start, end):
// other entries in it are stale and go.
func (n *Node) setFinger(start, end ID, o Peer) {
	keep := n.fingers[:0]
	for _, f := range n.fingers {
		if f.ID != o.ID && (f.ID == start || Between(start, f.ID, end)) {
			continue
		}
		keep = append(keep, f)
	}
	for k := len(keep); k < len(n.fingers); k++ {
		n.fingers[k] = Peer{}
	}
	n.fingers = keep
	if o.ID == n.self.ID || containsPeer(n.fingers, o.ID) || BetweenRightIncl(n.self.ID, o.ID, n.lastKnown()) {
		return
	}
	n.fingers = append(n.fingers, o)
	sortByDistance(n.self.ID, n.fingers)
}

// pruneFingers drops entries the successor list now covers.
func (n *Node) pruneFingers() {
	last := n.lastKnown()
	keep := n.fingers[:0]
	for _, f := range n.fingers {
		if !BetweenRightIncl(n.self.ID, f.ID, last) {
			keep = append(keep, f)
		}
	}
	for k := len(keep); k < len(n.fingers); k++ {
		n.fingers[k] = Peer{}
	}
	n.fingers = keep
}

// removeFinger forgets a peer presumed dead.
func (n *Node) removeFinger(id ID) {
	for k, f := range n.fingers {
		if f.ID == id {
			last := len(n.fingers) - 1
			copy(n.fingers[k:], n.fingers[k+1:])
			n.fingers[last] = Peer{}
			n.fingers = n.fingers[:last]
			return
		}
	}
}

// suspect is told of every request that timed out. A successor that did
// not answer is pinged once more before its departure is announced
// ring-wide (confirmLeave): one lost reply must not make every table drop
// a live node, which could not refute it.
func (n *Node) suspect(id ID) {
	n.removeFinger(id)
	switch {
	case !n.cfg.OneHop:
	case n.oh.leaveCheck.on && n.oh.leaveCheck.p.ID == id:
		// The confirming ping decides (its callback runs next).
	case len(n.succ) > 0 && n.succ[0].ID == id:
		n.confirmLeave(n.succ[0])
	default:
		n.forget(id)
	}
}

// leaveCheck is the confirming ping of a successor that did not answer.
type leaveCheck struct {
	p    Peer
	on   bool
	gen  uint64 // tells this check's callback from a later check's
	tick uint64
	at   time.Time
}

// confirmLeave pings p, the successor a request timed out on, and
// announces its departure if this ping goes unanswered too: when it
// times out, or sooner once it is overdue (leaveOverdue). One check at a
// time; a successor that answers stays.
func (n *Node) confirmLeave(p Peer) {
	if n.oh.leaveCheck.on {
		return
	}
	gen := n.oh.leaveCheck.gen + 1
	n.oh.leaveCheck = leaveCheck{p: p, on: true, gen: gen, tick: n.now, at: n.clock.Now()}
	n.request(p, &Message{Type: MsgPing}, func(m *Message) {
		if !n.oh.leaveCheck.on || n.oh.leaveCheck.gen != gen {
			return // decided already (overdue)
		}
		n.oh.leaveCheck.on = false
		if m == nil && n.member {
			n.announceLeave(p)
		}
	})
}

// leaveOverdue announces the departure of a successor whose confirming
// ping has gone unanswered for SuspectTicks and for twice the smoothed
// round trip of requests: it has missed a whole timeout already, so the
// second chance is a round trip, not another timeout, and departures
// spread about as soon as they did with no second chance.
func (n *Node) leaveOverdue() {
	c := n.oh.leaveCheck
	if !c.on || n.rt.srtt <= 0 || n.now-c.tick < uint64(n.cfg.SuspectTicks) || n.clock.Now().Sub(c.at) <= 2*n.rt.srtt {
		return
	}
	n.oh.leaveCheck.on = false
	if n.member {
		n.announceLeave(c.p)
	}
}

// closestPreceding returns up to k known nodes (fingers and successor
// list) that lie strictly between this node and key, closest to key
// first, appended to out.
func (n *Node) closestPreceding(key ID, k int, out []Peer) []Peer {
	var ds [maxCandidates]dist     // distance of out[j] to key
	span := distTo(n.self.ID, key) // zero: key is self, the whole ring
	consider := func(p Peer) {
		d := distTo(p.ID, key)
		if d.zero() || (!span.zero() && !d.less(span)) { // p is key, self, or not in (self, key)
			return
		}
		pos := len(out)
		for pos > 0 && d.less(ds[pos-1]) {
			pos--
		}
		if pos >= k || (pos > 0 && ds[pos-1] == d) {
			return // not among the k best, or a duplicate
		}
		if len(out) < k {
			out = append(out, Peer{})
		}
		copy(out[pos+1:], out[pos:len(out)-1])
		copy(ds[pos+1:len(out)], ds[pos:len(out)-1])
		out[pos], ds[pos] = p, d
	}
	k = min(k, maxCandidates)
	for _, p := range n.succ {
		consider(p)
	}
	for _, p := range n.fingers {
		consider(p)
	}
	return out
}
