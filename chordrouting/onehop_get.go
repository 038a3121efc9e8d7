package chordrouting

// This file is the one-round-trip read of one-hop mode: a Get goes
// straight to the key's holders the membership table names, the owner
// and its replicas at once.

// oneHopGet sends the Get straight to the owner the membership table
// names, without confirming it first: the owner's own check of its range
// (onGet answers Done only for a key in (pred, self]) is the same check
// a confirming state query makes, so a fresh entry answers the read in
// one round trip, the physical limit. A key in the range of this node's
// successor list goes the same way to the owner the list names (the list
// is fresher than the table there; confirming it first would cost a
// second round trip, for a fifth of all keys at 50 nodes with r = 8).
//
// The next ReadFanout-1 members after the owner hold the key's replicas
// (the owner pushes each store to them, and repair fills what a push
// missed), and they are asked at the same moment, with Replica set, so
// the read waits for the nearest of the holders rather than for the
// owner: the first answer with values ends it. An answer without values
// ends it only from the owner (a replica may not have the latest push
// yet). A stale owner entry (the node has left, or a node joined before
// it and took the key) answers not Done or times out; once every holder
// asked has answered or timed out without a usable answer, the read
// falls back to the confirmed lookup. It reports false, sending nothing,
// when neither can name the owner or the answer needs no message (this
// node owns the key).
//
// A member whose transport tells it has no connection to any holder may
// send the read to a ring neighbour of the holders instead
// (forward_member.go), falling back to this direct read when that fails.
func (n *Node) oneHopGet(r *getReq) bool {
	holders := n.oneHopHolders(r.key)
	if len(holders) == 0 {
		return false
	}
	if n.forwardRead(r, holders) {
		return true
	}
	n.readDirect(r, holders, 0)
	return true
}

// oneHopHolders names the holders a one-hop read of key asks
// (readHolders), or none when there is no one-hop read: this node is no
// member (or has left), runs without OneHop, or answers for the key
// itself (localAnswer).
func (n *Node) oneHopHolders(key ID) []Peer {
	if !n.member || n.left || !n.cfg.OneHop {
		return nil
	}
	if _, ok := n.localAnswer(key); ok {
		return nil
	}
	return n.readHolders(key)
}

// readDirect asks the holders at once; spent is the hops already spent
// on this read (a forward that failed).
func (n *Node) readDirect(r *getReq, holders []Peer, spent int) {
	op := &readOp{getReq: r, waiting: len(holders), spent: spent}
	for k, p := range holders {
		owner := k == 0
		m := &Message{Type: MsgGet, Key: r.key, Query: r.query, Count: r.limit, Replica: !owner}
		n.requestBy(p, m, false, r.end, func(m *Message) {
			n.readAnswered(op, p, owner, m)
		})
	}
}

// readOp is a one-hop read in flight.
type readOp struct {
	*getReq
	waiting int  // holders asked that have not answered or timed out
	spent   int  // hops spent before the holders were asked
	over    bool // done has been called
}

// readHolders names the key's owner and the members after it, up to
// ReadFanout (at most Replicas) nodes, this node left out; none when
// neither the successor list nor the table names the owner, or the owner
// is this node. For a key in the range of the successor list the list
// names the owner and the members after it, and the table the rest when
// the list ends first (a key near its end: with eight holders, most keys
// of the list's range).
func (n *Node) readHolders(key ID) []Peer {
	want := min(n.cfg.ReadFanout, n.cfg.Replicas)
	var cands []Peer
	if k, ok := n.spanIndex(key); ok {
		owners, _ := n.spanOwners(k, nil)
		cands = append(make([]Peer, 0, want), owners[:min(want, len(owners))]...) // owners is the list's own
		for len(cands) < want {
			p, ok := n.oh.table.after(cands[len(cands)-1].ID, 1)
			if !ok || containsPeer(cands, p.ID) {
				break
			}
			cands = append(cands, p)
		}
	} else if i, _, ok := n.tableOwner(key); ok {
		// The table leaves this node out: where it lies among the
		// holders, it takes one of their places.
		t := &n.oh.table
		for j, places := 0, 0; places < want && j < t.len(); j++ {
			p := t.peer((i + j) % t.len())
			if j > 0 && Between(cands[len(cands)-1].ID, n.self.ID, p.ID) {
				if places++; places == want {
					break
				}
			}
			cands = append(cands, p)
			places++
		}
	} else {
		return nil
	}
	holders := make([]Peer, 0, len(cands))
	for _, p := range cands {
		if containsPeer(holders, p.ID) {
			break // round the ring: every node is named
		}
		if p.ID != n.self.ID { // a holder itself: it asks the others
			holders = append(holders, p)
		}
	}
	return holders
}

// readAnswered takes one holder's answer (m nil: it timed out): the
// owner's answer, or a replica's with values, ends the read; when the
// last holder has answered without ending it, the read falls back to the
// confirmed lookup, the refused read counted as a hop.
func (n *Node) readAnswered(op *readOp, from Peer, owner bool, m *Message) {
	op.waiting--
	if op.over {
		return
	}
	if m != nil && m.Type == MsgGetReply && m.Done {
		vals := keyValues(m.Items, op.key, op.limit)
		if owner || len(vals) > 0 {
			op.over = true
			op.done(GetResult{Values: vals, From: from, Hops: op.spent + 1})
			return
		}
	}
	if op.waiting == 0 {
		op.over = true
		n.lookupAndGet(op.getReq, op.spent+1)
	}
}
