package sim

import (
	"bytes"
	"sort"

	"kwsearch/chordrouting"
)

// The checks use their own interval arithmetic rather than the core's
// Between, so that a bug there cannot hide itself.

// clockwise returns (b - a) mod 2^256: how far b lies clockwise from a.
func clockwise(a, b chordrouting.ID) chordrouting.ID {
	var d chordrouting.ID
	borrow := 0
	for i := len(a) - 1; i >= 0; i-- {
		v := int(b[i]) - int(a[i]) - borrow
		borrow = 0
		if v < 0 {
			v += 256
			borrow = 1
		}
		d[i] = byte(v)
	}
	return d
}

// strictlyBetween reports whether x lies strictly inside the clockwise
// interval (a, b); when a == b, every x != a does.
func strictlyBetween(a, x, b chordrouting.ID) bool {
	if x == a {
		return false
	}
	if a == b {
		return true
	}
	dx, db := clockwise(a, x), clockwise(a, b)
	return bytes.Compare(dx[:], db[:]) < 0
}

// member is one live ring member as the checks see it.
type member struct {
	id  chordrouting.ID
	idx int // node index in the simulation
}

// ring is the sorted list of live members: the ground truth the checks and
// the lookup verification compare against.
type ring struct {
	m []member
}

func (r *ring) Len() int { return len(r.m) }

func (r *ring) search(id chordrouting.ID) int {
	return sort.Search(len(r.m), func(k int) bool { return bytes.Compare(r.m[k].id[:], id[:]) >= 0 })
}

// add inserts a member; it is a no-op if id is already there.
func (r *ring) add(id chordrouting.ID, idx int) {
	k := r.search(id)
	if k < len(r.m) && r.m[k].id == id {
		return
	}
	r.m = append(r.m, member{})
	copy(r.m[k+1:], r.m[k:])
	r.m[k] = member{id: id, idx: idx}
}

// remove deletes a member if present.
func (r *ring) remove(id chordrouting.ID) {
	k := r.search(id)
	if k < len(r.m) && r.m[k].id == id {
		r.m = append(r.m[:k], r.m[k+1:]...)
	}
}

// contains reports whether id is a live member.
func (r *ring) contains(id chordrouting.ID) bool {
	k := r.search(id)
	return k < len(r.m) && r.m[k].id == id
}

// owner is the position of the key's owner: the first member at or after
// key, wrapping around. The ring must not be empty.
func (r *ring) owner(key chordrouting.ID) int {
	k := r.search(key)
	if k == len(r.m) {
		k = 0
	}
	return k
}

// next is the position after k, wrapping around.
func (r *ring) next(k int) int {
	if k+1 == len(r.m) {
		return 0
	}
	return k + 1
}

// prev is the position before k, wrapping around.
func (r *ring) prev(k int) int {
	if k == 0 {
		return len(r.m) - 1
	}
	return k - 1
}

// replicas returns the positions of the key's owner and the next n-1
// members (fewer if the ring is smaller).
func (r *ring) replicas(key chordrouting.ID, n int) []int {
	if len(r.m) == 0 {
		return nil
	}
	n = min(n, len(r.m))
	out := make([]int, 0, n)
	k := r.owner(key)
	for range n {
		out = append(out, k)
		k = r.next(k)
	}
	return out
}
