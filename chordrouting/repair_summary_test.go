package chordrouting

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// tallyTransport records what one node sends and hands it to a pumpNet;
// drop, when set, loses the messages it returns true for (a peer that
// resets them, which the core cannot tell from silence).
type tallyTransport struct {
	net  *pumpNet
	sent []sentTo
	drop func(to Peer, m *Message) bool
}

func (t *tallyTransport) Send(to Peer, m *Message) {
	t.sent = append(t.sent, sentTo{to, m})
	if t.drop != nil && t.drop(to, m) {
		return
	}
	pumpTransport{t.net}.Send(to, m)
}

// count is how many messages of type typ went to each peer.
func (t *tallyTransport) count(typ MsgType) map[ID]int {
	out := map[ID]int{}
	for _, s := range t.sent {
		if s.m.Type == typ {
			out[s.to.ID]++
		}
	}
	return out
}

// summaryRing is an 8-member static ring whose members check values with
// recValidator and record what they send; each member owns `owned`
// values (identities "v0".., version 1), held by it and its R-1 = 2
// successors, as after a put. It returns the members' transports too.
func summaryRing(t *testing.T, seed uint64, owned int) (*pumpNet, []*Node, map[ID]*tallyTransport) {
	t.Helper()
	t.Logf("seed %d", seed)
	net, nodes := staticRing(t, 8, seed)
	trs := map[ID]*tallyTransport{}
	rng := rand.New(rand.NewPCG(seed, 2))
	for _, nd := range nodes {
		nd.cfg.Validator, nd.val = recValidator{}, recValidator{}
		nd.cfg.RepairSettleTicks = 0 // rounds only when a test runs them
		tr := &tallyTransport{net: net}
		nd.tr, trs[nd.self.ID] = tr, tr
	}
	for _, nd := range nodes {
		for k := 0; k < owned; k++ {
			key := ownedKey(nd, rng)
			storeOn(t, append([]*Node{nd}, holdersOf(nodes, nd)...), key, fmt.Sprintf("p|v%d|1|3600", k))
		}
	}
	return net, nodes, trs
}

// ownedKey draws a key nd owns.
func ownedKey(nd *Node, rng *rand.Rand) ID {
	for {
		if k := randomKey(rng); nd.responsible(k) {
			return k
		}
	}
}

// holdersOf are nd's replica targets, as members.
func holdersOf(nodes []*Node, nd *Node) []*Node {
	var out []*Node
	for _, p := range nd.replicaTargets() {
		for _, m := range nodes {
			if m.self.ID == p.ID {
				out = append(out, m)
			}
		}
	}
	return out
}

// storeOn stores value under key on each of ns.
func storeOn(t *testing.T, ns []*Node, key ID, value string) {
	t.Helper()
	for _, n := range ns {
		if _, err := n.accept(key, []byte(value)); err != nil {
			t.Fatalf("storing %q: %v", value, err)
		}
	}
}

// holdsValue reports whether n holds value under key.
func holdsValue(n *Node, key ID, value string) bool {
	for _, v := range n.liveValues(key) {
		if string(v.Data) == value {
			return true
		}
	}
	return false
}

// repairRound runs one repair round of nd to its end and returns what
// every member sent meanwhile.
func repairRound(t *testing.T, net *pumpNet, nd *Node, trs map[ID]*tallyTransport) {
	t.Helper()
	for _, tr := range trs {
		tr.sent = nil
	}
	if !nd.repair() {
		t.Fatal("no repair round")
	}
	net.run()
	if len(nd.offers) != 0 {
		t.Fatalf("%d offer chains still run after every reply", len(nd.offers))
	}
}

