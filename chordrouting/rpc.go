package chordrouting

import "time"

// pending is a request waiting for its reply.
type pending struct {
	id       uint64
	to       ID
	addr     string // to's Addr, for Canceler
	deadline uint64
	sent     time.Time
	cb       func(*Message) // nil message: timed out; see unsent for one that was not sent
	// forward: the request waits for the receiver's own work (a
	// forwarded Get or Put), so its duration is no round trip and its
	// timeout does not make the peer a suspect.
	forward bool
	// until, if set, ends the request at the first tick at or after it
	// (a forward on a transport with deadlines of its own, ForwardWaiter,
	// and the stores of a forwarded put: forward_serve.go); ended so
	// before its own timeout, it makes the peer no suspect.
	until time.Time
	// endTick, if set, ends the request at that tick, quietly like until
	// (an operation run for a requester whose wait ends then: endBy).
	endTick uint64
	// op: the request is an operation's (a Lookup, Get or Put, this
	// node's or a client's forwarded one), not ring maintenance: see
	// opShare.
	op bool
}

// over reports whether p's wait has ended at tick `tick`, time now: its
// deadline, its until or its endTick has come. A held request (peerops.go)
// whose wait is over ends unsent; a sent one, without a reply.
func (p *pending) over(tick uint64, now time.Time) bool {
	return p.deadline <= tick || (!p.until.IsZero() && !now.Before(p.until)) || (p.endTick != 0 && p.endTick <= tick)
}

// Requests are of two kinds. Ring maintenance (stabilize, notify
// answers, pings, finger refreshes, joins, partition checks, repair,
// membership) is bounded by the ring's own pace. Operations (lookups,
// reads and stores for Lookup, Get and Put, and the forwards a member
// runs for clients) are driven by callers and by clients, and one put
// can send a store to every owner at once. Operations may fill at most
// opShare of MaxPending; the rest stays for maintenance, so that no
// amount of operations makes a stabilize query go unsent (a head whose
// query was never sent must not be dropped as dead: see unsent).

// opShare is how many of MaxPending outstanding requests operations may
// hold: three quarters.
func (n *Node) opShare() int { return max(1, n.cfg.MaxPending-n.cfg.MaxPending/4) }

// isOperation reports whether m is an operation's request whatever the
// caller says: a read, a store that is not a replica push, a forward.
func isOperation(m *Message) bool {
	return m.Forward || m.Type == MsgGet || (m.Type == MsgStore && !m.Replica)
}

// errUnsent is the Err of the stand-in answer a request that was not sent
// gets (see unsent); errPeerBusy that of an operation's request that was
// not sent because its peer had MaxOpsPerPeer in flight: refused, its
// peer's queue full, or held until its wait ended (peerops.go). The first
// says that no request would be sent now (ErrBusy, ErrLeft), the second
// only that none would be to that peer: a lookup asks another candidate.
const (
	errUnsent   = "chordrouting: request not sent (too many pending, the transport full, or the node has left)"
	errPeerBusy = "chordrouting: request not sent (its peer's operations at their cap)"
)

// unsentErr is why a request was not sent: the node left, or too many
// were pending.
func (n *Node) unsentErr() error {
	if n.left {
		return ErrLeft
	}
	return ErrBusy
}

// unsent reports whether m, given to a request's callback, says that the
// request was never sent (the pending table was full, the node left, the
// target was this node, the target's operations were at their cap)
// rather than answered or timed out: the target said nothing, so nothing
// may be concluded about it. The stand-in is a MsgError from this node
// itself, which no peer can send (Step drops messages from this node's
// own ID).
func (n *Node) unsent(m *Message) bool {
	return m != nil && m.Type == MsgError && m.From.ID == n.self.ID && (m.Err == errUnsent || m.Err == errPeerBusy)
}

// peerBusy reports whether m is the unsent stand-in of a request refused
// or held past its wait for its peer's cap (peerops.go): other peers may
// still be asked.
func (n *Node) peerBusy(m *Message) bool {
	return n.unsent(m) && m.Err == errPeerBusy
}

// standIn is the stand-in answer of a request not sent, for why
// (errUnsent, errPeerBusy).
func (n *Node) standIn(why string) *Message {
	return &Message{Type: MsgError, From: n.self, Err: why}
}

