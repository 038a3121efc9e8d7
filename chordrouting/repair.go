package chordrouting

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
)

// This file is the periodic replica repair. Each round a node (1) offers
// digests of the values it owns to its R-1 successors, first in brief (a
// summary: a round to replicas in sync ends there, one small request and
// reply per replica, where every digest went to every replica before:
// offer.go), and pushes only what they name as missing or older,
// and (2) finds the values it holds but is no longer among the R replicas
// of, offers them to their owners the same way (without a summary: those
// offers name no whole range), and drops them one round later (the grace
// period).

// repairDue reports whether a repair round is due at task tick t: every
// RepairTicks, and RepairSettleTicks after the replica neighbourhood last
// changed (see Config.RepairSettleTicks).
func (n *Node) repairDue(t uint64) bool {
	if h := n.neighbourhood(); h != n.hood {
		n.hood, n.hoodSince = h, n.now
	}
	if t%uint64(n.cfg.RepairTicks) == 0 {
		return true
	}
	settle := uint64(n.cfg.RepairSettleTicks)
	return settle > 0 && n.hood != n.hoodRepaired && n.now-n.hoodSince >= settle
}

// neighbourhood fingerprints the predecessor and the replica targets
// (FNV-1a over the first 8 bytes of each ID: cheap enough for every tick,
// and a collision only delays a round to the periodic one).
func (n *Node) neighbourhood() uint64 {
	h := uint64(14695981039346656037)
	mix := func(id ID) {
		for _, b := range id[:8] {
			h ^= uint64(b)
			h *= 1099511628211
		}
	}
	if n.hasPred {
		mix(n.pred.ID)
	}
	for _, p := range n.replicaTargets() {
		mix(p.ID)
	}
	return h
}

// repair runs one round and reports whether it started one.
func (n *Node) repair() bool {
	if !n.member || n.repairBusy || len(n.succ) == 0 {
		return false
	}
	keys, err := n.st.Keys()
	if err != nil {
		return false
	}
	var owned []ID
	for _, k := range keys {
		if n.responsible(k) {
			owned = append(owned, k)
		}
	}
	n.offerReplicas(n.digests(owned))
	if n.hasPred && len(owned) < len(keys) {
		n.repairBusy = true
		n.walkPreds(n.pred, n.cfg.Replicas-1, func(lo ID, ok bool) {
			n.repairBusy = false
			if ok {
				n.repairMisplaced(lo)
			}
		})
	}
	return true
}

// digests names every live value under keys.
func (n *Node) digests(keys []ID) []Digest {
	var ds []Digest
	for _, k := range keys {
		for _, v := range n.liveValues(k) {
			ds = append(ds, Digest{Key: k, Identity: v.Identity, Version: v.Version})
		}
	}
	return ds
}

// pushNamed pushes the values a digest reply named, at most as many as
// were offered in one message.
func (n *Node) pushNamed(p Peer, named []Digest) {
	var items []Item
	for k, d := range named {
		if k >= n.cfg.MaxItemsPerMessage {
			break
		}
		for _, v := range n.liveValues(d.Key) {
			if v.Identity == d.Identity {
				items = append(items, Item{Key: d.Key, Value: v.Data})
				break
			}
		}
	}
	n.pushItems(p, items)
}

// onDigest names the offered values this node lacks or holds in an older
// version.
func (n *Node) onDigest(m *Message) {
	if !n.member {
		n.replyErr(m, ErrNotMember.Error())
		return
	}
	if len(m.Digests) > n.cfg.MaxItemsPerMessage {
		n.replyErr(m, "too many digests")
		return
	}
	var want []Digest
	for _, d := range m.Digests {
		if !n.holdsVersion(d) {
			want = append(want, d)
		}
	}
	n.reply(m, &Message{Type: MsgDigestReply, Digests: want})
	if m.Done && m.HasPred {
		n.pushBack(m)
	}
}

// SummaryQueryLen is the length of a MsgDigestSummary's Query: the salt,
// then the sum, each 8 bytes big-endian.
const SummaryQueryLen = 16

