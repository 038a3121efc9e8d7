package chordrouting

import "time"

// pending is a request waiting for its reply.
type pending struct {
	id       uint64
	to       ID
	deadline uint64
	sent     time.Time
	cb       func(*Message) // nil message: timed out or could not be sent
	// forward: the request waits for the receiver's own work (a
	// forwarded Get or Put), so its duration is no round trip and its
	// timeout does not make the peer a suspect.
	forward bool
}

// request sends m to `to` and calls cb with the reply, or with nil when no
// reply comes within the timeout (timeoutTicks: RequestTimeoutTicks, or
// longer on a network whose round trips need it; the peer is presumed
// dead).
// cb never runs inside request itself.
func (n *Node) request(to Peer, m *Message, cb func(*Message)) {
	n.send(to, m, pending{deadline: n.now + n.timeoutTicks()}, cb)
}

// requestForward sends a forwarded request (forward.go): its reply waits
// for the receiver's own operation, so it has its own timeout
// (forwardTimeout), and neither its duration nor its timeout teaches the
// round-trip estimate or the failure detector anything.
func (n *Node) requestForward(to Peer, m *Message, cb func(*Message)) {
	n.send(to, m, pending{deadline: n.now + n.forwardTimeout(), forward: true}, cb)
}

// send sends request m to `to`, waiting as p says.
func (n *Node) send(to Peer, m *Message, p pending, cb func(*Message)) {
	if n.left || len(n.pending) >= n.cfg.MaxPending || to.ID == n.self.ID {
		n.deferred = append(n.deferred, cb)
		return
	}
	n.reqID++
	m.ID = n.reqID
	m.From = n.self
	p.id, p.to, p.sent, p.cb = m.ID, to.ID, n.clock.Now(), cb
	n.pending = append(n.pending, p)
	n.tr.Send(to, m)
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
		cb := p.cb
		last := len(n.pending) - 1
		n.pending[k] = n.pending[last]
		n.pending[last] = pending{}
		n.pending = n.pending[:last]
		cb(m)
		return
	}
	n.rt.lateReply(m.ID, n.clock.Now())
}

// expireRequests fails the requests whose deadline has passed.
func (n *Node) expireRequests() {
	exp := n.scratch[:0]
	keep := n.pending[:0]
	for _, p := range n.pending {
		if p.deadline <= n.now {
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
		cb, to, fwd := exp[k].cb, exp[k].to, exp[k].forward
		if !fwd {
			n.rt.expired(exp[k].id, exp[k].sent)
		}
		exp[k] = pending{}
		if !fwd {
			n.suspect(to)
		}
		cb(nil)
	}
	n.scratch = exp[:0]
}

// runDeferred fails the requests that could not be sent.
func (n *Node) runDeferred() {
	for len(n.deferred) > 0 {
		d := n.deferred
		n.deferred = nil
		for _, cb := range d {
			cb(nil)
		}
	}
}
