package chordrouting

import (
	"math/rand/v2"
	"testing"
)

func idAt(b byte) ID {
	var id ID
	id[0] = b
	return id
}

// placedNode is a member at 0x80 with predecessor 0x10 and successors
// 0x90, 0xa0 (set directly: this tests repair, not the ring).
func placedNode(t *testing.T) (*Node, *captureTransport) {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Validator = recValidator{}
	tr := &captureTransport{}
	n, err := NewNode(Peer{ID: idAt(0x80), Addr: "a"}, cfg, tr, NewMemStorage(), &fakeClock{now: epoch}, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	n.member = true
	n.pred, n.hasPred = Peer{ID: idAt(0x10), Addr: "p"}, true
	n.succ = []Peer{{ID: idAt(0x90), Addr: "b"}, {ID: idAt(0xa0), Addr: "c"}}
	return n, tr
}

func TestRepairPushesOnlyWhatTheReplicaNames(t *testing.T) {
	n, tr := placedNode(t)
	key := idAt(0x50) // in (0x10, 0x80]: owned
	for _, v := range []string{"p|a|1|60", "p|b|1|60", "p|c|1|60"} {
		if _, err := n.accept(key, []byte(v)); err != nil {
			t.Fatal(err)
		}
	}
	tr.sent = nil
	n.repair()
	// First a summary to each replica; answered "not the same", the
	// digests follow.
	var sums []*Message
	for _, m := range tr.sent {
		if m.Type != MsgDigestSummary {
			t.Fatalf("sent %+v before the summaries were answered", m)
		}
		if m.Count != 3 || m.Key != n.pred.ID || len(m.Query) != SummaryQueryLen {
			t.Fatalf("summary %+v, want the 3 owned values from the range start", m)
		}
		sums = append(sums, m)
	}
	if len(sums) != 2 {
		t.Fatalf("%d summaries, want one per replica (R-1 = 2)", len(sums))
	}
	tr.sent = nil
	for k, m := range sums {
		n.Step(&Message{Type: MsgDigestSummaryReply, ID: m.ID, From: n.succ[k]})
	}
	var toB *Message
	digests := 0
	for _, m := range tr.sent {
		if m.Type == MsgDigest {
			digests++
			if len(m.Digests) != 3 || !m.Done || m.Pred.ID != n.pred.ID {
				t.Fatalf("digest %+v, want the 3 owned values with the range start", m)
			}
			if toB == nil {
				toB = m
			}
		}
		if m.Type == MsgStore {
			t.Fatal("repair pushed values before any replica asked")
		}
	}
	if digests != 2 {
		t.Fatalf("%d digests, want one per replica (R-1 = 2)", digests)
	}
	tr.sent = nil
	n.Step(&Message{Type: MsgDigestReply, ID: toB.ID, From: n.succ[0], Digests: toB.Digests[1:2]})
	if len(tr.sent) != 1 || tr.sent[0].Type != MsgStore || !tr.sent[0].Replica || len(tr.sent[0].Items) != 1 {
		t.Fatalf("sent %+v, want one replica store with the one named value", tr.sent)
	}
	if got := string(tr.sent[0].Items[0].Value); got != "p|b|1|60" {
		t.Fatalf("pushed %q", got)
	}
}

func TestDigestPushBackToOwner(t *testing.T) {
	n, tr := placedNode(t)
	// This node holds two values in the range of its predecessor (0x10 owns
	// (0x05, 0x10]); the owner's complete digest lists one of them.
	key := idAt(0x08)
	for _, v := range []string{"p|a|1|60", "p|b|1|60"} {
		if _, err := n.accept(key, []byte(v)); err != nil {
			t.Fatal(err)
		}
	}
	tr.sent = nil
	owner := n.pred
	n.Step(&Message{Type: MsgDigest, ID: 4, From: owner, Done: true, HasPred: true, Pred: Peer{ID: idAt(0x05)},
		Digests: []Digest{{Key: key, Identity: "a", Version: 1}}})
	var push *Message
	for _, m := range tr.sent {
		if m.Type == MsgStore {
			push = m
		}
	}
	if push == nil || len(push.Items) != 1 || string(push.Items[0].Value) != "p|b|1|60" {
		t.Fatalf("push back %+v, want only the value the owner lacks", push)
	}
}

func TestClosestPreceding(t *testing.T) {
	n, _ := placedNode(t)
	n.fingers = []Peer{{ID: idAt(0xc0)}, {ID: idAt(0x00)}, {ID: idAt(0x40)}}
	ids := func(ps []Peer) (out []byte) {
		for _, p := range ps {
			out = append(out, p.ID[0])
		}
		return out
	}
	cases := []struct {
		key  ID
		want []byte
	}{
		{idAt(0x45), []byte{0x40, 0x00, 0xc0}},
		{idAt(0x40), []byte{0x00, 0xc0, 0xa0}}, // the key's own node is not before it
		{idAt(0x85), nil},                      // nothing between self and key
		{idAt(0x80), []byte{0x40, 0x00, 0xc0}}, // key == self: the whole ring
		{idAt(0xa1), []byte{0xa0, 0x90}},
	}
	for _, c := range cases {
		got := ids(n.closestPreceding(c.key, 3, nil))
		if string(got) != string(c.want) {
			t.Errorf("closestPreceding(%x) = %x, want %x", c.key[0], got, c.want)
		}
	}
}
