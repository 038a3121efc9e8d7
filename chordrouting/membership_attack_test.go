package chordrouting

import (
	"encoding/binary"
	"testing"
)

// sybilsAround returns made-up peers (addresses nobody answers at): one
// just before key (after the previous node a) and three just after it
// (before the owner b), as an attacker grinding IDs would place them.
func sybilsAround(a, key, b ID) []Peer {
	before := addIDs(a, halfDist(a, key))
	out := []Peer{{ID: before, Addr: "sybil-0"}}
	gap := halfDist(key, b)
	at := key
	for k := 1; k <= 3; k++ {
		gap = halfDist(ID{}, gap) // halve: each one closer to the key
		at = addIDs(key, gap)
		out = append(out, Peer{ID: at, Addr: "sybil-" + string(rune('0'+k))})
	}
	return out
}

// TestPoisonedTableFallsBackToFingers: a membership table poisoned with
// dead Sybils around a key (owner candidates after it, a range start
// before it) makes the one-hop attempt fail, but the lookup goes on by the
// finger path and names the right owner.
func TestPoisonedTableFallsBackToFingers(t *testing.T) {
	const n = 64
	net, nodes := oneHopStatic(t, n, 31, func(c *Config) { c.AntiEntropyTicks = 1 << 30 })
	for _, k := range []int{10, 30, 50} {
		owner, prev := nodes[k], nodes[k-1]
		key := addIDs(prev.self.ID, halfDist(prev.self.ID, owner.self.ID))
		from := nodes[(k+n/2)%n]
		for _, s := range sybilsAround(prev.self.ID, key, owner.self.ID) {
			if !Between(prev.self.ID, s.ID, owner.self.ID) {
				t.Fatalf("test setup: sybil %s outside (%s, %s)", s.ID.Short(), prev.self.ID.Short(), owner.self.ID.Short())
			}
			from.learnOne(s)
		}
		got := lookupTicking(t, &net.pumpNet, from, key)
		if got.Err != nil || len(got.Successors) == 0 || got.Successors[0].ID != owner.self.ID {
			t.Fatalf("lookup of %s through a poisoned table: %+v, want owner %s", key.Short(), got, owner.self.ID.Short())
		}
	}
}

// TestMembershipForwardsOnlyChanges: a membership message's joins go on
// only when they changed the receiver's table, and its departures once,
// listed here or not (the table may have missed the join); the replay of
// the same message is not passed on, and neither is a departure's second
// copy, nor news from a member the departure has not reached yet putting
// the departed node back.
func TestMembershipForwardsOnlyChanges(t *testing.T) {
	_, nodes := oneHopStatic(t, 32, 33, nil)
	nd := nodes[5]
	join := Peer{ID: addIDs(nodes[20].self.ID, halfDist(nodes[20].self.ID, nodes[21].self.ID)), Addr: "new"}
	gone := nodes[25].self
	var unlisted ID
	unlisted[0], unlisted[1] = nodes[12].self.ID[0], nodes[12].self.ID[1]^0xff
	m := &Message{Type: MsgMembership, From: nodes[4].self, Count: 3, Peers: []Peer{join},
		Query: append(append([]byte(nil), gone.ID[:leavePrefix]...), unlisted[:leavePrefix]...)}
	nd.Step(m)
	if len(nd.oh.events) != 3 {
		t.Fatalf("first delivery queued %d events, want 3 (the join and both departures): %+v", len(nd.oh.events), nd.oh.events)
	}
	for _, e := range nd.oh.events {
		if e.leave && e.p.ID != gone.ID && [leavePrefix]byte(e.p.ID[:]) != [leavePrefix]byte(unlisted[:]) || !e.leave && e.p.ID != join.ID {
			t.Fatalf("queued event %+v, want only the join of %s and the departures of %s and %s", e, join.ID.Short(), gone.ID.Short(), unlisted.Short())
		}
	}
	nd.oh.events = nd.oh.events[:0]
	nd.Step(m)
	if len(nd.oh.events) != 0 {
		t.Fatalf("a replayed membership message queued %d events, want none", len(nd.oh.events))
	}
	nd.learn([]Peer{gone}) // a lookup answer from a member the event has not reached
	if tableHas(nd, gone.ID) {
		t.Fatalf("second-hand news put the departed %s back", gone.ID.Short())
	}
	if nd.Step(&Message{Type: MsgMembership, From: nodes[4].self, Count: 1, Peers: []Peer{gone}}); !tableHas(nd, gone.ID) {
		t.Fatalf("a join event did not put %s back within its tombstone's window (it came back)", gone.ID.Short())
	}
	nd.oh.table.remove(gone.ID)
	for range nd.recentWindow() + 1 { // (what it sends is never delivered)
		nd.Tick()
	}
	nd.learn([]Peer{gone}) // long after: the node may well be back
	if !tableHas(nd, gone.ID) {
		t.Fatalf("a tombstone outlived its window")
	}
}

