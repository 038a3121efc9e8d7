package chordrouting

// This file defends a client (a node that is not a ring member) against a
// lying entry point. A client's lookups start at its entry points, and
// the first node to answer "done" names the owner: an entry point that
// answers every lookup with "I own it" (and every get with nothing) would
// hide every record from the client, and absorb every store.
//
// A client with two or more entry points therefore runs each lookup twice
// at once, starting at two different entry points (each falling back to
// the entry points after the first two, never to the other one), and
// compares the owners the two lookups found and confirmed (confirm.go):
//
//   - They agree: the answer is taken.
//   - One failed: the other is taken.
//   - They differ: an owner that confirmed its ownership with no
//     predecessor (a ring of one by its own account, while the client
//     knows two members) loses to one that has a predecessor. Then an
//     owner named by itself (the node whose reply said "done" is the
//     owner it named) loses to one that another node named: an honest
//     node names itself only when the key is its own. Between two
//     answers of the same kind, the owner closest after the key wins:
//     the key's owner is the first live member at or after it, so a liar
//     can win only with a live node whose ID lies between the key and
//     the true owner.
//
// What is left: a liar with accomplices (identities that answer as live
// owners, cheap to create) names the one closest after each key and wins
// when it lies before the true owner, for a fraction K/(K+N) of keys with
// K accomplices in a ring of N; grinding IDs next to a chosen key makes
// it win there for sure (SECURITY.md, eclipse). The cost: a client sends
// every lookup twice, and a lookup waits for the slower of the two.

// crossCheck runs lookup tmpl (its key, kind and done) from the first two
// entry points, as described above, and reports whether it did (false:
// fewer than two).
func (n *Node) crossCheck(tmpl *lookupOp) bool {
	key, done := tmpl.key, tmpl.done
	entries := appendPeers(nil, n.entry, n.self.ID)
	if len(entries) < 2 {
		return false
	}
	var got [2]crossAnswer
	left := 2
	for i := range 2 {
		op := &lookupOp{key: key, start: n.now, confirm: tmpl.confirm, op: tmpl.op}
		// Each lookup starts at its own entry point and falls back only
		// to entry points beyond the two: were the other one among its
		// candidates, a liar closer to the key would be asked next and
		// answer both lookups.
		op.cands = append(append(op.cands, entries[i]), entries[2:]...)
		op.done = func(a lookupAnswer) {
			// The last node asked to find the owner is the one whose
			// "done" named it (confirmations do not count as tries).
			self := len(a.owners) > 0 && len(op.tried) > 0 && a.owners[0].ID == op.tried[len(op.tried)-1]
			got[i] = crossAnswer{a: a, selfNamed: self}
			if left--; left == 0 {
				done(pickAnswer(key, got[0], got[1]))
			}
		}
		n.lookupStep(op)
	}
	return true
}

// crossAnswer is one of a cross-checked lookup's two answers.
type crossAnswer struct {
	a         lookupAnswer
	selfNamed bool // the node that answered "done" named itself as owner
}

// pickAnswer chooses between the two answers of a cross-checked lookup.
func pickAnswer(key ID, x, y crossAnswer) lookupAnswer {
	xok, yok := x.a.err == nil && len(x.a.owners) > 0, y.a.err == nil && len(y.a.owners) > 0
	best := x.a
	switch {
	case !xok && !yok:
	case !xok:
		best = y.a
	case !yok:
	case x.a.owners[0].ID == y.a.owners[0].ID:
	case x.a.alone != y.a.alone:
		if x.a.alone {
			best = y.a
		}
	case x.selfNamed != y.selfNamed:
		if x.selfNamed {
			best = y.a
		}
	case distTo(key, y.a.owners[0].ID).less(distTo(key, x.a.owners[0].ID)):
		best = y.a
	}
	return best
}
