package chordrouting

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// answersTo returns the replies tr recorded to request id from `from`.
func answersTo(tr *hookTransport, from Peer, id uint64) []*Message {
	var out []*Message
	for _, s := range tr.sent {
		if s.to.ID == from.ID && s.m.ID == id && s.m.Type.IsReply() {
			out = append(out, s.m)
		}
	}
	return out
}

// TestForwardCaps: a member runs at most MaxForwardsPerClient forwards
// for one client and MaxForwards in all, refusing more at once with an
// error (not queueing them); finished forwards free their places; and a
// forwarded request's fields are bounded like a direct one's, its values
// validated before they go on.
func TestForwardCaps(t *testing.T) {
	const n, seed = 30, 66
	net, nodes, _, _ := forwardRing(t, n, seed, func(c *Config) { c.MaxForwards, c.MaxForwardsPerClient = 5, 3 }, 0)
	rng := rand.New(rand.NewPCG(seed, 4))
	entry := nodes[0]
	etr := &hookTransport{inner: entry.tr}
	entry.tr = etr
	// A key none of whose holders answers: its reads stay in flight.
	var key ID
	o := 0
	for o <= 3 || o >= n-3 {
		key = randomKey(rng)
		o = ringIndex(nodes, key)
	}
	for k := range 3 {
		net.down[nodes[o+k].self.Addr] = true
	}
	clientA := Peer{ID: randomKey(rng), Addr: "A"}
	clientB := Peer{ID: randomKey(rng), Addr: "B"}
	id := uint64(100)
	ask := func(from Peer) []*Message {
		id++
		entry.Step(&Message{Type: MsgGet, Forward: true, ID: id, From: from, Key: key})
		net.run()
		return answersTo(etr, from, id)
	}
	for k := range 3 {
		if got := ask(clientA); len(got) != 0 {
			t.Fatalf("forward %d of client A answered at once: %+v", k, got[0])
		}
	}
	if got := ask(clientA); len(got) != 1 || got[0].Type != MsgError || !strings.Contains(got[0].Err, "busy") {
		t.Fatalf("client A's fourth forward: %+v, want a refusal (per-client cap 3)", got)
	}
	for k := range 2 {
		if got := ask(clientB); len(got) != 0 {
			t.Fatalf("forward %d of client B answered at once: %+v", k, got[0])
		}
	}
	if got := ask(clientB); len(got) != 1 || got[0].Type != MsgError {
		t.Fatalf("client B's third forward (the sixth in all): %+v, want a refusal (cap 5)", got)
	}
	// The reads time out; their forwards end with an answer and free
	// their places.
	for k := 0; k < 60 && entry.fwd.total > 0; k++ {
		entry.Tick()
		net.run()
	}
	if entry.fwd.total != 0 || len(entry.fwd.perClient) != 0 {
		t.Fatalf("after the reads ended: %d forwards counted (%v)", entry.fwd.total, entry.fwd.perClient)
	}
	if got := answersTo(etr, clientA, 101); len(got) != 1 {
		t.Fatalf("client A's first forward got %d answers, want 1", len(got))
	}
	for k := range 3 {
		if got := ask(clientA); len(got) != 0 {
			t.Fatalf("forward %d of client A after the others ended answered at once: %+v", k, got[0])
		}
	}

	// Bounds: a query over MaxValueSize, a store over MaxItemsPerMessage,
	// a forward marked as a replica's are refused; an invalid value is
	// not passed on.
	cfg := entry.cfg
	free := Peer{ID: randomKey(rng), Addr: "C"}
	bad := []*Message{
		{Type: MsgGet, Forward: true, Key: key, Query: make([]byte, cfg.MaxValueSize+1)},
		{Type: MsgStore, Forward: true, Items: make([]Item, cfg.MaxItemsPerMessage+1)},
		{Type: MsgGet, Forward: true, Replica: true, Key: key},
	}
	for k, m := range bad {
		id++
		m.ID, m.From = id, free
		entry.Step(m)
		if got := answersTo(etr, free, id); len(got) != 1 || got[0].Type != MsgError {
			t.Fatalf("bad forward %d: %+v, want a refusal", k, got)
		}
	}
	good := Item{Key: randomKey(rng), Value: []byte("pub|good|1|3600")}
	for g := ringIndex(nodes, good.Key); g >= o && g < o+3; g = ringIndex(nodes, good.Key) {
		good.Key = randomKey(rng) // an owner that answers
	}
	junk := Item{Key: randomKey(rng), Value: []byte("junk")}
	id++
	before := len(etr.sent)
	entry.Step(&Message{Type: MsgStore, Forward: true, ID: id, From: free, Items: []Item{junk, good}})
	net.run()
	if got := answersTo(etr, free, id); len(got) != 1 || got[0].Type != MsgStoreAck || !got[0].Done || got[0].Count != 1 {
		t.Fatalf("store of one valid and one invalid item: %+v, want Done with 1 stored", got)
	}
	for _, s := range etr.sent[before:] {
		for _, it := range s.m.Items {
			if string(it.Value) == "junk" {
				t.Fatalf("the entry passed the invalid value on to %s", s.to.Addr)
			}
		}
	}
}

