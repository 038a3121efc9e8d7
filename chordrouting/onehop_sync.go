package chordrouting

import (
	"encoding/binary"
)

// This file fills and repairs the membership table (Config.OneHop): a
// joiner copies its successor's table page by page (the successor relays
// the events it sees meanwhile), then sweeps the whole table with digests
// against its successor once the events of its joining time have spread;
// every member sweeps against a random member every AntiEntropyTicks, and
// again soon, against another random member, while sweeps keep finding
// many differences (a table that missed events while the ring formed).

// syncState is the progress of table pulls and digest sweeps.
type syncState struct {
	busy     bool    // a pull or sweep is in flight
	sweepAt  uint64  // the next sweep starts then (0: not scheduled yet)
	withSucc bool    // the next sweep is a joiner's, against its successor
	changes  int     // entries the sweep in flight added or disputed
	swept    int     // table size when the last sweep ended
	events   int     // membership events received this tick
	rate     float64 // events per tick, moving average (see rateFraction)
	found    int     // differences the last sweep found
	sweptAt  uint64  // when it ended
}

// digestQueryLen is the length of a digest probe's Query: the range's end
// (32 bytes), the entry count (4) and the ID sum (8).
const digestQueryLen = 32 + 4 + 8

// A sweep that finds more differences than the events in flight explain
// is repeated soon, after resweepIntervals dissemination intervals: the
// bar is resweepMin plus twice the events this node receives per tick
// (a moving average over AntiEntropyTicks/rateFraction ticks) times the
// time an event takes to spread, since both tables miss the events in
// flight (about one range in three differs at 10,000 nodes and 1 h
// sessions). A table that grew by an eighth since its last sweep (a ring
// growing fast: the tables that routed its announcements were smaller)
// sweeps at once.
const (
	resweepMin       = 4
	resweepIntervals = 5
	rateFraction     = 60
)

// maxDisputes bounds the pings one differing range sends to entries the
// other side lacks.
const maxDisputes = 4

// oneHopJoined starts a joiner's table: copy s's table, and sweep it once
// with digests after the events of the joining time have spread (s relays
// the events it sees meanwhile).
func (n *Node) oneHopJoined(s Peer) {
	if !n.cfg.OneHop {
		return
	}
	n.oh.sync.busy = true
	n.pullPages(s, ID{}, n.cfg.MaxTableSize/maxMembersPerMessage+2, func() {
		n.oh.sync.busy = false
		n.oh.sync.withSucc = true
		n.oh.sync.sweepAt = n.now + uint64(n.cfg.QuarantineTicks+(n.levels()+2)*n.cfg.DisseminateTicks)
	})
}

// syncTick starts the due sweep.
func (n *Node) syncTick(uint64) {
	sy := &n.oh.sync
	tau := float64(max(1, n.cfg.AntiEntropyTicks/rateFraction))
	sy.rate += (float64(sy.events) - sy.rate) / tau
	sy.events = 0
	switch {
	case sy.busy || n.oh.table.len() == 0 || len(n.succ) == 0:
		return
	case sy.sweepAt == 0:
		sy.sweepAt = n.now + 1 + n.rng.Uint64N(uint64(n.cfg.AntiEntropyTicks))
		return
	case n.now < sy.sweepAt && n.oh.table.len() < sy.swept+max(resweepMin, sy.swept/8) &&
		(n.now < sy.sweptAt+uint64(resweepIntervals*n.cfg.DisseminateTicks) || sy.found < n.resweepBar()):
		// Not due, the table has not grown by an eighth, and the last
		// sweep found no more than the events in flight explain (judged
		// now: the bar falls when a burst of events is over).
		return
	}
	peer := n.oh.table.peer(n.rng.IntN(n.oh.table.len()))
	if sy.withSucc {
		peer = n.succ[0]
	}
	sy.busy, sy.withSucc, sy.changes = true, false, 0
	n.walk(peer, n.self.ID, n.self.ID, func() {
		sy.busy = false
		sy.swept, sy.found, sy.sweptAt = n.oh.table.len(), sy.changes, n.now
		sy.sweepAt = n.now + uint64(n.cfg.AntiEntropyTicks)
	})
}

// resweepBar is how many differences a sweep must find to be repeated
// soon (see resweepMin).
func (n *Node) resweepBar() int {
	spread := float64((n.levels() + 2) * n.cfg.DisseminateTicks)
	return resweepMin + int(2*n.oh.sync.rate*spread)
}

// pullPages copies from's table page by page from start on (a joiner's
// start), at most `pages` pages, then calls done.
func (n *Node) pullPages(from Peer, start ID, pages int, done func()) {
	if pages <= 0 {
		done()
		return
	}
	n.request(from, &Message{Type: MsgGetMembers, Key: start, Count: maxMembersPerMessage}, func(m *Message) {
		if m == nil || m.Type != MsgMembers || len(m.Peers) > maxMembersPerMessage+1 {
			done()
			return
		}
		n.learn(m.Peers)
		last := start
		for _, p := range m.Peers {
			if last.Less(p.ID) && p.ID != from.ID {
				last = p.ID
			}
		}
		if m.Done || last == start {
			done()
			return
		}
		n.pullPages(from, last, pages-1, done)
	})
}

