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
	left := pullSlices
	for i := range pullSlices {
		var start, end ID
		start[0] = byte(i * 256 / pullSlices)
		end[0] = byte((i + 1) * 256 / pullSlices) // the last slice ends at the table's end
		n.pullPages(s, start, end, i == pullSlices-1, n.cfg.MaxTableSize/maxMembersPerMessage+2, func() {
			if left--; left > 0 {
				return
			}
			n.oh.sync.busy = false
			n.oh.sync.withSucc = true
			n.oh.sync.sweepAt = n.now + uint64(n.cfg.QuarantineTicks+(n.levels()+2)*n.cfg.DisseminateTicks)
		})
	}
}

// pullSlices is how many slices of the ID space a joiner copies at once,
// each page by page: a table of 10,000 members is 159 pages, 159 round
// trips one after the other, during which the joiner's own lookups miss
// the table; eight slices take an eighth of the time, for the same bytes.
const pullSlices = 8

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

// pullPages copies from's table page by page from start on until it
// passes end (or, when toEnd, to the table's end), at most `pages` pages,
// then calls done.
func (n *Node) pullPages(from Peer, start, end ID, toEnd bool, pages int, done func()) {
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
		if m.Done || last == start || (!toEnd && !last.Less(end)) {
			done()
			return
		}
		n.pullPages(from, last, end, toEnd, pages-1, done)
	})
}

// walk compares the table with peer's range by range, clockwise from lo
// until it passes end (lo == end: the whole ring), each range holding up
// to maxMembersPerMessage of this node's entries. A range whose digest
// differs is compared again by ID prefixes: peer lists the entries this
// node lacks (they are added) and names the prefixes it lacks (those
// entries are pinged; one that does not answer is removed).
func (n *Node) walk(peer Peer, lo, end ID, done func()) {
	hi, whole := n.rangeEnd(lo, end)
	cnt, sum, _ := n.ownDigest(lo, hi) // within maxMembersPerMessage entries
	q := make([]byte, digestQueryLen)
	copy(q, hi[:])
	binary.BigEndian.PutUint32(q[32:], uint32(cnt))
	binary.BigEndian.PutUint64(q[36:], sum)
	next := func(to ID) {
		if whole && to == hi || !n.member {
			done()
			return
		}
		n.walk(peer, to, end, done)
	}
	n.request(peer, &Message{Type: MsgGetMembers, Key: lo, Query: q}, func(m *Message) {
		switch {
		case m == nil || m.Type != MsgMembers:
			done()
		case m.Replica:
			next(hi)
		default:
			n.compareRange(peer, lo, hi, func(to ID, ok bool) {
				if !ok {
					done()
					return
				}
				next(to)
			})
		}
	})
}

