package chordrouting

import (
	"crypto/sha256"
	"encoding/binary"
)

// This file makes stabilization cheap when nothing changed: a stabilize
// query carries (in Count) the 31-bit digest of the state the head answered last
// time, and a head whose predecessor and successor list still have that
// digest answers MsgState with Done set and nothing else; the asker then
// uses the state it kept. A ring at rest thus exchanges two small
// messages per round instead of a successor list of r peers (about 1 KB
// on the libp2p wire), which is most of a one-hop member's maintenance
// traffic at a one-second round (issue 10). Join, step 2 and owner
// confirmations send no digest and always get the full state.

// stateDigests is what a node keeps for it.
type stateDigests struct {
	// The answering side: this node's own digest, for the state it was
	// computed from (succ is copy-on-write, so its first element's address
	// and its length identify it).
	ownSucc    *Peer
	ownLen     int
	ownHasPred bool
	ownPred    Peer
	own        int
	ownValid   bool

	// The asking side: the last full answer of the head, and how many
	// answers in a row said it was unchanged.
	unchanged int
	head      ID
	digest    int
	hasPred   bool
	pred      Peer
	peers     []Peer
}

// stateDigest hashes a predecessor and a successor list into 31 bits,
// never zero (the codec carries Count as a non-negative int32). An
// accidental collision (2^-31 per change) keeps a stale list until the
// head's state changes again; a lying head can do worse anyway.
func stateDigest(hasPred bool, pred Peer, succ []Peer) int {
	h := sha256.New()
	var b [8]byte
	put := func(p Peer) {
		h.Write(p.ID[:])
		binary.BigEndian.PutUint64(b[:], uint64(len(p.Addr)))
		h.Write(b[:])
		h.Write([]byte(p.Addr))
	}
	if hasPred {
		h.Write([]byte{1})
		put(pred)
	} else {
		h.Write([]byte{0})
	}
	for _, p := range succ {
		put(p)
	}
	d := int(binary.BigEndian.Uint32(h.Sum(nil)) & 0x7fffffff)
	if d == 0 {
		d = 1
	}
	return d
}

// ownStateDigest is the digest of this node's current state.
func (n *Node) ownStateDigest() int {
	sd := &n.sd
	var first *Peer
	if len(n.succ) > 0 {
		first = &n.succ[0]
	}
	if !sd.ownValid || sd.ownSucc != first || sd.ownLen != len(n.succ) || sd.ownHasPred != n.hasPred || sd.ownPred != n.pred {
		sd.own = stateDigest(n.hasPred, n.pred, n.succ)
		sd.ownSucc, sd.ownLen, sd.ownHasPred, sd.ownPred, sd.ownValid = first, len(n.succ), n.hasPred, n.pred, true
	}
	return sd.own
}

// unchangedState answers a stabilize query whose digest matches this
// node's state; it reports whether it did.
func (n *Node) unchangedState(m *Message) bool {
	if m.Count == 0 || m.Count != n.ownStateDigest() {
		return false
	}
	n.reply(m, &Message{Type: MsgState, Done: true})
	return true
}

// stateQuery is the Count of a stabilize query to head: the digest of
// its last full answer, or zero.
func (n *Node) stateQuery(head ID) int {
	if n.sd.head == head {
		return n.sd.digest
	}
	return 0
}

// expandState returns the full state a stabilize answer from head stands
// for: an unchanged answer becomes the state kept from head's last full
// answer, and a full answer is kept. An unchanged answer with nothing kept
// (never sent by an honest head) comes back as nil, like no answer.
func (n *Node) expandState(head ID, m *Message) *Message {
	if m == nil || m.Type != MsgState {
		return m
	}
	sd := &n.sd
	if m.Done {
		if sd.head != head || sd.digest == 0 {
			return nil
		}
		sd.unchanged++
		return &Message{Type: MsgState, From: m.From, ID: m.ID, HasPred: sd.hasPred, Pred: sd.pred, Peers: sd.peers}
	}
	if len(m.Peers) > 4*n.cfg.SuccessorListLen {
		sd.head, sd.digest = ID{}, 0
		return m
	}
	sd.unchanged = 0
	sd.head, sd.hasPred, sd.pred = head, m.HasPred, m.Pred
	sd.peers = append(sd.peers[:0:0], m.Peers...)
	sd.digest = stateDigest(m.HasPred, m.Pred, m.Peers)
	return m
}

// Idle stabilization (one-hop mode): after idleAfter unchanged answers in
// a row a member stabilizes every idleEvery ticks only, until an answer
// changes. A one-hop member's lookups confirm owners with the owners
// themselves, and joins and departures reach it as membership events, so
// its successor list matters less; halving idle rounds halves the largest
// share of its maintenance traffic (about 2.3 kbit/s at one-second ticks).
// A crashed successor is found one tick later on average.
const (
	idleAfter = 3
	idleEvery = 2
)

// stabilizeIdle reports whether this tick's stabilize round is skipped.
func (n *Node) stabilizeIdle() bool {
	return n.cfg.OneHop && n.sd.unchanged >= idleAfter && n.now%idleEvery != 0 &&
		len(n.succ) > 0 && n.sd.head == n.succ[0].ID // a new head is asked at once
}