// TestForwardNotForwardedAgain: a node that is not a member refuses a
// forwarded request, even one with entry points of its own, and sends
// nothing on.
func TestForwardNotForwardedAgain(t *testing.T) {
	_, nodes, c, tr := forwardRing(t, 10, 67, nil, 2, 7)
	from := nodes[4].self
	for k, m := range []*Message{
		{Type: MsgGet, Forward: true, ID: 1, From: from, Key: nodes[8].self.ID},
		{Type: MsgStore, Forward: true, ID: 2, From: from, Items: []Item{{Key: nodes[8].self.ID, Value: []byte("pub|x|1|3600")}}},
	} {
		before := len(tr.sent)
		c.Step(m)
		sent := tr.sent[before:]
		if len(sent) != 1 || sent[0].m.Type != MsgError || sent[0].to.ID != from.ID {
			t.Fatalf("forward %d at a client: it sent %d messages (%+v), want one refusal", k, len(sent), sent)
		}
	}
}

// TestForwardTimeout: a forwarded request waits ForwardTimeoutTicks, not
// the request timeout (the entry does its own work before it answers),
// and its duration is not taken as a round trip; once one entry point
// has answered, the other gets one request timeout more; an entry point
// that never answers leaves the client to run the Get itself.
func TestForwardTimeout(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Validator = recValidator{}
	tr := &toTransport{}
	clock := &fakeClock{now: epoch}
	c, err := NewNode(Peer{ID: idAt(0x05), Addr: "client"}, cfg, tr, NewMemStorage(), clock, rand.New(rand.NewPCG(68, 1)))
	if err != nil {
		t.Fatal(err)
	}
	e1, e2 := Peer{ID: idAt(0x20), Addr: "e1"}, Peer{ID: idAt(0x80), Addr: "e2"}
	c.SetEntryPoints([]Peer{e1, e2})
	key := idAt(0x50)
	tick := func(k int) {
		for range k {
			clock.now = clock.now.Add(time.Second)
			c.Tick()
		}
	}
	answer := func(s sentTo, vals ...string) {
		m := &Message{Type: MsgGetReply, ID: s.m.ID, From: s.to, Key: key, Done: true, Count: 1}
		for _, v := range vals {
			m.Items = append(m.Items, Item{Key: key, Value: []byte(v)})
		}
		c.Step(m)
	}

	// Both answer after more than a request timeout, within the forward
	// timeout.
	var got *GetResult
	c.Get(key, nil, 0, func(r GetResult) { got = &r })
	if len(tr.sent) != 2 {
		t.Fatalf("the client sent %d messages, want 2", len(tr.sent))
	}
	tick(cfg.RequestTimeoutTicks + 2)
	answer(tr.sent[0], "p|a|1|3600")
	answer(tr.sent[1], "p|b|1|3600")
	if got == nil || len(got.Values) != 2 || got.Hops != 2 {
		t.Fatalf("get answered after %d ticks: %+v, want both values in 2 hops", cfg.RequestTimeoutTicks+2, got)
	}
	if c.rt.srtt != 0 {
		t.Fatalf("a forwarded request's %d s was taken as a round trip (srtt %v)", cfg.RequestTimeoutTicks+2, c.rt.srtt)
	}

	// One answers, the other is silent: the Get ends one request timeout
	// after the first answer, with it.
	got = nil
	sent := len(tr.sent)
	c.Get(key, nil, 0, func(r GetResult) { got = &r })
	answer(tr.sent[sent], "p|a|1|3600")
	tick(cfg.RequestTimeoutTicks - 1)
	if got != nil {
		t.Fatalf("the get ended before the silent entry point's request timeout: %+v", got)
	}
	tick(1)
	if got == nil || len(got.Values) != 1 {
		t.Fatalf("the get did not end one request timeout after the first answer: %+v", got)
	}
	// The two forwards, and a ping of the silent entry, whose wait was
	// cut short (it is demoted if the ping times out too).
	if len(tr.sent) != sent+3 || tr.sent[sent+2].m.Type != MsgPing || tr.sent[sent+2].to.ID != tr.sent[sent+1].to.ID {
		t.Fatalf("the client sent %d messages, want the 2 forwards and a ping of the silent entry", len(tr.sent)-sent)
	}

	// Neither answers: after the forward timeout the client looks the key
	// up itself.
	got = nil
	sent = len(tr.sent)
	c.Get(key, nil, 0, func(r GetResult) { got = &r })
	tick(cfg.ForwardTimeoutTicks - 1)
	if len(tr.sent) != sent+2 {
		t.Fatalf("the client gave up on its entry points before the forward timeout: %v", tr.sent[sent+2:])
	}
	tick(1)
	var lookups []string
	for _, s := range tr.sent[sent+2:] {
		lookups = append(lookups, fmt.Sprintf("%d to %s", s.m.Type, s.to.Addr))
		if s.m.Type != MsgFindSuccessor {
			t.Fatalf("after the forward timeout the client sent %v, want lookups", lookups)
		}
	}
	if len(lookups) != 2 {
		t.Fatalf("after the forward timeout the client sent %v, want a lookup through each entry point", lookups)
	}
}

