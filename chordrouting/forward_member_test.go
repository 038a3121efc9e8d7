package chordrouting

import (
	"slices"
	"testing"
	"time"
)

// connTransport is a hookTransport that reports connections (ConnState):
// conns names the peers (by Addr) it holds a connection to, Prepare
// records the peers it was asked to connect to, and a dial costs rtts
// round trips.
type connTransport struct {
	*hookTransport
	conns    map[string]bool
	prepared []Peer
	rtts     float64
}

func (c *connTransport) Connected(p Peer) bool   { return c.conns[p.Addr] }
func (c *connTransport) Prepare(p Peer)          { c.prepared = append(c.prepared, p) }
func (c *connTransport) DialRoundTrips() float64 { return c.rtts }

// connect gives nd a transport that reports connections to the given
// members only, and dials of three round trips (TCP), and returns it.
func connect(nd *Node, to ...*Node) *connTransport {
	inner := nd.tr
	if c, ok := inner.(*connTransport); ok {
		inner = c.hookTransport.inner
	}
	c := &connTransport{hookTransport: &hookTransport{inner: inner}, conns: map[string]bool{}, rtts: 3}
	for _, p := range to {
		c.conns[p.self.Addr] = true
	}
	nd.tr = c
	return c
}

// memberRing is a static one-hop ring of 40 members (oneHopStatic, with
// the record validator) and a key owned by member 20, held with val by 20,
// 21 and 22 (ReadFanout 3): the holders' ring neighbours are 19 (the
// owner's predecessor) and 23.
func memberRing(t *testing.T, seed uint64) (*countingNet, []*Node, ID, []byte) {
	t.Helper()
	net, nodes := oneHopStatic(t, 40, seed, func(c *Config) { c.Validator = recValidator{} })
	key := nodes[20].self.ID
	val := []byte("pub|member-read|1|3600")
	holdAt(t, nodes, key, val)
	return net, nodes, key, val
}

// readTicking runs from's Get of key to its end, ticking from (its
// timeouts: a second of the shared fake clock a tick) between message
// rounds, at most maxTicks; it returns the result and the ticks taken.
func readTicking(t *testing.T, net *countingNet, from *Node, key ID, maxTicks int) (GetResult, int) {
	t.Helper()
	var got *GetResult
	from.Get(key, nil, 0, func(r GetResult) { got = &r })
	clock := from.clock.(*fakeClock)
	ticks := 0
	for net.run(); got == nil && ticks < maxTicks; net.run() {
		clock.now = clock.now.Add(time.Second)
		from.Tick()
		ticks++
	}
	if got == nil {
		t.Fatalf("get of %s did not end within %d ticks", key.Short(), maxTicks)
	}
	return *got, ticks
}

// gets returns the MsgGets among sent, and how many of them were forwarded.
func gets(sent []sentTo) (all []sentTo, forwarded int) {
	for _, s := range sent {
		if s.m.Type == MsgGet {
			all = append(all, s)
			if s.m.Forward {
				forwarded++
			}
		}
	}
	return all, forwarded
}

