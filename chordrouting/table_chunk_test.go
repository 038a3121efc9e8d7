package chordrouting

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// refTable is the membership table as one sorted slice of Peers: what
// memberTable must behave like. Addresses live in addr, shared like the
// Directory's (an update reaches every table listing the member).
type refTable struct {
	ids  []ID
	addr map[ID]string
	max  int
}

func (r *refTable) search(id ID) int {
	i, _ := slices.BinarySearchFunc(r.ids, id, func(a, b ID) int { return bytes.Compare(a[:], b[:]) })
	return i
}

func (r *refTable) peer(k int) Peer { return Peer{ID: r.ids[k], Addr: r.addr[r.ids[k]]} }

func (r *refTable) add(p Peer) bool {
	i := r.search(p.ID)
	if i < len(r.ids) && r.ids[i] == p.ID {
		r.addr[p.ID] = p.Addr
		return false
	}
	if len(r.ids) >= r.max {
		return false
	}
	r.addr[p.ID] = p.Addr
	r.ids = slices.Insert(r.ids, i, p.ID)
	return true
}

func (r *refTable) removeAt(i int) { r.ids = slices.Delete(r.ids, i, i+1) }

// each is the old memberTable.each, written on positions.
func (r *refTable) each(lo, hi ID, f func(Peer) bool) {
	n := len(r.ids)
	i := r.search(lo)
	for k := 0; k < n; k++ {
		idx := (i + k) % n
		if r.ids[idx] == lo {
			continue
		}
		if !BetweenRightIncl(lo, r.ids[idx], hi) || !f(r.peer(idx)) {
			return
		}
	}
}

// TestMemberTableMatchesSortedSlice drives two tables sharing a Directory
// and their references with random adds and removes through growth and
// shrinking (so through several splits and merges of the ranges), most of
// them made in both tables (so chunks are shared, changed in place and
// copied), and compares every query with the reference's answer and the
// Directory's counts with what the tables hold.
func TestMemberTableMatchesSortedSlice(t *testing.T) {
	seed := uint64(20261129)
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	universe := make([]ID, 4000)
	for k := range universe {
		binary.BigEndian.PutUint64(universe[k][:8], rng.Uint64())
		if k%4 == 1 { // IDs with equal keys: the search compares whole IDs
			universe[k] = universe[k-1]
		}
		universe[k][8] = byte(k)
	}
	dir := NewDirectory()
	addr := map[ID]string{}
	tabs := []*memberTable{new(newMemberTable(dir, 3000)), new(newMemberTable(dir, 2500))}
	refs := []*refTable{{addr: addr, max: 3000}, {addr: addr, max: 2500}}
	bitsSeen := map[uint8]bool{}
	shared := 0 // ranges the tables shared, summed over the steps
	for step := 0; step < 30000; step++ {
		grow := (step/5000)%2 == 0 // phases of growth and shrinking
		w := rng.IntN(len(tabs))
		tb, ref := tabs[w], refs[w]
		// Most changes reach both tables, as events reach every node,
		// so they share chunks, diverge and converge again.
		other := -1
		if rng.IntN(10) < 7 {
			other = 1 - w
		}
		id := universe[rng.IntN(len(universe))]
		op := rng.IntN(10)
		if op < 7 && ref.len() > 0 && rng.IntN(2) == 0 {
			id = ref.ids[rng.IntN(ref.len())] // a listed member
		}
		switch {
		case grow && op < 7 || !grow && op < 2:
			p := Peer{ID: id, Addr: fmt.Sprint(rng.IntN(3))}
			if got, want := tb.add(p), ref.add(p); got != want {
				t.Fatalf("step %d: add(%v) = %v, want %v", step, id, got, want)
			}
			if other >= 0 {
				if got, want := tabs[other].add(p), refs[other].add(p); got != want {
					t.Fatalf("step %d: add(%v) = %v, want %v", step, id, got, want)
				}
			}
		case op == 9 && ref.len() > 0:
			k := rng.IntN(ref.len())
			id = ref.ids[k]
			tb.removeAt(k)
			ref.removeAt(k)
			if other >= 0 {
				checkRemove(t, step, tabs[other], refs[other], id)
			}
		default:
			checkRemove(t, step, tb, ref, id)
			if other >= 0 {
				checkRemove(t, step, tabs[other], refs[other], id)
			}
		}
		bitsSeen[tb.bits] = true
		compareQueries(t, step, tb, ref, rng)
		for r, c := range tabs[0].cs {
			if c != 0 && tabs[0].bits == tabs[1].bits && tabs[1].cs[r] == c {
				shared++
			}
		}
		if step%1000 == 0 {
			compareAll(t, step, tb, ref)
			checkDirectory(t, dir, tabs...)
		}
	}
	for w := range tabs {
		compareAll(t, -1, tabs[w], refs[w])
	}
	checkDirectory(t, dir, tabs...)
	if len(bitsSeen) < 3 {
		t.Fatalf("the tables went through %d range counts, want at least 3", len(bitsSeen))
	}
	if shared == 0 {
		t.Fatal("the tables never shared a chunk")
	}
}

