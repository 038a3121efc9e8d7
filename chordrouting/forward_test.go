package chordrouting

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// hookTransport records what a node sends; hook, if set, sees every
// message first and returns false to keep it from the network (a test
// plays the receiver).
type hookTransport struct {
	inner Transport
	sent  []sentTo
	hook  func(to Peer, m *Message) bool
}

func (h *hookTransport) Send(to Peer, m *Message) {
	h.sent = append(h.sent, sentTo{to, m})
	if h.hook == nil || h.hook(to, m) {
		h.inner.Send(to, m)
	}
}

// forwardRing is a static one-hop ring of n members (oneHopStatic, with
// the record validator) and a client whose entry points are the members
// at the given indices (in ID order); the client's sends are recorded.
func forwardRing(t testing.TB, n int, seed uint64, mod func(*Config), entries ...int) (*countingNet, []*Node, *Node, *hookTransport) {
	t.Helper()
	net, nodes := oneHopStatic(t, n, seed, func(c *Config) {
		c.Validator = recValidator{}
		if mod != nil {
			mod(c)
		}
	})
	cfg := nodes[0].cfg
	tr := &hookTransport{inner: countingTransport{net}}
	rng := rand.New(rand.NewPCG(seed, 9))
	c, err := NewNode(Peer{ID: randomKey(rng), Addr: "client"}, cfg, tr, NewMemStorage(), &fakeClock{now: epoch}, rng)
	if err != nil {
		t.Fatal(err)
	}
	var es []Peer
	for _, i := range entries {
		es = append(es, nodes[i].self)
	}
	c.SetEntryPoints(es)
	net.nodes[c.self.Addr] = c
	return net, nodes, c, tr
}

// holdAt stores val under key at the key's owner and its Replicas-1
// successors, as a put would have.
func holdAt(t testing.TB, nodes []*Node, key ID, val []byte) {
	t.Helper()
	o := ringIndex(nodes, key)
	for k := range nodes[0].cfg.Replicas {
		if _, err := nodes[(o+k)%len(nodes)].accept(key, val); err != nil {
			t.Fatal(err)
		}
	}
}

// clientGet runs c's Get of key to its end, ticking c (its timeouts)
// between message rounds, at most 60 ticks.
func clientGet(t testing.TB, net *countingNet, c *Node, key ID, query []byte, limit int) GetResult {
	t.Helper()
	var got *GetResult
	c.Get(key, query, limit, func(r GetResult) { got = &r })
	for k := 0; got == nil && k < 60; k++ {
		net.run()
		if got == nil {
			c.Tick()
		}
	}
	if got == nil {
		t.Fatalf("get of %s did not end within 60 ticks", key.Short())
	}
	return *got
}

// clientPut runs c's Put to its end like clientGet.
func clientPut(t *testing.T, net *countingNet, c *Node, items []Item) PutResult {
	t.Helper()
	var got *PutResult
	c.Put(items, func(r PutResult) { got = &r })
	for k := 0; got == nil && k < 60; k++ {
		net.run()
		if got == nil {
			c.Tick()
		}
	}
	if got == nil {
		t.Fatal("put did not end within 60 ticks")
	}
	return *got
}

// sentSince returns the messages tr recorded from index k on.
func sentSince(tr *hookTransport, k int) []sentTo { return tr.sent[k:] }

// requireForwards fails unless sent is exactly one forwarded request of
// type typ to each of entries, in order.
func requireForwards(t *testing.T, sent []sentTo, typ MsgType, entries ...*Node) {
	t.Helper()
	if len(sent) != len(entries) {
		t.Fatalf("the client sent %d messages, want %d (one per entry point)", len(sent), len(entries))
	}
	for k, s := range sent {
		if s.m.Type != typ || !s.m.Forward || s.to.ID != entries[k].self.ID {
			t.Fatalf("message %d: type %d forward %v to %s, want a forwarded %d to %s", k, s.m.Type, s.m.Forward, s.to.Addr, typ, entries[k].self.Addr)
		}
	}
}