// compareRange sends the prefixes of this node's entries in (lo, hi] and
// applies peer's answer; done gets where the next range starts. rangeEnd
// counted the range a round trip earlier; joins since may have added
// entries, so it sends at most maxMembersPerMessage+1 prefixes (what a
// responder accepts) and, when there are more, compares (lo, last one
// sent] and lets the sweep go on from there.
func (n *Node) compareRange(peer Peer, lo, hi ID, done func(next ID, ok bool)) {
	const most = maxMembersPerMessage + 1
	q := append(make([]byte, 0, 32+leavePrefix*most), hi[:]...)
	k := 0
	add := func(id ID) bool {
		if k == most {
			return false
		}
		q = append(q, id[:leavePrefix]...)
		k++
		return true
	}
	self := n.self.ID != lo && BetweenRightIncl(lo, n.self.ID, hi)
	last, cut := hi, false
	n.oh.table.each(lo, hi, func(p Peer) bool {
		if self && BetweenRightIncl(lo, n.self.ID, p.ID) {
			self = false
			if !add(n.self.ID) {
				cut = true
				return false
			}
			last = n.self.ID
		}
		if !add(p.ID) {
			cut = true
			return false
		}
		last = p.ID
		return true
	})
	if self && !add(n.self.ID) {
		cut = true
	}
	if cut {
		hi = last
		copy(q, hi[:])
	}
	n.request(peer, &Message{Type: MsgGetMembers, Key: lo, Query: q}, func(m *Message) {
		if m == nil || m.Type != MsgMembers || len(m.Peers) > maxMembersPerMessage+1 || len(m.Query)%leavePrefix != 0 {
			done(hi, false)
			return
		}
		to, changes := n.applyRange(lo, hi, m)
		n.oh.sync.changes += changes
		done(to, true)
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

// maxDigestWalk bounds the entries one digest probe makes this node walk:
// an honest asker's range holds at most maxMembersPerMessage of its
// entries, so four times that leaves room for tables that differ, while a
// probe of a range the asker picks to span the whole table costs no more
// than a page. A range with more entries is answered "differs", and the
// asker goes on with the prefix comparison, which is bounded.
const maxDigestWalk = 4 * maxMembersPerMessage

// ownDigest is the digest of the table plus this node in (lo, hi]; ok is
// false when the range holds more than maxDigestWalk entries.
func (n *Node) ownDigest(lo, hi ID) (cnt int, sum uint64, ok bool) {
	cnt, sum, ok = n.oh.table.digest(lo, hi, maxDigestWalk)
	if n.self.ID != lo && BetweenRightIncl(lo, n.self.ID, hi) {
		cnt++
		sum += binary.BigEndian.Uint64(n.self.ID[:8])
	}
	return cnt, sum, ok
}

// applyRange takes peer's answer to a prefix comparison of (lo, hi]: adds
// the entries it lists, and pings the entries whose prefixes it names as
// missing (at most maxDisputes). It returns where the next range starts
// (hi, or the farthest entry listed when the list was cut) and how many
// entries it added or pinged.
func (n *Node) applyRange(lo, hi ID, m *Message) (ID, int) {
	changes := 0
	far := lo // the farthest entry listed
	for _, p := range m.Peers {
		if p.ID == lo || !BetweenRightIncl(lo, p.ID, hi) {
			continue // outside the range asked: ignored
		}
		if _, ok := n.oh.table.find(p.ID); !ok && p.ID != n.self.ID {
			changes++
		}
		n.learnOne(p)
		if far == lo || Between(lo, far, p.ID) {
			far = p.ID
		}
	}
	for k := 0; k+leavePrefix <= len(m.Query) && k < maxDisputes*leavePrefix; k += leavePrefix {
		var id ID
		copy(id[:], m.Query[k:k+leavePrefix])
		t := &n.oh.table
		if i := t.search(id); i < t.len() && [leavePrefix]byte(t.id(i)[:leavePrefix]) == [leavePrefix]byte(id[:leavePrefix]) {
			n.request(t.peer(i), &Message{Type: MsgPing}, func(*Message) {}) // a timeout forgets it
			changes++
		}
	}
	if !m.Done && far != lo {
		return far, changes
	}
	return hi, changes
}

// onGetMembers answers a table request: a digest probe (a 44-byte Query)
// with Replica when this node's entries and itself in (Key, end] match the
// digest; a prefix comparison (end and 8-byte prefixes) with what the asker
// lacks and what it has that this node lacks (answerPrefixes); no Query
// with a page of the entries above Key followed by this node, Done when it
// is the last page.
func (n *Node) onGetMembers(m *Message) {
	switch {
	case !n.cfg.OneHop || !n.member:
		n.replyErr(m, "no membership table")
	case len(m.Query) == digestQueryLen:
		var hi ID
		copy(hi[:], m.Query)
		cnt, sum, ok := n.ownDigest(m.Key, hi)
		same := ok && uint32(cnt) == binary.BigEndian.Uint32(m.Query[32:]) && sum == binary.BigEndian.Uint64(m.Query[36:])
		n.reply(m, &Message{Type: MsgMembers, Replica: same, Done: same})
	case len(m.Query) >= 32 && (len(m.Query)-32)%leavePrefix == 0 && len(m.Query) <= 32+leavePrefix*(maxMembersPerMessage+1):
		n.answerPrefixes(m)
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

// answerPrefixes answers a prefix comparison of (Key, end]: Peers lists
// this node's entries there, itself included, whose prefixes the asker did
// not send (at most maxMembersPerMessage, in ring order, Done when that is
// all), and Query the asker's prefixes this node has no entry for.
func (n *Node) answerPrefixes(m *Message) {
	var hi ID
	copy(hi[:], m.Query)
	sent := make(map[[leavePrefix]byte]bool, (len(m.Query)-32)/leavePrefix)
	for k := 32; k < len(m.Query); k += leavePrefix {
		sent[[leavePrefix]byte(m.Query[k:k+leavePrefix])] = true
	}
	have := make(map[[leavePrefix]byte]bool, len(sent))
	ps := make([]Peer, 0, 4)
	complete := true
	consider := func(p Peer) bool {
		pre := [leavePrefix]byte(p.ID[:leavePrefix])
		have[pre] = true
		if sent[pre] {
			return true
		}
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
			if !consider(n.self) {
				return false
			}
		}
		return consider(p)
	})
	if self && complete {
		consider(n.self)
	}
	var lacking []byte
	if complete {
		for k := 32; k < len(m.Query); k += leavePrefix {
			if !have[[leavePrefix]byte(m.Query[k:k+leavePrefix])] {
				lacking = append(lacking, m.Query[k:k+leavePrefix]...)
			}
		}
	}
	n.reply(m, &Message{Type: MsgMembers, Peers: ps, Query: lacking, Done: complete})
}
