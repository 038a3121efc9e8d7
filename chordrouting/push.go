package chordrouting

// This file sends replica stores (an owner's pushes to its replicas,
// handoffs to a joiner, what a digest reply names, what a replica pushes
// back to its owner) to each peer through a small window: one message at
// a time, the next when its acknowledgement comes.

// pushWindow is how many replica store messages one peer has in flight
// from this node. Sent all at once, a handoff of 10,000 values (40
// messages of MaxItemsPerMessage) went to one peer together, above what
// its transport takes from one peer (chordrouting/p2p:
// MaxInboundPerPeer), which reset the rest, a stabilize query or a ping
// among them, and the handed-off values in the reset messages were lost
// until repair. 4: Config.MaintenancePerPeer counts it; 10,000 values
// then take 10 round trips (1.5 s at 150 ms), and pushes that wait
// meanwhile go out together, up to MaxItemsPerMessage a message. A window
// of 1 cost one-hop routing in the simulator (kwnode sim --nodes 5000
// --session 1h --one-hop --seed 1, then with three replicas: 99.07% of
// lookups in one hop and 2.06
// kbit/s per node, against 99.24% and 2.01 with 4, and 99.28% and 1.95
// sending all at once).
const pushWindow = 4

// maxPushQueued bounds the items waiting for one peer: 64 messages'
// worth (16,384 at the default MaxItemsPerMessage), more than a handoff
// of the default per-node load; beyond it items are dropped, and repair
// offers them again (its digests name every value the owner holds).
const maxPushQueued = 64

// pushQueue is the replica stores waiting for one peer.
type pushQueue struct {
	to       Peer
	items    []Item
	inFlight int
}

// pushItems sends items to p as replica stores, in messages of at most
// MaxItemsPerMessage, pushWindow at a time (queued behind what already
// waits for p). A message that times out drops what still waits for p
// (p is taken for dead; repair offers the values again); one refused or
// unsent is skipped.
func (n *Node) pushItems(p Peer, items []Item) {
	if len(items) == 0 || n.left || p.ID == n.self.ID {
		return
	}
	q := n.pushes[p.ID]
	if q == nil {
		if n.pushes == nil {
			n.pushes = make(map[ID]*pushQueue)
		}
		q = &pushQueue{to: p}
		n.pushes[p.ID] = q
	}
	room := maxPushQueued*n.cfg.MaxItemsPerMessage - len(q.items)
	q.items = append(q.items, items[:max(0, min(len(items), room))]...)
	n.pumpPush(q)
}

// pumpPush sends q's next messages while its window has room, and
// forgets q once it is empty.
func (n *Node) pumpPush(q *pushQueue) {
	for q.inFlight < pushWindow && len(q.items) > 0 && !n.left {
		k := min(len(q.items), n.cfg.MaxItemsPerMessage)
		chunk := q.items[:k:k]
		q.items = q.items[k:]
		q.inFlight++
		n.request(q.to, &Message{Type: MsgStore, Replica: true, Items: chunk}, func(m *Message) {
			q.inFlight--
			if m == nil {
				q.items = nil
			}
			n.pumpPush(q)
		})
	}
	if n.left {
		q.items = nil
	}
	if q.inFlight == 0 && len(q.items) == 0 && n.pushes[q.to.ID] == q {
		delete(n.pushes, q.to.ID)
	}
}

// leaveChunks is how many messages of values Leave hands its successor:
// sent at once as the node goes (it can wait for no acknowledgement; its
// requests in flight are cancelled, and their places at the successor
// free only as the resets arrive), they must fit in the headroom of the
// successor's transport per peer (chordrouting/p2p: MaxInboundPerPeer
// over operations and maintenance), beside the leave message. 4 (1,024 values at the default MaxItemsPerMessage): the
// successor is this node's first replica and already holds every value
// it was pushed; what a larger range leaves out is what the successor
// also missed as a replica, and it comes back as after a failure, by
// repair (the next replica's push back when the new owner's digests fit
// in one message), or not until its publisher stores it again.
const leaveChunks = 4

// handOnAtLeave sends the successor s up to leaveChunks messages of
// items, without the window (the node is going).
func (n *Node) handOnAtLeave(s Peer, items []Item) {
	for c := 0; c < leaveChunks && len(items) > 0; c++ {
		k := min(len(items), n.cfg.MaxItemsPerMessage)
		n.sendOneWay(s, &Message{Type: MsgStore, Replica: true, Items: items[:k:k]})
		items = items[k:]
	}
}
