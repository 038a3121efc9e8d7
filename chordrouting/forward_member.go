package chordrouting

// This file is forwarding for members (Config.MemberForward): a member
// whose one-hop read would have to open a connection to every holder of
// the key (a dial: over TCP the handshake, the security negotiation and
// the multiplexer, about three round trips before the request) sends the
// read instead to a ring neighbour of the holders it has a connection to,
// as a forwarded Get (Message.Forward), which the neighbour runs as its
// own read over its open connections and answers on the same request: one
// round trip more than a read over an open connection, two fewer than a
// dial. Meanwhile the transport opens connections to the holders in the
// background, so the next read of their keys goes direct, to the nearest
// holder as without forwarding (opening the owner's alone, as the issue
// proposed, leaves later reads waiting for the owner where a direct read
// would have opened all three and taken the nearest: on the dial model of
// BenchmarkMemberForwardReadLatency a mean read of 153.7 ms instead of
// 150.8).
//
// The neighbours are the members ring maintenance keeps talking to the
// owner (holderNeighbours): its predecessor, which stabilizes onto it
// every round, the member just after the last holder, onto which the
// last holder stabilizes, and the members 2^l places before the owner,
// which push their repairs (l = 1 with three replicas, l <= 2 with
// eight) or send their membership events (every level) to it. Taking the predecessor and the
// member after alone, as the issue proposed, a reader forwarded few
// reads: it is no likelier to be connected to them than to the holders
// (6.6% of the reads of BenchmarkMemberForwardReadLatency at 500 members,
// 30% with the others).
//
// The neighbour serves the read like a client's (forward_serve.go): only
// members run forwards, the read it runs is never forwarded again, and
// its per-requester cap (MaxForwardsPerClient) counts this member like a
// client; this member keeps no more forwards than that in flight with one
// neighbour, so that a burst of reads into one range is not refused.
//
// It does so only when a dial costs more than two round trips over an
// open connection (three holders; forwardDialRTTs for k), as the
// transport measures both
// (ConnState.DialRoundTrips). A forward adds one round trip (the
// neighbour's to the nearest holder), but the direct read dials every
// holder at once and the nearest answers first, whose dial is shorter
// than the mean: with round trips spread over 10-150 ms the two break
// even at a dial of about 1.8 round trips (three holders' dials of k
// round trips each, nearest first: (k+1)·45 ms; a forward: 80 + 45 ms).
// Over TCP a dial costs about three round trips and the forward wins; over
// QUIC about one, and the direct read is faster (in
// BenchmarkMemberForwardReadLatency a mean of 86.8 ms, 100.4 when every
// read that could forwarded); on an in-memory network (the benchmarks'
// mocknet, where only writes are delayed) a dial costs nothing. The
// member's own smoothed round trip would not do as the measure: it
// includes the dials of first requests. Until the transport has measured
// both the member reads directly.
//
// Trust: the answer's values are validated and matched against the query
// here, as a client's (mergeValues), so a neighbour cannot forge a value,
// only leave values out, or hand back an older signed version of a value,
// or one since removed, until it expires (as a holder or a client's entry
// point can): one more node, for the reads that go through it, that can
// hide or age values a holder holds (as the nearest holder can in any
// one-hop read). An answer without values is not taken: the read goes to
// the holders directly, so that no neighbour can answer "nothing" for a
// key that has values; with the holders' connections opening since the
// forward was sent, a miss costs about what a direct read through a dial
// costs. A neighbour with no connection to the holders refuses at once
// (its read would dial them a round trip after this member's own), and
// the member reads directly, as it does when the neighbour still runs
// MaxForwardsPerClient of its forwards. A neighbour that refuses
// otherwise, predates forwarding (it answers the Get as a direct one,
// without Done) or does not answer within memberForwardWait (two
// retransmission timeouts, in ticks) is not asked again for six forward
// timeouts, and the read goes to the holders directly.

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
	// DialRoundTrips is how many round trips over an open connection
	// opening a connection costs, as the transport measured both (0: not
	// measured yet).
	DialRoundTrips() float64
}

