package chordrouting

// This file is the one-round-trip read of one-hop mode: a Get goes
// straight to the owner the membership table names.

// oneHopGet sends the Get straight to the owner the membership table
// names, without confirming it first: the owner's own check of its range
// (onGet answers Done only for a key in (pred, self]) is the same check
// a confirming state query makes, so a fresh entry answers the read in
// one round trip, the physical limit. A stale entry (the node has left,
// or a node joined before it and took the key) answers not Done or
// times out, and the read falls back to the confirmed lookup. It
// reports false, sending nothing, when the table cannot name the owner
// or the answer needs no message (the key is in this node's own span).
func (n *Node) oneHopGet(key ID, query []byte, limit int, done func(GetResult)) bool {
	if !n.member {
		return false
	}
	if _, ok := n.localAnswer(key); ok {
		return false
	}
	if _, ok := n.spanIndex(key); ok {
		return false
	}
	i, _, ok := n.tableOwner(key)
	if !ok {
		return false
	}
	o := n.oh.table.peer(i)
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
