package chordrouting

import "slices"

// This file groups keys by owner with as few lookups as possible: one
// lookup names the owner and its successors, whose key ranges are
// consecutive, so the sorted keys that fall in them need no new lookup.

// groupWindow is how many lookups one grouping runs at once: after the
// first lookup (whose answer may cover every key: keys close together),
// the sorted keys left are cut into up to this many runs of at least
// groupRunMin keys, each grouped by its own chain of lookups. A chain's
// first key costs a lookup the single chain might have saved (the answer
// before it could have covered it), so at most groupWindow-1 lookups
// more; the grouping takes the longest chain's round trips instead of
// all of them (a put of 256 keys at 1,000 members: about 83 lookups, one
// after the other).
// repairGroupWindow is groupWindow for repair's grouping of misplaced
// keys (groupByOwner): 2, because its lookups are maintenance's, which
// Config.MaintenancePerPeer counts per peer (8 chains could all ask one
// finger at once), and repair is in no hurry.
const (
	groupWindow       = 8
	repairGroupWindow = 2
	groupRunMin       = 4
)

// ownerGroup is the keys (by index into the caller's slice) one owner
// holds.
type ownerGroup struct {
	owner Peer
	idx   []int
}

// coverOf returns the owner of key among the ranges a lookup answer
// spans: (from, o0], (o0, o1], ... — and, when the list is shorter than r
// (a small ring: every node is listed), (o_last, from] too. An owner the
// lookup found dead is skipped: its range is the next owner's.
func (n *Node) coverOf(a *lookupAnswer, key ID) (Peer, bool) {
	if a == nil || len(a.owners) == 0 {
		return Peer{}, false
	}
	prev := a.from.ID
	for _, o := range a.owners {
		if containsID(a.dead, o.ID) {
			continue
		}
		if BetweenRightIncl(prev, key, o.ID) {
			return o, true
		}
		prev = o.ID
	}
	if len(a.owners) < n.cfg.SuccessorListLen && a.from.ID != prev && BetweenRightIncl(prev, key, a.from.ID) {
		return a.from, true
	}
	return Peer{}, false
}

// groupByOwner finds the owner of every key (keys must be sorted) and
// calls done with the groups, the lookups it needed and the indices of
// keys whose lookup failed.
// Its lookups are maintenance's (repair offers misplaced values with it),
// at most repairGroupWindow at once.
func (n *Node) groupByOwner(keys []ID, done func(groups []ownerGroup, lookups int, failed []int, err error)) {
	g := &grouper{n: n, keys: keys, window: repairGroupWindow, split: true, done: done}
	g.next()
}

// groupAvoiding is groupByOwner that takes none of avoid as the owner of
// a key from another key's lookup answer (unconfirmed): a put's retry
// avoids the owners whose stores just failed. A key's own lookup confirms
// its owner, which is taken even if avoided (it has just answered). With
// op its lookups are an operation's (rpc.go, opShare), and they end by
// end (a forwarded put's: forward_serve.go).
func (n *Node) groupAvoiding(keys []ID, avoid []ID, op bool, end endBy, done func(groups []ownerGroup, lookups int, failed []int, err error)) {
	g := &grouper{n: n, keys: keys, avoid: avoid, op: op, end: end, window: groupWindow, split: true, done: done}
	g.next()
}

type grouper struct {
	n       *Node
	keys    []ID
	avoid   []ID
	op      bool
	end     endBy // when an operation's lookups must end (op only)
	window  int   // at most so many lookups at once (fanOut)
	split   bool  // after its first lookup, fan the keys left out (fanOut)
	pos     int
	last    *lookupAnswer
	groups  []ownerGroup
	lookups int
	failed  []int
	err     error
	done    func([]ownerGroup, int, []int, error)
}

