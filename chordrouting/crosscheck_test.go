package chordrouting

import (
	"math/rand/v2"
	"testing"
)

// toTransport records what a node sends and to whom.
type toTransport struct{ sent []sentTo }

type sentTo struct {
	to Peer
	m  *Message
}

func (c *toTransport) Send(to Peer, m *Message) { c.sent = append(c.sent, sentTo{to, m}) }

// crossRing answers a client's lookups: the liar claims to own every key
// (and confirms it); the honest entry point names the real owner, which
// confirms it with a predecessor before the key. With accomplice set, the
// liar names it instead of itself, and it confirms too.
type crossRing struct {
	liar, entry, before, owner, after Peer
	accomplice                        *Peer
	accompliceHasPred                 bool // the accomplice confirms with before as its predecessor
}

func (r crossRing) answer(s sentTo) *Message {
	m := &Message{ID: s.m.ID, From: s.to, Key: s.m.Key}
	switch {
	case s.m.Type == MsgFindSuccessor && s.to == r.liar:
		m.Type, m.Done, m.Peers = MsgFindSuccessorReply, true, []Peer{r.liar}
		if r.accomplice != nil {
			m.Peers = []Peer{*r.accomplice}
		}
	case s.m.Type == MsgFindSuccessor && s.to == r.entry:
		m.Type, m.Done, m.HasPred, m.Pred, m.Peers = MsgFindSuccessorReply, true, true, r.before, []Peer{r.owner, r.after}
	case s.m.Type == MsgGetState && s.to == r.owner:
		m.Type, m.HasPred, m.Pred, m.Peers = MsgState, true, r.before, []Peer{r.after}
	case s.m.Type == MsgGetState && r.accomplice != nil && s.to == *r.accomplice && r.accompliceHasPred:
		m.Type, m.HasPred, m.Pred, m.Peers = MsgState, true, r.before, []Peer{r.owner}
	case s.m.Type == MsgGetState && (s.to == r.liar || r.accomplice != nil && s.to == *r.accomplice):
		m.Type, m.Peers = MsgState, []Peer{s.to} // no predecessor: "I own everything"
	default:
		return nil // silent
	}
	return m
}

