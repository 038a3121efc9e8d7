package chordrouting

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

// noteChange remembers that id joined (leave false) or left this node's
// table without a membership event.
func (n *Node) noteChange(id ID, leave bool) {
	rc := n.oh.recent
	keep := rc[:0]
	w := n.recentWindow()
	for _, c := range rc {
		if n.now-c.at <= w && !(c.id == id) {
			keep = append(keep, c)
		}
	}
	if len(keep) == maxRecentChanges {
		copy(keep, keep[1:])
		keep = keep[:len(keep)-1]
	}
	n.oh.recent = append(keep, recentChange{id: id, leave: leave, at: n.now})
}

// takeRecent reports whether a remembered change matches an arriving
// event (a departure matches by its ID prefix) and forgets it, so that
// the event is passed on once; it returns the change's ID.
func (n *Node) takeRecent(prefix []byte, leave bool) (ID, bool) {
	w := n.recentWindow()
	for k, c := range n.oh.recent {
		if c.leave == leave && n.now-c.at <= w && string(c.id[:len(prefix)]) == string(prefix) {
			n.oh.recent = append(n.oh.recent[:k], n.oh.recent[k+1:]...)
			return c.id, true
		}
	}
	return ID{}, false
}
