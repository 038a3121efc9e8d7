package chordrouting

// How many ranges a membership table has. A table picks its own number
// from its size, with hysteresis: it splits each range in two when its
// entries average more than chunkHigh per range, and merges pairs when
// they average fewer than chunkLow, so a chunk averages 8-64 entries (a
// change moves about 400 B at most on average: 6 B an entry) and a table costs 8
// bytes per range (a chunk reference and a count): 16 KB at 100,000
// members (2,048 ranges), 8 B for a daemon's table of a few members,
// under the 6 B per member of the chunks themselves.
//
// Small chunks share more: a chunk is shared only when the tables agree
// on every member in its range, and while events are in flight (and while
// a ring forms and its tables fill) they do not. At 3,000 simulated nodes
// (kwnode sim --one-hop, seed 1) the shared Directory held 53 entries per
// member under churn with chunks of 8-64 entries, 224 with 32-256 (and
// when the ring had formed, 747 against 2,378: 3,000 tables of 3,000
// members unshared would be 3,000). Smaller chunks still would cost more
// per table than they save at 100,000 members.
//
// Tables sharing a Directory must pick the same number to share chunks.
// A table keeps its number while its size stays between a quarter of and
// twice its size when it last split (32 per range), and a simulated
// ring's tables all grow to about the ring's size, so once formed they
// agree; a table that grew past a split point while another did not
// shares nothing with it until the other catches up, which costs memory
// (each keeps its own chunks), never a wrong answer. A number kept in the
// shared Directory would make them agree exactly, but would give each
// joiner's empty table the full array and re-chunk every table at once;
// the size rule needs no coordination and suits a daemon's own table as
// well. A split or merge re-chunks the whole table (O(n), once per
// doubling or halving).
//
// IDs are SHA-256 outputs, so ranges fill evenly; forged joins crowded
// into one range make its chunk long, and a change there moves it, which
// costs what every change cost with one sorted slice (bounded by
// MaxTableSize).
const (
	chunkHigh    = 64
	chunkLow     = 8
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
			cs[cur], counts[cur] = t.dir.intern(hs, keys, b), len(hs)
		}
		hs, keys = hs[:0], keys[:0]
	}
	for _, c := range old {
		for _, h := range t.dir.chunkOf(c).hs { // (old chunks stay; intern may move the array)
			id := &t.dir.peers[h].ID
			if r := t.rangeOf(id); r != cur {
				flush()
				cur = r
			}
			hs, keys = append(hs, h), append(keys, keyOf(id, b))
		}
	}
	flush()
	p.hs, p.keys = hs[:0], keys[:0]
	for _, c := range old {
		t.dir.releaseChunk(c)
	}
	t.cs, t.counts = cs, newRangeCounts(counts)
}