// TestMembershipUnlistedLeavesCapped: of a message's departures that the
// receiver does not list, at most maxUnlistedLeaves go on: a forged
// message's made-up prefixes do not each reach every member.
func TestMembershipUnlistedLeavesCapped(t *testing.T) {
	_, nodes := oneHopStatic(t, 32, 35, nil)
	nd := nodes[5]
	var q []byte
	for k := range 3 * maxUnlistedLeaves {
		var id ID
		id[0], id[1], id[2] = nodes[12].self.ID[0], nodes[12].self.ID[1]^0xff, byte(k)
		q = append(q, id[:leavePrefix]...)
	}
	nd.Step(&Message{Type: MsgMembership, From: nodes[4].self, Count: 3, Query: q})
	if len(nd.oh.events) != maxUnlistedLeaves {
		t.Fatalf("%d unlisted departures queued %d events, want %d", 3*maxUnlistedLeaves, len(nd.oh.events), maxUnlistedLeaves)
	}
}

// tableHas reports whether nd's membership table lists id.
func tableHas(nd *Node, id ID) bool {
	_, ok := nd.oh.table.find(id)
	return ok
}

// TestMembershipForwardsEventOfOwnChange: a member that learned a joiner,
// or dropped a dead peer, on its own before the event reached it still
// passes the event on (EDRA counts on it), once.
func TestMembershipForwardsEventOfOwnChange(t *testing.T) {
	_, nodes := oneHopStatic(t, 32, 34, nil)
	nd := nodes[5]
	join := Peer{ID: addIDs(nodes[20].self.ID, halfDist(nodes[20].self.ID, nodes[21].self.ID)), Addr: "new"}
	gone := nodes[25].self
	nd.learnOne(join)  // from a stabilize answer
	nd.forget(gone.ID) // a request to it timed out
	m := &Message{Type: MsgMembership, From: nodes[4].self, Count: 3, Peers: []Peer{join}, Query: gone.ID[:leavePrefix]}
	nd.Step(m)
	if len(nd.oh.events) != 2 {
		t.Fatalf("events of changes made here first: %d queued, want 2", len(nd.oh.events))
	}
	nd.oh.events = nd.oh.events[:0]
	nd.Step(m)
	if len(nd.oh.events) != 0 {
		t.Fatalf("their replay queued %d events, want none", len(nd.oh.events))
	}
}

// probeReply sends nd a digest probe of (lo, hi] carrying nd's own exact
// digest of it (walked without bound) and returns whether nd answered
// "same" (Replica).
func probeReply(t *testing.T, net *countingNet, nd, from *Node, lo, hi ID) bool {
	t.Helper()
	cnt, sum, _ := nd.oh.table.digest(lo, hi, nd.oh.table.len()+1)
	if nd.self.ID != lo && BetweenRightIncl(lo, nd.self.ID, hi) {
		cnt++
		sum += binary.BigEndian.Uint64(nd.self.ID[:8])
	}
	q := make([]byte, digestQueryLen)
	copy(q, hi[:])
	binary.BigEndian.PutUint32(q[32:], uint32(cnt))
	binary.BigEndian.PutUint64(q[36:], sum)
	net.queue, net.dest = net.queue[:0], net.dest[:0]
	nd.Step(&Message{Type: MsgGetMembers, ID: 7, From: from.self, Key: lo, Query: q})
	for _, m := range net.queue {
		if m.Type == MsgMembers && m.ID == 7 {
			return m.Replica
		}
	}
	t.Fatal("no answer to the digest probe")
	return false
}

