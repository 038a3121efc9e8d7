package chordrouting

// This file is the one-round-trip read of one-hop mode: a Get goes
// straight to the owner the membership table names.

// oneHopGet sends the Get straight to the owner the membership table
// names, without confirming it first: the owner's own check of its range
// (onGet answers Done only for a key in (pred, self]) is the same check
// a confirming state query makes, so a fresh entry answers the read in
// one round trip, the physical limit. A stale entry (the node has left,
// or a node joined before it and took the key) answers not Done or
// times out, and the read falls back to the confirmed lookup. A key in
// the range of this node's successor list goes the same way to the owner
// the list names (the list is fresher than the table there; confirming
// it first would cost a second round trip, for a fifth of all keys at 50
// nodes with r = 8). It reports false, sending nothing, when neither can
// name the owner or the answer needs no message (this node owns the key).
func (n *Node) oneHopGet(key ID, query []byte, limit int, done func(GetResult)) bool {
	if !n.member || !n.cfg.OneHop {
		return false
	}
	if _, ok := n.localAnswer(key); ok {
		return false
	}
	var o Peer
	if k, ok := n.spanIndex(key); ok {
		owners, _ := n.spanOwners(k, nil)
		o = owners[0]
	} else if i, _, ok := n.tableOwner(key); ok {
		o = n.oh.table.peer(i)
	} else {
		return false
	}
	if o.ID == n.self.ID {
		return false
	}
	n.request(o, &Message{Type: MsgGet, Key: key, Query: query, Count: limit}, func(m *Message) {
		if m == nil || m.Type != MsgGetReply || !m.Done {
			n.lookupAndGet(key, query, limit, 1, done)
			return
		}
		done(GetResult{Values: keyValues(m.Items, key, limit), From: o, Hops: 1})
	})
	return true
}
