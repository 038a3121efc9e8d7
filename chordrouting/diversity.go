package chordrouting

// This file limits how many fingers one operator's addresses can fill
// (issue 6; aMule's Kad keeps at most 1 contact per IP and 2 per /24 in
// each routing bin). The core knows no addresses: Config.AdmitFinger, set
// by the libp2p adapter, judges a candidate against the fingers held.
// Only fingers are limited: the successor list and the predecessor must be
// the real neighbours for the ring to be correct, and fingers only speed
// lookups up, so skipping one costs at most a hop.

// fingerCandidate picks the finger for the interval [start, end) from a
// lookup's owners (the owner of start, then its successors): the first
// one Config.AdmitFinger admits, judged against the fingers held outside
// that interval (those inside are the entries it replaces). ok is false
// when none is admitted; the interval's entries are then dropped too, so
// that a finger admitted before (its group had room then) does not stay.
func (n *Node) fingerCandidate(start, end ID, owners []Peer) (Peer, bool) {
	if len(owners) == 0 {
		return Peer{}, false
	}
	if n.cfg.AdmitFinger == nil {
		return owners[0], true
	}
	held := make([]Peer, 0, len(n.fingers))
	for _, f := range n.fingers {
		if f.ID != start && !Between(start, f.ID, end) {
			held = append(held, f)
		}
	}
	for _, o := range owners {
		if o.ID == n.self.ID {
			break // wrapped around the ring
		}
		if n.cfg.AdmitFinger(o, held) {
			return o, true
		}
	}
	if len(held) < len(n.fingers) {
		n.fingers = append(n.fingers[:0], held...) // held keeps ring order
	}
	return Peer{}, false
}
