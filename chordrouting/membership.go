package chordrouting

import (
	"math/bits"
)

// This file is the dissemination of joins and departures along the ring
// after D1HT's EDRA (Config.OneHop), and what feeds the membership table.

// maxTTL bounds the TTL of a received membership event: log2 of a ring of
// 2^40 nodes.
const maxTTL = 40

// maxMembersPerMessage caps the joins (Peers) of one membership message
// and the entries of one table page: below the libp2p codec's 64 peers
// per message, with room for the answering node itself.
const maxMembersPerMessage = 63

// maxLeavesPerMessage caps the departures of one membership message:
// 8-byte ID prefixes in Query, 2 KB.
const maxLeavesPerMessage = 256

// maxUnlistedLeaves bounds the departures of one membership message that
// the receiver does not list and passes on anyway (its table may have
// missed the joins): a table misses few joins (it holds 99.7% of the
// members under churn at 10,000 nodes), while a forged message's made-up
// prefixes, 256 of them, would otherwise each reach every member and
// push the honest tombstones out.
const maxUnlistedLeaves = 8

// maxBatchesPerInterval bounds the batches (each one message per level)
// a node sends per interval: a ring forming fast announces hundreds of
// joins per interval, which must not wait in queues.
const maxBatchesPerInterval = 8

// maxQueuedEvents bounds the events waiting to be sent; beyond it new
// ones are dropped (anti-entropy repairs what is lost).
const maxQueuedEvents = 4096

// oneHopState is a member's one-hop state.
type oneHopState struct {
	table      memberTable
	quarantine []quarantined  // joiners not yet announced
	events     []memberEvent  // events to send next interval
	relays     []relay        // new predecessors that get a copy of every event
	sync       syncState      // table pulls and anti-entropy (onehop_sync.go)
	recent     []recentChange // changes made without an event (membership_recent.go)
	departed   []departure    // departures seen lately (membership_recent.go)
	leaveCheck leaveCheck     // a silent successor pinged again (fingers.go)
}

func newOneHopState(cfg Config) oneHopState {
	return oneHopState{table: newMemberTable(cfg.Directory, cfg.MaxTableSize)}
}

// memberEvent is a join (leave false) or departure waiting to be
// forwarded; ttl is EDRA's: it goes out in the messages of levels below it.
type memberEvent struct {
	p     Peer
	leave bool
	ttl   int
	own   bool // detected here: goes round the whole ring
}

// quarantined is a joiner seen as a new predecessor, announced only if it
// is still in the table QuarantineTicks later.
type quarantined struct {
	p  Peer
	at uint64
}

// relay is a joiner that copies this node's table: every event this node
// receives or starts is copied to it until `until`, when the ring's tables
// name it and events reach it directly.
type relay struct {
	p     Peer
	until uint64
}

// maxRelays bounds the joiners one node relays events to at once.
const maxRelays = 16

// learn adds ring members to the table (one-hop mode only).
func (n *Node) learn(ps []Peer) {
	if !n.cfg.OneHop {
		return
	}
	for _, p := range ps {
		n.learnOne(p)
	}
}

// learnOne adds one member, unless its departure passed here lately:
// the member that named it has not seen that event yet.
func (n *Node) learnOne(p Peer) {
	if n.cfg.OneHop && !n.departedRecently(p.ID[:]) {
		n.learnLive(p)
	}
}

// learnLive adds a member that spoke to this node itself.
func (n *Node) learnLive(p Peer) {
	if n.cfg.OneHop && p.ID != n.self.ID && n.admit(p) {
		n.noteChange(p.ID, false)
	}
}

// forget removes a member presumed dead from the table. It leaves no
// tombstone (membership_recent.go): a timeout is a presumption, and the
// peer may answer the next request and be learnt again at once.
func (n *Node) forget(id ID) bool {
	if !n.cfg.OneHop || !n.oh.table.remove(id) {
		return false
	}
	n.noteChange(id, true)
	return true
}

// announceJoin quarantines a new predecessor (the successor of a joiner
// detects the join) and starts relaying events to it.
func (n *Node) announceJoin(p Peer) {
	if !n.cfg.OneHop || p.ID == n.self.ID {
		return
	}
	for _, q := range n.oh.quarantine {
		if q.p.ID == p.ID {
			return
		}
	}
	if len(n.oh.quarantine) < maxQueuedEvents {
		n.oh.quarantine = append(n.oh.quarantine, quarantined{p: p, at: n.now})
	}
	n.startRelay(p)
}

// startRelay copies events to joiner p until the ring's tables name it:
// the quarantine, then one interval per EDRA level and two for batching.
func (n *Node) startRelay(p Peer) {
	until := n.now + uint64(n.cfg.QuarantineTicks+(n.levels()+2)*n.cfg.DisseminateTicks)
	for k := range n.oh.relays {
		if n.oh.relays[k].p.ID == p.ID {
			n.oh.relays[k].until = until
			return
		}
	}
	if len(n.oh.relays) < maxRelays {
		n.oh.relays = append(n.oh.relays, relay{p: p, until: until})
	}
}

