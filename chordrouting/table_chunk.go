package chordrouting

import "slices"

// chunkPool hash-conses the chunks of membership tables: a chunk is an
// immutable sorted list of peer handles, interned once by content and
// counted by the table ranges that hold it. A table that changes a range
// builds the new contents in the pool's scratch buffer and interns them:
// when another table already holds the same members there, the chunk is
// shared and nothing is allocated, so tables that learn the same events
// (or lag and catch up) converge on the same chunks. Chunk 0 is the empty
// chunk, never counted.
type chunkPool struct {
	chunks  []chunk
	buckets map[uint64]uint32 // content hash -> first chunk of its chain
	free    []uint32
	live    int
	scratch []uint32 // contents being built (interned copies them)
}

// chunk is one interned chunk.
type chunk struct {
	hs   []uint32 // handles, ascending by ID; nil when free
	hash uint64
	refs uint32 // table ranges holding it
	next uint32 // next chunk with the same hash (0: none)
}

func newChunkPool() chunkPool {
	return chunkPool{chunks: make([]chunk, 1), buckets: map[uint64]uint32{}}
}

// mixHandle is a handle's share of its chunk's hash: a chunk's hash is
// the sum of its handles' shares. A chunk's contents are a set (the IDs
// order it), so the sum identifies it as well as a hash of the sequence,
// and a change updates it in O(1) instead of rehashing the chunk (the
// pool's map hashes the sum again; equal sums are compared in full).
func mixHandle(h uint32) uint64 {
	x := uint64(h) + 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}

// hashHandles is the hash of a chunk holding hs.
func hashHandles(hs []uint32) uint64 {
	var sum uint64
	for _, h := range hs {
		sum += mixHandle(h)
	}
	return sum
}

// chunkOf returns the contents of chunk c (do not modify).
func (d *Directory) chunkOf(c uint32) []uint32 { return d.pool.chunks[c].hs }

// find returns the chunk holding exactly hs, whose hash is sum.
func (p *chunkPool) find(hs []uint32, sum uint64) (uint32, bool) {
	for c := p.buckets[sum]; c != 0; c = p.chunks[c].next {
		if ch := &p.chunks[c]; ch.hash == sum && slices.Equal(ch.hs, hs) {
			return c, true
		}
	}
	return 0, false
}

// add interns a copy of hs (not in the pool yet), held once, and returns
// it. The caller makes it hold its handles.
func (p *chunkPool) add(hs []uint32, sum uint64) uint32 {
	var c uint32
	if k := len(p.free); k > 0 {
		c = p.free[k-1]
		p.free = p.free[:k-1]
	} else {
		c = uint32(len(p.chunks))
		p.chunks = append(p.chunks, chunk{})
	}
	p.chunks[c] = chunk{hs: slices.Clone(hs), hash: sum, refs: 1, next: p.buckets[sum]}
	p.buckets[sum] = c
	p.live++
	return c
}

// drop frees chunk c and returns its contents; the caller releases
// their handles.
func (p *chunkPool) drop(c uint32) []uint32 {
	ch := &p.chunks[c]
	if head := p.buckets[ch.hash]; head == c {
		if ch.next == 0 {
			delete(p.buckets, ch.hash)
		} else {
			p.buckets[ch.hash] = ch.next
		}
	} else {
		prev := head
		for p.chunks[prev].next != c {
			prev = p.chunks[prev].next
		}
		p.chunks[prev].next = ch.next
	}
	hs := ch.hs
	*ch = chunk{}
	p.free = append(p.free, c)
	p.live--
	return hs
}

// intern returns the chunk holding exactly hs (which the pool does not
// keep: scratch may be passed), whose hash is sum, and counts one more
// holder of it. A new chunk holds each of its handles.
func (d *Directory) intern(hs []uint32, sum uint64) uint32 {
	if len(hs) == 0 {
		return 0
	}
	if c, ok := d.pool.find(hs, sum); ok {
		d.pool.chunks[c].refs++
		return c
	}
	c := d.pool.add(hs, sum)
	for _, h := range hs {
		d.hold(h)
	}
	return c
}

// releaseChunk drops one holder of chunk c; the last one frees it and
// releases its handles.
func (d *Directory) releaseChunk(c uint32) {
	if c == 0 {
		return
	}
	if ch := &d.pool.chunks[c]; ch.refs > 1 {
		ch.refs--
		return
	}
	for _, h := range d.pool.drop(c) {
		d.release(h)
	}
}

// change makes a range that holds chunk old hold hs instead: old's
// contents with handle h inserted (delta 1) or removed (delta -1), whose
// hash is sum. When no other range holds old and hs is new to the pool,
// the new chunk takes over old's holds of its handles (only h's count
// changes), rather than holding them all and releasing them all again.
func (d *Directory) change(old uint32, hs []uint32, sum uint64, h uint32, delta int) uint32 {
	if len(hs) == 0 || old == 0 || d.pool.chunks[old].refs > 1 {
		c := d.intern(hs, sum)
		d.releaseChunk(old)
		return c
	}
	if c, ok := d.pool.find(hs, sum); ok {
		d.pool.chunks[c].refs++
		d.releaseChunk(old)
		return c
	}
	c := d.pool.add(hs, sum)
	d.pool.drop(old)
	if delta > 0 {
		d.hold(h)
	} else {
		d.release(h)
	}
	return c
}
