package chordrouting

import (
	"slices"
	"time"
)

// This file is a client's side of forwarding (Config.ClientForward): a
// node that is not a member sends each Get and each batch of a Put to its
// entry points as one forwarded request (Message.Forward), which the entry
// runs as its own operation (forward_serve.go) and answers once it ends.
// The client then talks to its entry points only: behind NAT every other
// node is a dial (or a relay) away, and the iterative path costs a
// lookup's hops from two entry points plus the read at the owner.
//
// Trust: records are signed by their publishers, so an entry cannot forge
// a value, only leave values out or drop a store. As crosscheck.go does
// for lookups, a client with two or more entry points sends each
// forwarded request to the first two at once:
//
//   - A Get merges both answers: the values each sends are validated and
//     matched against the query here (junk, expired records and removals
//     are dropped, so that they cannot take the place of real values),
//     one value per identity is kept (the highest version), taken from
//     the two answers in turn up to the limit, so that neither fills it
//     alone. One entry that leaves values out is covered by the other;
//     two that agree to are not (an eclipse, SECURITY.md). A liar can
//     still answer with an old version of a record its publisher has
//     since withdrawn (owners do not send removals), and records of its
//     own that match take up to half the places.
//   - A Put batch counts as stored when either entry acknowledges it
//     (Done, without Err): an entry that drops stores cannot keep a
//     record off the ring while the other forwards it. It does not help
//     against an entry that acknowledges and drops when the other
//     fails, and the owner gets each item twice (the second copy is
//     stale, and counted as stored).
//
// An entry that refuses (MsgError: busy, not a member), does not answer
// within the forward timeout, or predates forwarding (it answers a direct
// Get or Store: no Done) leaves the client to run the operation itself,
// as without forwarding; when both of two fail, it does. (An entry that
// predates forwarding stores a forwarded batch as a direct store, on
// itself and its replicas though it may not own the keys; repair offers
// such values to their owner and drops them, repair.go.) With one entry
// failed the other's answer is taken unchecked, as a failed lookup leaves
// the other in crosscheck.go. Lookups stay iterative (crosscheck.go):
// their answer is the owner itself, which the client must see confirmed.

// forwardWindow is how many batches of one Put a client keeps in flight
// with its entry points at once (MaxForwardsPerClient leaves room for a
// search beside it).
const forwardWindow = 4

// forwardEntries returns the entry points a client forwards to (the first
// two), or nil when this node runs its operations itself: a member (it
// has its own routing), or forwarding is off.
func (n *Node) forwardEntries() []Peer {
	if !n.cfg.ClientForward || n.member || n.left {
		return nil
	}
	es := appendPeers(nil, n.entry, n.self.ID)
	live := slices.DeleteFunc(slices.Clone(es), func(p Peer) bool { return n.fc.deadUntil[p.ID] > n.now })
	if len(live) > 0 {
		es = live
	}
	return es[:min(len(es), 2)]
}

// fwdClient is what a client knows of its entry points' health.
type fwdClient struct {
	// probing: entry points pinged now (demoteIfSilent), one ping each.
	probing map[ID]bool
	// deadUntil: entry points whose ping timed out are left out of the
	// two a forward goes to until this tick (unless every entry point
	// is), since with two entry points demoting one changes nothing.
	deadUntil map[ID]uint64
}

// ForwardWaiter is an optional interface of a Transport whose exchanges
// end at a deadline of their own (chordrouting/p2p: a request's stream
// lives RequestTimeout). ForwardWait is the longest a forwarded request's
// answer can come back after it was sent: a client waits no longer for it
// (requestForward), whatever its forward timeout in ticks.
type ForwardWaiter interface {
	ForwardWait() time.Duration
}

// forwardTimeout is how many ticks a forwarded request waits for its
// answer (Config.ForwardTimeoutTicks): at least twice the request
// timeout, since the answer takes the entry's own requests too. On a
// transport with a deadline of its own (ForwardWaiter) the request also
// ends at the first tick at or after that deadline.
func (n *Node) forwardTimeout() uint64 {
	return max(uint64(n.cfg.ForwardTimeoutTicks), min(2*n.timeoutTicks(), uint64(n.cfg.LookupTimeoutTicks)))
}

// forwardPending is the wait of a forwarded request (requestForward, a
// member's forwarded read): ticks, and never past the transport's
// deadline (ForwardWaiter).
func (n *Node) forwardPending(ticks uint64) pending {
	p := pending{deadline: n.now + ticks, forward: true, op: true}
	if w, ok := n.tr.(ForwardWaiter); ok {
		p.until = n.clock.Now().Add(w.ForwardWait())
	}
	return p
}

