package chordrouting

import "time"

// This file is forwarding for members (Config.MemberForward): a member
// whose one-hop read would have to open a connection to every holder of
// the key (a dial: over TCP the handshake, the security negotiation and
// the multiplexer, about three round trips before the request) sends the
// read instead to a ring neighbour of the holders it has a connection to,
// as a forwarded Get (Message.Forward), which the neighbour runs as its
// own read over its open connections and answers on the same request: one
// round trip more than a read over an open connection, two fewer than a
// dial. Meanwhile the transport opens a connection to the owner in the
// background, so the next read of the owner's keys goes direct.
//
// The neighbours are the owner's predecessor, which stabilizes onto the
// owner every round, and the member just after the last holder, whose
// predecessor (the last holder) checks it every round too; both keep a
// connection to a holder for as long as the ring does not change there.
// The neighbour serves the read like a client's (forward_serve.go): only
// members run forwards, the read it runs is never forwarded again, and
// its per-requester cap (MaxForwardsPerClient) counts this member like a
// client; this member keeps no more forwards than that in flight with one
// neighbour, so that a burst of reads into one range is not refused.
//
// It does so only when a dial costs more than the round trip the forward
// adds (the neighbour's own to the holder, taken to be this member's
// smoothed round trip): the transport measures what its dials cost
// (ConnState.DialCost). Over TCP a dial costs about three round trips and
// the forward wins two; over QUIC a dial costs about one, and the direct
// read is as fast without trusting a neighbour; on an in-memory network
// (the benchmarks' mocknet, where only writes are delayed) a dial costs
// nothing. Before the first dial is measured the member reads directly.
//
// Trust: the answer's values are validated and matched against the query
// here, as a client's (mergeValues), so a neighbour cannot forge a value,
// only leave values out: one more node, for the reads that go through it,
// that can hide values a holder holds (as the nearest holder can in any
// one-hop read). An answer without values is not taken: the read goes to
// the holders directly, so that no neighbour can answer "nothing" for a
// key that has values; with the owner's connection opening since the
// forward was sent, a miss costs about what a direct read through a dial
// costs. A neighbour that refuses, predates forwarding (it answers the Get
// as a direct one, without Done) or does not answer within a request
// timeout and a tick is not asked again for six forward timeouts, and the
// read goes to the holders directly.

// ConnState is an optional interface of a Transport whose first message
// to a peer costs more than the next ones (chordrouting/p2p: a dial before
// the stream). A Transport without it (the simulator) is taken to cost
// the same for every peer, and members then never forward their reads.
type ConnState interface {
	// Connected reports whether a direct connection to p is open now (a
	// relayed one does not count: a request over it takes the relay's
	// path each way). It must not block on the network.
	Connected(p Peer) bool
	// Prepare opens a direct connection to p in the background, sending
	// nothing over it, unless one is open or being opened; the transport
	// bounds how many it opens at once. It must not block.
	Prepare(p Peer)
	// DialCost is how much longer a request takes when a connection must
	// be opened for it, as the transport measured it (0: not measured
	// yet).
	DialCost() time.Duration
}

// maxShunned caps the neighbours a member remembers as not to be asked.
const maxShunned = 64

// memberFwd is what a member knows of the neighbours it forwards reads to.
type memberFwd struct {
	inFlight map[ID]int    // forwards in flight per neighbour
	shunned  map[ID]uint64 // neighbours that failed a forward: not asked before this tick
}

// forwardRead sends read r to a ring neighbour of its holders when a dial
// costs more than a round trip, this member has no connection to any
// holder and has one to a neighbour; it asks the transport to connect to
// the owner (holders[0]) meanwhile, and reports whether it did; false:
// the read goes to the holders directly.
func (n *Node) forwardRead(r *getReq, holders []Peer) bool {
	cs, ok := n.tr.(ConnState)
	if !ok || !n.cfg.MemberForward || r.served {
		return false
	}
	if cs.DialCost() <= n.rt.srtt {
		return false // a dial costs no more than the forward's round trip
	}
	for _, h := range holders {
		if cs.Connected(h) {
			return false // it answers in one round trip
		}
	}
	nb, ok := n.readNeighbour(r.key, holders, cs)
	if !ok {
		return false
	}
	cs.Prepare(holders[0])
	n.mf.take(nb.ID)
	m := &Message{Type: MsgGet, Forward: true, Key: r.key, Query: r.query, Count: r.limit}
	n.send(nb, m, n.memberForwardWait(), func(a *Message) {
		n.mf.give(nb.ID)
		switch {
		case a != nil && a.Type == MsgGetReply && a.Done:
			if vals := n.mergeValues(r.key, r.query, r.limit, []*Message{a}); len(vals) > 0 {
				hops := 1 + min(max(a.Count, 0), n.cfg.MaxLookupHops)
				r.done(GetResult{Values: vals, From: nb, Hops: hops})
				return
			}
			// No values: the holders are asked themselves (the file's
			// comment: a neighbour must not answer "nothing" for them).
		case !n.unsent(a):
			n.mf.shun(nb.ID, n.now, n.now+6*n.forwardTimeout())
		}
		n.readAfterForward(r)
	})
	return true
}

