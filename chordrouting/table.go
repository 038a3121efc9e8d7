package chordrouting

import (
	"bytes"
	"math/bits"
	"sort"
)

// This file is the one-hop membership table (Config.OneHop): every ring
// member this node knows, sorted by ID, and the dissemination of joins and
// departures along the ring after D1HT's EDRA.

// maxTTL bounds the TTL of a received membership event: log2 of a ring of
// 2^40 nodes.
const maxTTL = 40

// maxMembersPerMessage caps the peers of one membership or table-page
// message, keeping it below the transport's frame whatever the addresses.
const maxMembersPerMessage = 256

// memberTable is the sorted member list. An entry is a Peer (32-byte ID
// and an address string): about 100 B with a multiaddr.
type memberTable struct {
	ps  []Peer // ascending by ID, no duplicates
	max int
}

func (t *memberTable) find(id ID) (int, bool) {
	i := sort.Search(len(t.ps), func(k int) bool { return !t.ps[k].ID.Less(id) })
	return i, i < len(t.ps) && t.ps[i].ID == id
}

// add inserts or updates p; it reports whether p is new.
func (t *memberTable) add(p Peer) bool {
	i, ok := t.find(p.ID)
	if ok {
		t.ps[i].Addr = p.Addr
		return false
	}
	if len(t.ps) >= t.max {
		return false
	}
	t.ps = append(t.ps, Peer{})
	copy(t.ps[i+1:], t.ps[i:])
	t.ps[i] = p
	return true
}

// remove deletes id; it reports whether it was there.
func (t *memberTable) remove(id ID) bool {
	i, ok := t.find(id)
	if !ok {
		return false
	}
	copy(t.ps[i:], t.ps[i+1:])
	t.ps[len(t.ps)-1] = Peer{}
	t.ps = t.ps[:len(t.ps)-1]
	return true
}

// predOf returns the entry closest before key (strictly), wrapping.
func (t *memberTable) predOf(key ID) (Peer, bool) {
	if len(t.ps) == 0 {
		return Peer{}, false
	}
	i, _ := t.find(key)
	if i == 0 {
		i = len(t.ps)
	}
	return t.ps[i-1], true
}

// after returns the k-th entry (k >= 1) clockwise after id, wrapping;
// false when the table has fewer than k entries other than id.
func (t *memberTable) after(id ID, k int) (Peer, bool) {
	i, ok := t.find(id)
	others := len(t.ps)
	if ok {
		others--
		i++
	}
	if k < 1 || k > others {
		return Peer{}, false
	}
	return t.ps[(i+k-1)%len(t.ps)], true
}

// page returns up to k entries with IDs above start, ascending.
func (t *memberTable) page(start ID, k int) []Peer {
	i := sort.Search(len(t.ps), func(j int) bool { return bytes.Compare(t.ps[j].ID[:], start[:]) > 0 })
	end := min(len(t.ps), i+k)
	return append([]Peer(nil), t.ps[i:end]...)
}

// memberEvent is a join (leave false) or departure waiting to be
// forwarded; ttl is EDRA's: it goes out in the messages of levels below it.
type memberEvent struct {
	p     Peer
	leave bool
	ttl   int
}

// quarantined is a joiner seen as a new predecessor, announced only if it
// is still in the table QuarantineTicks later.
type quarantined struct {
	p  Peer
	at uint64
}

// learn adds ring members to the table (one-hop mode only).
func (n *Node) learn(ps []Peer) {
	if !n.cfg.OneHop {
		return
	}
	for _, p := range ps {
		if p.ID != n.self.ID {
			n.table.add(p)
		}
	}
}

// learnOne adds one member.
func (n *Node) learnOne(p Peer) {
	if n.cfg.OneHop && p.ID != n.self.ID {
		n.table.add(p)
	}
}

// forget removes a member presumed dead from the table.
func (n *Node) forget(id ID) bool {
	return n.cfg.OneHop && n.table.remove(id)
}

// announceJoin quarantines a new predecessor (the successor of a joiner
// detects the join).
func (n *Node) announceJoin(p Peer) {
	if !n.cfg.OneHop || p.ID == n.self.ID {
		return
	}
	for _, q := range n.quarantine {
		if q.p.ID == p.ID {
			return
		}
	}
	if len(n.quarantine) < maxMembersPerMessage {
		n.quarantine = append(n.quarantine, quarantined{p: p, at: n.now})
	}
}

// announceLeave disseminates the departure of id, which this node
// detected (its successor failed or left).
func (n *Node) announceLeave(p Peer) {
	if !n.cfg.OneHop {
		return
	}
	n.table.remove(p.ID)
	n.queueEvent(memberEvent{p: p, leave: true, ttl: n.levels()})
}

func (n *Node) queueEvent(e memberEvent) {
	if len(n.events) < 4*maxMembersPerMessage {
		n.events = append(n.events, e)
	}
}

// levels is EDRA's rho: ceil(log2) of the ring size as the table sees it.
func (n *Node) levels() int {
	size := len(n.table.ps) + 1
	return min(maxTTL, bits.Len(uint(size-1)))
}

