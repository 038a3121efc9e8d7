package chordrouting

import (
	"encoding/binary"
	"sort"
)

// This file remembers the table changes a member made on its own (a peer
// learned from a reply, a peer presumed dead after a timeout) for as long
// as the membership event of that change may still be on its way: such an
// event changes nothing in the table when it arrives, but EDRA still
// counts on this member to pass it on. onMembership passes on only events
// that changed the table or match one of these changes (once), so a
// replayed or made-up event dies at its first hop.

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

// liveRecent is the index of the first remembered change still within
// the window.
func (n *Node) liveRecent() int {
	w := n.recentWindow()
	return sort.Search(len(n.oh.recent), func(k int) bool { return n.now-n.oh.recent[k].at <= w })
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