// forwardDialRTTs is the dial cost, in round trips, above which a member
// forwards a read to k holders rather than dial them: (k+1)/2. A direct
// read with dials of D round trips waits about (D+1) times the nearest
// holder's round trip, a forward one round trip to the neighbour and the
// neighbour's to the nearest holder; with round trips spread evenly from
// near zero, the nearest of k is 1/(k+1) of the range, the neighbour half
// of it, so the two break even at D = (k+1)/2: 2 for three holders (1.8
// over 10-150 ms, above), 4.5 for the daemon's eight (3.1 over 10-150 ms),
// where TCP's three round trips no longer pay for a forward
// (BenchmarkMemberForwardReadLatency, eight holders, 3-round-trip dials:
// a mean read of 88.5 ms forwarded against 83.2 direct), and 1 for the
// owner alone.
func forwardDialRTTs(k int) float64 { return float64(k+1) / 2 }

// errNoHolderConn is the Err of a neighbour's refusal of a member's
// forwarded read when it holds no connection to the key's holders.
const errNoHolderConn = "forwarded get: no connection to the holders"

// errForwardBusyClient is the Err of a refused forward whose requester
// has MaxForwardsPerClient running here already.
const errForwardBusyClient = "forwarding busy for this client"

// maxShunned caps the neighbours a member remembers as not to be asked.
const maxShunned = 64

// memberFwd is what a member knows of the neighbours it forwards reads to.
type memberFwd struct {
	inFlight map[ID]int    // forwards in flight per neighbour
	shunned  map[ID]uint64 // neighbours that failed a forward: not asked before this tick
}

// forwardRead sends read r to a ring neighbour of its holders when a dial
// costs more than a forward (forwardDialRTTs), this member has no connection to any
// holder and has one to a neighbour; it asks the transport to connect to
// the holders meanwhile, and reports whether it did; false: the read goes
// to the holders directly.
func (n *Node) forwardRead(r *getReq, holders []Peer) bool {
	cs, ok := n.tr.(ConnState)
	if !ok || !n.cfg.MemberForward || r.served {
		return false
	}
	if cs.DialRoundTrips() <= forwardDialRTTs(len(holders)) {
		return false // a dial costs little more than the forward's round trip
	}
	if anyConnected(cs, holders) {
		return false // it answers in one round trip
	}
	nb, ok := n.readNeighbour(r.key, holders, cs)
	if !ok {
		return false
	}
	for _, h := range holders {
		cs.Prepare(h)
	}
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
		case a != nil && a.Type == MsgError && (a.Err == errNoHolderConn || a.Err == errForwardBusyClient):
			// Not connected to these holders (maybe to others'), or
			// still running a forward of this member's that it gave up
			// on (the two ends' waits differ with their round trips).
		case !n.unsent(a):
			n.mf.shun(nb.ID, n.now, n.now+6*n.forwardTimeout())
		}
		n.readAfterForward(r)
	})
	return true
}

// memberForwardWait is how long a member waits for a neighbour's answer:
// memberForwardTicks and a tick for the answer to come, and never past
// the transport's deadline (ForwardWaiter). Like a client's, its duration
// and its timeout teach neither the round trip estimate nor the failure
// detector anything.
func (n *Node) memberForwardWait() pending {
	return n.forwardPending(n.memberForwardTicks() + 1)
}

// minMemberForwardTicks is the shortest a member's forwarded read may
// take: a tick ends a request anywhere from none to one tick after it
// was sent, so one tick could end a read that took a round trip.
const minMemberForwardTicks = 2

// memberForwardTicks is how many ticks a member's forwarded read may take,
// at both ends: the member waits that and a tick (memberForwardWait), and
// the neighbour ends its read after that (forwardEndFor), so that both
// give up the forward's place in MaxForwardsPerClient at about the same
// tick (the neighbour's a tick earlier, when their round trips agree): a
// member that freed it first would send forwards the neighbour refuses.
// It is two retransmission timeouts (the forward is this member's round
// trip and the neighbour's to the nearest holder), rounded up to ticks,
// with a tick for the granularity, at least minMemberForwardTicks and at
// most a request timeout; a request timeout until round trips are
// measured. An answer later than that means the neighbour's read met a
// dead holder, or the neighbour has crashed behind a connection that
// still looks open: either way the direct read is no slower, and a
// crashed neighbour holds MaxForwardsPerClient reads that much, not a
// whole request timeout each.
func (n *Node) memberForwardTicks() uint64 {
	full := n.timeoutTicks()
	r := &n.rt
	if r.tick <= 0 || r.srtt == 0 {
		return full
	}
	need := uint64((2*(r.srtt+4*r.rttvar)+r.tick-1)/r.tick) + 1
	return min(full, max(minMemberForwardTicks, need))
}

