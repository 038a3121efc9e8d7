package chordrouting

import "fmt"

// Get fetches up to limit values under key that match query (opaque to
// the core; see Validator.Match) from the key's owner. If the owner does
// not answer, the next replicas are asked to answer from their copies.
func (n *Node) Get(key ID, query []byte, limit int, done func(GetResult)) {
	if done == nil {
		done = func(GetResult) {}
	}
	limit = n.getLimit(limit)
	if len(query) > n.cfg.MaxValueSize {
		done(GetResult{Err: fmt.Errorf("chordrouting: get: query of %d bytes exceeds %d", len(query), n.cfg.MaxValueSize)})
		return
	}
	if n.forwardGet(key, query, limit, done) {
		return // a client's entry points read it (forward.go)
	}
	n.get(key, query, limit, done)
}

// get is Get without a client's forwarding: the node reads through its
// own routing (a member whose holders are a dial away may forward the read
// to their ring neighbour: forward_member.go).
func (n *Node) get(key ID, query []byte, limit int, done func(GetResult)) {
	n.read(&getReq{key: key, query: query, limit: limit, done: done})
}

// getReq is one read a node runs itself.
type getReq struct {
	key   ID
	query []byte
	limit int
	done  func(GetResult)
	// served: the read runs for a requester's forward (forward_serve.go),
	// and so is never forwarded again.
	served bool
	// end, if set, is when the read must end (its requester's wait ends
	// then): its requests in flight end then, and nothing is sent after.
	end endBy
}

// read runs r: the one-hop read when the node can name the key's
// holders, else a confirmed lookup and the read at the owner.
func (n *Node) read(r *getReq) {
	if n.oneHopGet(r) {
		return
	}
	n.lookupAndGet(r, 0)
}

// maxSequentialReads caps the holders a confirmed read asks one after
// another (the owner, then replicas while each fails): each waits a
// request timeout, and a one-hop read gets here after asking every holder
// at once. 3: the plain ring's Replicas; with EnableOneHop's eight, eight
// timeouts in a row would hold a read 40 s at the daemon's tick.
const maxSequentialReads = 3

// lookupAndGet finds the key's owner with a confirmed lookup and reads
// from it, then from the next replicas if it does not answer (at most
// maxSequentialReads holders); spent is the hops already spent on this
// read.
func (n *Node) lookupAndGet(r *getReq, spent int) {
	if n.passed(r.end) {
		r.done(GetResult{Hops: spent, Err: fmt.Errorf("chordrouting: get: %w", ErrTimeout)})
		return
	}
	n.opLookupBy(r.key, r.end, func(a lookupAnswer) {
		if a.err != nil {
			r.done(GetResult{Hops: spent + a.hops, Err: fmt.Errorf("chordrouting: get: %w", a.err)})
			return
		}
		reps := a.owners[:min(len(a.owners), n.cfg.Replicas, maxSequentialReads)]
		n.getFrom(r, reps, 0, spent+a.hops)
	})
}

// getFrom asks reps[k]; the owner (k == 0) answers if responsible, the
// others are asked to answer from their replicas. After Leave it ends
// the read (ErrLeft): a request sent then would be answered only at the
// next tick, which a node that has left may never get.
func (n *Node) getFrom(r *getReq, reps []Peer, k, hops int) {
	switch {
	case n.left:
		r.done(GetResult{Hops: hops, Err: fmt.Errorf("chordrouting: get: %w", ErrLeft)})
		return
	case n.passed(r.end):
		r.done(GetResult{Hops: hops, Err: fmt.Errorf("chordrouting: get: %w", ErrTimeout)})
		return
	case k >= len(reps):
		r.done(GetResult{Hops: hops, Err: fmt.Errorf("chordrouting: get: no replica answered: %w", ErrNoPeers)})
		return
	}
	p := reps[k]
	if p.ID == n.self.ID && n.member {
		r.done(GetResult{Values: n.matching(r.key, r.query, r.limit), From: n.self, Hops: hops})
		return
	}
	hops++
	m := &Message{Type: MsgGet, Key: r.key, Query: r.query, Count: r.limit, Replica: k > 0}
	n.requestBy(p, m, false, r.end, func(m *Message) {
		if m == nil || m.Type != MsgGetReply || !m.Done {
			n.getFrom(r, reps, k+1, hops)
			return
		}
		r.done(GetResult{Values: keyValues(m.Items, r.key, r.limit), From: p, Hops: hops})
	})
}

// keyValues returns the values of up to limit items under key (a reply's
// items under other keys are ignored).
func keyValues(items []Item, key ID, limit int) [][]byte {
	vals := make([][]byte, 0, min(len(items), limit))
	for _, it := range items {
		if len(vals) == limit {
			break
		}
		if it.Key == key {
			vals = append(vals, it.Value)
		}
	}
	return vals
}

// matching returns up to limit live, non-removal values under key that
// match query.
func (n *Node) matching(key ID, query []byte, limit int) [][]byte {
	var out [][]byte
	for _, v := range n.liveValues(key) {
		if len(out) == limit {
			break
		}
		if v.Removal || !n.val.Match(key, query, v.Data) {
			continue
		}
		out = append(out, v.Data)
	}
	return out
}

// responsible reports whether this node owns key: key in (pred, self],
// or no predecessor is known (a ring of one).
func (n *Node) responsible(key ID) bool {
	return !n.hasPred || BetweenRightIncl(n.pred.ID, key, n.self.ID)
}

// onGet answers a MsgGet. A node that does not own the key answers with
// closer nodes, unless asked (Replica set) to answer from its copies (the
// owner did not answer, or a one-hop read asks the holders at once) and
// it has held them for a repair round: a node that joined less than
// RepairTicks + RepairSettleTicks ago may hold only the values stored
// since, which would end a one-hop read with a part of them.
func (n *Node) onGet(m *Message) {
	if m.Forward {
		n.onForwardGet(m)
		return
	}
	if !n.member {
		n.replyErr(m, ErrNotMember.Error())
		return
	}
	if len(m.Query) > n.cfg.MaxValueSize {
		n.replyErr(m, "query too large")
		return
	}
	if !n.responsible(m.Key) && (!m.Replica || n.now < n.youngUntil) {
		n.reply(m, &Message{Type: MsgGetReply, Key: m.Key,
			Peers: n.closestPreceding(m.Key, n.cfg.LookupCandidates, nil)})
		return
	}
	vals := n.matching(m.Key, m.Query, n.getLimit(m.Count))
	n.reply(m, &Message{Type: MsgGetReply, Key: m.Key, Done: true, Items: valueItems(m.Key, vals)})
}

// getLimit is a Get's limit as asked (by a caller, or a request's Count):
// MaxGetValues when it is not positive or above it.
func (n *Node) getLimit(limit int) int {
	if limit <= 0 || limit > n.cfg.MaxGetValues {
		return n.cfg.MaxGetValues
	}
	return limit
}

// valueItems returns the values under key as a reply's items.
func valueItems(key ID, vals [][]byte) []Item {
	items := make([]Item, len(vals))
	for k, v := range vals {
		items[k] = Item{Key: key, Value: v}
	}
	return items
}