// rangeSummary is a digest offer of the range (lo, owner] in brief: how
// many values it names, and the sum (mod 2^64) of their salted hashes,
// which no order of the digests changes.
//
// Why salted, and with SHA-256: the sum must tell apart any two sets of
// values that differ. Any node may send a replica values to store, so a
// sum of fixed 64-bit hashes could be defeated on purpose: values whose
// hashes add up to those of values a replica lacks (a generalized birthday
// search, cheap for sums of many terms) would hide the lack from every
// round. With a salt drawn afresh each round by the owner, values placed
// beforehand cannot be tuned to it. Cost: one SHA-256 of about 50 bytes
// per value, on the owner once a round, on a replica once per owner whose
// range it holds.
type rangeSummary struct {
	lo    ID
	count int
	salt  uint64
	sum   uint64
}

// query is s's salt and sum in the wire form of MsgDigestSummary's Query.
func (s rangeSummary) query() []byte {
	q := binary.BigEndian.AppendUint64(make([]byte, 0, SummaryQueryLen), s.salt)
	return binary.BigEndian.AppendUint64(q, s.sum)
}

// summarizeDigests summarizes ds, the digests of the range (lo, owner].
func summarizeDigests(lo ID, ds []Digest, salt uint64) rangeSummary {
	s := rangeSummary{lo: lo, count: len(ds), salt: salt}
	h := sha256.New()
	var buf []byte
	var out [sha256.Size]byte
	for _, d := range ds {
		buf = binary.BigEndian.AppendUint64(buf[:0], salt)
		buf = append(buf, d.Key[:]...)
		buf = binary.BigEndian.AppendUint64(buf, uint64(d.Version))
		buf = append(buf, d.Identity...)
		h.Reset()
		h.Write(buf)
		s.sum += binary.BigEndian.Uint64(h.Sum(out[:0]))
	}
	return s
}

// onDigestSummary answers whether this node's live values in the range
// (m.Key, m.From] are the count and sum m names (Done), so that an owner
// whose values this replica already holds, no more and no fewer, sends no
// digests. Any difference (a value missing here, another version, a value
// the owner lacks) answers "not the same", and the owner's full offer
// follows, push back included.
func (n *Node) onDigestSummary(m *Message) {
	if !n.member {
		n.replyErr(m, ErrNotMember.Error())
		return
	}
	if len(m.Query) != SummaryQueryLen {
		n.replyErr(m, fmt.Sprintf("summary of %d bytes, want %d", len(m.Query), SummaryQueryLen))
		return
	}
	if !n.replicaOf(m.Key, m.From.ID) {
		// Not a range this node copies: "not the same" without the scan
		// (the full offer decides, as for any difference).
		n.reply(m, &Message{Type: MsgDigestSummaryReply})
		return
	}
	keys, err := n.st.Keys()
	if err != nil {
		n.replyErr(m, "storage unavailable")
		return
	}
	var in []ID
	for _, k := range keys {
		if BetweenRightIncl(m.Key, k, m.From.ID) {
			in = append(in, k)
		}
	}
	s := summarizeDigests(m.Key, n.digests(in), binary.BigEndian.Uint64(m.Query[:8]))
	same := s.count == m.Count && s.sum == binary.BigEndian.Uint64(m.Query[8:])
	n.reply(m, &Message{Type: MsgDigestSummaryReply, Done: same})
}

// replicaOf reports whether the range (lo, owner] may be one this node
// holds copies of: the range does not hold this node, and with a
// membership table, at most Replicas-2 members lie between the owner and
// this node (it is among the owner's Replicas-1 successors). A summary's
// answer reads and hashes every value the range holds here, so a peer
// naming wide ranges, or ranges of owners far away, gets "not the same"
// at once instead (a stale table errs towards the full offer).
func (n *Node) replicaOf(lo, owner ID) bool {
	if n.cfg.Replicas < 2 || BetweenRightIncl(lo, n.self.ID, owner) {
		return false
	}
	if !n.cfg.OneHop || n.oh.table.len() == 0 {
		return true
	}
	_, _, ok := n.oh.table.digest(owner, n.self.ID, n.cfg.Replicas-2)
	return ok
}