// checkRemove removes id from tb and ref, comparing find and remove.
func checkRemove(t *testing.T, step int, tb *memberTable, ref *refTable, id ID) {
	t.Helper()
	i, ok := tb.find(id)
	wi := ref.search(id)
	if wok := wi < ref.len() && ref.ids[wi] == id; i != wi || ok != wok {
		t.Fatalf("step %d: find = %d %v, want %d %v", step, i, ok, wi, wok)
	}
	if got := tb.remove(id); got != ok {
		t.Fatalf("step %d: remove = %v, find said %v", step, got, ok)
	}
	if ok {
		ref.removeAt(wi)
	}
}

func (r *refTable) len() int { return len(r.ids) }

// compareQueries compares a few random queries.
func compareQueries(t *testing.T, step int, tb *memberTable, ref *refTable, rng *rand.Rand) {
	t.Helper()
	if tb.len() != ref.len() {
		t.Fatalf("step %d: len %d, want %d", step, tb.len(), ref.len())
	}
	var key ID
	binary.BigEndian.PutUint64(key[:8], rng.Uint64())
	if ref.len() > 0 && rng.IntN(2) == 0 {
		key = ref.ids[rng.IntN(ref.len())] // a listed ID
	}
	if got, want := tb.search(key), ref.search(key); got != want {
		t.Fatalf("step %d: search = %d, want %d", step, got, want)
	}
	n := ref.len()
	wantSucc := -1
	if n > 0 {
		wantSucc = ref.search(key) % n
		k := rng.IntN(n)
		if *tb.id(k) != ref.ids[k] || tb.peer(k) != ref.peer(k) {
			t.Fatalf("step %d: entry %d = %v, want %v", step, k, tb.peer(k), ref.peer(k))
		}
	}
	if got := tb.succIndex(key); got != wantSucc {
		t.Fatalf("step %d: succIndex = %d, want %d", step, got, wantSucc)
	}
	p, ok := tb.predOf(key)
	if ok != (n > 0) {
		t.Fatalf("step %d: predOf ok = %v with %d entries", step, ok, n)
	}
	if ok {
		i := ref.search(key)
		if i == 0 {
			i = n
		}
		if p != ref.peer(i-1) {
			t.Fatalf("step %d: predOf = %v, want %v", step, p, ref.peer(i-1))
		}
	}
	k := 1 + rng.IntN(4)
	got, gok := tb.after(key, k)
	i, others := ref.search(key), n
	if i < n && ref.ids[i] == key {
		others--
		i++
	}
	if wok := k <= others; gok != wok || (wok && got != ref.peer((i+k-1)%n)) {
		t.Fatalf("step %d: after(%d) = %v %v", step, k, got, gok)
	}
	var hi ID
	binary.BigEndian.PutUint64(hi[:8], rng.Uint64())
	limit := rng.IntN(40)
	c, s, dok := tb.digest(key, hi, limit)
	wc, ws, wok := digestOf(ref.each, key, hi, limit)
	if c != wc || s != ws || dok != wok {
		t.Fatalf("step %d: digest = %d %x %v, want %d %x %v", step, c, s, dok, wc, ws, wok)
	}
	pk := rng.IntN(70)
	if got, want := tb.page(key, pk, nil), refPage(ref, key, pk); !slices.Equal(got, want) {
		t.Fatalf("step %d: page(%d) = %d entries, want %d", step, pk, len(got), len(want))
	}
}

