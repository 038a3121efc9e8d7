package chordrouting

import (
	"bytes"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestRepairRoundsShareOneChainPerReplica: a repair round that comes
// while an earlier round's offer to a replica still runs (the
// neighbourhood settling under churn starts rounds close together) does
// not start a second chain to it: the new digests replace what the
// running chain had left, and it sends them at its next reply, so a
// replica never has more than offerWindow digest messages in flight from
// this node, and the last round's digests all go out. Before, each round
// started its own chain: two and three ran to one replica at once.
func TestRepairRoundsShareOneChainPerReplica(t *testing.T) {
	_, nodes := staticRing(t, 8, 19)
	nd := nodes[0]
	per := nd.cfg.MaxItemsPerMessage
	values := 3*per + 10
	fillOwned(t, nd, values, 19)
	tr := &recordingTransport{}
	nd.tr = tr
	for round := range 3 {
		if !nd.repair() {
			t.Fatalf("no repair round %d", round)
		}
	}
	targets := nd.replicaTargets()
	offered, summaries := answerOffers(t, nd, tr, func(ID) bool { return false })
	// The first round's first message (its summary), then the last
	// round's summary and digests.
	want := (values + per - 1) / per
	for _, p := range targets {
		if offered[p.ID] != want || summaries[p.ID] != 2 {
			t.Fatalf("replica %s got %d digest messages and %d summaries, want %d and 2", p.Addr, offered[p.ID], summaries[p.ID], want)
		}
	}
	if len(nd.offers) != 0 {
		t.Fatalf("%d offer chains left after every reply", len(nd.offers))
	}
}

// TestRepairGroupingLookupsBounded: repair's grouping of misplaced keys
// by owner (groupByOwner) runs at most repairGroupWindow lookups at once:
// its lookups are maintenance's, which Config.MaintenancePerPeer counts
// per peer. Before, it fanned out to groupWindow (8) like a put's.
func TestRepairGroupingLookupsBounded(t *testing.T) {
	const seed = 23
	t.Logf("seed %d", seed)
	net, nodes := staticRing(t, 300, seed)
	rng := rand.New(rand.NewPCG(seed, 9))
	keys := make([]ID, 200)
	for i := range keys {
		keys[i] = randomKey(rng)
	}
	slices.SortFunc(keys, func(a, b ID) int { return bytes.Compare(a[:], b[:]) })
	nd := nodes[0]
	var groups []ownerGroup
	lookups, ran := 0, false
	nd.groupByOwner(keys, func(g []ownerGroup, l int, failed []int, err error) {
		if err != nil || len(failed) > 0 {
			t.Fatalf("grouping failed: %v (%d keys)", err, len(failed))
		}
		groups, lookups, ran = g, l, true
	})
	most := len(nd.pending)
	for k := 0; k < len(net.queue); k++ {
		if n := net.nodes[net.dest[k]]; n != nil {
			n.Step(net.queue[k])
		}
		most = max(most, len(nd.pending))
	}
	if !ran {
		t.Fatal("the grouping never ended")
	}
	if most > repairGroupWindow {
		t.Fatalf("%d requests in flight at once for repair's grouping, want at most %d", most, repairGroupWindow)
	}
	if lookups < 2*repairGroupWindow {
		t.Fatalf("only %d lookups: the grouping never fanned out", lookups)
	}
	for _, g := range groups {
		for _, i := range g.idx {
			if o := ownerIn(nodes, keys[i]); o.self.ID != g.owner.ID {
				t.Fatalf("key %s grouped with %s, its owner is %s", keys[i].Short(), g.owner.ID.Short(), o.self.ID.Short())
			}
		}
	}
	t.Logf("%d lookups, at most %d requests in flight", lookups, most)
}

// answerDigests answers nd's digest offers recorded in tr one at a time,
// each summary as "not the same" (so that the digests follow), failing if
// a replica ever has more than offerWindow of them in flight, until none
// is left unanswered; it returns how many digest messages each peer was
// offered.
func answerDigests(t *testing.T, nd *Node, tr *recordingTransport) map[ID]int {
	t.Helper()
	offered, _ := answerOffers(t, nd, tr, func(ID) bool { return false })
	return offered
}

// answerOffers is answerDigests with each summary to peer p answered
// same(p) (the peer holds just the summarized values); it fails if a
// replica ever has more than offerWindow messages in flight, summaries
// and digests together, and returns how many of each every peer got.
func answerOffers(t *testing.T, nd *Node, tr *recordingTransport, same func(ID) bool) (digests, summaries map[ID]int) {
	t.Helper()
	answered := map[uint64]bool{}
	digests, summaries = map[ID]int{}, map[ID]int{}
	offerMsg := func(m *Message) bool { return m.Type == MsgDigest || m.Type == MsgDigestSummary }
	for {
		inFlight := map[ID]int{}
		for _, s := range tr.sent {
			if offerMsg(s.m) && !answered[s.m.ID] {
				inFlight[s.to.ID]++
			}
		}
		for id, k := range inFlight {
			if k > offerWindow {
				t.Fatalf("%d offer messages in flight to replica %s, window %d", k, id.Short(), offerWindow)
			}
		}
		progress := false
		for _, s := range tr.sent {
			if !offerMsg(s.m) || answered[s.m.ID] {
				continue
			}
			answered[s.m.ID] = true
			if s.m.Type == MsgDigestSummary {
				summaries[s.to.ID]++
				nd.Step(&Message{Type: MsgDigestSummaryReply, ID: s.m.ID, From: s.to, Done: same(s.to.ID)})
			} else {
				digests[s.to.ID]++
				nd.Step(&Message{Type: MsgDigestReply, ID: s.m.ID, From: s.to})
			}
			progress = true
			break
		}
		if !progress {
			return digests, summaries
		}
	}
}
