package chordrouting

// Directory interns what the membership tables of one or more nodes hold:
// each distinct member's Peer once (an entry of a table is a 4-byte
// handle), and each distinct chunk of a table once (table_chunk.go). A
// table is split into ranges of the ID space (table_split.go), each
// range's entries one sorted chunk of handles; tables that hold the same
// members in a range hold the same chunk, counted, and a chunk goes when
// no table holds it, and a Peer when no chunk holds it.
//
// A node makes its own Directory: its table's chunks are then its own,
// and a member costs 6 B of chunk (handle and 16-bit key, a little more
// in a chunk's spare capacity), 48 B of Peer, its address string and a
// map entry: about 220 B with a libp2p address (measured at 1,000 and
// 100,000 members with 80-byte addresses). A simulator running many nodes
// on one goroutine may give them one shared Directory through
// Config.Directory: tables that agree then share their chunks, so N
// tables of N members cost about 8 bytes per range per table (16 KB at
// 100,000 members) plus the chunks in which they differ, where a handle
// per entry cost 4·N² bytes (40 GB at 100,000). Not safe for concurrent
// use: the nodes sharing one must be driven from one goroutine.
type Directory struct {
	peers []Peer
	refs  []uint32 // chunks holding the handle; 0: free
	index map[ID]uint32
	free  []uint32
	pool  chunkPool
}

// NewDirectory returns an empty Directory.
func NewDirectory() *Directory {
	return &Directory{index: map[ID]uint32{}, pool: newChunkPool()}
}

// Len is the number of distinct peers held.
func (d *Directory) Len() int { return len(d.index) }

// Chunks is the number of distinct chunks held (what tables sharing the
// Directory hold at least once).
func (d *Directory) Chunks() int { return d.pool.live }

// handle returns the handle of p, allocating one (held by no chunk yet)
// for a new ID; a known ID with a new address takes the new address. A
// new handle must be put in a chunk (which holds it) before anything
// else releases handles, or it is never freed.
func (d *Directory) handle(p Peer) uint32 {
	if h, ok := d.index[p.ID]; ok {
		if d.peers[h].Addr != p.Addr {
			d.peers[h].Addr = p.Addr
		}
		return h
	}
	var h uint32
	if k := len(d.free); k > 0 {
		h = d.free[k-1]
		d.free = d.free[:k-1]
		d.peers[h], d.refs[h] = p, 0
	} else {
		h = uint32(len(d.peers))
		d.peers = append(d.peers, p)
		d.refs = append(d.refs, 0)
	}
	d.index[p.ID] = h
	return h
}

// hold counts one more chunk holding h.
func (d *Directory) hold(h uint32) { d.refs[h]++ }

// release drops one chunk holding h; the last one frees it.
func (d *Directory) release(h uint32) {
	if d.refs[h]--; d.refs[h] == 0 {
		delete(d.index, d.peers[h].ID)
		d.peers[h] = Peer{}
		d.free = append(d.free, h)
	}
}