// deferBusy gives cb the errPeerBusy stand-in at the next tick, as
// runDeferred gives the others theirs.
func (n *Node) deferBusy(cb func(*Message)) {
	n.deferred = append(n.deferred, func(*Message) { cb(n.standIn(errPeerBusy)) })
}

// request sends m to `to` and calls cb with the reply, or with nil when no
// reply comes within the timeout (timeoutTicks: RequestTimeoutTicks, or
// longer on a network whose round trips need it; the peer is presumed
// dead).
// cb never runs inside request itself.
func (n *Node) request(to Peer, m *Message, cb func(*Message)) {
	n.requestAs(to, m, false, cb)
}

// requestAs is request for an operation's request (op), or maintenance's
// unless m is an operation's by its type (isOperation).
func (n *Node) requestAs(to Peer, m *Message, op bool, cb func(*Message)) {
	n.requestBy(to, m, op, endBy{}, cb)
}

// requestBy is requestAs for a request that also ends at end (an
// operation run for a requester whose wait ends then), quietly: a request
// so cut short makes its target no suspect.
func (n *Node) requestBy(to Peer, m *Message, op bool, end endBy, cb func(*Message)) {
	n.send(to, m, pending{deadline: n.now + n.timeoutTicks(), op: op, until: end.at, endTick: end.tick}, cb)
}

// endBy is when an operation run for a requester must end (a member's
// forwarded read, forward_serve.go): at tick `tick` (0: no such tick) or
// at time `at` (zero: no such time), whichever comes first. The zero
// value never ends.
type endBy struct {
	tick uint64
	at   time.Time
}

// passed reports whether end has come.
func (n *Node) passed(end endBy) bool {
	return (end.tick != 0 && n.now >= end.tick) || (!end.at.IsZero() && !n.clock.Now().Before(end.at))
}

// requestForward sends a forwarded request (forward.go): its reply waits
// for the receiver's own operation, so it has its own timeout
// (forwardTimeout), and neither its duration nor its timeout teaches the
// round-trip estimate or the failure detector anything.
func (n *Node) requestForward(to Peer, m *Message, cb func(*Message)) {
	n.send(to, m, n.forwardPending(n.forwardTimeout()), cb)
}

// send sends request m to `to`, waiting as p says. A request that cannot
// be sent (the node has left, the pending table is full, operations hold
// their whole share of it, or the transport refuses it: TrySender) gets
// the unsent stand-in at the next tick.
//
// An operation's request to a peer that has MaxOpsPerPeer of them in
// flight waits for one to end, or is refused when MaxOpsPerPeer wait
// already (peerops.go), with the errPeerBusy stand-in. Held requests count in the pending table and in
// the operations' share.
func (n *Node) send(to Peer, m *Message, p pending, cb func(*Message)) {
	p.op = p.op || isOperation(m)
	if n.left || len(n.pending)+len(n.held) >= n.cfg.MaxPending || to.ID == n.self.ID || (p.op && n.opPending >= n.opShare()) {
		n.deferred = append(n.deferred, cb)
		return
	}
	if p.op && n.atPeerCap(to.ID) {
		if !n.hold(to, m, p, cb) {
			n.deferBusy(cb)
		}
		return
	}
	p.cb = cb
	if !n.launch(to, m, p) {
		n.deferred = append(n.deferred, cb)
		return
	}
	if p.op {
		n.opPending++
	}
}

// launch hands request m to the transport and records it as p says;
// false when the transport refused it. It counts an operation's request
// in its peer's, not in opPending.
func (n *Node) launch(to Peer, m *Message, p pending) bool {
	n.reqID++
	m.ID = n.reqID
	m.From = n.self
	p.id, p.to, p.addr, p.sent = m.ID, to.ID, to.Addr, n.clock.Now()
	// The reply comes through Step, never inside the transport's call, so
	// the request is recorded once the transport has taken it.
	if !n.transmit(to, m) {
		return false
	}
	n.pending = append(n.pending, p)
	if p.op {
		n.ops.add(&n.ops.sent, to.ID, 1)
	}
	return true
}

// transmit hands m to the transport; false when the transport refused it
// at once (TrySender).
func (n *Node) transmit(to Peer, m *Message) bool {
	if ts, ok := n.tr.(TrySender); ok {
		return ts.TrySend(to, m)
	}
	n.tr.Send(to, m)
	return true
}