// forwardRound sends m (a forwarded request, copied per entry) to each
// entry and calls done with the answers, in the entries' order (nil: none,
// or one that is no answer per ok), once all have come or timed out.
//
// Once one has answered in full (full: a Get's answer with a valid value,
// a store acknowledged for every item), the others get one request
// timeout more: the entries run the same operation, so a much slower one
// is most likely dead, and a dead entry must not cost every operation the
// whole forward timeout. An answer that is not full (an empty read, a
// partial store) shortens nothing: a liar answering "nothing" at once
// would otherwise cut the wait for an honest entry whose read needs a
// fallback. (A liar that answers with records of its own still shortens
// it; an honest read is one round trip to the nearest holder with
// values, ReadFanout, so this cuts only one whose own read met trouble.)
//
// An entry that refuses (MsgError), predates forwarding (it answers
// without Done) or does not answer within its own timeout moves behind
// the other entry points; one whose wait was shortened is pinged, and
// moves only if the ping times out too (dead, not slow).
func (n *Node) forwardRound(entries []Peer, m *Message, ok, full func(*Message) bool, done func([]*Message)) {
	answers := make([]*Message, len(entries))
	reqs := make([]*Message, len(entries))
	hurried := make([]bool, len(entries))
	left := len(entries)
	for i, e := range entries {
		req := *m
		reqs[i] = &req
		n.requestForward(e, &req, func(r *Message) {
			switch {
			case r != nil && ok(r):
				answers[i] = r
				if full(r) {
					for j, rq := range reqs {
						if j != i && answers[j] == nil && n.hurry(rq, n.now+n.timeoutTicks()) {
							hurried[j] = true
						}
					}
				}
			case n.unsent(r):
				// Never asked: nothing is known of the entry.
			case r == nil && hurried[i]:
				// Its wait was cut short: it may be slow, not dead. A
				// ping tells: a dead entry must not cost every later
				// operation the shortened wait.
				n.demoteIfSilent(e)
			case r == nil || r.Type == MsgError || !r.Done:
				n.demoteEntry(e.ID)
			}
			if left--; left == 0 {
				done(answers)
			}
		})
	}
}

// hurry brings the deadline of request m forward to at most deadline,
// and reports whether it did. A request held for its peer's cap has no
// ID yet (launch sets it on m when it is sent): it is found by its
// message (hurryHeld).
func (n *Node) hurry(m *Message, deadline uint64) bool {
	id := m.ID
	if id == 0 {
		return n.hurryHeld(m, deadline)
	}
	cut := false
	for k := range n.pending {
		if p := &n.pending[k]; p.id == id && id != 0 && p.deadline > deadline {
			p.deadline, cut = deadline, true
		}
	}
	return cut
}

// demoteIfSilent pings entry e, unless a ping of it is already out, and
// if the ping times out demotes it and leaves it out of forwards for
// six forward timeouts (a ping that was never sent says nothing).
func (n *Node) demoteIfSilent(e Peer) {
	if n.fc.probing[e.ID] {
		return
	}
	if n.fc.probing == nil {
		n.fc.probing, n.fc.deadUntil = map[ID]bool{}, map[ID]uint64{}
	}
	n.fc.probing[e.ID] = true
	n.request(e, &Message{Type: MsgPing}, func(r *Message) {
		delete(n.fc.probing, e.ID)
		if r == nil {
			n.demoteEntry(e.ID)
			n.fc.deadUntil[e.ID] = n.now + 6*n.forwardTimeout()
		}
	})
}

// demoteEntry moves entry point id behind the others: it did not answer.
func (n *Node) demoteEntry(id ID) {
	if k := slices.IndexFunc(n.entry, func(p Peer) bool { return p.ID == id }); k >= 0 {
		p := n.entry[k]
		n.entry = append(append(n.entry[:k:k], n.entry[k+1:]...), p)
	}
}

// forwardGet sends a client's Get to its entry points and merges their
// answers; it reports false, sending nothing, when this node does not
// forward. When no entry answers, the client reads through its own
// lookup, the forward counted as a hop.
func (n *Node) forwardGet(key ID, query []byte, limit int, done func(GetResult)) bool {
	entries := n.forwardEntries()
	if len(entries) == 0 {
		return false
	}
	m := &Message{Type: MsgGet, Forward: true, Key: key, Query: query, Count: limit}
	ok := func(r *Message) bool { return r.Type == MsgGetReply && r.Done }
	full := func(r *Message) bool { return len(n.mergeValues(key, query, limit, []*Message{r})) > 0 }
	n.forwardRound(entries, m, ok, full, func(answers []*Message) {
		var got []*Message
		var from Peer
		hops := 0
		for i, a := range answers {
			if a == nil {
				continue
			}
			if len(got) == 0 {
				from = entries[i]
			}
			got = append(got, a)
			hops = max(hops, min(a.Count, n.cfg.MaxLookupHops))
		}
		if len(got) == 0 {
			n.lookupAndGet(&getReq{key: key, query: query, limit: limit, done: done}, 1)
			return
		}
		done(GetResult{Values: n.mergeValues(key, query, limit, got), From: from, Hops: 1 + hops})
	})
	return true
}