// announceLeave disseminates the departure of p, which this node
// detected (its successor failed or left).
func (n *Node) announceLeave(p Peer) {
	if !n.cfg.OneHop {
		return
	}
	n.oh.table.remove(p.ID)
	n.noteDeparted(p.ID[:])
	n.queueEvent(memberEvent{p: p, leave: true, ttl: n.levels(), own: true})
}

func (n *Node) queueEvent(e memberEvent) {
	if len(n.oh.events) < maxQueuedEvents {
		n.oh.events = append(n.oh.events, e)
	}
}

// levels is EDRA's rho: ceil(log2) of the ring size as the table sees it.
func (n *Node) levels() int {
	size := n.oh.table.len() + 1
	return min(maxTTL, bits.Len(uint(size-1)))
}

// releaseQuarantine queues the joiners whose quarantine is over and that
// are still in the table (not presumed dead meanwhile).
func (n *Node) releaseQuarantine(rho int) {
	keep := n.oh.quarantine[:0]
	for _, q := range n.oh.quarantine {
		switch {
		case n.now-q.at < uint64(n.cfg.QuarantineTicks):
			keep = append(keep, q)
		default:
			if _, ok := n.oh.table.find(q.p.ID); ok {
				n.queueEvent(memberEvent{p: q.p, ttl: rho, own: true})
			}
		}
	}
	n.oh.quarantine = keep
}

// disseminate runs once per DisseminateTicks: it releases quarantined
// joiners and sends a batch of the queued events, the message of level l
// to the node 2^l positions clockwise carrying the events whose TTL
// exceeds l, with TTL l; joins and departures travel in one message. At
// most rho messages per interval, plus one copy per relayed joiner, unless
// more events are queued than one message carries: then up to
// maxBatchesPerInterval batches go out, and the rest waits.
func (n *Node) disseminate() {
	rho := n.levels()
	n.releaseQuarantine(rho)
	n.expireRelays()
	for b := 0; b < maxBatchesPerInterval && len(n.oh.events) > 0; b++ {
		batch, rest := n.takeBatch()
		n.sendBatch(batch, rho)
		// rest is takeBatch's own slice: a burst of events (a wave of
		// joins) does not leave its array behind once the queue drains
		// (it held 155 MB of 254 MB at 3,000 simulated nodes).
		n.oh.events = rest
	}
}

// sendBatch sends one batch of events: one message per EDRA level and one
// per relayed joiner.
func (n *Node) sendBatch(batch []memberEvent, rho int) {
	for l := 0; l < rho; l++ {
		to, ok := n.oh.table.after(n.self.ID, 1<<l)
		if !ok {
			break
		}
		limit := n.self.ID // the next level's target, where this level's range ends
		if next, ok := n.oh.table.after(n.self.ID, 2<<l); ok && l+1 < rho {
			limit = next.ID
		}
		n.sendLevel(batch, l, to, limit, membershipTries)
	}
	for _, r := range n.oh.relays {
		if m := eventMessage(batch, -1, n.self.ID, r.p.ID); m != nil {
			m.Count = 0
			n.sendOneWay(r.p, m)
		}
	}
}

// membershipTries bounds the members a level's events are offered to in
// turn.
const membershipTries = 3

// sendLevel sends the events of level l to `to`, which acknowledges them.
// If it does not answer (the timeout removes it from the table), the
// member after it, still before limit, gets them in its place: a dead
// target would otherwise take every event for its part of the ring with
// it, and each member there would keep the dead entries those events
// remove until a sweep (measured: a third of the lookups that took two
// hops at 1,000 nodes and 1 h sessions had met such an entry).
func (n *Node) sendLevel(batch []memberEvent, l int, to Peer, limit ID, tries int) {
	m := eventMessage(batch, l, n.self.ID, to.ID)
	if m == nil {
		return
	}
	n.request(to, m, func(r *Message) {
		if r != nil || tries <= 1 || !n.cfg.OneHop || !n.member || n.left {
			return
		}
		if next, ok := n.oh.table.after(to.ID, 1); ok && next.ID != n.self.ID && Between(n.self.ID, next.ID, limit) {
			n.sendLevel(batch, l, next, limit, tries-1)
		}
	})
}

// takeBatch splits the queue into what fits one message and the rest.
func (n *Node) takeBatch() (batch, rest []memberEvent) {
	joins, leaves := 0, 0
	for _, e := range n.oh.events {
		switch {
		case e.leave && leaves < maxLeavesPerMessage:
			leaves++
			batch = append(batch, e)
		case !e.leave && joins < maxMembersPerMessage:
			joins++
			batch = append(batch, e)
		default:
			rest = append(rest, e)
		}
	}
	return batch, rest
}