// disseminate runs once per DisseminateTicks: it releases quarantined
// joiners and sends the batched events, the message of level l to the
// node 2^l positions clockwise carrying the events whose TTL exceeds l,
// with TTL l. At most rho messages of each kind (join, leave) per interval.
func (n *Node) disseminate() {
	rho := n.levels()
	keep := n.quarantine[:0]
	for _, q := range n.quarantine {
		switch {
		case n.now-q.at < uint64(n.cfg.QuarantineTicks):
			keep = append(keep, q)
		default:
			if _, ok := n.table.find(q.p.ID); ok { // not presumed dead meanwhile
				n.queueEvent(memberEvent{p: q.p, ttl: rho})
			}
		}
	}
	n.quarantine = keep
	if len(n.events) == 0 {
		return
	}
	for l := 0; l < rho; l++ {
		to, ok := n.table.after(n.self.ID, 1<<l)
		if !ok {
			break
		}
		var joins, leaves []Peer
		for _, e := range n.events {
			if e.ttl <= l {
				continue
			}
			if e.leave && len(leaves) < maxMembersPerMessage {
				leaves = append(leaves, e.p)
			} else if !e.leave && len(joins) < maxMembersPerMessage {
				joins = append(joins, e.p)
			}
		}
		if len(joins) > 0 {
			n.sendOneWay(to, &Message{Type: MsgMembership, Count: l, Peers: joins})
		}
		if len(leaves) > 0 {
			n.sendOneWay(to, &Message{Type: MsgMembership, Count: l, Peers: leaves, Done: true})
		}
	}
	n.events = n.events[:0]
}

// onMembership applies received events and queues them on with the
// message's TTL. Bad input changes only the routing hints of the table;
// lookups never depend on them for correctness.
func (n *Node) onMembership(m *Message) {
	if !n.cfg.OneHop || !n.member || m.Count < 0 || len(m.Peers) > maxMembersPerMessage {
		return
	}
	ttl := min(m.Count, maxTTL)
	for _, p := range m.Peers {
		if p.ID == n.self.ID {
			continue
		}
		if m.Done {
			n.table.remove(p.ID)
		} else {
			n.table.add(p)
		}
		if ttl > 0 {
			n.queueEvent(memberEvent{p: p, leave: m.Done, ttl: ttl})
		}
	}
}

// onGetMembers answers a page of the table: entries above Key, Done when
// it is the last page.
func (n *Node) onGetMembers(m *Message) {
	if !n.cfg.OneHop || !n.member {
		n.replyErr(m, "no membership table")
		return
	}
	k := maxMembersPerMessage
	if m.Count > 0 && m.Count < k {
		k = m.Count
	}
	ps := n.table.page(m.Key, k)
	done := len(ps) < k
	n.reply(m, &Message{Type: MsgMembers, Peers: append(ps, n.self), Done: done})
}

// antiEntropy asks a random member for a small page of its table from a
// random point: joins an event missed (the table was being built, a
// message was lost) spread epidemically; a member that does not answer is
// forgotten.
func (n *Node) antiEntropy() {
	if len(n.table.ps) == 0 {
		return
	}
	p := n.table.ps[n.rng.IntN(len(n.table.ps))]
	var start ID
	for k := range start {
		start[k] = byte(n.rng.Uint32())
	}
	n.request(p, &Message{Type: MsgGetMembers, Key: start, Count: antiEntropyPage}, func(m *Message) {
		if m != nil && m.Type == MsgMembers && len(m.Peers) <= maxMembersPerMessage+1 {
			n.learn(m.Peers)
		}
	})
}

// repullSchedule marks a joiner whose second table pull is to be
// scheduled when the first ends.
const repullSchedule = 1

// antiEntropyPage is the page size of an anti-entropy pull: 64 entries,
// about 2.5 KB.
const antiEntropyPage = 64

// pullTable copies the table of from page by page (a joiner's start).
func (n *Node) pullTable(from Peer, start ID, pages int) {
	if !n.cfg.OneHop || pages <= 0 {
		return
	}
	n.request(from, &Message{Type: MsgGetMembers, Key: start}, func(m *Message) {
		if m == nil || m.Type != MsgMembers || len(m.Peers) > maxMembersPerMessage+1 {
			return
		}
		n.learn(m.Peers)
		last := start
		for _, p := range m.Peers {
			if last.Less(p.ID) && p.ID != from.ID {
				last = p.ID
			}
		}
		if !m.Done && last != start {
			n.pullTable(from, last, pages-1)
			return
		}
		if n.repullAt == repullSchedule {
			// Events announced while this node was being announced
			// itself reached its successor, not it: pull again once
			// they have spread (the quarantine, then one interval per
			// EDRA level).
			n.repullAt = n.now + uint64(n.cfg.QuarantineTicks+(n.levels()+2)*n.cfg.DisseminateTicks)
		}
	})
}

// oneHopCandidate is the node the table names as the key's predecessor,
// which answers Done when it is current; false when the table names none
// strictly between this node and key.
func (n *Node) oneHopCandidate(key ID) (Peer, bool) {
	if !n.cfg.OneHop {
		return Peer{}, false
	}
	p, ok := n.table.predOf(key)
	if !ok || p.ID == key || !Between(n.self.ID, p.ID, key) {
		return Peer{}, false
	}
	return p, true
}

// MembershipSize is the number of members in the one-hop table (0 when
// Config.OneHop is off).
func (n *Node) MembershipSize() int { return len(n.table.ps) }

// Members returns a copy of the one-hop membership table, sorted by ID.
func (n *Node) Members() []Peer { return append([]Peer(nil), n.table.ps...) }