// lookupWith runs one client lookup of key against r, answering every
// request the client sends until the lookup ends.
func lookupWith(t *testing.T, r crossRing, entries []Peer, key ID) LookupResult {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Validator = recValidator{}
	tr := &toTransport{}
	c, err := NewNode(Peer{ID: idAt(0x05), Addr: "client"}, cfg, tr, NewMemStorage(), &fakeClock{now: epoch}, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	c.SetEntryPoints(entries)
	var got *LookupResult
	c.Lookup(key, func(res LookupResult) { got = &res })
	for k := 0; k < len(tr.sent) && got == nil; k++ {
		if m := r.answer(tr.sent[k]); m != nil {
			c.Step(m)
		}
	}
	for got == nil && len(c.pending) > 0 { // silent peers: time out
		c.Tick()
	}
	if got == nil {
		t.Fatal("lookup never ended")
	}
	return *got
}

// A client whose first entry point claims to own every key still finds
// the real owner through its second entry point, even when the liar's ID
// lies between the key and the real owner.
func TestClientCrossChecksEntryPoints(t *testing.T) {
	r := crossRing{
		entry:  Peer{ID: idAt(0x20), Addr: "entry"},
		before: Peer{ID: idAt(0x40), Addr: "before"},
		liar:   Peer{ID: idAt(0x60), Addr: "liar"},
		owner:  Peer{ID: idAt(0x70), Addr: "owner"},
		after:  Peer{ID: idAt(0x90), Addr: "after"},
	}
	key := idAt(0x50)
	for _, order := range [][]Peer{{r.liar, r.entry}, {r.entry, r.liar}} {
		res := lookupWith(t, r, order, key)
		if res.Err != nil || len(res.Successors) == 0 || res.Successors[0] != r.owner {
			t.Errorf("entry points %s, %s: owner %v, err %v; want %s", order[0].Addr, order[1].Addr, res.Successors, res.Err, r.owner.Addr)
		}
	}
	// With the liar as the only entry point nothing can be checked: the
	// lie stands (the test above fails this way without the cross-check).
	if res := lookupWith(t, r, []Peer{r.liar}, key); res.Err != nil || res.Successors[0] != r.liar {
		t.Errorf("single lying entry point: %v %v", res.Successors, res.Err)
	}
	// An accomplice the liar names, placed between the key and the real
	// owner, that confirms with no predecessor loses: a ring of one by its
	// own account, while the client knows two members.
	acc := Peer{ID: idAt(0x58), Addr: "accomplice"}
	r.accomplice = &acc
	if res := lookupWith(t, r, []Peer{r.liar, r.entry}, key); res.Err != nil || res.Successors[0] != r.owner {
		t.Errorf("accomplice alone, closer than the owner: %v %v", res.Successors, res.Err)
	}
	// What is left (SECURITY.md): one that confirms with a made-up
	// predecessor before the key wins as the closer owner.
	r.accompliceHasPred = true
	if res := lookupWith(t, r, []Peer{r.liar, r.entry}, key); res.Err != nil || res.Successors[0] != acc {
		t.Errorf("accomplice with a predecessor, closer than the owner: %v %v", res.Successors, res.Err)
	}
	r.accompliceHasPred = false
	// An accomplice after the real owner loses.
	acc.ID = idAt(0x80)
	if res := lookupWith(t, r, []Peer{r.liar, r.entry}, key); res.Err != nil || res.Successors[0] != r.owner {
		t.Errorf("accomplice after the owner: %v %v", res.Successors, res.Err)
	}
}

func TestPickAnswer(t *testing.T) {
	key := idAt(0xf0)
	ans := func(b byte, self bool) crossAnswer {
		return crossAnswer{a: lookupAnswer{owners: []Peer{{ID: idAt(b)}}}, selfNamed: self}
	}
	alone := func(c crossAnswer) crossAnswer { c.a.alone = true; return c }
	failed := crossAnswer{a: lookupAnswer{err: ErrNoPeers}}
	for _, c := range []struct {
		name string
		x, y crossAnswer
		want ID
		err  bool
	}{
		{"agree", ans(0x10, false), ans(0x10, false), idAt(0x10), false},
		{"first failed", failed, ans(0x10, true), idAt(0x10), false},
		{"second failed", ans(0x20, true), failed, idAt(0x20), false},
		{"both failed", failed, failed, ID{}, true},
		{"self-named loses though closer", ans(0xf8, true), ans(0x10, false), idAt(0x10), false},
		{"self-named loses, other order", ans(0x10, false), ans(0xf8, true), idAt(0x10), false},
		{"closest after the key, across zero", ans(0x10, false), ans(0x05, false), idAt(0x05), false},
		{"closest after the key", ans(0xf1, true), ans(0x30, true), idAt(0xf1), false},
		{"the key itself is closest", ans(0xf0, false), ans(0xf1, false), idAt(0xf0), false},
		// Both named themselves (the honest entry point owns the key):
		// the one alone on its own account loses though it is closer.
		{"alone loses though closer", alone(ans(0xf8, true)), ans(0x10, true), idAt(0x10), false},
		{"alone loses, other order", ans(0x10, true), alone(ans(0xf8, true)), idAt(0x10), false},
	} {
		got := pickAnswer(key, c.x, c.y)
		if c.err {
			if got.err == nil {
				t.Errorf("%s: no error", c.name)
			}
			continue
		}
		if got.err != nil || got.owners[0].ID != c.want {
			t.Errorf("%s: owner %v err %v, want %s", c.name, got.owners, got.err, c.want)
		}
	}
}