// waitTransport is a toTransport whose exchanges end ForwardWait after
// they begin (ForwardWaiter), like chordrouting/p2p's streams.
type waitTransport struct {
	toTransport
	wait time.Duration
}

func (w *waitTransport) ForwardWait() time.Duration { return w.wait }

// TestForwardTimeoutCappedByTransport: a client whose forward timeout in
// ticks (twice a long request timeout) outlasts its transport's deadline
// gives up on its entry points at that deadline, not at the forward
// timeout: no answer can come back after it.
func TestForwardTimeoutCappedByTransport(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Validator = recValidator{}
	cfg.RequestTimeoutTicks = 20 // a forward timeout of 40 ticks
	tr := &waitTransport{wait: 10 * time.Second}
	clock := &fakeClock{now: epoch}
	c, err := NewNode(Peer{ID: idAt(0x05), Addr: "client"}, cfg, tr, NewMemStorage(), clock, rand.New(rand.NewPCG(69, 1)))
	if err != nil {
		t.Fatal(err)
	}
	c.SetEntryPoints([]Peer{{ID: idAt(0x20), Addr: "e1"}, {ID: idAt(0x80), Addr: "e2"}})
	if c.forwardTimeout() < 40 {
		t.Fatalf("forward timeout %d ticks, want 40 (the test needs one past the transport's 10 s)", c.forwardTimeout())
	}
	c.Get(idAt(0x50), nil, 0, func(GetResult) {})
	for k := 1; k <= 10; k++ {
		if len(tr.sent) != 2 {
			t.Fatalf("after %d s the client sent %d messages: it gave up on its entry points before the transport's 10 s", k-1, len(tr.sent))
		}
		clock.now = clock.now.Add(time.Second)
		c.Tick()
	}
	if len(tr.sent) == 2 {
		t.Fatalf("10 s after the forwards (the transport's deadline) the client still waits for its entry points")
	}
}

// waitHook is a hookTransport with a deadline of its own (ForwardWaiter).
type waitHook struct {
	*hookTransport
	wait time.Duration
}

func (w waitHook) ForwardWait() time.Duration { return w.wait }

// TestForwardStoreEndsBeforeTransportDeadline: an entry whose owners do
// not acknowledge a forwarded store, with a request timeout longer than
// its transport keeps the client's stream, answers before that deadline
// (by seven tenths of it, at the first tick after), with what was stored
// and an error, and does not take the owners for dead.
func TestForwardStoreEndsBeforeTransportDeadline(t *testing.T) {
	net, nodes, _, _ := forwardRing(t, 30, 72, func(c *Config) { c.RequestTimeoutTicks = 20 }, 0)
	entry := nodes[0]
	etr := &hookTransport{inner: entry.tr}
	etr.hook = func(_ Peer, m *Message) bool { return !(m.Type == MsgStore && !m.Forward && !m.Replica) }
	entry.tr = waitHook{etr, 10 * time.Second}
	clock := entry.clock.(*fakeClock)
	var items []Item
	for _, k := range []int{7, 15, 23} {
		items = append(items, Item{Key: nodes[k].self.ID, Value: []byte(fmt.Sprintf("pub|cut%d|1|3600", k))})
	}
	from := Peer{ID: idAt(0x33), Addr: "client"}
	entry.Step(&Message{Type: MsgStore, Forward: true, ID: 1, From: from, Items: items})
	net.run()
	var a []*Message
	for k := 1; k <= 8 && len(a) == 0; k++ {
		clock.now = clock.now.Add(time.Second)
		entry.Tick()
		net.run()
		a = answersTo(etr, from, 1)
	}
	if len(a) != 1 || a[0].Type != MsgStoreAck || !a[0].Done || a[0].Err == "" || a[0].Count != 0 {
		t.Fatalf("8 s after a forwarded store to silent owners: answers %+v, want one with nothing stored and an error", a)
	}
	for _, k := range []int{7, 15, 23} {
		tb := &entry.oh.table
		if i := tb.search(nodes[k].self.ID); i >= tb.len() || *tb.id(i) != nodes[k].self.ID {
			t.Fatalf("the entry forgot owner %d, whose store it cut short", k)
		}
	}
}