// readAfterForward reads r directly after a forward gave no values, the
// forward counted as a hop.
func (n *Node) readAfterForward(r *getReq) {
	if holders := n.oneHopHolders(r.key); len(holders) > 0 {
		n.readDirect(r, holders, 1)
		return
	}
	n.lookupAndGet(r, 1)
}

// readNeighbour returns the first of the holders' ring neighbours
// (holderNeighbours) that this member is connected to, has not shunned,
// and has fewer than MaxForwardsPerClient of its forwards in flight with;
// false when there is none, or this member is the owner's predecessor or
// the member after the holders (it is next to them itself).
func (n *Node) readNeighbour(key ID, holders []Peer, cs ConnState) (Peer, bool) {
	nbs := n.holderNeighbours(key, len(holders))
	if containsPeer(nbs[:min(2, len(nbs))], n.self.ID) {
		return Peer{}, false
	}
	for _, p := range nbs {
		switch {
		case p.ID == n.self.ID || containsPeer(holders, p.ID) || n.mf.shunned[p.ID] > n.now:
		case n.mf.inFlight[p.ID] >= n.cfg.MaxForwardsPerClient:
		case cs.Connected(p):
			return p, true
		}
	}
	return Peer{}, false
}

// holderNeighbours names the members that ring maintenance keeps talking
// to the key's owner, best first: its predecessor (stabilization, and
// repair: it pushes its own range to the owner), the member after the
// first nh holders (the last holder stabilizes onto it), then the members
// 2, 4, 8, ... places before the owner (the one 2 before pushes its
// repairs to it; each sends the owner its membership events at the level
// that reaches it, every few seconds under churn), from the table. The
// predecessor, and the member after the holders when it is known there,
// come from readHolders' source: the successor list for a key in its
// span (the member after is missing when the list ends at the last
// holder, and the table's members before the owner follow the
// predecessor), else the table. None when neither names the owner; the
// first is this member when it lies among the holders' neighbours.
func (n *Node) holderNeighbours(key ID, nh int) []Peer {
	var out []Peer
	if k, ok := n.spanIndex(key); ok {
		owners, lo := n.spanOwners(k, nil)
		out = append(out, lo)
		if nh < len(owners) {
			out = append(out, owners[nh])
		}
	}
	i, lo, ok := n.tableOwner(key)
	if !ok {
		return out
	}
	t := &n.oh.table
	if len(out) == 0 {
		after := t.peer((i + nh) % t.len())
		if Between(lo.ID, n.self.ID, after.ID) {
			return []Peer{n.self} // this member lies among them
		}
		out = append(out, lo, after)
	}
	for l := 2; l < t.len(); l *= 2 {
		if p := t.peer(((i-l)%t.len() + t.len()) % t.len()); !containsPeer(out, p.ID) {
			out = append(out, p)
		}
	}
	return out
}

// unconnectedFor reports whether forwarded read m comes from a member
// (one in the membership table: a client is not) and this node, on a
// transport that reports connections, holds none to the key's holders:
// its read would dial them as the member's own would, a round trip later,
// so it refuses at once, and the member, whose connections to the holders
// have been opening since it sent the forward, reads directly. The
// neighbours a member picks keep a connection to the owner while the ring
// maintains it there (holderNeighbours), most surely the two next to the
// holders, the others while membership events flow.
func (n *Node) unconnectedFor(m *Message) bool {
	cs, ok := n.tr.(ConnState)
	if !ok || !n.member || !n.cfg.OneHop {
		return false
	}
	if _, member := n.oh.table.find(m.From.ID); !member {
		return false
	}
	if _, local := n.localAnswer(m.Key); local {
		return false
	}
	holders := n.readHolders(m.Key)
	return len(holders) > 0 && !anyConnected(cs, holders)
}

// anyConnected reports whether cs has a connection open to any of peers.
func anyConnected(cs ConnState, peers []Peer) bool {
	for _, p := range peers {
		if cs.Connected(p) {
			return true
		}
	}
	return false
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
