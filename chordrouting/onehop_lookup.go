package chordrouting

// This file is how lookups use the membership table (Config.OneHop), and
// the Accordion-like thinning that bounds the table.

// denseGaps is how many mean gaps between ring neighbours a table's gap
// around a key may span for the table to be trusted to name the owner:
// a thinned table asks the key's predecessor instead, and a lookup
// confirming the owner goes to the iterative lookup at its first step
// back instead of stepping back node by node (confirm.go).
const denseGaps = 8

// oneHopStart starts a member's lookup at the key's owner as the table
// names it: the lookup asks that node for its state (confirm.go), which
// answers in one hop when the entry is fresh; a dead entry is routed
// around (the next table entries follow it), and a node that joined just
// before it is stepped back to. Without confirmation (finger refreshes)
// the table's answer is taken as it is, without any message. It reports
// false when the table cannot name the owner: one-hop off, too few
// entries, or a thinned table whose gap around the key is much wider
// than the ring's mean gap, where the lookup asks the table's predecessor
// of the key first (oneHopCandidate). A table still filling (a joiner's,
// or while a ring forms) is used as it is: the owner it names steps back
// to a node it lacks, and where its gap is sparse (op.sparse) the lookup
// goes on from the gap's start by the iterative lookup.
func (n *Node) oneHopStart(op *lookupOp) bool {
	i, lo, ok := n.tableOwner(op.key)
	if !ok {
		return false
	}
	t := &n.oh.table
	owners := make([]Peer, 0, 3)
	for k := 0; k < 3 && k < t.len(); k++ {
		p := t.peer((i + k) % t.len())
		if p.ID == lo.ID && k > 0 {
			break
		}
		owners = append(owners, p)
	}
	op.sparse = !n.dense(lo.ID, owners[0].ID)
	n.lookupFound(op, owners, lo)
	return true
}

// tableOwner returns the index in the table of the owner the table names
// for key and the table's predecessor of key (where the owner's range
// starts); false when the table cannot name the owner: one-hop off, too
// few entries, or a thinned table whose gap around the key is much wider
// than the ring's mean gap.
func (n *Node) tableOwner(key ID) (int, Peer, bool) {
	t := &n.oh.table
	if !n.cfg.OneHop || t.len() < 2 || len(n.succ) == 0 {
		return 0, Peer{}, false
	}
	i := t.succIndex(key)
	lo, _ := t.predOf(key)
	if t.len() >= t.max && !n.dense(lo.ID, t.peer(i).ID) {
		return 0, Peer{}, false // thinned out here
	}
	return i, lo, true
}

// dense reports whether (a, b] is at most denseGaps mean gaps wide, the
// mean gap being estimated from the successor list (true without one:
// nothing to judge by).
func (n *Node) dense(a, b ID) bool {
	if len(n.succ) == 0 {
		return true
	}
	span := distTo(n.self.ID, n.succ[len(n.succ)-1].ID)
	gap := distTo(a, b)
	return top(gap) <= top(span)/float64(len(n.succ))*denseGaps
}

// top approximates a distance by its upper 64 bits.
func top(d dist) float64 { return float64(d[0]) + float64(d[1])/(1<<64) }

// oneHopCandidate is the node the table names as the key's predecessor,
// which answers Done when it is current; false when the table names none
// strictly between this node and key.
func (n *Node) oneHopCandidate(key ID) (Peer, bool) {
	if !n.cfg.OneHop {
		return Peer{}, false
	}
	p, ok := n.oh.table.predOf(key)
	if !ok || p.ID == key || !Between(n.self.ID, p.ID, key) {
		return Peer{}, false
	}
	return p, true
}

// admit adds p to the table. A full table (MaxTableSize) thins like
// Accordion: p replaces a randomly chosen entry that lies farther from
// this node (both ways round), else it is refused; so the table keeps
// every node near its own ID and a sample that thins with distance, and
// a lookup there asks the table's predecessor of the key, whose own table
// is dense around the key. It reports whether p was new to the table and
// is in it now (an address change of a listed member is not new).
func (n *Node) admit(p Peer) bool {
	t := &n.oh.table
	i, ok := t.find(p.ID)
	switch {
	case ok:
		t.setAddr(i, p.Addr)
		return false
	case t.len() < t.max:
		t.insertAt(i, p)
		return true
	case t.len() == 0:
		return false
	}
	k := n.rng.IntN(t.len())
	if !n.ringDist(p.ID).less(n.ringDist(*t.id(k))) {
		return false
	}
	t.removeAt(k)
	i, _ = t.find(p.ID)
	t.insertAt(i, p)
	return true
}

// ringDist is the distance between this node and id, the shorter way
// round.
func (n *Node) ringDist(id ID) dist {
	a, b := distTo(n.self.ID, id), distTo(id, n.self.ID)
	if b.less(a) {
		return b
	}
	return a
}