// TestRepairSummaryInSync: a round to replicas that already hold the
// owner's values sends each replica one summary and nothing else (no
// digests, no stores either way), whether the owner's digests fit one
// message or not, and whatever else the replicas hold outside its range
// (each holds its own values and its predecessors'). Before, the round
// sent every digest to every replica.
func TestRepairSummaryInSync(t *testing.T) {
	for _, owned := range []int{0, 40, 600} {
		t.Run(fmt.Sprint(owned), func(t *testing.T) {
			net, nodes, trs := summaryRing(t, 41+uint64(owned), owned)
			nd := nodes[3]
			for round := range 2 {
				repairRound(t, net, nd, trs)
				tr := trs[nd.self.ID]
				sums, digests := tr.count(MsgDigestSummary), tr.count(MsgDigest)
				for _, p := range nd.replicaTargets() {
					if sums[p.ID] != 1 || digests[p.ID] != 0 {
						t.Fatalf("round %d: replica %s got %d summaries and %d digest messages, want 1 and 0", round, p.Addr, sums[p.ID], digests[p.ID])
					}
				}
				if len(sums) != len(nd.replicaTargets()) {
					t.Fatalf("round %d: summaries to %d peers, want the %d replicas", round, len(sums), len(nd.replicaTargets()))
				}
				for id, rtr := range trs {
					for _, s := range rtr.sent {
						switch s.m.Type {
						case MsgDigest, MsgDigestReply, MsgStore:
							t.Fatalf("round %d: %s sent %+v", round, id.Short(), s.m)
						}
					}
				}
			}
		})
	}
}

// TestRepairSummaryMismatchOffersDigests: a replica that lacks one of the
// owner's values, or holds one in an older version, answers that its
// summary differs and gets the full digest offer, then the value; the
// replica in sync gets the summary alone.
func TestRepairSummaryMismatchOffersDigests(t *testing.T) {
	for _, c := range []struct {
		name   string
		behind func(t *testing.T, r *Node, key ID) // makes replica r lack the owner's value under key
	}{
		{"missing", func(t *testing.T, r *Node, key ID) {}},
		{"older", func(t *testing.T, r *Node, key ID) { storeOn(t, []*Node{r}, key, "p|fresh|1|3600") }},
	} {
		t.Run(c.name, func(t *testing.T) {
			net, nodes, trs := summaryRing(t, 43, 30)
			nd := nodes[5]
			hs := holdersOf(nodes, nd)
			behind, inSync := hs[0], hs[1]
			key := ownedKey(nd, rand.New(rand.NewPCG(43, 7)))
			storeOn(t, []*Node{nd, inSync}, key, "p|fresh|2|3600")
			c.behind(t, behind, key)
			repairRound(t, net, nd, trs)
			tr := trs[nd.self.ID]
			sums, digests := tr.count(MsgDigestSummary), tr.count(MsgDigest)
			if sums[behind.self.ID] != 1 || digests[behind.self.ID] != 1 {
				t.Fatalf("the replica behind got %d summaries and %d digest messages, want 1 and 1 (its whole range)", sums[behind.self.ID], digests[behind.self.ID])
			}
			if sums[inSync.self.ID] != 1 || digests[inSync.self.ID] != 0 {
				t.Fatalf("the replica in sync got %d summaries and %d digest messages, want 1 and 0", sums[inSync.self.ID], digests[inSync.self.ID])
			}
			if !holdsValue(behind, key, "p|fresh|2|3600") {
				t.Fatal("the replica behind did not get the owner's value")
			}
			if stores := tr.count(MsgStore); stores[behind.self.ID] != 1 || stores[inSync.self.ID] != 0 {
				t.Fatalf("stores %v, want one to the replica behind only", stores)
			}
			// Now in sync: the next round is summaries only.
			repairRound(t, net, nd, trs)
			if d := tr.count(MsgDigest); len(d) != 0 {
				t.Fatalf("digests %v once the replicas are in sync", d)
			}
		})
	}
}

