package chordrouting

import (
	"encoding/binary"
	"sort"
)

// This file remembers the table changes a member made on its own (a peer
// learned from a reply, a peer presumed dead after a timeout) for as long
// as the membership event of that change may still be on its way: such an
// event changes nothing in the table when it arrives, but EDRA still
// counts on this member to pass it on. onMembership passes on only joins
// that changed the table or match one of these changes (once), so a
// replayed or made-up join dies at its first hop. It also remembers the
// departures that passed here lately (tombstones), for two things: a
// member that has not had the event yet must not put the departed node
// back through second-hand news (a lookup answer, a table page, a sweep),
// and a departure this table did not list (it missed the join) is still
// passed on, once, since the members after this one in EDRA's tree may
// hear of it only through it.

// maxRecentChanges bounds the remembered changes; the oldest go first.
// 256: a few dissemination intervals of events even under heavy churn
// (an interval carries at most maxQueuedEvents).
const maxRecentChanges = 256

// recentChange is one table change made without a membership event.
type recentChange struct {
	key   uint64 // the ID's first leavePrefix bytes: what a departure names
	id    ID
	leave bool
	at    uint64
}

// recentWindow is how long a change is remembered: a joiner's event comes
// after its quarantine, then one interval per EDRA level, and two more for
// batching (as long as a relay lasts).
func (n *Node) recentWindow() uint64 {
	return uint64(n.cfg.QuarantineTicks + (n.levels()+2)*n.cfg.DisseminateTicks)
}

// The list is in the order the changes were made, so by `at`, and the
// changes past the window are a prefix of it: both calls below skip that
// prefix by binary search and compare the 8-byte key before the ID (every
// arriving event that changes nothing in the table asks takeRecent; a
// full scan was a quarter of the simulator's time at 3,000 nodes).

// The key is a uint64: a departure's prefix must be 8 bytes.
var _ [leavePrefix - 8]struct{}
var _ [8 - leavePrefix]struct{}

// inWindow is the index of the first of count remembered items, ordered
// by at(k), that is still within recentWindow.
func (n *Node) inWindow(count int, at func(k int) uint64) int {
	w := n.recentWindow()
	return sort.Search(count, func(k int) bool { return n.now-at(k) <= w })
}

// liveRecent is the index of the first remembered change still within
// the window.
func (n *Node) liveRecent() int {
	return n.inWindow(len(n.oh.recent), func(k int) uint64 { return n.oh.recent[k].at })
}

// noteChange remembers that id joined (leave false) or left this node's
// table without a membership event.
func (n *Node) noteChange(id ID, leave bool) {
	rc := n.oh.recent
	rc = rc[:copy(rc, rc[n.liveRecent():])] // forget the changes past the window
	key := binary.BigEndian.Uint64(id[:leavePrefix])
	for k := range rc {
		if rc[k].key == key && rc[k].id == id {
			rc = append(rc[:k], rc[k+1:]...) // at most one per ID
			break
		}
	}
	if len(rc) == maxRecentChanges {
		rc = rc[:copy(rc, rc[1:])]
	}
	n.oh.recent = append(rc, recentChange{key: key, id: id, leave: leave, at: n.now})
}

// takeRecent reports whether a remembered change matches an arriving
// event (a departure matches by its ID prefix, leavePrefix bytes or more)
// and forgets it, so that the event is passed on once; it returns the
// change's ID.
func (n *Node) takeRecent(prefix []byte, leave bool) (ID, bool) {
	if len(prefix) < leavePrefix || len(prefix) > len(ID{}) {
		return ID{}, false
	}
	key := binary.BigEndian.Uint64(prefix)
	rc := n.oh.recent
	for k := n.liveRecent(); k < len(rc); k++ {
		c := &rc[k]
		if c.key == key && c.leave == leave && string(c.id[leavePrefix:len(prefix)]) == string(prefix[leavePrefix:]) {
			id := c.id
			n.oh.recent = append(rc[:k], rc[k+1:]...)
			return id, true
		}
	}
	return ID{}, false
}

// departure is a departure this node applied, started or passed on,
// remembered by its leavePrefix key for recentWindow: second-hand news
// (a lookup or state answer, a table page, a sweep) from a member the
// event has not reached yet must not re-add it, and a second copy of the
// event dies here.
type departure struct {
	key uint64
	at  uint64
}

// noteDeparted remembers the departure of the member whose ID starts
// with prefix (leavePrefix bytes or more).
// At most maxRecentChanges are kept: at 100,000 nodes and 1 h sessions
// the window holds more (28 departures a second for 41 s), and a full list
// drops its oldest quarter at once rather than shifting on every
// departure (every node notes every departure).
func (n *Node) noteDeparted(prefix []byte) {
	d := n.oh.departed
	if k := n.inWindow(len(d), func(k int) uint64 { return d[k].at }); k > 0 {
		d = d[:copy(d, d[k:])]
	}
	if len(d) >= maxRecentChanges {
		d = d[:copy(d, d[len(d)/4:])]
	}
	n.oh.departed = append(d, departure{key: binary.BigEndian.Uint64(prefix), at: n.now})
}

// departedRecently reports whether a departure of this key is remembered.
func (n *Node) departedRecently(prefix []byte) bool {
	key, w := binary.BigEndian.Uint64(prefix), n.recentWindow()
	for k := len(n.oh.departed) - 1; k >= 0 && n.now-n.oh.departed[k].at <= w; k-- {
		if n.oh.departed[k].key == key {
			return true
		}
	}
	return false
}