func refPage(ref *refTable, start ID, k int) []Peer {
	var out []Peer
	i := ref.search(start)
	if i < ref.len() && ref.ids[i] == start {
		i++
	}
	for ; i < ref.len() && k > 0; i, k = i+1, k-1 {
		out = append(out, ref.peer(i))
	}
	return out
}

// compareAll compares every entry, and a whole-ring walk.
func compareAll(t *testing.T, step int, tb *memberTable, ref *refTable) {
	t.Helper()
	for k := range ref.ids {
		if tb.peer(k) != ref.peer(k) {
			t.Fatalf("step %d: entry %d = %v, want %v", step, k, tb.peer(k), ref.peer(k))
		}
	}
	var got []Peer
	tb.scan(0, tb.len(), func(h uint32) bool { got = append(got, tb.dir.peers[h]); return true })
	if len(got) != ref.len() {
		t.Fatalf("step %d: scan saw %d entries, want %d", step, len(got), ref.len())
	}
	if ref.len() > 0 {
		lo := ref.ids[ref.len()/2]
		var a, b []Peer
		tb.each(lo, lo, func(p Peer) bool { a = append(a, p); return true })
		ref.each(lo, lo, func(p Peer) bool { b = append(b, p); return true })
		if !slices.Equal(a, b) {
			t.Fatalf("step %d: each(lo, lo) gave %d entries, want %d", step, len(a), len(b))
		}
	}
}

// checkDirectory checks the Directory's counts against what the tables
// hold: each chunk counted once per range holding it, each peer once per
// chunk holding it, nothing else kept, and each table's ranges and counts
// consistent.
func checkDirectory(t *testing.T, d *Directory, tabs ...*memberTable) {
	t.Helper()
	chunkRefs := map[uint32]uint32{}
	for _, tb := range tabs {
		total := 0
		for r, c := range tb.cs {
			hs := d.chunkOf(c).hs
			if len(d.chunkOf(c).keys) != len(hs) {
				t.Fatalf("range %d: %d keys for %d handles", r, len(d.chunkOf(c).keys), len(hs))
			}
			if c != 0 {
				chunkRefs[c]++
				if len(hs) == 0 {
					t.Fatalf("range %d holds an empty chunk %d", r, c)
				}
			}
			if got := tb.counts.before(r+1) - tb.counts.before(r); got != len(hs) {
				t.Fatalf("range %d counted %d, holds %d", r, got, len(hs))
			}
			for j, h := range hs {
				id := &d.peers[h].ID
				if d.chunkOf(c).keys[j] != keyOf(id, tb.bits) || d.chunkOf(c).bits != tb.bits {
					t.Fatalf("range %d: entry %d has a wrong key", r, j)
				}
				if tb.rangeOf(id) != r || (j > 0 && !d.peers[hs[j-1]].ID.Less(*id)) {
					t.Fatalf("range %d: entry %d out of place", r, j)
				}
			}
			total += len(hs)
		}
		if total != tb.len() {
			t.Fatalf("table holds %d entries, says %d", total, tb.len())
		}
	}
	if d.Chunks() != len(chunkRefs) {
		t.Fatalf("directory keeps %d chunks, tables hold %d", d.Chunks(), len(chunkRefs))
	}
	chained := 0
	for sum, head := range d.pool.buckets {
		prev := uint32(0)
		for c := head; c != 0; prev, c = c, d.pool.chunks[c].next {
			if ch := &d.pool.chunks[c]; ch.hash != sum || ch.prev != prev || chunkRefs[c] == 0 {
				t.Fatalf("chunk %d misplaced in the chain of %x (prev %d, want %d; held %d times)", c, sum, ch.prev, prev, chunkRefs[c])
			}
			chained++
		}
	}
	if chained != len(chunkRefs) {
		t.Fatalf("%d chunks chained, %d held", chained, len(chunkRefs))
	}
	peerRefs := map[uint32]uint32{}
	for c, n := range chunkRefs {
		if got := d.pool.chunks[c].refs; got != n {
			t.Fatalf("chunk %d counted %d, held %d times", c, got, n)
		}
		if ch := d.chunkOf(c); ch.hash != hashChunk(ch.hs, ch.bits) {
			t.Fatalf("chunk %d hashed %x, holds %x", c, ch.hash, hashChunk(ch.hs, ch.bits))
		}
		for _, h := range d.chunkOf(c).hs {
			peerRefs[h]++
		}
	}
	if d.Len() != len(peerRefs) {
		t.Fatalf("directory keeps %d peers, chunks hold %d", d.Len(), len(peerRefs))
	}
	for h, n := range peerRefs {
		if d.refs[h] != n || d.index[d.peers[h].ID] != h {
			t.Fatalf("peer %d counted %d, held by %d chunks", h, d.refs[h], n)
		}
	}
}