// holds reports whether nd holds val under key.
func holds(nd *Node, key ID, val []byte) bool {
	for _, v := range nd.liveValues(key) {
		if string(v.Data) == string(val) {
			return true
		}
	}
	return false
}

// TestForwardGetOneRequestPerEntry: a client's search costs it exactly one
// request per entry point it asks (two, or one with a single entry point)
// and returns the stored value; its entry points' own requests never carry
// the forward flag. It logs what the same searches cost the client
// without forwarding (the iterative path with its cross-checked lookups).
func TestForwardGetOneRequestPerEntry(t *testing.T) {
	const n, seed = 60, 61
	rng := rand.New(rand.NewPCG(seed, 1))
	for _, entries := range [][]int{{5, 40}, {17}} {
		net, nodes, c, tr := forwardRing(t, n, seed, nil, entries...)
		var es []*Node
		for _, i := range entries {
			es = append(es, nodes[i])
			nodes[i].tr = &hookTransport{inner: nodes[i].tr}
		}
		for i := range 30 {
			key := randomKey(rng)
			val := []byte(fmt.Sprintf("pub|file%d|1|3600", i))
			holdAt(t, nodes, key, val)
			before := len(tr.sent)
			got := clientGet(t, net, c, key, nil, 0)
			if got.Err != nil || len(got.Values) != 1 || string(got.Values[0]) != string(val) {
				t.Fatalf("get %d through %d entry points: %+v, want %q", i, len(es), got, val)
			}
			requireForwards(t, sentSince(tr, before), MsgGet, es...)
			if got.From.ID != es[0].self.ID || got.Hops < 1 {
				t.Fatalf("get %d: from %s in %d hops, want the first entry point and at least 1", i, got.From.Addr, got.Hops)
			}
		}
		for _, e := range es {
			for _, s := range e.tr.(*hookTransport).sent {
				if s.m.Forward {
					t.Fatalf("entry point %s forwarded a request again (to %s)", e.self.Addr, s.to.Addr)
				}
			}
		}
	}

	// The same searches without forwarding, for the record.
	net, nodes, c, tr := forwardRing(t, n, seed, func(c *Config) { c.ClientForward = false }, 5, 40)
	setFingers(nodes)
	total := 0
	for i := range 30 {
		key := randomKey(rng)
		val := []byte(fmt.Sprintf("pub|old%d|1|3600", i))
		holdAt(t, nodes, key, val)
		before := len(tr.sent)
		if got := clientGet(t, net, c, key, nil, 0); len(got.Values) != 1 {
			t.Fatalf("iterative get %d: %+v", i, got)
		}
		total += len(tr.sent) - before
	}
	t.Logf("client requests per search, %d members, two entry points: forwarded 2, iterative %.2f", n, float64(total)/30)
}

// TestForwardPutLandsAtOwnerAndReplicas: a client's Put goes to its two
// entry points, a batch each, and every item lands at its owner and the
// owner's replicas; a Put of several batches keeps forwardWindow of them
// in flight and still costs the client only its requests to the entries.
func TestForwardPutLandsAtOwnerAndReplicas(t *testing.T) {
	const n, seed = 50, 62
	rng := rand.New(rand.NewPCG(seed, 1))
	for _, perMsg := range []int{32, 4} {
		net, nodes, c, tr := forwardRing(t, n, seed, func(c *Config) { c.ForwardBatchItems = perMsg }, 8, 30)
		items := make([]Item, 20)
		for i := range items {
			items[i] = Item{Key: randomKey(rng), Value: []byte(fmt.Sprintf("pub|put%d|1|3600", i))}
		}
		got := clientPut(t, net, c, items)
		batches := (len(items) + perMsg - 1) / perMsg
		if got.Err != nil || got.Stored != len(items) || got.RPCs != 2*batches {
			t.Fatalf("%d items a message: put %+v, want %d stored in %d requests", perMsg, got, len(items), 2*batches)
		}
		if len(tr.sent) != 2*batches {
			t.Fatalf("%d items a message: the client sent %d messages, want %d", perMsg, len(tr.sent), 2*batches)
		}
		for k, s := range tr.sent {
			if s.m.Type != MsgStore || !s.m.Forward || (s.to.ID != nodes[8].self.ID && s.to.ID != nodes[30].self.ID) {
				t.Fatalf("message %d: %+v to %s, want a forwarded store to an entry point", k, s.m, s.to.Addr)
			}
		}
		for _, it := range items {
			o := ringIndex(nodes, it.Key)
			for r := range nodes[0].cfg.Replicas {
				if h := nodes[(o+r)%n]; !holds(h, it.Key, it.Value) {
					t.Fatalf("%d items a message: %q missing at holder %d of its key (%s)", perMsg, it.Value, r, h.self.Addr)
				}
			}
		}
	}
}