// TestDigestProbeWalkIsBounded: a digest probe of a range the asker picks
// to span the whole table (Key == end) makes the responder walk at most
// maxDigestWalk entries, and it answers "differs" (the asker falls back
// to the bounded prefix comparison); a range of a sweep's size is still
// answered "same" when the digests agree.
func TestDigestProbeWalkIsBounded(t *testing.T) {
	net, nodes := oneHopStatic(t, 300, 35, nil)
	nd := nodes[0]
	lo := nodes[100].self.ID
	if probeReply(t, net, nd, nodes[1], lo, lo) {
		t.Fatal("a probe of the whole table was answered after walking every entry")
	}
	hi := nodes[100+maxMembersPerMessage].self.ID
	if !probeReply(t, net, nd, nodes[1], lo, hi) {
		t.Fatal("a probe of a sweep-sized range with an agreeing digest was answered \"differs\"")
	}
}

// TestCompareRangeCapsPrefixes: entries that joined between rangeEnd
// counting a range and compareRange walking it cannot push the prefix
// comparison past what a responder accepts (which would end the whole
// sweep): it sends at most maxMembersPerMessage+1 prefixes, compares the
// range up to the last one sent, and the sweep goes on from there.
func TestCompareRangeCapsPrefixes(t *testing.T) {
	net, nodes := oneHopStatic(t, 200, 36, nil)
	a := nodes[0]
	lo, hi := nodes[10].self.ID, nodes[110].self.ID // 100 entries: more than a comparison holds
	var next ID
	ok, called := false, false
	a.compareRange(a.succ[0], lo, hi, func(to ID, good bool) { next, ok, called = to, good, true })
	for _, m := range net.queue {
		if m.Type == MsgGetMembers && len(m.Query) > 32+leavePrefix*(maxMembersPerMessage+1) {
			t.Fatalf("prefix comparison of %d bytes, a responder accepts at most %d", len(m.Query), 32+leavePrefix*(maxMembersPerMessage+1))
		}
	}
	net.run()
	if !called || !ok {
		t.Fatalf("comparison of a range grown past a message: answered %v, ok %v; want the sweep to go on", called, ok)
	}
	if want := nodes[10+maxMembersPerMessage+1].self.ID; next != want {
		t.Fatalf("the sweep goes on from %s, want the last entry compared %s", next.Short(), want.Short())
	}
}

// TestSilentSuccessorPingedBeforeLeave: one request to the successor that
// times out (a lost reply) does not announce it as departed ring-wide: it
// is pinged again, and only if that ping times out too is its departure
// announced.
func TestSilentSuccessorPingedBeforeLeave(t *testing.T) {
	net, nodes := oneHopStatic(t, 20, 37, func(c *Config) { c.AntiEntropyTicks = 1 << 30 })
	a, b := nodes[3], nodes[4]
	left := func() bool {
		for _, e := range a.oh.events {
			if e.leave && e.p.ID == b.self.ID {
				return true
			}
		}
		return false
	}
	net.down[b.self.Addr] = true
	a.request(b.self, &Message{Type: MsgPing}, func(*Message) {})
	net.down[b.self.Addr] = false // only that request is lost
	for range 2 * a.cfg.RequestTimeoutTicks {
		a.Tick()
		net.run()
		if left() {
			t.Fatal("one lost reply announced a live successor as departed")
		}
	}
	if _, ok := a.oh.table.find(b.self.ID); !ok {
		t.Fatal("one lost reply dropped a live successor from the table")
	}
	net.down[b.self.Addr] = true // now it is gone
	a.request(b.self, &Message{Type: MsgPing}, func(*Message) {})
	for tick := 0; tick < 3*a.cfg.RequestTimeoutTicks && !left(); tick++ {
		a.Tick()
		net.run()
	}
	if !left() {
		t.Fatal("a successor silent to two requests was not announced as departed")
	}
}
