package sim

import (
	"errors"
	"fmt"
	"slices"

	"kwsearch/chordrouting"
)

// FormRing adds n nodes and starts them as a settled ring at once
// (chordrouting.Node.StartFormed): each with its true predecessor and
// successor list, the fingers the ground truth gives, and in one-hop mode
// a complete membership table, copied from the first node's so that every
// table shares the Directory's chunks from the start. It measures a steady
// state without paying for formation, whose joins cost N² in one-hop mode
// (every joiner copies N entries, every join reaches N tables); Run uses
// it for Options.Build "formed". The simulation must have no members yet.
func (s *Sim) FormRing(n int) error {
	if s.live.Len() > 0 {
		return errors.New("sim: form ring: the simulation already has members")
	}
	if n < 1 {
		return fmt.Errorf("sim: form ring: need at least one node, got %d", n)
	}
	idx := make([]int, n)
	for k := range idx {
		i, err := s.AddNode()
		if err != nil {
			return err
		}
		idx[k] = i
	}
	slices.SortFunc(idx, func(a, b int) int { return s.nodes[a].peer.ID.Cmp(s.nodes[b].peer.ID) })
	live := ring{m: make([]member, 0, n)}
	members := make([]chordrouting.Peer, n)
	for k, i := range idx {
		if k > 0 && s.nodes[i].peer.ID == s.nodes[idx[k-1]].peer.ID {
			return fmt.Errorf("sim: form ring: nodes %d and %d drew the same ID", idx[k-1], i)
		}
		live.m = append(live.m, member{id: s.nodes[i].peer.ID, idx: i})
		members[k] = s.nodes[i].peer
	}
	owner := func(key chordrouting.ID) chordrouting.Peer { return members[live.owner(key)] }
	r := min(s.cfg.Node.SuccessorListLen, n-1)
	succ := make([]chordrouting.Peer, 0, r)
	for k, i := range idx {
		succ = succ[:0]
		for j := 1; j <= r; j++ {
			succ = append(succ, members[(k+j)%n])
		}
		f := chordrouting.Formed{Pred: members[(k+n-1)%n], Successors: succ, Owner: owner}
		if k == 0 {
			f.Members = members
		} else {
			f.Like = s.nodes[idx[0]].node
		}
		if err := s.nodes[i].node.StartFormed(f); err != nil {
			return fmt.Errorf("sim: form ring: node %d: %w", i, err)
		}
	}
	for _, i := range idx { // members only once every node has started
		s.nodes[i].status = stMember
		s.nodes[i].since = s.net.Elapsed()
	}
	s.live = live
	return nil
}
