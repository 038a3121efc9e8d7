package chordrouting

import (
	"encoding/binary"
	"slices"
)

// chunkPool hash-conses the chunks of membership tables: a chunk is a
// sorted list of peer handles, with a 16-bit key per handle (the 16 bits
// of its ID that follow the range's prefix, see keyOf), interned once by
// content and counted by the table ranges that hold it. The keys let a
// search compare small integers in one array, following a handle to its
// Peer only on equal keys (rare: a chunk holds about 40 of 65,536
// values), where comparing the IDs themselves costs a cache miss per
// step; 16 bits cost 2 B an entry, where the IDs' first 8 bytes would
// triple a table's memory while the tables of a forming ring still
// differ. A table that changes a range looks for a chunk that holds
// the new contents: when another table already holds the same members
// there, the chunk is shared, so tables that learn the same events (or
// lag and catch up) converge on the same chunks. Only otherwise does it
// need a chunk of its own: the old one changed in place when no other
// range holds it (no allocation, as in one sorted array), else a new
// copy. Chunk 0 is the empty chunk, never counted.
type chunkPool struct {
	chunks  []chunk
	buckets map[uint64]uint32 // content hash -> first chunk of its chain
	free    []uint32
	live    int
	hs      []uint32 // contents being built by a re-chunk
	keys    []uint16
}

// chunk is one interned chunk. A chunk held by more than one range is
// never changed.
type chunk struct {
	hs   []uint32 // handles, ascending by ID; nil when free
	keys []uint16 // keyOf each handle's ID for bits
	hash uint64   // hashChunk(hs, bits)
	refs uint32   // table ranges holding it
	next uint32   // next chunk with the same hash (0: none)
	prev uint32   // previous one (0: ch is its chain's head)
	bits uint8    // the number of range bits of the tables holding it
}

