package chordrouting

import (
	"encoding/binary"
	"sort"
)

// This file is the one-hop membership table (Config.OneHop): every ring
// member this node knows, sorted by ID, stored as 4-byte handles into a
// Directory of interned Peers.

// Directory interns the Peers of membership tables: a table entry is a
// 4-byte handle, and each distinct member's Peer is stored once, with a
// count of the tables holding it. A node makes its own Directory (one
// table: about 4 B of table, 48 B of Peer, its address string and a map
// entry per known member, under 200 B with a libp2p peer ID); a simulator
// running many nodes on one goroutine may give them one shared Directory
// through Config.Directory, so that N tables of N entries cost 4·N² bytes
// instead of about 100·N². Not safe for concurrent use: the nodes sharing
// one must be driven from one goroutine.
type Directory struct {
	peers []Peer
	refs  []uint32 // tables holding the handle; 0: free
	index map[ID]uint32
	free  []uint32
}

// NewDirectory returns an empty Directory.
func NewDirectory() *Directory { return &Directory{index: map[ID]uint32{}} }

// Len is the number of distinct peers held.
func (d *Directory) Len() int { return len(d.index) }

// intern returns the handle of p and counts one more holder. A known ID
// with a new address takes the new address.
func (d *Directory) intern(p Peer) uint32 {
	if h, ok := d.index[p.ID]; ok {
		if d.peers[h].Addr != p.Addr {
			d.peers[h].Addr = p.Addr
		}
		d.refs[h]++
		return h
	}
	var h uint32
	if k := len(d.free); k > 0 {
		h = d.free[k-1]
		d.free = d.free[:k-1]
		d.peers[h], d.refs[h] = p, 1
	} else {
		h = uint32(len(d.peers))
		d.peers = append(d.peers, p)
		d.refs = append(d.refs, 1)
	}
	d.index[p.ID] = h
	return h
}

// release drops one holder of h; the last one frees it.
func (d *Directory) release(h uint32) {
	if d.refs[h]--; d.refs[h] == 0 {
		delete(d.index, d.peers[h].ID)
		d.peers[h] = Peer{}
		d.free = append(d.free, h)
	}
}

// memberTable is the sorted member list.
type memberTable struct {
	hs  []uint32 // handles, ascending by ID, no duplicates
	dir *Directory
	max int
}

func newMemberTable(dir *Directory, max int) memberTable {
	if dir == nil {
		dir = NewDirectory()
	}
	return memberTable{dir: dir, max: max}
}

func (t *memberTable) len() int { return len(t.hs) }

// id returns the ID of entry k (no copy).
func (t *memberTable) id(k int) *ID { return &t.dir.peers[t.hs[k]].ID }

// peer returns entry k.
func (t *memberTable) peer(k int) Peer { return t.dir.peers[t.hs[k]] }

// search returns the index of the first entry not below id.
func (t *memberTable) search(id ID) int {
	return sort.Search(len(t.hs), func(k int) bool { return !t.id(k).Less(id) })
}

func (t *memberTable) find(id ID) (int, bool) {
	i := t.search(id)
	return i, i < len(t.hs) && *t.id(i) == id
}

// add inserts or updates p; it reports whether p is new. A full table
// refuses new entries (see admit for thinning).
func (t *memberTable) add(p Peer) bool {
	i, ok := t.find(p.ID)
	if ok {
		if e := &t.dir.peers[t.hs[i]]; e.Addr != p.Addr {
			e.Addr = p.Addr
		}
		return false
	}
	if len(t.hs) >= t.max {
		return false
	}
	t.insertAt(i, p)
	return true
}

func (t *memberTable) insertAt(i int, p Peer) {
	h := t.dir.intern(p)
	t.hs = append(t.hs, 0)
	copy(t.hs[i+1:], t.hs[i:])
	t.hs[i] = h
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
	t.dir.release(t.hs[i])
	copy(t.hs[i:], t.hs[i+1:])
	t.hs = t.hs[:len(t.hs)-1]
}

// clear empties the table, releasing its entries.
func (t *memberTable) clear() {
	for _, h := range t.hs {
		t.dir.release(h)
	}
	t.hs = nil
}

// predOf returns the entry closest before key (strictly), wrapping.
func (t *memberTable) predOf(key ID) (Peer, bool) {
	if len(t.hs) == 0 {
		return Peer{}, false
	}
	i := t.search(key)
	if i == 0 {
		i = len(t.hs)
	}
	return t.peer(i - 1), true
}

// succIndex returns the index of the first entry at or after key,
// wrapping; -1 when the table is empty.
func (t *memberTable) succIndex(key ID) int {
	if len(t.hs) == 0 {
		return -1
	}
	return t.search(key) % len(t.hs)
}

// after returns the k-th entry (k >= 1) clockwise after id, wrapping;
// false when the table has fewer than k entries other than id.
func (t *memberTable) after(id ID, k int) (Peer, bool) {
	i, ok := t.find(id)
	others := len(t.hs)
	if ok {
		others--
		i++
	}
	if k < 1 || k > others {
		return Peer{}, false
	}
	return t.peer((i + k - 1) % len(t.hs)), true
}

// page returns up to k entries with IDs above start, ascending (no
// wrap), appended to out.
func (t *memberTable) page(start ID, k int, out []Peer) []Peer {
	i := t.search(start)
	if i < len(t.hs) && *t.id(i) == start {
		i++
	}
	for ; i < len(t.hs) && k > 0; i, k = i+1, k-1 {
		out = append(out, t.peer(i))
	}
	return out
}

// each calls f with the entries in (lo, hi] in clockwise order, until f
// returns false; lo == hi means every entry but lo.
func (t *memberTable) each(lo, hi ID, f func(Peer) bool) {
	n := len(t.hs)
	i := t.search(lo)
	for k := 0; k < n; k++ {
		idx := (i + k) % n
		id := t.id(idx)
		if *id == lo {
			continue
		}
		if !BetweenRightIncl(lo, *id, hi) || !f(t.peer(idx)) {
			return
		}
	}
}

// digest summarizes the entries in (lo, hi]: their count and the sum of
// the first 8 bytes of their IDs (IDs are SHA-256 outputs, so the sum is
// as good as a hash of the set, and order-independent). It walks at most
// limit entries: ok is false when the range holds more.
func (t *memberTable) digest(lo, hi ID, limit int) (count int, sum uint64, ok bool) {
	ok = true
	t.each(lo, hi, func(p Peer) bool {
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
	out := make([]Peer, 0, n.oh.table.len())
	for k := range n.oh.table.hs {
		out = append(out, n.oh.table.peer(k))
	}
	return out
}

// MembershipLive counts the table's entries listed in live (sorted
// ascending): how many live members the table knows.
func (n *Node) MembershipLive(live []ID) int {
	t := &n.oh.table
	hits, k := 0, 0
	for i := range t.hs {
		id := t.id(i)
		for k < len(live) && live[k].Less(*id) {
			k++
		}
		if k < len(live) && live[k] == *id {
			hits++
		}
	}
	return hits
}
