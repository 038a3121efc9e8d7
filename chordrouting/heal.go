package chordrouting

// This file is RING.md's "beyond the model" partition check: the
// corrected protocol keeps two rings apart once a partition split them,
// so a node now and then looks itself up through a known peer outside its
// successor list. Another answer than itself means two rings exist; the
// node merges the other ring's successors into its list, and stabilization
// splices the rings together.

// checkPartition starts one check if a suitable known peer exists.
func (n *Node) checkPartition() {
	if n.healBusy || !n.member {
		return
	}
	var cands []Peer
	for _, p := range n.known {
		if p.ID != n.self.ID && !containsPeer(n.succ, p.ID) && !(n.hasPred && p.ID == n.pred.ID) {
			cands = append(cands, p)
		}
	}
	if len(cands) == 0 {
		return
	}
	via := cands[n.rng.IntN(len(cands))]
	n.healBusy = true
	n.lookup(n.self.ID, []Peer{via}, true, func(a lookupAnswer) {
		n.healBusy = false
		if a.err != nil || !n.member || len(a.owners) == 0 {
			return
		}
		o := a.owners[0]
		if o.ID == n.self.ID || containsPeer(n.succ, o.ID) {
			return // one ring (or a join not yet stabilized onto)
		}
		n.request(o, &Message{Type: MsgGetState}, func(m *Message) {
			if m == nil || m.Type != MsgState || !n.member {
				return
			}
			n.mergeList(append([]Peer{o}, m.Peers...))
			if len(n.succ) > 0 {
				n.notify(n.succ[0])
			}
		})
	})
}
