package sim

import (
	"time"

	"kwsearch/chordrouting"
)

// This file sorts the correct lookups that took more than one hop, in
// one-hop mode, by what the asker's membership table could not know yet
// (report: multi_hop_causes).

// recentWindow is how recent a join or crash counts as a cause: well
// above the quarantine plus the spread of an event (about 10 s at 10,000
// nodes) and a joiner's table copy.
const recentWindow = 60 * time.Second

// crashRec is a crash while lookups run.
type crashRec struct {
	id chordrouting.ID
	at time.Duration
}

// noteCrash records that node i is about to crash.
func (e *experiment) noteCrash(i int) {
	now := e.s.net.Elapsed()
	keep := e.crashes[:0]
	for _, c := range e.crashes {
		if now-c.at < recentWindow {
			keep = append(keep, c)
		}
	}
	e.crashes = append(keep, crashRec{id: e.s.Peer(i).ID, at: now})
}

// tableView is what the asker's table said about a lookup's key when it
// started: the member it named as the owner, if any.
type tableView struct {
	named chordrouting.ID
	ok    bool
}

// viewOf reads asker's table for key (nothing without one-hop tables).
func (e *experiment) viewOf(asker int, key chordrouting.ID) tableView {
	if !e.opt.OneHop {
		return tableView{}
	}
	p, ok := e.s.Node(asker).TableOwner(key)
	return tableView{named: p.ID, ok: ok}
}

// multiHopCause names why a correct lookup took more than one hop: the
// owner changed while it ran; the asker joined recently (its table may
// still be copying); the asker's table named a node that was dead when
// the lookup started (crashed recently: the departure not yet detected or
// spread; or long ago: a stale entry); it named a live node other than
// the owner because it lacked the owner (which joined recently: not yet
// announced or spread; or long ago); it named the owner (the extra hops
// came from elsewhere).
func (e *experiment) multiHopCause(l lookupRec) string {
	s := e.s
	switch {
	case len(l.owners) > 1:
		return "owner_changed"
	case l.start-s.MemberSince(l.asker) < recentWindow:
		return "asker_joined_recently"
	case !l.view.ok:
		return "asker_table_empty"
	case l.view.named == l.owners[0]:
		return "table_named_owner"
	}
	if at, ok := e.crashedAt(l.view.named); ok && at <= l.start {
		return "table_named_node_crashed_recently"
	}
	if _, ok := e.crashedAt(l.view.named); !ok && !s.live.contains(l.view.named) {
		return "table_named_node_dead_long"
	}
	if o := s.Owner(l.key); o >= 0 && l.start-s.MemberSince(o) < recentWindow {
		return "table_lacked_owner_joined_recently"
	}
	return "table_lacked_owner_long"
}

// crashedAt returns when the node with this ID crashed, if it did in the
// last recentWindow.
func (e *experiment) crashedAt(id chordrouting.ID) (time.Duration, bool) {
	for _, c := range e.crashes {
		if c.id == id {
			return c.at, true
		}
	}
	return 0, false
}