func (g *grouper) next() {
	for g.pos < len(g.keys) {
		if o, ok := g.n.coverOf(g.last, g.keys[g.pos]); ok && !containsID(g.avoid, o.ID) {
			g.add(o, g.pos)
			g.pos++
			continue
		}
		if g.split && g.lookups > 0 && len(g.keys)-g.pos >= 2*groupRunMin {
			g.fanOut()
			return
		}
		g.lookups++
		key := g.keys[g.pos]
		lookup := func(a lookupAnswer) {
			// The key's answer is for all its copies (the keys are
			// sorted: they follow it). Taken one at a time, a copy
			// that the answer's ranges missed (the owner was
			// confirmed beyond them: a joiner not yet linked in, an
			// avoided owner) was looked up again, and a ring that had
			// changed meanwhile named another owner: one key's items
			// went in two stores to two owners at once.
			end := g.pos + 1
			for end < len(g.keys) && g.keys[end] == key {
				end++
			}
			switch {
			case a.err != nil:
				g.fail(g.pos, end, a.err)
			case len(a.owners) == 0:
				g.fail(g.pos, end, ErrNoPeers)
			default:
				// The key's own answer names its owner: never look it
				// up again (an answer whose ranges missed it did, once
				// per lookup, until the ring changed).
				o, ok := g.n.coverOf(&a, key)
				if !ok {
					o = a.owners[0]
				}
				for i := g.pos; i < end; i++ {
					g.add(o, i)
				}
				g.last = &a
			}
			g.pos = end
			g.next()
		}
		if g.op {
			g.n.opLookupBy(key, g.end, lookup)
		} else {
			g.n.lookup(key, nil, true, lookup)
		}
		return
	}
	g.done(g.groups, g.lookups, g.failed, g.err)
}

// fail marks the keys at lo..hi-1, one key's copies, as failed with err.
func (g *grouper) fail(lo, hi int, err error) {
	for i := lo; i < hi; i++ {
		g.failed = append(g.failed, i)
	}
	g.err = err
}

func (g *grouper) add(o Peer, i int) {
	for k := range g.groups {
		if g.groups[k].owner.ID == o.ID {
			g.groups[k].idx = append(g.groups[k].idx, i)
			return
		}
	}
	g.groups = append(g.groups, ownerGroup{owner: o, idx: []int{i}})
}

// fanOut groups the keys from g.pos on in up to g.window runs at once,
// each a chain of lookups of its own, and ends g when all have ended.
// Runs are cut between different keys, so that the items of one key go
// in one store, in their order; the groups are put in key order once all
// runs have ended, whatever order they ended in.
func (g *grouper) fanOut() {
	rest, base := g.keys[g.pos:], g.pos
	runs := min(g.window, len(rest)/groupRunMin)
	cuts := []int{0}
	for r := 1; r <= runs; r++ {
		c := r * len(rest) / runs
		for c < len(rest) && c > 0 && rest[c] == rest[c-1] {
			c++
		}
		if c > cuts[len(cuts)-1] {
			cuts = append(cuts, c)
		}
	}
	left := len(cuts) - 1
	for r := range left {
		lo, hi := cuts[r], cuts[r+1]
		off := base + lo
		sub := &grouper{n: g.n, keys: rest[lo:hi], avoid: g.avoid, op: g.op, end: g.end, window: g.window, last: g.last}
		sub.done = func(groups []ownerGroup, lookups int, failed []int, err error) {
			for _, gr := range groups {
				for _, i := range gr.idx {
					g.add(gr.owner, off+i)
				}
			}
			for _, i := range failed {
				g.failed = append(g.failed, off+i)
			}
			g.lookups += lookups
			if err != nil {
				g.err = err
			}
			if left--; left == 0 {
				for _, gr := range g.groups {
					slices.Sort(gr.idx)
				}
				slices.SortFunc(g.groups, func(a, b ownerGroup) int { return a.idx[0] - b.idx[0] })
				slices.Sort(g.failed)
				g.done(g.groups, g.lookups, g.failed, g.err)
			}
		}
		sub.next()
	}
}