// walk compares the table with peer's range by range, clockwise from lo
// until it passes end (lo == end: the whole ring), each range holding up
// to maxMembersPerMessage of this node's entries. A range that differs
// comes back listed: entries this node lacks are added, entries peer
// lacks are pinged (one that does not answer is removed).
func (n *Node) walk(peer Peer, lo, end ID, done func()) {
	hi, whole := n.rangeEnd(lo, end)
	cnt, sum := n.ownDigest(lo, hi)
	q := make([]byte, digestQueryLen)
	copy(q, hi[:])
	binary.BigEndian.PutUint32(q[32:], uint32(cnt))
	binary.BigEndian.PutUint64(q[36:], sum)
	n.request(peer, &Message{Type: MsgGetMembers, Key: lo, Query: q}, func(m *Message) {
		if m == nil || m.Type != MsgMembers || len(m.Peers) > maxMembersPerMessage+1 || !n.member {
			done()
			return
		}
		next := hi
		if !m.Replica {
			var changes int
			next, changes = n.applyRange(peer, lo, hi, m)
			n.oh.sync.changes += changes
		}
		if whole && next == hi {
			done()
			return
		}
		n.walk(peer, next, end, done)
	})
}

// rangeEnd returns the end of the range starting after lo: the
// maxMembersPerMessage-th entry after lo, or end when that comes first
// (whole is then true).
func (n *Node) rangeEnd(lo, end ID) (hi ID, whole bool) {
	hi, k := end, 0
	n.oh.table.each(lo, end, func(p Peer) bool {
		k++
		if k == maxMembersPerMessage {
			hi = p.ID
			return false
		}
		return true
	})
	return hi, hi == end
}

// ownDigest is the digest of the table plus this node in (lo, hi].
func (n *Node) ownDigest(lo, hi ID) (int, uint64) {
	cnt, sum := n.oh.table.digest(lo, hi)
	if n.self.ID != lo && BetweenRightIncl(lo, n.self.ID, hi) {
		cnt++
		sum += binary.BigEndian.Uint64(n.self.ID[:8])
	}
	return cnt, sum
}

// applyRange takes a listed range (lo, hi] from peer: adds what this node
// lacks and pings what peer lacks, up to the last entry listed when the
// list was cut. It returns where the next range starts (hi, or that last
// entry) and how many entries it added or pinged.
func (n *Node) applyRange(peer Peer, lo, hi ID, m *Message) (ID, int) {
	listed := make(map[ID]bool, len(m.Peers))
	changes := 0
	far := lo // the farthest entry listed
	for _, p := range m.Peers {
		if p.ID == lo || !BetweenRightIncl(lo, p.ID, hi) {
			continue // outside the range asked: ignored
		}
		listed[p.ID] = true
		if _, ok := n.oh.table.find(p.ID); !ok && p.ID != n.self.ID {
			changes++
		}
		n.learnOne(p)
		if far == lo || Between(lo, far, p.ID) {
			far = p.ID
		}
	}
	covered := hi
	if !m.Done {
		if far == lo {
			return hi, changes // nothing usable: skip the range
		}
		covered = far
	}
	disputes := 0
	n.oh.table.each(lo, covered, func(p Peer) bool {
		if disputes >= maxDisputes {
			return false
		}
		if !listed[p.ID] && p.ID != peer.ID {
			n.request(p, &Message{Type: MsgPing}, func(*Message) {}) // a timeout forgets it
			disputes++
		}
		return true
	})
	return covered, changes + disputes
}

// onGetMembers answers a table request: with a digest probe (Query), Replica
// when this node's entries and itself in (Key, end] match the digest, else
// those entries (at most maxMembersPerMessage, Done when complete); without,
// a page of the entries above Key followed by this node, Done when it is the
// last page.
func (n *Node) onGetMembers(m *Message) {
	switch {
	case !n.cfg.OneHop || !n.member:
		n.replyErr(m, "no membership table")
	case len(m.Query) == digestQueryLen:
		var hi ID
		copy(hi[:], m.Query)
		cnt, sum := n.ownDigest(m.Key, hi)
		if uint32(cnt) == binary.BigEndian.Uint32(m.Query[32:]) && sum == binary.BigEndian.Uint64(m.Query[36:]) {
			n.reply(m, &Message{Type: MsgMembers, Replica: true, Done: true})
			return
		}
		ps := make([]Peer, 0, 8)
		complete := true
		add := func(p Peer) bool {
			if len(ps) == maxMembersPerMessage {
				complete = false
				return false
			}
			ps = append(ps, p)
			return true
		}
		self := n.self.ID != m.Key && BetweenRightIncl(m.Key, n.self.ID, hi)
		n.oh.table.each(m.Key, hi, func(p Peer) bool {
			if self && BetweenRightIncl(n.self.ID, p.ID, hi) {
				self = false
				if !add(n.self) {
					return false
				}
			}
			return add(p)
		})
		if self {
			add(n.self)
		}
		n.reply(m, &Message{Type: MsgMembers, Peers: ps, Done: complete})
	case len(m.Query) != 0:
		n.replyErr(m, "bad membership query")
	default:
		k := maxMembersPerMessage
		if m.Count > 0 && m.Count < k {
			k = m.Count
		}
		ps := n.oh.table.page(m.Key, k, make([]Peer, 0, k+1))
		done := len(ps) < k
		n.reply(m, &Message{Type: MsgMembers, Peers: append(ps, n.self), Done: done})
	}
}