// TestRepairSummaryOwnerGetsPushBack: an owner that lost values (a crash,
// a takeover) while its replicas kept them: the summaries differ (the
// replicas hold more), the full offer of its whole range follows, and the
// replicas push the lost values back; the next round is summaries only.
func TestRepairSummaryOwnerGetsPushBack(t *testing.T) {
	net, nodes, trs := summaryRing(t, 47, 20)
	nd := nodes[2]
	rng := rand.New(rand.NewPCG(47, 7))
	var lost []ID
	for k := range 3 {
		key := ownedKey(nd, rng)
		storeOn(t, holdersOf(nodes, nd), key, fmt.Sprintf("p|lost%d|1|3600", k))
		lost = append(lost, key)
	}
	repairRound(t, net, nd, trs)
	for k, key := range lost {
		if !holdsValue(nd, key, fmt.Sprintf("p|lost%d|1|3600", k)) {
			t.Fatalf("the owner did not get lost value %d back", k)
		}
	}
	if d := trs[nd.self.ID].count(MsgDigest); len(d) != len(nd.replicaTargets()) {
		t.Fatalf("digests %v, want one whole-range offer per replica", d)
	}
	repairRound(t, net, nd, trs)
	if d := trs[nd.self.ID].count(MsgDigest); len(d) != 0 {
		t.Fatalf("digests %v once the owner has its values back", d)
	}
}

// TestRepairSummaryExtraValuesBounded: a replica holding values in the
// owner's range that the owner lacks, where the owner's digests do not
// fit one message (so no push back): each round the summary differs and
// the full offer runs once, naming nothing and pushing nothing either
// way, and the round ends; no round costs more than the one before.
func TestRepairSummaryExtraValuesBounded(t *testing.T) {
	net, nodes, trs := summaryRing(t, 53, 300)
	nd := nodes[4]
	extra := holdersOf(nodes, nd)[1]
	key := ownedKey(nd, rand.New(rand.NewPCG(53, 7)))
	storeOn(t, []*Node{extra}, key, "p|extra|1|3600")
	per := nd.cfg.MaxItemsPerMessage
	for round := range 3 {
		repairRound(t, net, nd, trs)
		tr := trs[nd.self.ID]
		sums, digests := tr.count(MsgDigestSummary), tr.count(MsgDigest)
		if want := (300 + per - 1) / per; sums[extra.self.ID] != 1 || digests[extra.self.ID] != want {
			t.Fatalf("round %d: %d summaries and %d digest messages to the replica with extras, want 1 and %d", round, sums[extra.self.ID], digests[extra.self.ID], want)
		}
		if st := tr.count(MsgStore); len(st) != 0 {
			t.Fatalf("round %d: the owner pushed %v to replicas that lack nothing", round, st)
		}
		if st := trs[extra.self.ID].count(MsgStore); len(st) != 0 {
			t.Fatalf("round %d: the replica pushed %v without a whole-range offer", round, st)
		}
		if holdsValue(nd, key, "p|extra|1|3600") {
			t.Fatalf("round %d: the owner got a value pushed without a whole-range offer", round)
		}
	}
}

// TestRepairSummaryUnansweredFallsBack: a replica that does not answer the
// summary (a peer that predates it resets the stream; the core sees
// silence) still gets the full offer once the summary's wait ends, and
// that wait makes it no suspect (it stays among the fingers); one that
// refuses it (MsgError) gets the offer at once.
func TestRepairSummaryUnansweredFallsBack(t *testing.T) {
	net, nodes, trs := summaryRing(t, 59, 10)
	nd := nodes[6]
	hs := holdersOf(nodes, nd)
	silent, refusing := hs[0], hs[1]
	key := ownedKey(nd, rand.New(rand.NewPCG(59, 7)))
	storeOn(t, []*Node{nd}, key, "p|new|1|3600")
	tr := trs[nd.self.ID]
	tr.drop = func(to Peer, m *Message) bool { return to.ID == silent.self.ID && m.Type == MsgDigestSummary }
	ctr := &cancelTally{tallyTransport: tr}
	nd.tr = ctr
	refusing.member = false // it answers every request with MsgError
	nd.fingers = append(nd.fingers, silent.self)
	repairRound0 := func() {
		tr.sent = nil
		if !nd.repair() {
			t.Fatal("no repair round")
		}
		net.run()
	}
	repairRound0()
	if d := tr.count(MsgDigest); d[refusing.self.ID] != 1 || d[silent.self.ID] != 0 {
		t.Fatalf("digests %v before the summary's wait ended, want one to the refusing replica only", d)
	}
	// Time passes without the periodic tasks, which would change the
	// fingers on their own.
	for range nd.timeoutTicks() + 1 {
		nd.now++
		nd.expireRequests()
		net.run()
	}
	if d := tr.count(MsgDigest); d[silent.self.ID] != 1 {
		t.Fatalf("digests %v after the summary's wait, want one to the silent replica", d)
	}
	if len(ctr.canceled) != 1 || ctr.canceled[0] != silent.self.ID {
		t.Fatalf("canceled %v, want the silent replica's summary (its stream must not outlive the wait)", ctr.canceled)
	}
	if !holdsValue(silent, key, "p|new|1|3600") {
		t.Fatal("the silent replica did not get the value")
	}
	if !containsPeer(nd.fingers, silent.self.ID) {
		t.Fatal("the unanswered summary made its replica a suspect")
	}
}