// pushBack sends the owner of the range (m.Pred, m.From] the values this
// node holds there that the owner's complete digest did not name (or named
// in an older version).
func (n *Node) pushBack(m *Message) {
	keys, err := n.st.Keys()
	if err != nil {
		return
	}
	var items []Item
	for _, k := range keys {
		if !BetweenRightIncl(m.Pred.ID, k, m.From.ID) {
			continue
		}
		for _, v := range n.liveValues(k) {
			if !offeredAtLeast(m.Digests, k, v) {
				items = append(items, Item{Key: k, Value: v.Data})
			}
		}
	}
	n.pushItems(m.From, items)
}

// offeredAtLeast reports whether ds names v's identity at v's version or
// newer.
func offeredAtLeast(ds []Digest, key ID, v StoredValue) bool {
	for _, d := range ds {
		if d.Key == key && d.Identity == v.Identity {
			return d.Version >= v.Version
		}
	}
	return false
}

// holdsVersion reports whether a value of d's identity at d's version or
// newer is held.
func (n *Node) holdsVersion(d Digest) bool {
	for _, v := range n.liveValues(d.Key) {
		if v.Identity == d.Identity {
			return v.Version >= d.Version
		}
	}
	return false
}

// walkPreds follows predecessors `steps` times back from p and reports the
// node reached; ok is false if a step failed or the walk came round to
// this node (a ring of at most R nodes: everything is legitimately held).
func (n *Node) walkPreds(p Peer, steps int, done func(lo ID, ok bool)) {
	if steps <= 0 {
		done(p.ID, true)
		return
	}
	n.request(p, &Message{Type: MsgGetState}, func(m *Message) {
		if m == nil || m.Type != MsgState || !m.HasPred || m.Pred.ID == n.self.ID || !n.member {
			done(ID{}, false)
			return
		}
		if !Between(m.Pred.ID, p.ID, n.self.ID) {
			done(ID{}, false) // not behind p as seen from here: the walk is stale
			return
		}
		n.walkPreds(m.Pred, steps-1, done)
	})
}

// repairMisplaced handles the keys outside (lo, self]: those offered last
// round are dropped, the others offered to their owners now.
func (n *Node) repairMisplaced(lo ID) {
	keys, err := n.st.Keys()
	if err != nil {
		return
	}
	var offerKeys []ID
	for _, k := range keys {
		if BetweenRightIncl(lo, k, n.self.ID) {
			continue
		}
		if containsSortedID(n.misplaced, k) {
			for _, v := range n.liveValues(k) {
				_ = n.drop(k, v)
			}
			continue
		}
		offerKeys = append(offerKeys, k)
	}
	n.misplaced = n.misplaced[:0]
	if len(offerKeys) == 0 {
		return
	}
	n.repairBusy = true
	n.groupByOwner(offerKeys, func(groups []ownerGroup, _ int, _ []int, _ error) {
		pendingGroups := len(groups)
		if pendingGroups == 0 {
			n.repairBusy = false
		}
		for _, g := range groups {
			gk := make([]ID, len(g.idx))
			for j, i := range g.idx {
				gk[j] = offerKeys[i]
			}
			if g.owner.ID == n.self.ID {
				pendingGroups--
				if pendingGroups == 0 {
					n.repairBusy = false
				}
				continue
			}
			n.offer(g.owner, n.digests(gk), false, func(ok bool) {
				if ok {
					n.misplaced = insertSortedIDs(n.misplaced, gk)
				}
				pendingGroups--
				if pendingGroups == 0 {
					n.repairBusy = false
				}
			})
		}
	})
}

// containsSortedID reports whether the ascending ids hold id.
func containsSortedID(ids []ID, id ID) bool {
	lo, hi := 0, len(ids)
	for lo < hi {
		m := (lo + hi) / 2
		if ids[m].Less(id) {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo < len(ids) && ids[lo] == id
}

// insertSortedIDs adds ids (ascending) to the ascending set.
func insertSortedIDs(set, ids []ID) []ID {
	for _, id := range ids {
		if containsSortedID(set, id) {
			continue
		}
		k := len(set)
		for k > 0 && id.Less(set[k-1]) {
			k--
		}
		set = append(set, ID{})
		copy(set[k+1:], set[k:])
		set[k] = id
	}
	return set
}