// TestMemberForwardsRead: a member connected to none of a key's holders
// but to a ring neighbour of them sends its read to that neighbour, as
// its only request (a forwarded Get), asks its transport to connect to
// the holders, and gets the value from the neighbour's read, in two hops;
// this holds for the owner's predecessor, the member after the last
// holder and one 2^l places before the owner, for a key beyond the
// reader's successor list (named by the table) and one in it. A
// neighbour connected to no holder refuses a member; an entry serving a
// client's forward never forwards it again.
func TestMemberForwardsRead(t *testing.T) {
	net, nodes, key, val := memberRing(t, 81)
	for _, c := range []struct {
		name        string
		reader, via int
		nbConns     []int // the members the neighbour is connected to
	}{
		{"the owner's predecessor, key named by the table", 0, 19, []int{20, 23}},
		{"the member after the holders, key named by the table", 30, 23, []int{22, 19}},
		{"the owner's predecessor, key in the successor list", 13, 19, []int{20}},
		{"a member 4 places before the owner", 0, 16, []int{20}},
	} {
		from, nb := nodes[c.reader], nodes[c.via]
		tr := connect(from, nb)
		var nbTo []*Node
		for _, k := range c.nbConns {
			nbTo = append(nbTo, nodes[k])
		}
		connect(nb, nbTo...)
		got, _ := readTicking(t, net, from, key, 0)
		if got.Err != nil || len(got.Values) != 1 || string(got.Values[0]) != string(val) {
			t.Fatalf("%s: get %+v, want %q", c.name, got, val)
		}
		if got.From.ID != nb.self.ID || got.Hops != 2 {
			t.Fatalf("%s: answered by %s in %d hops, want the neighbour %s in 2", c.name, got.From.Addr, got.Hops, nb.self.Addr)
		}
		if len(tr.sent) != 1 || tr.sent[0].m.Type != MsgGet || !tr.sent[0].m.Forward || tr.sent[0].to.ID != nb.self.ID {
			t.Fatalf("%s: the reader sent %d messages (%+v), want one forwarded get to %s", c.name, len(tr.sent), tr.sent, nb.self.Addr)
		}
		var want []Peer // every holder: for reader 13, whose successor list ends at 21, the table names 22
		for _, h := range nodes[20:23] {
			want = append(want, h.self)
		}
		if !slices.Equal(tr.prepared, want) {
			t.Fatalf("%s: the reader prepared connections to %v, want the holders %v", c.name, tr.prepared, want)
		}
	}

	// A neighbour connected to none of the holders refuses a member at
	// once (its read would dial them too), and the member reads them
	// directly; it asks that neighbour again next time.
	from, nb := nodes[0], nodes[19]
	tr := connect(from, nb)
	ntr := connect(nb, nodes[5])
	got, _ := readTicking(t, net, from, key, 0)
	if got.Err != nil || len(got.Values) != 1 || got.From.ID != nodes[20].self.ID || got.Hops != 2 {
		t.Fatalf("through a neighbour without holder connections: %+v, want the value from the owner in 2 hops", got)
	}
	if a := answersTo(ntr.hookTransport, from.self, tr.sent[0].m.ID); len(a) != 1 || a[0].Type != MsgError || a[0].Err != errNoHolderConn {
		t.Fatalf("the neighbour without holder connections answered %+v, want a refusal", a)
	}
	if all, _ := gets(ntr.sent); len(all) != 0 {
		t.Fatalf("the neighbour without holder connections read the key itself (%d gets)", len(all))
	}
	ntr.conns[nodes[20].self.Addr] = true
	before := len(tr.sent)
	if got, _ := readTicking(t, net, from, key, 0); got.From.ID != nb.self.ID {
		t.Fatalf("once the neighbour has a holder connection: answered by %s, want the neighbour (it was not shunned)", got.From.Addr)
	}
	if len(tr.sent) != before+1 {
		t.Fatalf("the second read sent %d messages, want the forward alone", len(tr.sent)-before)
	}

	// An entry far from the holders, connected to none of them but to
	// their neighbour, serves a forwarded read by reading itself: a
	// forward is never forwarded again.
	entry := nodes[5]
	etr := connect(entry, nodes[19])
	req := Peer{ID: idAt(0x42), Addr: "requester"}
	entry.Step(&Message{Type: MsgGet, Forward: true, ID: 9, From: req, Key: key})
	net.run()
	if all, fwd := gets(etr.sent); fwd != 0 || len(all) != 3 {
		t.Fatalf("the entry serving a forward sent %d gets, %d forwarded; want one to each holder, none forwarded", len(all), fwd)
	}
	if a := answersTo(etr.hookTransport, req, 9); len(a) != 1 || len(a[0].Items) != 1 || string(a[0].Items[0].Value) != string(val) {
		t.Fatalf("the entry answered %+v, want the value", a)
	}
}