// TestTablesShareChunks: two tables of the same members hold the same
// chunks, whatever order they learned them in; a change in one makes one
// chunk of its own, and once the other makes the same change (here, both
// remove and re-add members) they share every chunk again.
func TestTablesShareChunks(t *testing.T) {
	seed := uint64(11292026)
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 2))
	dir := NewDirectory()
	a, b := newMemberTable(dir, 1<<17), newMemberTable(dir, 1<<17)
	ps := make([]Peer, 5000)
	for k := range ps {
		binary.BigEndian.PutUint64(ps[k].ID[:8], rng.Uint64())
		ps[k].Addr = fmt.Sprint(k)
	}
	for _, p := range ps {
		a.add(p)
	}
	for _, k := range rng.Perm(len(ps)) {
		b.add(ps[k])
	}
	sameChunks(t, &a, &b)
	if a.bits == 0 {
		t.Fatal("5,000 members in one range")
	}
	gone := ps[:40]
	for _, p := range gone {
		a.remove(p.ID)
	}
	if dir.Chunks() <= len(a.cs) {
		t.Fatal("tables that differ share every chunk")
	}
	for _, p := range gone {
		b.remove(p.ID)
	}
	sameChunks(t, &a, &b)
	for _, k := range rng.Perm(len(gone)) {
		a.add(gone[k])
	}
	for _, p := range gone {
		b.add(p)
	}
	sameChunks(t, &a, &b)
	checkDirectory(t, dir, &a, &b)
}

// sameChunks fails unless a and b hold the same chunk in every range and
// the Directory keeps no other.
func sameChunks(t *testing.T, a, b *memberTable) {
	t.Helper()
	if !slices.Equal(a.cs, b.cs) {
		t.Fatalf("tables of the same members hold different chunks (%d and %d ranges)", len(a.cs), len(b.cs))
	}
	held := 0
	for _, c := range a.cs {
		if c != 0 {
			held++
		}
	}
	if a.dir.Chunks() != held {
		t.Fatalf("directory keeps %d chunks, the tables hold %d", a.dir.Chunks(), held)
	}
}

// TestDirectoryFreesChunks: clearing the tables (also after splits and
// merges) leaves the Directory empty: no chunk, no peer, and a new table
// reuses the freed slots.
func TestDirectoryFreesChunks(t *testing.T) {
	dir := NewDirectory()
	a, b := newMemberTable(dir, 1<<17), newMemberTable(dir, 1<<17)
	var ps []Peer
	for k := 0; k < 3000; k++ {
		var id ID
		binary.BigEndian.PutUint64(id[:8], uint64(k)*0x9e3779b97f4a7c15)
		ps = append(ps, Peer{ID: id, Addr: "x"})
		a.add(ps[k])
		if k%2 == 0 {
			b.add(ps[k])
		}
	}
	for _, p := range ps[:2900] { // a shrinks through merges
		a.remove(p.ID)
	}
	checkDirectory(t, dir, &a, &b)
	a.clear()
	if dir.Len() == 0 || dir.Chunks() == 0 {
		t.Fatal("clearing one table freed what the other holds")
	}
	checkDirectory(t, dir, &a, &b)
	b.clear()
	if dir.Len() != 0 || dir.Chunks() != 0 {
		t.Fatalf("%d peers and %d chunks left after clearing both tables", dir.Len(), dir.Chunks())
	}
	slots := len(dir.pool.chunks)
	for _, p := range ps[:1000] {
		a.add(p)
	}
	if len(dir.pool.chunks) > slots {
		t.Fatalf("refilling grew the pool from %d to %d slots", slots, len(dir.pool.chunks))
	}
	checkDirectory(t, dir, &a)
}

