package chordrouting

// This file is repair's digest offer: the digests of values sent to a
// peer in messages of at most MaxItemsPerMessage, offerWindow at a time,
// the values the peer names pushed to it.
//
// An offer of the owned values to a replica target starts with a summary
// of them (MsgDigestSummary: their count and the sum of their salted
// hashes, repair.go): a replica that holds exactly those values in the
// owner's range says so, and the offer ends there. Before, every round
// sent every digest to every target whether or not anything had changed:
// about 160 bytes per value per target, so an owner of 1,000 values with
// eight copies sent 7 x 1,000 digests each repair round (about 180
// kbit/s at the daemon's 50 s round), its replicas the same back as
// empty replies. Now a round to replicas in sync costs one request of
// about 60 bytes and one reply of about 10 per target, whatever the
// number of values; a target that differs in any way (missing a value,
// holding an older or newer version, holding values the owner lacks, or
// unable to tell: an older peer, an error, no answer) gets the full
// offer exactly as before, push back included.

// offerChain is one offer to one peer: its messages, and how far it got.
type offerChain struct {
	to      Peer
	chunks  [][]Digest
	whole   bool // the digests of this node's whole range, in one message
	next    int  // the next chunk to send
	waiting int  // messages sent and not yet answered
	summOut bool // the summary is in flight: no digests until it ends
	ok      bool // every message so far was answered
	stopped bool // the peer is no longer a replica target: end at the next reply
	// sum, when summarize is set, is sent before the chunks; a reply
	// that says the peer holds just those values ends the chain unsent.
	sum       rangeSummary
	summarize bool
	// gen counts the rounds that replaced the chain's digests: a summary
	// answered after a later round replaced them says nothing of these.
	gen  uint64
	done func(ok bool)
}

// offerWindow is how many digest messages one offer keeps in flight.
// Sent all at once, an owner's digests (one message per
// MaxItemsPerMessage values: 40 for 10,000 values) went to each replica
// together, above what the replica's transport takes from one peer
// (chordrouting/p2p: MaxInboundPerPeer, then 32), which reset the rest and
// the stabilize query among them. 1: Config.MaintenancePerPeer counts
// it; 10,000 values then take 40 round trips per replica (6 s at 150
// ms, in parallel for the replicas), well inside a repair round
// (RepairTicks: 50 s at the daemon's tick).
const offerWindow = 1

// offerReplicas offers ds, the digests of the values this node owns, to
// each replica target, one chain per target: where an earlier round's
// chain to a target still runs, ds replaces what that chain had left to
// send and it goes on with ds at its next reply, so rounds that come
// close together (the neighbourhood settling under churn) never run two
// chains to one replica. A chain to a peer that is no longer a target
// ends at its next reply. With a predecessor (a known range) each chain
// starts with the summary of ds, one salt for the round.
func (n *Node) offerReplicas(ds []Digest) {
	targets := n.replicaTargets()
	for id, c := range n.offers {
		if !containsPeer(targets, id) {
			c.stopped = true
			delete(n.offers, id)
		}
	}
	var sum rangeSummary
	if n.hasPred && len(targets) > 0 {
		sum = summarizeDigests(n.pred.ID, ds, n.rng.Uint64())
	}
	for _, p := range targets {
		chunks, whole := n.offerChunks(ds, true)
		if c := n.offers[p.ID]; c != nil {
			c.chunks, c.whole, c.next = chunks, whole, 0
			c.sum, c.summarize = sum, n.hasPred
			c.gen++
			continue
		}
		if len(chunks) == 0 {
			continue
		}
		if n.offers == nil {
			n.offers = make(map[ID]*offerChain)
		}
		c := &offerChain{to: p, chunks: chunks, whole: whole, ok: true, sum: sum, summarize: n.hasPred}
		n.offers[p.ID] = c
		c.done = func(bool) {
			if n.offers[c.to.ID] == c {
				delete(n.offers, c.to.ID)
			}
		}
		n.pumpOffer(c)
	}
}