// keyOf is id's key in a chunk of a table of 2^bits ranges: the 16 bits
// after the range's prefix (the entries of a chunk share the prefix, so
// keys ascend with the IDs, ties allowed).
func keyOf(id *ID, bits uint8) uint16 {
	return uint16(binary.BigEndian.Uint64(id[:8]) << bits >> 48)
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

// bitsHash is the hash of an empty chunk of a table of 2^bits ranges
// (0 for one range, like chunk 0): chunks of tables with different range
// counts have different keys, so they are never shared.
func bitsHash(bits uint8) uint64 { return uint64(bits) * 0x9e3779b97f4a7c15 }

// hashChunk is the hash of a chunk holding hs for a table of 2^bits
// ranges.
func hashChunk(hs []uint32, bits uint8) uint64 {
	sum := bitsHash(bits)
	for _, h := range hs {
		sum += mixHandle(h)
	}
	return sum
}

// chunkOf returns chunk c (do not modify).
func (d *Directory) chunkOf(c uint32) *chunk { return &d.pool.chunks[c] }

// link puts chunk c at the head of its hash's chain, whose head is head
// (what buckets holds for the hash: the caller has just read it).
func (p *chunkPool) link(c, head uint32) {
	ch := &p.chunks[c]
	ch.next, ch.prev = head, 0
	if head != 0 {
		p.chunks[head].prev = c
	}
	p.buckets[ch.hash] = c
}

// unlink takes chunk c out of its hash's chain.
func (p *chunkPool) unlink(c uint32) {
	ch := &p.chunks[c]
	switch {
	case ch.prev != 0:
		p.chunks[ch.prev].next = ch.next
	case ch.next == 0:
		delete(p.buckets, ch.hash)
	default:
		p.buckets[ch.hash] = ch.next
	}
	if ch.next != 0 {
		p.chunks[ch.next].prev = ch.prev
	}
	ch.next, ch.prev = 0, 0
}

// add interns hs and keys (not in the pool yet; kept, not copied), held
// once, and returns the new chunk; head is its hash's chain. The caller
// makes it hold its handles.
func (p *chunkPool) add(hs []uint32, keys []uint16, sum uint64, bits uint8, head uint32) uint32 {
	var c uint32
	if k := len(p.free); k > 0 {
		c = p.free[k-1]
		p.free = p.free[:k-1]
	} else {
		c = uint32(len(p.chunks))
		p.chunks = append(p.chunks, chunk{})
	}
	p.chunks[c] = chunk{hs: hs, keys: keys, hash: sum, refs: 1, bits: bits}
	p.link(c, head)
	p.live++
	return c
}

// intern returns the chunk holding exactly hs (with keys; neither is
// kept: scratch may be passed) for a table of 2^bits ranges, and counts
// one more holder of it. A new chunk holds each of its handles.
func (d *Directory) intern(hs []uint32, keys []uint16, bits uint8) uint32 {
	if len(hs) == 0 {
		return 0
	}
	p := &d.pool
	sum := hashChunk(hs, bits)
	head := p.buckets[sum]
	for c := head; c != 0; c = p.chunks[c].next {
		if ch := &p.chunks[c]; ch.hash == sum && ch.bits == bits && slices.Equal(ch.hs, hs) {
			ch.refs++
			return c
		}
	}
	return d.addHolding(slices.Clone(hs), slices.Clone(keys), sum, bits, head)
}

// addHolding interns a new chunk (pool.add) and makes it hold each of its
// handles.
func (d *Directory) addHolding(hs []uint32, keys []uint16, sum uint64, bits uint8, head uint32) uint32 {
	c := d.pool.add(hs, keys, sum, bits, head)
	for _, h := range hs {
		d.hold(h)
	}
	return c
}

// holdChunk counts one more holder of chunk c (0, the empty chunk, is
// never counted).
func (d *Directory) holdChunk(c uint32) {
	if c != 0 {
		d.pool.chunks[c].refs++
	}
}

// releaseChunk drops one holder of chunk c; the last one frees it and
// releases its handles.
func (d *Directory) releaseChunk(c uint32) {
	if c == 0 {
		return
	}
	p := &d.pool
	ch := &p.chunks[c]
	if ch.refs > 1 {
		ch.refs--
		return
	}
	p.unlink(c)
	hs := ch.hs
	*ch = chunk{}
	p.free = append(p.free, c)
	p.live--
	for _, h := range hs {
		d.release(h)
	}
}

// changed reports whether cand holds old's handles with h inserted at j
// (delta 1) or the handle at j removed (delta -1).
func changed(cand, old []uint32, j int, h uint32, delta int) bool {
	if delta > 0 {
		return len(cand) == len(old)+1 && cand[j] == h &&
			slices.Equal(cand[:j], old[:j]) && slices.Equal(cand[j+1:], old[j:])
	}
	return len(cand) == len(old)-1 && slices.Equal(cand[:j], old[:j]) && slices.Equal(cand[j:], old[j+1:])
}

// change returns the chunk a range of a table of 2^bits ranges holds
// after changing its chunk old by inserting handle h (with key) at j
// (delta 1) or removing the handle at j, h (delta -1): a chunk already
// holding those contents if there is one, else old changed in place when
// no other range holds it, else a new chunk.
func (d *Directory) change(old uint32, j int, h uint32, key uint16, delta int, bits uint8) uint32 {
	p := &d.pool
	o := &p.chunks[old]
	sum := bitsHash(bits)
	if old != 0 {
		sum = o.hash
	}
	if delta > 0 {
		sum += mixHandle(h)
	} else {
		sum -= mixHandle(h)
	}
	if len(o.hs)+delta == 0 {
		d.releaseChunk(old)
		return 0
	}
	head := p.buckets[sum]
	for c := head; c != 0; c = p.chunks[c].next {
		if ch := &p.chunks[c]; ch.hash == sum && ch.bits == bits && changed(ch.hs, o.hs, j, h, delta) {
			ch.refs++
			d.releaseChunk(old)
			return c
		}
	}
	if old != 0 && o.refs == 1 {
		p.unlink(old)
		if o.hash == sum { // only if h's share were 0 (mixHandle never gives 0): old was in the chain read
			head = p.buckets[sum]
		}
		if delta > 0 {
			o.hs, o.keys = insertAt(o.hs, j, h), insertAt(o.keys, j, key)
			d.hold(h)
		} else {
			o.hs, o.keys = slices.Delete(o.hs, j, j+1), slices.Delete(o.keys, j, j+1)
			d.release(h)
		}
		o.hash = sum
		p.link(old, head)
		return old
	}
	hs := make([]uint32, 0, len(o.hs)+delta)
	keys := make([]uint16, 0, len(o.hs)+delta)
	if delta > 0 {
		hs = append(append(append(hs, o.hs[:j]...), h), o.hs[j:]...)
		keys = append(append(append(keys, o.keys[:j]...), key), o.keys[j:]...)
	} else {
		hs = append(append(hs, o.hs[:j]...), o.hs[j+1:]...)
		keys = append(append(keys, o.keys[:j]...), o.keys[j+1:]...)
	}
	d.releaseChunk(old) // held by another range too: only counted down
	return d.addHolding(hs, keys, sum, bits, head)
}

// insertAt inserts v at s[j], growing s by an eighth when it is full
// (append's doubling would leave a forming ring's tables, which share
// little, up to half empty).
func insertAt[T uint16 | uint32](s []T, j int, v T) []T {
	if len(s) == cap(s) {
		g := make([]T, len(s), len(s)+len(s)/8+4)
		copy(g, s)
		s = g
	}
	s = s[:len(s)+1]
	copy(s[j+1:], s[j:])
	s[j] = v
	return s
}
