package chordrouting

// How many ranges a membership table has. A table picks its own number
// from its size, with hysteresis: it splits each range in two when its
// entries average more than chunkHigh per range, and merges pairs when
// they average fewer than chunkLow, so the chunks average 32-256 entries
// (at most 1 KB copied per change) and a table costs 8 bytes per range (a
// chunk reference and a count): 4 KB at 100,000 members, 8 B for a
// daemon's table of a few members, far under the ~4 B per member of the
// chunks themselves. Tables sharing a Directory must pick the same number
// to share chunks: in a simulated ring they all grew to about the same
// size, and a ring whose size moves by less than a factor of 8 never
// changes the number again, so they agree (a table that grew past a
// split point and one that did not differ until the other catches up).
// A hint kept in the Directory would make them agree exactly, but would
// give a daemon's own small table a large array. A split or merge
// re-chunks the whole table (O(n), once per doubling).
//
// IDs are SHA-256 outputs, so ranges fill evenly; forged joins crowded
// into one range make its chunk long, and a change there copies it, which
// costs what every change cost with one sorted slice (bounded by
// MaxTableSize).
const (
	chunkHigh    = 256
	chunkLow     = 32
	maxTableBits = 16
)

// fit re-chunks the table when its size left the band its ranges suit.
func (t *memberTable) fit() {
	b := t.bits
	for b < maxTableBits && t.n > chunkHigh<<b {
		b++
	}
	for b > 0 && t.n < chunkLow<<b {
		b--
	}
	if b != t.bits {
		t.rechunk(b)
	}
}

// rechunk splits the table into 2^b ranges.
func (t *memberTable) rechunk(b uint8) {
	old := t.cs
	t.bits = b
	cs := make([]uint32, 1<<b)
	counts := make([]int, 1<<b)
	p := &t.dir.pool
	hs, keys := p.hs[:0], p.keys[:0]
	cur := -1
	flush := func() {
		if cur >= 0 {
			cs[cur], counts[cur] = t.dir.intern(hs, keys, hashHandles(hs)), len(hs)
		}
		hs, keys = hs[:0], keys[:0]
	}
	for _, c := range old {
		chs, ckeys := t.dir.chunkOf(c).hs, t.dir.chunkOf(c).keys // intern may move the chunk array
		for k, h := range chs {
			if r := t.rangeOf(&t.dir.peers[h].ID); r != cur {
				flush()
				cur = r
			}
			hs, keys = append(hs, h), append(keys, ckeys[k])
		}
	}
	flush()
	p.hs, p.keys = hs[:0], keys[:0]
	for _, c := range old {
		t.dir.releaseChunk(c)
	}
	t.cs, t.counts = cs, newRangeCounts(counts)
}