// TestForwardFallsBack: an entry point that refuses forwards, does not
// answer them, or predates them (it answers a direct Get or Store) leaves
// the client to run the operation itself, and it still gets the value and
// stores at the owner.
func TestForwardFallsBack(t *testing.T) {
	const n, seed = 40, 63
	for _, c := range []struct {
		name  string
		spoil func(c *Node, tr *hookTransport, entries []*Node)
	}{
		{"old entry points", func(_ *Node, tr *hookTransport, _ []*Node) {
			// A peer that predates the flag never sees it (its decoder
			// skips the field).
			tr.hook = func(_ Peer, m *Message) bool { m.Forward = false; return true }
		}},
		{"busy entry points", func(_ *Node, _ *hookTransport, entries []*Node) {
			for _, e := range entries {
				e.fwd.total = e.cfg.MaxForwards
			}
		}},
		{"silent entry points", func(_ *Node, tr *hookTransport, _ []*Node) {
			tr.hook = func(_ Peer, m *Message) bool { return !m.Forward }
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 2))
			net, nodes, cl, tr := forwardRing(t, n, seed, nil, 3, 22)
			c.spoil(cl, tr, []*Node{nodes[3], nodes[22]})
			key := randomKey(rng)
			val := []byte("pub|fallback|1|3600")
			holdAt(t, nodes, key, val)
			got := clientGet(t, net, cl, key, nil, 0)
			if got.Err != nil || len(got.Values) != 1 || string(got.Values[0]) != string(val) {
				t.Fatalf("get: %+v, want %q", got, val)
			}
			if len(tr.sent) <= 2 {
				t.Fatalf("the client sent %d messages: it did not run the get itself", len(tr.sent))
			}
			item := Item{Key: randomKey(rng), Value: []byte("pub|fallback-put|1|3600")}
			if res := clientPut(t, net, cl, []Item{item}); res.Err != nil || res.Stored != 1 {
				t.Fatalf("put: %+v", res)
			}
			if o := ownerIn(nodes, item.Key); !holds(o, item.Key, item.Value) {
				t.Fatalf("the put did not reach the owner %s", o.self.Addr)
			}
		})
	}
}