// TestMemberReadsDirectWhenConnected: a member connected to one of the
// holders (a replica here) reads as without forwarding: one get to each
// holder at once, none forwarded, no connection prepared, the owner's
// answer in one hop. So does one whose neighbour already has
// MaxForwardsPerClient of its forwards in flight, one whose transport
// has measured no dial yet or dials of no more than two round trips, one
// with MemberForward off, and one on a transport without ConnState.
func TestMemberReadsDirectWhenConnected(t *testing.T) {
	net, nodes, key, val := memberRing(t, 82)
	from, nb := nodes[0], nodes[19]
	for _, c := range []struct {
		name  string
		setup func() (sent func() []sentTo, prepared func() []Peer)
	}{
		{"connected to a replica", func() (func() []sentTo, func() []Peer) {
			tr := connect(from, nb, nodes[21])
			return func() []sentTo { return tr.sent }, func() []Peer { return tr.prepared }
		}},
		{"the neighbour's place taken", func() (func() []sentTo, func() []Peer) {
			tr := connect(from, nb)
			for range from.cfg.MaxForwardsPerClient {
				from.mf.take(nb.self.ID)
			}
			return func() []sentTo { return tr.sent }, func() []Peer { return tr.prepared }
		}},
		{"no dial measured yet", func() (func() []sentTo, func() []Peer) {
			from.mf = memberFwd{}
			tr := connect(from, nb)
			tr.rtts = 0
			return func() []sentTo { return tr.sent }, func() []Peer { return tr.prepared }
		}},
		{"dials of two round trips", func() (func() []sentTo, func() []Peer) {
			tr := connect(from, nb)
			tr.rtts = forwardDialRTTs(from.cfg.ReadFanout)
			return func() []sentTo { return tr.sent }, func() []Peer { return tr.prepared }
		}},
		{"MemberForward off", func() (func() []sentTo, func() []Peer) {
			from.mf = memberFwd{}
			from.cfg.MemberForward = false
			tr := connect(from, nb)
			return func() []sentTo { return tr.sent }, func() []Peer { return tr.prepared }
		}},
		{"no ConnState", func() (func() []sentTo, func() []Peer) {
			from.cfg.MemberForward = true
			tr := &hookTransport{inner: from.tr.(*connTransport).hookTransport.inner}
			from.tr = tr
			return func() []sentTo { return tr.sent }, func() []Peer { return nil }
		}},
	} {
		sent, prepared := c.setup()
		got, _ := readTicking(t, net, from, key, 0)
		requireOneRoundTrip(t, got, key, from, nodes[20], val, c.name)
		if all, fwd := gets(sent()); len(all) != 3 || fwd != 0 {
			t.Fatalf("%s: the reader sent %d gets, %d forwarded; want one to each of the 3 holders, none forwarded", c.name, len(all), fwd)
		}
		if p := prepared(); len(p) != 0 {
			t.Fatalf("%s: the reader prepared connections to %v", c.name, p)
		}
	}
}