// FuzzDigestSummary feeds arbitrary summaries to a replica: it never
// panics, answers each with a summary reply or an error, and changes
// nothing it stores.
func FuzzDigestSummary(f *testing.F) {
	f.Add([]byte("0123456789abcdef"), []byte("lo"), 3, true)
	f.Add([]byte{}, []byte{}, 0, false)
	f.Add(make([]byte, SummaryQueryLen+1), []byte("k"), 1<<30, true)
	f.Fuzz(func(t *testing.T, query, lo []byte, count int, member bool) {
		n, tr := placedNode(t)
		n.member = member
		for _, v := range []string{"p|a|1|60", "p|b|2|60"} {
			if _, err := n.accept(idAt(0x08), []byte(v)); err != nil {
				t.Fatal(err)
			}
		}
		tr.sent = nil
		before := n.st.Len()
		n.Step(&Message{Type: MsgDigestSummary, ID: 7, From: n.pred, Key: HashID(lo), Count: count, Query: query})
		if len(tr.sent) != 1 || (tr.sent[0].Type != MsgDigestSummaryReply && tr.sent[0].Type != MsgError) || tr.sent[0].ID != 7 {
			t.Fatalf("answered %+v", tr.sent)
		}
		if tr.sent[0].Type == MsgDigestSummaryReply && (len(query) != SummaryQueryLen || !member) {
			t.Fatalf("answered a summary of %d bytes (member %v)", len(query), member)
		}
		if n.st.Len() != before || len(n.liveValues(idAt(0x08))) != 2 {
			t.Fatal("a summary changed what is stored")
		}
	})
}