// TestForwardCrossChecksEntryPoints: one lying entry point (it answers
// searches with nothing, or with junk and records of its own, and
// acknowledges stores it drops) cannot hide a record from a client with
// two entry points, nor keep its store off the ring; alone, it can (so
// the test fails without the second entry point).
func TestForwardCrossChecksEntryPoints(t *testing.T) {
	const n, seed = 40, 64
	rng := rand.New(rand.NewPCG(seed, 3))
	lies := map[string]func(m *Message) []Item{
		"empty": func(*Message) []Item { return nil },
		"junk and its own records": func(m *Message) []Item {
			var its []Item
			for k := range m.Count {
				its = append(its, Item{Key: m.Key, Value: []byte(fmt.Sprintf("junk%d", k))})
				its = append(its, Item{Key: m.Key, Value: []byte(fmt.Sprintf("liar|own%d|1|3600", k))})
			}
			return its
		},
	}
	for name, lie := range lies {
		for _, order := range [][2]int{{0, 1}, {1, 0}, {0, -1}} {
			net, nodes, c, tr := forwardRing(t, n, seed, nil, 5, 25)
			liar, honest := nodes[5], nodes[25]
			es := []Peer{liar.self, honest.self}
			var entries []Peer
			for _, k := range order {
				if k >= 0 {
					entries = append(entries, es[k])
				}
			}
			c.SetEntryPoints(entries)
			tr.hook = func(to Peer, m *Message) bool {
				if to.ID != liar.self.ID || !m.Forward {
					return true
				}
				a := &Message{ID: m.ID, From: liar.self, Done: true}
				if m.Type == MsgGet {
					a.Type, a.Key, a.Items = MsgGetReply, m.Key, lie(m)
				} else {
					a.Type, a.Count = MsgStoreAck, len(m.Items)
				}
				net.queue, net.dest = append(net.queue, a), append(net.dest, c.self.Addr)
				return false
			}
			key := randomKey(rng)
			val := []byte("pub|hidden|1|3600")
			holdAt(t, nodes, key, val)
			got := clientGet(t, net, c, key, nil, 10)
			found := false
			for _, v := range got.Values {
				found = found || string(v) == string(val)
				if string(v[:4]) == "junk" {
					t.Fatalf("%s, entry points %v: junk value %q returned", name, order, v)
				}
			}
			if len(got.Values) > 10 {
				t.Fatalf("%s: %d values returned, limit 10", name, len(got.Values))
			}
			item := Item{Key: randomKey(rng), Value: []byte("pub|dropped|1|3600")}
			res := clientPut(t, net, c, []Item{item})
			stored := holds(ownerIn(nodes, item.Key), item.Key, item.Value)
			if alone := len(entries) == 1; alone {
				if found || stored || res.Stored != 1 {
					t.Fatalf("%s, the liar alone: found %v, stored %v (%+v): nothing to check it against", name, found, stored, res)
				}
				continue
			}
			if !found {
				t.Fatalf("%s, entry points %v: the value is hidden: %q", name, order, got.Values)
			}
			if !stored {
				t.Fatalf("%s, entry points %v: the store was dropped", name, order)
			}
		}
	}

	// A slow honest entry: the liar answers a read with nothing at once,
	// the honest entry only after more than a request timeout (its own
	// read needed a fallback), within the forward timeout. An empty answer
	// must not cut the wait for the other entry; the liar's acknowledgement
	// of a whole store does, and the honest entry, whose wait was cut, is
	// not demoted for it.
	for _, order := range [][2]int{{0, 1}, {1, 0}} {
		net, nodes, c, tr := forwardRing(t, n, seed, nil, 5, 25)
		liar, honest, third := nodes[5], nodes[25], nodes[33]
		es := []Peer{liar.self, honest.self}
		c.SetEntryPoints([]Peer{es[order[0]], es[order[1]], third.self})
		var held []*Message // forwards to the honest entry, delivered late
		tr.hook = func(to Peer, m *Message) bool {
			switch {
			case !m.Forward:
				return true
			case to.ID == honest.self.ID:
				held = append(held, m)
				return false
			}
			a := &Message{ID: m.ID, From: liar.self, Done: true, Type: MsgGetReply, Key: m.Key}
			if m.Type == MsgStore {
				a.Type, a.Key, a.Count = MsgStoreAck, ID{}, len(m.Items)
			}
			net.queue, net.dest = append(net.queue, a), append(net.dest, c.self.Addr)
			return false
		}
		slow := func(over func() bool) {
			t.Helper()
			net.run()
			for range c.timeoutTicks() + 2 {
				c.Tick()
				net.run()
			}
			for _, m := range held {
				honest.Step(m)
			}
			held = nil
			net.run()
			for k := 0; k < 60 && !over(); k++ {
				net.run()
				c.Tick()
			}
			if !over() {
				t.Fatalf("entry points %v: the operation did not end", order)
			}
		}
		key := randomKey(rng)
		val := []byte("pub|slow-honest|1|3600")
		holdAt(t, nodes, key, val)
		var got *GetResult
		c.Get(key, nil, 10, func(r GetResult) { got = &r })
		slow(func() bool { return got != nil })
		if len(got.Values) != 1 || string(got.Values[0]) != string(val) {
			t.Fatalf("entry points %v, the honest one slow: %q, want %q (the liar's empty answer cut the wait)", order, got.Values, val)
		}
		item := Item{Key: randomKey(rng), Value: []byte("pub|slow-put|1|3600")}
		var res *PutResult
		c.Put([]Item{item}, func(r PutResult) { res = &r })
		slow(func() bool { return res != nil })
		if o := ownerIn(nodes, item.Key); !holds(o, item.Key, item.Value) {
			t.Fatalf("entry points %v: the slow honest entry did not store", order)
		}
		if c.entry[0].ID != es[order[0]].ID || c.entry[1].ID != es[order[1]].ID {
			t.Fatalf("entry points %v: after a wait cut short the order is %s %s %s, want it unchanged", order, c.entry[0].Addr, c.entry[1].Addr, c.entry[2].Addr)
		}
	}
}