// TestMemberForwardFallsBack: a neighbour that refuses the forward (busy),
// predates forwarding (it answers a direct Get, not Done), or does not
// answer leaves the member to read from the holders directly, with the
// right value, the forward counted as a hop; the neighbour is then not
// asked again for a while (the next read goes direct at once), and a
// neighbour that did not answer is no suspect (still in the table).
func TestMemberForwardFallsBack(t *testing.T) {
	for _, c := range []struct {
		name  string
		spoil func(net *countingNet, nb *Node, tr *connTransport)
		ticks int // ticks the read may take
	}{
		{"busy", func(_ *countingNet, nb *Node, _ *connTransport) { nb.fwd.total = nb.cfg.MaxForwards }, 0},
		{"old", func(_ *countingNet, nb *Node, tr *connTransport) {
			tr.hook = func(to Peer, m *Message) bool {
				if to.ID == nb.self.ID {
					m.Forward = false // its decoder skips the field
				}
				return true
			}
		}, 0},
		{"silent", func(net *countingNet, nb *Node, _ *connTransport) { net.down[nb.self.Addr] = true }, -1},
	} {
		t.Run(c.name, func(t *testing.T) {
			net, nodes, key, val := memberRing(t, 83)
			from, nb := nodes[0], nodes[19]
			tr := connect(from, nb)
			c.spoil(net, nb, tr)
			max := c.ticks
			if max < 0 {
				max = int(from.timeoutTicks()) + 1
			}
			got, ticks := readTicking(t, net, from, key, max)
			if got.Err != nil || len(got.Values) != 1 || string(got.Values[0]) != string(val) || got.From.ID != nodes[20].self.ID || got.Hops != 2 {
				t.Fatalf("get through a %s neighbour: %+v after %d ticks, want %q from the owner in 2 hops", c.name, got, ticks, val)
			}
			// (The old neighbour's hook clears the flag of the recorded
			// message too: the first get is the forward.)
			all, _ := gets(tr.sent)
			if len(all) != 4 || all[0].to.ID != nb.self.ID {
				t.Fatalf("get through a %s neighbour: %d gets, the first to %s; want the forward to %s and one to each holder", c.name, len(all), all[0].to.Addr, nb.self.Addr)
			}
			for k, h := range all[1:] {
				if h.m.Forward || h.to.ID != nodes[20+k].self.ID {
					t.Fatalf("get through a %s neighbour: get %d to %s (forward %v), want a direct one to holder %s", c.name, k+1, h.to.Addr, h.m.Forward, nodes[20+k].self.Addr)
				}
			}
			if _, ok := from.oh.table.find(nb.self.ID); !ok {
				t.Fatalf("the %s neighbour was dropped from the table: a forward's timeout makes no suspect", c.name)
			}
			before := len(tr.sent)
			if got, _ := readTicking(t, net, from, key, 0); len(got.Values) != 1 || got.Hops != 1 {
				t.Fatalf("the read after the %s neighbour failed: %+v, want the value in one hop", c.name, got)
			}
			if _, fwd := gets(tr.sent[before:]); fwd != 0 {
				t.Fatalf("the %s neighbour was asked again at once", c.name)
			}
		})
	}
}

// TestMemberForwardValidates: the values of a neighbour's answer are
// checked as a client checks an entry's (mergeValues): a liar's junk,
// expired records and removals never reach the reader; an answer left
// with no valid value sends the reader to the holders, which have the
// real one; an answer with a valid record keeps only that.
func TestMemberForwardValidates(t *testing.T) {
	net, nodes, key, val := memberRing(t, 84)
	from, liar := nodes[0], nodes[19]
	tr := connect(from, liar)
	answerWith := func(vals ...string) {
		tr.hook = func(to Peer, m *Message) bool {
			if to.ID != liar.self.ID || !m.Forward {
				return true
			}
			a := &Message{Type: MsgGetReply, ID: m.ID, From: liar.self, Key: key, Done: true, Count: 1}
			for _, v := range vals {
				a.Items = append(a.Items, Item{Key: key, Value: []byte(v)})
			}
			net.queue, net.dest = append(net.queue, a), append(net.dest, from.self.Addr)
			return false
		}
	}
	junk := []string{"junk", "pub|old|1|0", "pub|member-read|2|3600|R", ""}
	answerWith(junk...)
	got, _ := readTicking(t, net, from, key, 0)
	if len(got.Values) != 1 || string(got.Values[0]) != string(val) || got.From.ID != nodes[20].self.ID {
		t.Fatalf("a liar answering junk: %+v, want %q from the owner", got, val)
	}
	from.mf.shunned = nil
	answerWith(append(junk, "liar|own|1|3600")...)
	got, _ = readTicking(t, net, from, key, 0)
	if len(got.Values) != 1 || string(got.Values[0]) != "liar|own|1|3600" || got.From.ID != liar.self.ID {
		t.Fatalf("a liar answering junk and a record of its own: %q from %s, want only its record", got.Values, got.From.Addr)
	}
}
