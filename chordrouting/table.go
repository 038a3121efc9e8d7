package chordrouting

import "encoding/binary"

// This file is the one-hop membership table (Config.OneHop): every ring
// member this node knows, sorted by ID, stored as chunks of 4-byte handles
// interned in a Directory (table_directory.go, table_chunk.go).

// memberTable is the sorted member list, split into 2^bits ranges of the
// ID space by the IDs' top bits: range r's entries are one interned chunk
// of the Directory (table_chunk.go), cs[r] (0: empty), and counts keeps
// the ranges' sizes for positional access. Every method behaves as on one
// sorted slice of entries; a change moves one chunk (64 handles at most on
// average; forged IDs crowded into one range: table_split.go) instead of
// up to the whole table, and tables sharing a Directory share the chunks
// in which they agree.
type memberTable struct {
	dir    *Directory
	max    int
	n      int
	bits   uint8
	cs     []uint32 // chunk of each range
	counts rangeCounts
}

func newMemberTable(dir *Directory, max int) memberTable {
	if dir == nil {
		dir = NewDirectory()
	}
	return memberTable{dir: dir, max: max, cs: make([]uint32, 1), counts: make(rangeCounts, 1)}
}

func (t *memberTable) len() int { return t.n }

// rangeOf is the range that holds id.
func (t *memberTable) rangeOf(id *ID) int {
	if t.bits == 0 {
		return 0
	}
	return int(binary.BigEndian.Uint32(id[:4]) >> (32 - t.bits))
}

// handleAt returns the handle of entry k.
func (t *memberTable) handleAt(k int) uint32 {
	r, off := t.counts.locate(k)
	return t.dir.chunkOf(t.cs[r]).hs[off]
}

// id returns the ID of entry k (no copy).
func (t *memberTable) id(k int) *ID { return &t.dir.peers[t.handleAt(k)].ID }

// peer returns entry k.
func (t *memberTable) peer(k int) Peer { return t.dir.peers[t.handleAt(k)] }

