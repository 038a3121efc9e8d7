package chordrouting

import (
	"fmt"
	"sort"
	"time"
)

// putOp is a Put in progress.
type putOp struct {
	items   []Item // sorted by key
	res     PutResult
	waiting int
	failed  []Item
	dropped []ID // owners whose store failed: the retry does not take them unconfirmed
	retried bool
	done    func(PutResult)
	// window, when positive, caps the stores in flight (a forwarded put:
	// forward_serve.go); queue holds the stores waiting for a place.
	window int
	queue  []storeJob
	// until, if set, is when the put must end (a forwarded put: its
	// answer must reach the client before the transport's deadline):
	// stores and the grouping's lookups in flight then end, and queued
	// ones are not sent.
	until time.Time
}

// storeJob is one store request a put has yet to send.
type storeJob struct {
	owner Peer
	items []Item
}

// Put stores items on their owners: the keys are grouped by owner with as
// few lookups as possible, then each owner gets one store request
// carrying all its items (split only at MaxItemsPerMessage). The owner
// validates, stores and copies to its replicas. Items whose owner does
// not answer are retried once with fresh lookups.
func (n *Node) Put(items []Item, done func(PutResult)) {
	if done == nil {
		done = func(PutResult) {}
	}
	if n.left {
		done(PutResult{Err: ErrLeft})
		return
	}
	op := n.newPut(items, done)
	if n.forwardPut(op) {
		return // a client's entry points store it (forward.go)
	}
	n.putRound(op)
}

// newPut returns a Put of the items whose values are within the size
// bounds, sorted by key (the others are reported in its Err).
func (n *Node) newPut(items []Item, done func(PutResult)) *putOp {
	ok := make([]Item, 0, len(items))
	var err error
	for _, it := range items {
		if len(it.Value) == 0 || len(it.Value) > n.cfg.MaxValueSize {
			err = fmt.Errorf("chordrouting: put: value of %d bytes, want 1..%d", len(it.Value), n.cfg.MaxValueSize)
			continue
		}
		ok = append(ok, it)
	}
	op := newPutOp(ok, done)
	op.res.Err = err
	return op
}

// newPutOp returns a Put of items, sorted by key.
func newPutOp(items []Item, done func(PutResult)) *putOp {
	op := &putOp{items: items, done: done}
	sortByKey(op.items)
	return op
}

// sortByKey sorts items by key, keeping the order of items under one key.
func sortByKey(items []Item) {
	sort.SliceStable(items, func(i, j int) bool { return items[i].Key.Less(items[j].Key) })
}

// putRound groups op.items by owner and sends the stores.
func (n *Node) putRound(op *putOp) {
	if len(op.items) == 0 {
		op.done(op.res)
		return
	}
	keys := make([]ID, len(op.items))
	for k, it := range op.items {
		keys[k] = it.Key
	}
	n.groupAvoiding(keys, op.dropped, true, endBy{at: op.until}, func(groups []ownerGroup, lookups int, failed []int, err error) {
		op.res.Lookups += lookups
		if err != nil {
			op.res.Err = fmt.Errorf("chordrouting: put: lookup of %d keys: %w", len(failed), err)
		}
		for _, g := range groups {
			items := make([]Item, len(g.idx))
			for k, i := range g.idx {
				items[k] = op.items[i]
			}
			n.putQueue(op, g.owner, items)
		}
		n.putPump(op)
	})
}

// putQueue stores one owner's items at once if it is this node, else
// queues its store requests.
func (n *Node) putQueue(op *putOp, owner Peer, items []Item) {
	for len(items) > 0 {
		k := min(len(items), n.cfg.MaxItemsPerMessage)
		batch := items[:k:k]
		items = items[k:]
		op.res.RPCs++
		if owner.ID == n.self.ID && n.member {
			op.res.Stored += n.storeLocal(batch)
			continue
		}
		op.queue = append(op.queue, storeJob{owner, batch})
	}
}

// putPump sends queued stores while the window allows, and finishes the
// round when none is queued or in flight. After Leave the queued stores
// fail at once (a request sent then would be answered only at the next
// tick, which a node that has left may never get).
func (n *Node) putPump(op *putOp) {
	for len(op.queue) > 0 && (op.window <= 0 || op.waiting < op.window) {
		j := op.queue[0]
		op.queue = op.queue[1:]
		if n.left || (!op.until.IsZero() && !n.clock.Now().Before(op.until)) {
			op.failed = append(op.failed, j.items...) // out of time, or left
			continue
		}
		op.waiting++
		p := pending{deadline: n.now + n.timeoutTicks(), until: op.until}
		n.send(j.owner, &Message{Type: MsgStore, Items: j.items}, p, func(m *Message) {
			op.waiting--
			if m != nil && m.Type == MsgStoreAck {
				op.res.Stored += min(max(m.Count, 0), len(j.items))
			} else {
				op.failed = append(op.failed, j.items...)
				if !n.unsent(m) && !containsID(op.dropped, j.owner.ID) {
					op.dropped = append(op.dropped, j.owner.ID)
				}
			}
			n.putPump(op)
		})
	}
	if op.waiting == 0 && len(op.queue) == 0 {
		n.putFinish(op)
	}
}

// storeLocal stores items this node owns and pushes them to its replicas.
func (n *Node) storeLocal(items []Item) int {
	count := 0
	var fwd []Item
	for _, it := range items {
		if _, err := n.accept(it.Key, it.Value); err != nil {
			if err == errStale {
				count++
			}
			continue
		}
		count++
		fwd = append(fwd, it)
	}
	for _, p := range n.replicaTargets() {
		n.pushItems(p, fwd)
	}
	return count
}

// putFinish retries failed stores once, with fresh lookups that take none
// of the owners that failed unless a key's own lookup confirms it, then
// reports.
func (n *Node) putFinish(op *putOp) {
	if len(op.failed) > 0 && !op.retried && !n.left {
		op.retried = true
		op.items, op.failed = op.failed, nil
		sortByKey(op.items)
		n.putRound(op)
		return
	}
	if len(op.failed) > 0 {
		op.res.Err = fmt.Errorf("chordrouting: put: %d items unacknowledged: %w", len(op.failed), ErrTimeout)
	}
	op.done(op.res)
}
