package chordrouting

import "math/bits"

// rangeCounts is a Fenwick tree of the entry counts of a table's ranges:
// the index of a range's first entry, and the range holding entry k, in
// O(log ranges). Prefix counts would answer the first in O(1) but cost
// O(ranges) per change (2,048 at 100,000 members, on every insert of
// every table); the tree costs the same 4 bytes per range.
type rangeCounts []uint32

// newRangeCounts returns the tree of counts (one per range).
func newRangeCounts(counts []int) rangeCounts {
	f := make(rangeCounts, len(counts))
	for i, c := range counts {
		f[i] += uint32(c)
		if j := i | (i + 1); j < len(f) {
			f[j] += f[i]
		}
	}
	return f
}

// add adds delta (±1) to range r's count.
func (f rangeCounts) add(r int, delta int) {
	for ; r < len(f); r |= r + 1 {
		f[r] += uint32(delta)
	}
}

// before returns the number of entries in the ranges below r.
func (f rangeCounts) before(r int) int {
	s := 0
	for ; r > 0; r &= r - 1 {
		s += int(f[r-1])
	}
	return s
}

// locate returns the range holding entry k (0 <= k < total) and k's
// offset in it.
func (f rangeCounts) locate(k int) (r, off int) {
	pos := 0
	for step := highBit(len(f)); step > 0; step >>= 1 {
		if next := pos + step; next <= len(f) && int(f[next-1]) <= k {
			pos = next
			k -= int(f[next-1])
		}
	}
	return pos, k
}

// highBit returns the largest power of two not above n (0 for 0).
func highBit(n int) int {
	if n == 0 {
		return 0
	}
	return 1 << (bits.Len(uint(n)) - 1)
}