// memberForwardWait is how long a member waits for a neighbour's answer:
// a request timeout and a tick (the forward adds the neighbour's round
// trip to the holder to this member's own; an answer later than that
// means the neighbour's read met a dead holder, and the direct read is
// no slower), and never past the transport's deadline (ForwardWaiter).
// Like a client's, its duration and its timeout teach neither the round
// trip estimate nor the failure detector anything.
func (n *Node) memberForwardWait() pending {
	p := pending{deadline: n.now + n.timeoutTicks() + 1, forward: true, op: true}
	if w, ok := n.tr.(ForwardWaiter); ok {
		p.until = n.clock.Now().Add(w.ForwardWait())
	}
	return p
}

// readAfterForward reads r directly after a forward gave no values, the
// forward counted as a hop.
func (n *Node) readAfterForward(r *getReq) {
	if holders := n.readHolders(r.key); n.member && !n.left && len(holders) > 0 {
		if _, local := n.localAnswer(r.key); !local {
			n.readDirect(r, holders, 1)
			return
		}
	}
	n.lookupAndGet(r, 1)
}

// readNeighbour returns the first of the holders' ring neighbours (the
// owner's predecessor, then the member after the last holder) that this
// member is connected to, has not shunned, and has fewer than
// MaxForwardsPerClient of its forwards in flight with; false when there is
// none, or this member is one of them (it is next to the holders itself).
func (n *Node) readNeighbour(key ID, holders []Peer, cs ConnState) (Peer, bool) {
	nbs := n.holderNeighbours(key, len(holders))
	if containsPeer(nbs, n.self.ID) {
		return Peer{}, false
	}
	for _, p := range nbs {
		switch {
		case containsPeer(holders, p.ID) || n.mf.shunned[p.ID] > n.now:
		case n.mf.inFlight[p.ID] >= n.cfg.MaxForwardsPerClient:
		case cs.Connected(p):
			return p, true
		}
	}
	return Peer{}, false
}

// holderNeighbours names the member before the key's owner and the one
// after its first nh holders, as readHolders' source (the successor list
// for a key in its span, else the membership table) names them; none
// when neither names the owner.
func (n *Node) holderNeighbours(key ID, nh int) []Peer {
	if k, ok := n.spanIndex(key); ok {
		owners, lo := n.spanOwners(k, nil)
		out := []Peer{lo}
		if nh < len(owners) {
			out = append(out, owners[nh])
		}
		return out
	}
	i, lo, ok := n.tableOwner(key)
	if !ok {
		return nil
	}
	t := &n.oh.table
	after := t.peer((i + nh) % t.len())
	if Between(lo.ID, n.self.ID, after.ID) {
		return []Peer{n.self} // this member lies among them
	}
	return []Peer{lo, after}
}

// take counts a forward in flight with neighbour id.
func (f *memberFwd) take(id ID) {
	if f.inFlight == nil {
		f.inFlight = make(map[ID]int)
	}
	f.inFlight[id]++
}

// give uncounts a forward with neighbour id.
func (f *memberFwd) give(id ID) {
	if f.inFlight[id]--; f.inFlight[id] <= 0 {
		delete(f.inFlight, id)
	}
}

// shun keeps neighbour id from forwards until tick `until` (now is the
// current tick); with maxShunned neighbours shunned already it drops the
// ones whose time is up, and shuns none if that frees no place (the reads
// then go to that neighbour again: each costs at most a forward's wait).
func (f *memberFwd) shun(id ID, now, until uint64) {
	if f.shunned == nil {
		f.shunned = make(map[ID]uint64)
	}
	if _, ok := f.shunned[id]; !ok && len(f.shunned) >= maxShunned {
		for k, u := range f.shunned {
			if u <= now {
				delete(f.shunned, k)
			}
		}
		if len(f.shunned) >= maxShunned {
			return
		}
	}
	f.shunned[id] = until
}