// searchIn returns the index in chunk ch of the first entry not below id.
func (t *memberTable) searchIn(ch *chunk, id *ID) int {
	key := keyOf(id, t.bits)
	lo, hi := 0, len(ch.keys)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if k := ch.keys[m]; k < key || k == key && t.dir.peers[ch.hs[m]].ID.Less(*id) {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

// search returns the index of the first entry not below id.
func (t *memberTable) search(id ID) int {
	if t.n == 0 {
		return 0
	}
	r := t.rangeOf(&id)
	return t.counts.before(r) + t.searchIn(t.dir.chunkOf(t.cs[r]), &id)
}

func (t *memberTable) find(id ID) (int, bool) {
	if t.n == 0 {
		return 0, false
	}
	r := t.rangeOf(&id)
	ch := t.dir.chunkOf(t.cs[r])
	j := t.searchIn(ch, &id)
	return t.counts.before(r) + j, j < len(ch.hs) && t.dir.peers[ch.hs[j]].ID == id
}

// add inserts or updates p; it reports whether p is new. A full table
// refuses new entries (see admit for thinning).
func (t *memberTable) add(p Peer) bool {
	i, ok := t.find(p.ID)
	if ok {
		t.setAddr(i, p.Addr)
		return false
	}
	if t.n >= t.max {
		return false
	}
	t.insertAt(i, p)
	return true
}

// setAddr gives entry i the address addr (in every table sharing it).
func (t *memberTable) setAddr(i int, addr string) {
	if e := &t.dir.peers[t.handleAt(i)]; e.Addr != addr {
		e.Addr = addr
	}
}

// insertAt inserts p, which must not be listed, at index i, which must be
// find's index for p.ID (its range is taken from p.ID, its place in the
// range's chunk from i: a wrong i breaks the order).
func (t *memberTable) insertAt(i int, p Peer) {
	if t.cs == nil { // the zero table
		t.cs, t.counts = make([]uint32, 1), make(rangeCounts, 1)
	}
	h := t.dir.handle(p)
	r := t.rangeOf(&p.ID)
	ch := t.dir.chunkOf(t.cs[r])
	j := i - t.counts.before(r)
	if j < 0 || j > len(ch.hs) { // not find's index: place by ID
		j = t.searchIn(ch, &p.ID)
	}
	t.cs[r] = t.dir.change(t.cs[r], j, h, keyOf(&p.ID, t.bits), 1, t.bits)
	t.resized(r, 1)
}

// resized counts delta more entries in range r, then fits the number of
// ranges to the new size.
func (t *memberTable) resized(r, delta int) {
	t.counts.add(r, delta)
	t.n += delta
	t.fit()
}

// remove deletes id; it reports whether it was there.
func (t *memberTable) remove(id ID) bool {
	i, ok := t.find(id)
	if !ok {
		return false
	}
	t.removeAt(i)
	return true
}

func (t *memberTable) removeAt(i int) {
	r, j := t.counts.locate(i)
	t.cs[r] = t.dir.change(t.cs[r], j, t.dir.chunkOf(t.cs[r]).hs[j], 0, -1, t.bits)
	t.resized(r, -1)
}

// clear empties the table, releasing its entries.
func (t *memberTable) clear() {
	for _, c := range t.cs {
		t.dir.releaseChunk(c)
	}
	t.n, t.bits = 0, 0
	t.cs, t.counts = make([]uint32, 1), make(rangeCounts, 1)
}

// copyOf makes t a copy of u, which shares t's Directory: each of t's
// ranges holds u's chunk once more (no entry is copied).
func (t *memberTable) copyOf(u *memberTable) {
	t.clear()
	t.n, t.bits = u.n, u.bits
	t.cs = append([]uint32(nil), u.cs...)
	t.counts = append(rangeCounts(nil), u.counts...)
	for _, c := range t.cs {
		t.dir.holdChunk(c)
	}
}

// predOf returns the entry closest before key (strictly), wrapping.
func (t *memberTable) predOf(key ID) (Peer, bool) {
	if t.n == 0 {
		return Peer{}, false
	}
	i := t.search(key)
	if i == 0 {
		i = t.n
	}
	return t.peer(i - 1), true
}

// succIndex returns the index of the first entry at or after key,
// wrapping; -1 when the table is empty.
func (t *memberTable) succIndex(key ID) int {
	if t.n == 0 {
		return -1
	}
	return t.search(key) % t.n
}

// after returns the k-th entry (k >= 1) clockwise after id, wrapping;
// false when the table has fewer than k entries other than id.
func (t *memberTable) after(id ID, k int) (Peer, bool) {
	i, ok := t.find(id)
	others := t.n
	if ok {
		others--
		i++
	}
	if k < 1 || k > others {
		return Peer{}, false
	}
	return t.peer((i + k - 1) % t.n), true
}

// page returns up to k entries with IDs above start, ascending (no
// wrap), appended to out.
func (t *memberTable) page(start ID, k int, out []Peer) []Peer {
	i, ok := t.find(start)
	if ok {
		i++
	}
	if i >= t.n {
		return out
	}
	t.scan(i, min(k, t.n-i), func(h uint32) bool {
		out = append(out, t.dir.peers[h])
		return true
	})
	return out
}

// each calls f with the entries in (lo, hi] in clockwise order, until f
// returns false; lo == hi means every entry but lo.
func (t *memberTable) each(lo, hi ID, f func(Peer) bool) {
	if t.n == 0 {
		return
	}
	t.scan(t.search(lo)%t.n, t.n, func(h uint32) bool {
		p := &t.dir.peers[h]
		if p.ID == lo {
			return true
		}
		return BetweenRightIncl(lo, p.ID, hi) && f(*p)
	})
}

// scan calls f with the handles of up to k entries from index i on
// (0 <= i < len), wrapping, until f returns false.
func (t *memberTable) scan(i, k int, f func(uint32) bool) {
	if k <= 0 || t.n == 0 {
		return
	}
	r, j := t.counts.locate(i)
	for {
		for _, h := range t.dir.chunkOf(t.cs[r]).hs[j:] {
			if !f(h) {
				return
			}
			if k--; k == 0 {
				return
			}
		}
		r, j = (r+1)%len(t.cs), 0
	}
}

// digest summarizes the entries in (lo, hi]: their count and the sum of
// the first 8 bytes of their IDs (IDs are SHA-256 outputs, so the sum is
// as good as a hash of the set, and order-independent). It walks at most
// limit entries: ok is false when the range holds more.
func (t *memberTable) digest(lo, hi ID, limit int) (count int, sum uint64, ok bool) {
	return digestOf(t.each, lo, hi, limit)
}

// digestOf is digest over the entries a walk of (lo, hi] visits.
func digestOf(each func(lo, hi ID, f func(Peer) bool), lo, hi ID, limit int) (count int, sum uint64, ok bool) {
	ok = true
	each(lo, hi, func(p Peer) bool {
		if count == limit {
			ok = false
			return false
		}
		count++
		sum += binary.BigEndian.Uint64(p.ID[:8])
		return true
	})
	return count, sum, ok
}

// ReleaseMembership empties the one-hop table, handing its entries and
// chunks back to the Directory. A simulator that keeps the object of a node
// it crashed or that left calls it, since the process it stands for has
// lost its memory: in a shared Directory a stopped table would otherwise
// pin chunks the live tables no longer share, more of them the longer it
// stays. The node must not run again.
func (n *Node) ReleaseMembership() { n.oh.table.clear() }

// MembershipSize is the number of members in the one-hop table (0 when
// Config.OneHop is off).
func (n *Node) MembershipSize() int { return n.oh.table.len() }

// TableOwner returns the member the one-hop table names as key's owner
// (the first entry at or after key, wrapping); false when the table is
// empty. The simulator uses it to tell why a lookup took more hops.
func (n *Node) TableOwner(key ID) (Peer, bool) {
	k := n.oh.table.succIndex(key)
	if k < 0 {
		return Peer{}, false
	}
	return n.oh.table.peer(k), true
}

// Members returns a copy of the one-hop membership table, sorted by ID.
func (n *Node) Members() []Peer {
	t := &n.oh.table
	out := make([]Peer, 0, t.len())
	t.scan(0, t.len(), func(h uint32) bool {
		out = append(out, t.dir.peers[h])
		return true
	})
	return out
}

// MembershipLive counts the table's entries listed in live (sorted
// ascending): how many live members the table knows.
func (n *Node) MembershipLive(live []ID) int {
	t := &n.oh.table
	hits, k := 0, 0
	t.scan(0, t.len(), func(h uint32) bool {
		id := &t.dir.peers[h].ID
		for k < len(live) && live[k].Less(*id) {
			k++
		}
		if k < len(live) && live[k] == *id {
			hits++
		}
		return true
	})
	return hits
}
