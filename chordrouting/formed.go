package chordrouting

import (
	"errors"
	"fmt"
)

// This file starts a node as a settled member of a ring that formed long
// ago, for simulators that measure a steady state without paying for its
// formation (forming a ring of N one-hop nodes by joins copies N tables of
// N entries: 10^10 entries at 100,000 nodes).

// Formed is what a settled member knows: its ring neighbours, the owner of
// every key (for its fingers), and in one-hop mode every member.
type Formed struct {
	// Pred is the node's predecessor.
	Pred Peer
	// Successors is its successor list: the next members clockwise, in
	// order, at most Config.SuccessorListLen (empty for a ring of one).
	Successors []Peer
	// Owner returns the member that owns a key (the first at or after it).
	Owner func(key ID) Peer
	// Like is a member of the same ring already started with StartFormed
	// whose membership table this node copies (one-hop mode): with a
	// shared Directory the copy costs a reference per range of the table,
	// not an entry per member. nil: the table is built from Members.
	Like *Node
	// Members is every member of the ring (any order; this node's own
	// entry is skipped), read only when Like is nil.
	Members []Peer
}

// StartFormed makes a node that is not in a ring a settled member of one,
// as if it had joined long ago and every join and departure since had
// reached it: f's predecessor and successor list, the fingers f.Owner
// gives (taken as they are: Config.AdmitFinger, which screens fingers a
// lookup found, is not asked), and in one-hop mode a complete membership
// table. Its periodic tasks then run as any member's do (its first
// anti-entropy sweep at a random point of the interval, as a node that
// swept long ago; its replicas' repair at its periodic time, as if the
// neighbourhood had been repaired already).
func (n *Node) StartFormed(f Formed) error {
	switch {
	case n.left || n.member || n.joinOp != nil:
		return errors.New("chordrouting: start formed: the node is already in a ring or has left")
	case f.Owner == nil:
		return errors.New("chordrouting: start formed: Owner is required")
	case len(f.Successors) > n.cfg.SuccessorListLen:
		return fmt.Errorf("chordrouting: start formed: %d successors, more than the list's %d", len(f.Successors), n.cfg.SuccessorListLen)
	case n.cfg.OneHop && f.Like != nil && (!f.Like.member || f.Like.oh.table.dir != n.oh.table.dir):
		return errors.New("chordrouting: start formed: Like must be a member sharing this node's Directory")
	}
	for _, p := range f.Successors {
		if p.ID == n.self.ID {
			return errors.New("chordrouting: start formed: the successor list names the node itself")
		}
	}
	if n.cfg.OneHop {
		if err := n.formTable(f); err != nil {
			return err
		}
	}
	n.member = true
	if f.Pred.ID != n.self.ID && len(f.Successors) > 0 {
		n.pred, n.hasPred = f.Pred, true
	}
	if len(f.Successors) > 0 {
		n.succ = append([]Peer(nil), f.Successors...)
	}
	n.AddKnownPeers(n.succ)
	for i := IDBits - 1; i >= 0 && len(n.succ) > 0; i-- {
		start := n.self.ID.AddPow2(i)
		if BetweenRightIncl(n.self.ID, start, n.lastKnown()) {
			break // this finger's start and every lower one's: the list covers them
		}
		end := n.self.ID
		if i+1 < IDBits {
			end = n.self.ID.AddPow2(i + 1)
		}
		n.setFinger(start, end, f.Owner(start))
	}
	sy := &n.oh.sync
	sy.swept, sy.sweptAt = n.oh.table.len(), n.now
	n.hood = n.neighbourhood()
	n.hoodSince, n.hoodRepaired = n.now, n.hood
	return nil
}

// formTable fills the membership table: a copy of f.Like's, which lacks
// Like itself and lists this node, or else f.Members.
func (n *Node) formTable(f Formed) error {
	t := &n.oh.table
	if f.Like == nil {
		others := 0
		for _, p := range f.Members {
			if p.ID != n.self.ID {
				others++
			}
		}
		if others > t.max {
			return fmt.Errorf("chordrouting: start formed: %d other members, more than the table's %d", others, t.max)
		}
		for _, p := range f.Members {
			if p.ID != n.self.ID {
				t.add(p)
			}
		}
		return nil
	}
	t.copyOf(&f.Like.oh.table)
	t.remove(n.self.ID)
	if t.len() >= t.max {
		t.clear()
		return fmt.Errorf("chordrouting: start formed: the ring has more members than the table's %d", t.max)
	}
	t.add(f.Like.self)
	return nil
}