// TestDigestSummaryAnswers: a replica says "the same" exactly when its
// live values in the range have the summary's count and salted sum:
// another salt gives another sum, another version or a value fewer or
// more differs, and values outside the range do not count.
func TestDigestSummaryAnswers(t *testing.T) {
	n, tr := placedNode(t)
	owner := n.pred                   // owns (0x05, 0x10]
	in, out := idAt(0x08), idAt(0x40) // in its range; in this node's own
	for _, v := range []string{"p|a|1|60", "p|b|2|60"} {
		if _, err := n.accept(in, []byte(v)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := n.accept(out, []byte("p|c|1|60")); err != nil {
		t.Fatal(err)
	}
	ds := []Digest{{Key: in, Identity: "a", Version: 1}, {Key: in, Identity: "b", Version: 2}}
	ask := func(s rangeSummary) bool {
		t.Helper()
		tr.sent = nil
		n.Step(&Message{Type: MsgDigestSummary, ID: 9, From: owner, Key: s.lo, Count: s.count, Query: s.query()})
		r := tr.last(t, MsgDigestSummaryReply)
		return r.Done
	}
	lo := idAt(0x05)
	if !ask(summarizeDigests(lo, ds, 1)) || !ask(summarizeDigests(lo, []Digest{ds[1], ds[0]}, 77)) {
		t.Fatal("the same values summarized differently")
	}
	other := summarizeDigests(lo, ds, 1)
	other.salt = 2
	cases := map[string]rangeSummary{
		"other salt":    other,
		"older version": summarizeDigests(lo, []Digest{ds[0], {Key: in, Identity: "b", Version: 1}}, 1),
		"one fewer":     summarizeDigests(lo, ds[:1], 1),
		"one more":      summarizeDigests(lo, append(ds[:2:2], Digest{Key: in, Identity: "z", Version: 1}), 1),
		"wider range":   summarizeDigests(idAt(0x30), ds, 1), // (0x30, 0x10] holds 0x40's value too
	}
	for name, s := range cases {
		if ask(s) {
			t.Errorf("%s: answered the same", name)
		}
	}
}

// TestRepairSummaryLateMatchIgnored: a summary that matched, answered
// after a later round replaced the chain's digests (a value stored
// meanwhile), does not end that round's offer: the later round's summary
// goes out next, and when it differs its digests follow, one message in
// flight at a time.
func TestRepairSummaryLateMatchIgnored(t *testing.T) {
	const seed = 61
	t.Logf("seed %d", seed)
	_, nodes := staticRing(t, 8, seed)
	nd := nodes[0]
	fillOwned(t, nd, 5, seed)
	tr := &recordingTransport{}
	nd.tr = tr
	if !nd.repair() {
		t.Fatal("no first round")
	}
	fillOwned(t, nd, 1, seed+1) // a value stored while the summaries are out
	if !nd.repair() {
		t.Fatal("no second round")
	}
	// The first summaries match what the replicas held then; the second
	// round's do not.
	answered := 0
	offered, summaries := answerOffers(t, nd, tr, func(ID) bool { answered++; return answered <= len(nd.replicaTargets()) })
	for _, p := range nd.replicaTargets() {
		if summaries[p.ID] != 2 || offered[p.ID] != 1 {
			t.Fatalf("replica %s got %d summaries and %d digest messages, want 2 and 1", p.Addr, summaries[p.ID], offered[p.ID])
		}
	}
}

// TestDigestSummaryOnlyFromNearOwners: with a membership table, a node
// answers a summary only for an owner it is among the Replicas-1
// successors of: the seventh member after an owner (eight holders)
// answers "the same" for values it holds as the owner does, the eighth,
// holding the same values, answers "not the same" without comparing.
func TestDigestSummaryOnlyFromNearOwners(t *testing.T) {
	seed := uint64(91)
	_, nodes := oneHopStatic(t, 30, seed, func(c *Config) {
		c.Validator = recValidator{}
		c.EnableOneHop()
	})
	o := nodes[4]
	key := o.self.ID // owned by o
	ds := []Digest{{Key: key, Identity: "a", Version: 1}}
	for _, k := range []int{7, 8} {
		if _, err := nodes[4+k].accept(key, []byte("p|a|1|60")); err != nil {
			t.Fatal(err)
		}
	}
	ask := func(to *Node) *Message {
		t.Helper()
		tr := &captureTransport{}
		to.tr = tr
		s := summarizeDigests(o.pred.ID, ds, 5)
		to.Step(&Message{Type: MsgDigestSummary, ID: 3, From: o.self, Key: s.lo, Count: s.count, Query: s.query()})
		return tr.last(t, MsgDigestSummaryReply)
	}
	if r := ask(nodes[4+7]); !r.Done {
		t.Fatalf("the owner's seventh successor answered %+v, want the same", r)
	}
	if r := ask(nodes[4+8]); r.Done {
		t.Fatalf("the owner's eighth successor, no replica, answered the same")
	}
}

// cancelTally is a tallyTransport that records whom Cancel named.
type cancelTally struct {
	*tallyTransport
	canceled []ID
}

func (c *cancelTally) Cancel(to Peer, id uint64) { c.canceled = append(c.canceled, to.ID) }