// offer sends digests to p in messages of at most MaxItemsPerMessage,
// offerWindow of them at once, and pushes the values p names. done (may
// be nil) learns whether every message was answered; a message that is
// not ends the offer. With mayWhole, when the digests of this node's own
// range fit in one message, the message says so (Done, with the range
// start in Pred) and p pushes back what it holds in that range and this
// node lacks: an owner that lost values (it joined, or took over a failed
// owner's range) gets them back from its replicas.
func (n *Node) offer(p Peer, ds []Digest, mayWhole bool, done func(ok bool)) {
	chunks, whole := n.offerChunks(ds, mayWhole)
	if len(chunks) == 0 {
		if done != nil {
			done(true)
		}
		return
	}
	n.pumpOffer(&offerChain{to: p, chunks: chunks, whole: whole, ok: true, done: done})
}

// offerChunks cuts ds into messages; whole when they are this node's
// whole range in one message (mayWhole: an offer of the owned values),
// which is sent even when empty.
func (n *Node) offerChunks(ds []Digest, mayWhole bool) (chunks [][]Digest, whole bool) {
	whole = mayWhole && len(ds) <= n.cfg.MaxItemsPerMessage && n.hasPred
	for len(ds) > 0 {
		k := min(len(ds), n.cfg.MaxItemsPerMessage)
		chunks = append(chunks, ds[:k:k])
		ds = ds[k:]
	}
	if whole && len(chunks) == 0 {
		chunks = [][]Digest{nil} // an empty range still asks for what p holds
	}
	return chunks, whole
}

// pumpOffer sends c's summary when one is due and nothing is in flight,
// else its next messages while its window has room, and ends c (done)
// once nothing is in flight and nothing more will be sent.
func (n *Node) pumpOffer(c *offerChain) {
	if c.ok && !c.stopped && c.summarize && c.waiting == 0 {
		n.sendSummary(c)
	}
	for c.ok && !c.stopped && !c.summarize && !c.summOut && c.waiting < offerWindow && c.next < len(c.chunks) {
		msg := &Message{Type: MsgDigest, Digests: c.chunks[c.next]}
		if c.whole && n.hasPred {
			msg.Done, msg.HasPred, msg.Pred = true, true, n.pred
		}
		c.next++
		c.waiting++
		n.request(c.to, msg, func(m *Message) {
			c.waiting--
			if m == nil || m.Type != MsgDigestReply {
				c.ok = false
			} else if !c.stopped {
				n.pushNamed(c.to, m.Digests)
			}
			n.pumpOffer(c)
		})
	}
	if c.waiting == 0 && (!c.ok || c.stopped || (!c.summarize && c.next >= len(c.chunks))) && c.done != nil {
		done := c.done
		c.done = nil
		done(c.ok)
	}
}

// sendSummary sends c's summary, the chain's one message in flight. A
// reply that the peer holds just those values (Done) skips the digests,
// unless a later round replaced them meanwhile (gen: that round's own
// summary goes next); any other answer, or none, leaves the digests to be
// sent as without a summary. It does not end the chain: the offer that
// follows finds out whether the peer lives, and is what makes it a
// suspect when it does not answer, as before. So the summary's own wait
// (a request timeout, as any) ends quietly, making the peer no suspect
// (rpc.go, pending.endTick): a peer that predates MsgDigestSummary
// refuses it (chordrouting/p2p's decoder knows no such type and resets
// the stream, which the core cannot tell from silence), and must not be
// taken for dead for that each round; it costs such a peer one reset
// stream and the owner a request timeout before the offer goes out.
func (n *Node) sendSummary(c *offerChain) {
	c.summarize, c.summOut = false, true
	c.waiting++
	gen, s := c.gen, c.sum
	msg := &Message{Type: MsgDigestSummary, Key: s.lo, Count: s.count, Query: s.query()}
	t := n.timeoutTicks()
	n.send(c.to, msg, pending{deadline: n.now + t + 1, endTick: n.now + t}, func(m *Message) {
		c.waiting--
		c.summOut = false
		if m != nil && m.Type == MsgDigestSummaryReply && m.Done && c.gen == gen {
			c.next = len(c.chunks) // the peer holds just these values
		}
		n.pumpOffer(c)
	})
}