// TestForwardDemotesRefusingEntries: an entry point that refuses a
// forward (busy) or predates forwarding (it answers a forwarded Get as a
// direct one, without Done) moves behind the other entry points.
func TestForwardDemotesRefusingEntries(t *testing.T) {
	for _, name := range []string{"busy", "old"} {
		net, nodes, c, tr := forwardRing(t, 40, 64, nil, 5, 25, 33)
		bad := nodes[5]
		if name == "busy" {
			bad.fwd.total = bad.cfg.MaxForwards
		} else {
			tr.hook = func(to Peer, m *Message) bool {
				if to.ID == bad.self.ID {
					m.Forward = false // its decoder skips the field
				}
				return true
			}
		}
		key := nodes[20].self.ID // owned by member 20, not by the bad entry
		holdAt(t, nodes, key, []byte("pub|demote|1|3600"))
		if got := clientGet(t, net, c, key, nil, 0); len(got.Values) != 1 {
			t.Fatalf("%s: get %+v", name, got)
		}
		if last := c.entry[len(c.entry)-1]; last.ID != bad.self.ID {
			t.Fatalf("%s: entry points %s %s %s, want the %s one last", name, c.entry[0].Addr, c.entry[1].Addr, c.entry[2].Addr, name)
		}
	}
}

// TestMergeValues: the merge of two answers keeps valid, matching,
// unexpired values that are no removals, one per identity (the highest
// version), alternating between the answers up to the limit.
func TestMergeValues(t *testing.T) {
	_, _, c, _ := forwardRing(t, 3, 65, nil, 0)
	key := randomKey(rand.New(rand.NewPCG(65, 1)))
	ans := func(vals ...string) *Message {
		m := &Message{Type: MsgGetReply, Done: true}
		for _, v := range vals {
			m.Items = append(m.Items, Item{Key: key, Value: []byte(v)})
		}
		m.Items = append(m.Items, Item{Key: randomKey(rand.New(rand.NewPCG(1, 1))), Value: []byte("p|other-key|1|3600")})
		return m
	}
	a := ans("p|a|1|3600", "p|b|1|3600", "p|c|1|3600", "junk", "p|gone|1|3600|R", "p|old|1|0")
	b := ans("q|x|1|3600", "p|a|2|3600", "p|c|1|3600")
	got := c.mergeValues(key, nil, 3, []*Message{a, b})
	want := []string{"p|a|2|3600", "q|x|1|3600", "p|b|1|3600"}
	if fmt.Sprintf("%q", got) != fmt.Sprintf("%q", want) {
		t.Fatalf("merge with limit 3: %q, want %q", got, want)
	}
	got = c.mergeValues(key, []byte("p|"), 10, []*Message{a, b})
	want = []string{"p|a|2|3600", "p|b|1|3600", "p|c|1|3600"}
	if fmt.Sprintf("%q", got) != fmt.Sprintf("%q", want) {
		t.Fatalf("merge with a query: %q, want %q", got, want)
	}
}