// sendOneWay sends a message that expects no reply (or whose reply is not
// waited for: a request ID nobody waits on makes its reply a no-op).
func (n *Node) sendOneWay(to Peer, m *Message) {
	if n.left || to.ID == n.self.ID {
		return
	}
	if m.Type.IsRequest() {
		n.reqID++
		m.ID = n.reqID
	}
	m.From = n.self
	n.tr.Send(to, m)
}

// reply answers request req.
func (n *Node) reply(req *Message, m *Message) {
	m.ID = req.ID
	m.From = n.self
	n.tr.Send(req.From, m)
}

// replyErr refuses request req.
func (n *Node) replyErr(req *Message, why string) {
	if req.Type.IsRequest() {
		n.reply(req, &Message{Type: MsgError, Err: why})
	}
}

// onReply matches a reply to its request; replies nobody waits for (late,
// duplicated, forged) are dropped.
func (n *Node) onReply(m *Message) {
	for k := range n.pending {
		p := &n.pending[k]
		if p.id != m.ID {
			continue
		}
		if p.to != m.From.ID {
			return
		}
		if !p.forward {
			n.rt.sample(n.clock.Now().Sub(p.sent))
		}
		cb, op, to := p.cb, p.op, p.to
		last := len(n.pending) - 1
		n.pending[k] = n.pending[last]
		n.pending[last] = pending{}
		n.pending = n.pending[:last]
		if op {
			n.opPending--
			n.opEnded(to) // may send a request held for to
		}
		cb(m)
		return
	}
	n.rt.lateReply(m.ID, n.clock.Now())
}

// expireRequests fails the requests whose deadline has passed, and the
// held ones whose wait has ended (with the unsent stand-in: never sent).
func (n *Node) expireRequests() {
	unsentCbs := n.expireHeld(nil)
	exp := n.scratch[:0]
	keep := n.pending[:0]
	now := n.clock.Now()
	for _, p := range n.pending {
		if p.over(n.now, now) {
			exp = append(exp, p)
		} else {
			keep = append(keep, p)
		}
	}
	for k := len(keep); k < len(n.pending); k++ {
		n.pending[k] = pending{}
	}
	n.pending = keep
	for k := range exp {
		switch {
		case exp[k].op:
			n.cancel(exp[k])
			n.opPending--
			n.opEnded(exp[k].to) // may send a request held for it
		case exp[k].deadline > n.now && !exp[k].forward:
			// Maintenance cut short before its timeout (a repair
			// summary's endTick): nobody waits for its reply, and its
			// stream must not outlive it, or the request that follows
			// it to the peer would be a second one in flight.
			n.cancel(exp[k])
		}
	}
	for k := range exp {
		cb, to := exp[k].cb, exp[k].to
		// A forward's wait, or a request cut short by its until or
		// endTick before its own timeout, says nothing of the peer's
		// round trip or life.
		quiet := exp[k].forward || exp[k].deadline > n.now
		if !quiet {
			n.rt.expired(exp[k].id, exp[k].sent)
		}
		exp[k] = pending{}
		if !quiet {
			n.suspect(to)
		}
		cb(nil)
	}
	n.scratch = exp[:0]
	for _, cb := range unsentCbs {
		cb(n.standIn(errPeerBusy))
	}
}

// cancel tells a transport that holds something per request (Canceler)
// that p, sent and not answered, is no longer waited for. At a timeout
// only an operation's request is canceled: a late reply to a maintenance
// request (a stabilize query, a ping) still teaches the round-trip
// estimate (timeouts.go), which is how timeouts grow to fit round trips
// longer than RequestTimeoutTicks; operations are what floods are made
// of, and maintenance keeps to a few requests per peer.
func (n *Node) cancel(p pending) {
	if c, ok := n.tr.(Canceler); ok {
		c.Cancel(Peer{ID: p.to, Addr: p.addr}, p.id)
	}
}

// runDeferred fails the requests that could not be sent, with the
// unsent stand-in: those deferred before it began. A callback that sends
// again and is refused again gets its answer at the next tick, not in
// this call: draining until nothing was left looped forever, inside one
// Tick, on a callback that re-issues its refused request at once.
func (n *Node) runDeferred() {
	d := n.deferred
	n.deferred = nil
	for _, cb := range d {
		cb(n.standIn(errUnsent))
	}
}