// TestChangedComparesWholeChunk: a chunk counts as the changed contents
// only if it matches them everywhere (equal hashes alone do not share a
// chunk).
func TestChangedComparesWholeChunk(t *testing.T) {
	old := []uint32{1, 2, 3, 4}
	cases := []struct {
		cand  []uint32
		j     int
		h     uint32
		delta int
		want  bool
	}{
		{[]uint32{1, 2, 9, 3, 4}, 2, 9, 1, true},
		{[]uint32{1, 2, 9, 3, 5}, 2, 9, 1, false}, // differs after the insert
		{[]uint32{0, 2, 9, 3, 4}, 2, 9, 1, false}, // before it
		{[]uint32{1, 2, 8, 3, 4}, 2, 9, 1, false}, // the inserted handle
		{[]uint32{1, 2, 3, 4}, 2, 9, 1, false},    // the length
		{[]uint32{1, 2, 4}, 2, 3, -1, true},
		{[]uint32{1, 2, 5}, 2, 3, -1, false},
		{[]uint32{0, 2, 4}, 2, 3, -1, false},
		{[]uint32{1, 2, 3, 4}, 2, 3, -1, false},
	}
	for k, c := range cases {
		if got := changed(c.cand, old, c.j, c.h, c.delta); got != c.want {
			t.Errorf("case %d: changed(%v) = %v, want %v", k, c.cand, got, c.want)
		}
	}
}

// chain returns the chunks of sum's chain, checking the back links.
func chain(t *testing.T, p *chunkPool, sum uint64) []uint32 {
	t.Helper()
	var out []uint32
	prev := uint32(0)
	for c := p.buckets[sum]; c != 0; prev, c = c, p.chunks[c].next {
		if p.chunks[c].prev != prev {
			t.Fatalf("chunk %d links back to %d, want %d", c, p.chunks[c].prev, prev)
		}
		out = append(out, c)
	}
	return out
}

// TestChunkHashCollisions: chunks with equal hashes share a chain, leave
// it from any place, and a change that computes a hash another chunk
// already has neither takes that chunk nor loses it.
func TestChunkHashCollisions(t *testing.T) {
	d := NewDirectory()
	p := &d.pool
	const sum = 12345
	a := p.add([]uint32{1}, []uint16{1}, sum, 0, p.buckets[sum])
	b := p.add([]uint32{2}, []uint16{2}, sum, 0, p.buckets[sum])
	c := p.add([]uint32{3}, []uint16{3}, sum, 0, p.buckets[sum])
	if got := chain(t, p, sum); !slices.Equal(got, []uint32{c, b, a}) {
		t.Fatalf("chain %v, want %v", got, []uint32{c, b, a})
	}
	p.unlink(b)
	if got := chain(t, p, sum); !slices.Equal(got, []uint32{c, a}) {
		t.Fatalf("after the middle left: %v", got)
	}
	p.unlink(c)
	if got := chain(t, p, sum); !slices.Equal(got, []uint32{a}) {
		t.Fatalf("after the head left: %v", got)
	}
	p.unlink(a)
	if _, ok := p.buckets[sum]; ok {
		t.Fatal("an empty chain kept its bucket")
	}

	// A table whose next change hashes to a decoy's hash.
	tb := newMemberTable(d, 100)
	x, y := Peer{ID: idAt(0x10), Addr: "x"}, Peer{ID: idAt(0x20), Addr: "y"}
	tb.add(x)
	hy := d.handle(y) // y's handle, as the insert will use it
	next := tb.dir.chunkOf(tb.cs[0]).hash + mixHandle(hy)
	decoy := p.add([]uint32{hy}, []uint16{0}, next, 0, p.buckets[next])
	tb.add(y)
	if tb.cs[0] == decoy || tb.peer(0) != x || tb.peer(1) != y || tb.len() != 2 {
		t.Fatal("the insert took the decoy with the hash it computed")
	}
	if got := chain(t, p, next); len(got) != 2 || !slices.Contains(got, decoy) || !slices.Contains(got, tb.cs[0]) {
		t.Fatalf("chain of the new hash %v, want the decoy and the table's chunk", got)
	}
	tb.remove(x.ID)
	if got := chain(t, p, next); !slices.Equal(got, []uint32{decoy}) {
		t.Fatalf("after the table's chunk changed again: %v", got)
	}
}