// TestValueHelpers: the checks and conversions a direct and a forwarded
// request share: checkValue (size, validator, expiry), getLimit,
// valueItems and sortByKey (stable).
func TestValueHelpers(t *testing.T) {
	_, _, c, _ := forwardRing(t, 3, 65, nil, 0)
	key := randomKey(rand.New(rand.NewPCG(65, 2)))
	for _, v := range []string{"", "junk", "p|old|1|0", string(make([]byte, c.cfg.MaxValueSize+1))} {
		if _, err := c.checkValue(key, []byte(v), c.clock.Now()); err == nil {
			t.Fatalf("checkValue accepted %.20q", v)
		}
	}
	if info, err := c.checkValue(key, []byte("p|a|2|3600"), c.clock.Now()); err != nil || info.Version != 2 {
		t.Fatalf("checkValue of a valid record: %+v, %v", info, err)
	}
	for in, want := range map[int]int{0: c.cfg.MaxGetValues, -1: c.cfg.MaxGetValues, 5: 5, c.cfg.MaxGetValues + 1: c.cfg.MaxGetValues} {
		if got := c.getLimit(in); got != want {
			t.Fatalf("getLimit(%d) = %d, want %d", in, got, want)
		}
	}
	if its := valueItems(key, [][]byte{[]byte("a"), []byte("b")}); len(its) != 2 || its[1].Key != key || string(its[1].Value) != "b" {
		t.Fatalf("valueItems: %+v", its)
	}
	lo, hi := idAt(0x10), idAt(0x90)
	items := []Item{{Key: hi, Value: []byte("1")}, {Key: lo, Value: []byte("2")}, {Key: hi, Value: []byte("3")}}
	sortByKey(items)
	if got := fmt.Sprintf("%s%s%s", items[0].Value, items[1].Value, items[2].Value); got != "213" {
		t.Fatalf("sortByKey: order %s, want 213", got)
	}
}

// TestForwardDemotesDeadEntry: an entry point that has crashed, while the
// other answers every read in full, has its wait cut short each time; a
// ping then finds it silent and it moves behind the other entry points, so
// that later reads stop waiting for it.
func TestForwardDemotesDeadEntry(t *testing.T) {
	net, nodes, c, tr := forwardRing(t, 40, 65, nil, 5, 25, 33)
	dead := nodes[5]
	tr.hook = func(to Peer, m *Message) bool { return to.ID != dead.self.ID }
	key := nodes[20].self.ID
	holdAt(t, nodes, key, []byte("pub|dead-entry|1|3600"))
	var got *GetResult
	c.Get(key, nil, 0, func(r GetResult) { got = &r })
	for k := 0; k < 10*int(c.timeoutTicks()) && (got == nil || c.entry[0].ID == dead.self.ID); k++ {
		net.run()
		c.Tick()
	}
	net.run()
	if got == nil || len(got.Values) != 1 {
		t.Fatalf("get through a dead and a live entry: %+v", got)
	}
	if last := c.entry[len(c.entry)-1]; last.ID != dead.self.ID {
		t.Fatalf("entry points %s %s %s, want the dead one (%s) last", c.entry[0].Addr, c.entry[1].Addr, c.entry[2].Addr, dead.self.Addr)
	}
}

// TestForwardSkipsDeadEntry: with two entry points, one of them dead,
// demoting it changes nothing (a forward goes to the first two); once its
// ping has timed out, later forwards go to the live one alone, and it is
// pinged once, not once per operation.
func TestForwardSkipsDeadEntry(t *testing.T) {
	net, nodes, c, tr := forwardRing(t, 40, 66, nil, 5, 25)
	dead := nodes[5]
	toDead := map[MsgType]int{}
	tr.hook = func(to Peer, m *Message) bool {
		if to.ID == dead.self.ID {
			toDead[m.Type]++
			return false
		}
		return true
	}
	key := nodes[20].self.ID
	holdAt(t, nodes, key, []byte("pub|skip-dead|1|3600"))
	for i := range 6 {
		got := clientGet(t, net, c, key, nil, 0)
		if len(got.Values) != 1 {
			t.Fatalf("get %d through a dead and a live entry: %+v", i, got)
		}
		for range 2 * int(c.timeoutTicks()) { // the ping's timeout
			c.Tick()
			net.run()
		}
	}
	if toDead[MsgGet] != 1 || toDead[MsgPing] != 1 {
		t.Fatalf("the dead entry was sent %d forwards and %d pings over 6 gets, want 1 and 1", toDead[MsgGet], toDead[MsgPing])
	}
}