// eventMessage is the membership message of level l from self to `to`:
// the events of batch whose TTL exceeds l (all of them for l < 0), or nil
// when there is none. An event goes only to a target strictly between self
// and its subject (clockwise), unless this node detected it: so it goes
// once round the ring from the node that detected it (the subject's
// successor for a join, its predecessor for a departure) and stops there,
// whatever the ring size (EDRA's last level would otherwise wrap past the
// start).
func eventMessage(batch []memberEvent, l int, self, to ID) *Message {
	var joins []Peer
	var leaves []byte
	for _, e := range batch {
		switch {
		case e.ttl <= l, l >= 0 && !e.own && !Between(self, to, e.p.ID):
		case e.leave:
			leaves = append(leaves, e.p.ID[:leavePrefix]...)
		default:
			joins = append(joins, e.p)
		}
	}
	if len(joins) == 0 && len(leaves) == 0 {
		return nil
	}
	return &Message{Type: MsgMembership, Count: max(l, 0), Peers: joins, Query: leaves}
}

// leavePrefix is how many leading bytes of a departed member's ID a
// membership message carries (in Query, concatenated): 8 bytes tell
// apart the members of any ring (IDs are SHA-256 outputs; two of a
// million members share a prefix with probability 2^-25), for 8 bytes on
// the wire instead of 36.
const leavePrefix = 8

// removePrefix removes the table entry whose ID starts with prefix and
// returns its ID and true, or false when there is none.
func (n *Node) removePrefix(prefix []byte) (ID, bool) {
	var id ID
	copy(id[:], prefix)
	t := &n.oh.table
	if i := t.search(id); i < t.len() && [leavePrefix]byte(t.id(i)[:leavePrefix]) == [leavePrefix]byte(prefix) {
		id = *t.id(i)
		t.removeAt(i)
		return id, true
	}
	return id, false
}

func (n *Node) expireRelays() {
	keep := n.oh.relays[:0]
	for _, r := range n.oh.relays {
		if n.now < r.until {
			keep = append(keep, r)
		}
	}
	n.oh.relays = keep
}

// onMembership applies received events and queues them on with the
// message's TTL (and for the relayed joiners). Only joins that changed
// this node's table go on, or that match a change this node made on its
// own shortly before (membership_recent.go; passed on once), and
// departures that did not pass here lately (listed here or not: this
// table may have missed the join): EDRA hands each event to each member
// once, so honest events lose nothing, while a replay dies at its first
// hop. Bad input changes only the
// routing hints of the table; lookups never depend on them for
// correctness (a lookup whose table-named nodes fail goes on by the
// fingers, confirm.go).
func (n *Node) onMembership(m *Message) {
	switch {
	case !n.cfg.OneHop || !n.member:
		n.replyErr(m, "not a one-hop ring member")
		return
	case m.Count < 0 || m.Count > maxTTL || len(m.Peers) > maxMembersPerMessage ||
		len(m.Query)%leavePrefix != 0 || len(m.Query) > maxLeavesPerMessage*leavePrefix:
		n.replyErr(m, "membership message out of bounds")
		return
	}
	n.reply(m, &Message{Type: MsgPong})
	// A TTL above this node's own level count cannot come from EDRA on
	// tables like this one's: capped, so one message cannot be made to
	// travel further than an honest one.
	ttl := min(m.Count, n.levels())
	keep := ttl > 0 || len(n.oh.relays) > 0
	n.oh.sync.events += len(m.Peers) + len(m.Query)/leavePrefix
	for _, p := range m.Peers {
		if p.ID == n.self.ID {
			continue
		}
		if !n.admit(p) {
			if _, ok := n.takeRecent(p.ID[:], false); !ok {
				continue // known here already: a replay, or passed on before
			}
		}
		if keep {
			n.queueEvent(memberEvent{p: p, ttl: ttl})
		}
	}
	next, hasNext := n.oh.table.after(n.self.ID, 1)
	unlisted := 0
	for k := 0; k < len(m.Query); k += leavePrefix {
		prefix := m.Query[k : k+leavePrefix]
		if [leavePrefix]byte(prefix) == [leavePrefix]byte(n.self.ID[:leavePrefix]) {
			continue
		}
		id, removed := n.removePrefix(prefix)
		if !removed {
			rid, ok := n.takeRecent(prefix, true)
			switch {
			case ok:
				id = rid
			case n.departedRecently(prefix):
				continue // seen here already: a second copy or a replay
			case unlisted >= maxUnlistedLeaves:
				continue // more than a table misses: made up
			default:
				unlisted++
			}
		}
		// Passed on even when not listed here (a table that missed the
		// join): this node may be the only way to the members after it.
		n.noteDeparted(prefix)
		if hasNext && Between(n.self.ID, id, next.ID) {
			continue // this node detected it (or would have): the round is over
		}
		if keep {
			n.queueEvent(memberEvent{p: Peer{ID: id}, leave: true, ttl: ttl})
		}
	}
}

// oneHopTick runs the periodic one-hop tasks (t is the node's phased tick
// count).
func (n *Node) oneHopTick(t uint64) {
	if t%uint64(n.cfg.DisseminateTicks) == 0 {
		n.disseminate()
	}
	n.syncTick(t)
}