// mergeValues returns the values under key of the answers, validated and
// matching query, one per identity (its highest version), taken from the
// answers in turn, at most limit.
func (n *Node) mergeValues(key ID, query []byte, limit int, answers []*Message) [][]byte {
	type value struct {
		info ValueInfo
		data []byte
	}
	now := n.clock.Now()
	lists := make([][]value, len(answers))
	for i, a := range answers {
		for _, v := range keyValues(a.Items, key, limit) {
			info, err := n.checkValue(key, v, now)
			if err != nil || info.Removal || !n.val.Match(key, query, v) {
				continue
			}
			lists[i] = append(lists[i], value{info, v})
		}
	}
	var out []value
	at := map[string]int{}
	for k := 0; k < limit; k++ {
		for _, l := range lists {
			if k >= len(l) {
				continue
			}
			v := l[k]
			if j, seen := at[v.info.Identity]; seen {
				if v.info.Version > out[j].info.Version {
					out[j] = v
				}
				continue
			}
			if len(out) < limit {
				at[v.info.Identity] = len(out)
				out = append(out, v)
			}
		}
	}
	vals := make([][]byte, len(out))
	for k, v := range out {
		vals[k] = v.data
	}
	return vals
}

// forwardPut sends a client's Put to its entry points, a batch of at most
// ForwardBatchItems items at a time (forwardWindow batches in flight);
// the batches no entry stored go the client's own way (putRound) at the
// end. It reports false when this node does not forward.
func (n *Node) forwardPut(op *putOp) bool {
	entries := n.forwardEntries()
	if len(entries) == 0 || len(op.items) == 0 {
		return false
	}
	fp := &fwdPut{op: op, entries: entries}
	for items := op.items; len(items) > 0; {
		k := min(len(items), n.cfg.ForwardBatchItems)
		fp.batches = append(fp.batches, items[:k:k])
		items = items[k:]
	}
	for fp.next < len(fp.batches) && fp.inFlight < forwardWindow {
		n.forwardBatch(fp)
	}
	return true
}

// fwdPut is a client's forwarded Put in progress.
type fwdPut struct {
	op       *putOp
	entries  []Peer
	batches  [][]Item
	next     int // the next batch to send
	inFlight int
	failed   []Item // batches no entry stored
}

// forwardBatch sends the next batch to the entries.
func (n *Node) forwardBatch(fp *fwdPut) {
	batch := fp.batches[fp.next]
	fp.next++
	fp.inFlight++
	fp.op.res.RPCs += len(fp.entries)
	m := &Message{Type: MsgStore, Forward: true, Items: batch}
	ok := func(r *Message) bool { return r.Type == MsgStoreAck && r.Done && r.Err == "" }
	full := func(r *Message) bool { return r.Count >= len(batch) }
	n.forwardRound(fp.entries, m, ok, full, func(answers []*Message) {
		fp.inFlight--
		stored := -1
		for _, a := range answers {
			if a != nil {
				stored = max(stored, min(max(a.Count, 0), len(batch)))
			}
		}
		if stored < 0 {
			fp.failed = append(fp.failed, batch...)
		} else {
			fp.op.res.Stored += stored
		}
		if n.left {
			// Left: the batches not sent fail now (sent, they would be
			// answered only at a tick a node that has left may not get).
			for _, b := range fp.batches[fp.next:] {
				fp.failed = append(fp.failed, b...)
			}
			fp.next = len(fp.batches)
		}
		if fp.next < len(fp.batches) {
			n.forwardBatch(fp)
			return
		}
		if fp.inFlight == 0 {
			n.forwardPutDone(fp)
		}
	})
}

// forwardPutDone reports the Put, or runs the batches no entry stored
// the client's own way.
func (n *Node) forwardPutDone(fp *fwdPut) {
	op := fp.op
	if len(fp.failed) == 0 {
		op.done(op.res)
		return
	}
	op.items = fp.failed
	sortByKey(op.items)
	n.putRound(op)
}
