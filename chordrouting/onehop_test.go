package chordrouting

import (
	"math/rand/v2"
	"sort"
	"strconv"
	"testing"
)

// countingNet is pumpNet that also counts the membership messages each
// node receives and can drop the messages to chosen addresses.
type countingNet struct {
	pumpNet
	membership map[string]int
	down       map[string]bool
	states     int // MsgState answers sent
	fullStates int // of which carried the state (not Done: unchanged)
}

type countingTransport struct{ net *countingNet }

func (t countingTransport) Send(to Peer, m *Message) {
	if t.net.down[to.Addr] {
		return
	}
	switch {
	case m.Type == MsgMembership:
		t.net.membership[to.Addr]++
	case m.Type == MsgState:
		t.net.states++
		if !m.Done {
			t.net.fullStates++
		}
	}
	t.net.queue = append(t.net.queue, m)
	t.net.dest = append(t.net.dest, to.Addr)
}

// oneHopStatic builds n one-hop members with correct successor lists and
// predecessors and complete membership tables, set directly, sharing one
// Directory.
func oneHopStatic(tb testing.TB, n int, seed uint64, mod func(*Config)) (*countingNet, []*Node) {
	tb.Helper()
	tb.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 5))
	net := &countingNet{pumpNet: pumpNet{nodes: map[string]*Node{}}, membership: map[string]int{}, down: map[string]bool{}}
	cfg := DefaultConfig()
	cfg.OneHop = true
	cfg.Directory = NewDirectory()
	if mod != nil {
		mod(&cfg)
	}
	clock := &fakeClock{now: epoch}
	nodes := make([]*Node, n)
	for i := range nodes {
		var id ID
		for k := range id {
			id[k] = byte(rng.Uint32())
		}
		nd, err := NewNode(Peer{ID: id, Addr: strconv.Itoa(i)}, cfg, countingTransport{net}, NewMemStorage(), clock, rng)
		if err != nil {
			tb.Fatal(err)
		}
		nodes[i] = nd
	}
	linkStatic(nodes, cfg.SuccessorListLen)
	for _, nd := range nodes {
		net.nodes[nd.self.Addr] = nd
		for _, o := range nodes {
			nd.learnOne(o.self)
		}
	}
	return net, nodes
}

// tickAll ticks every node k times, delivering messages after each round.
func tickAll(net *countingNet, nodes []*Node, k int) {
	for range k {
		for _, nd := range nodes {
			if !net.down[nd.self.Addr] {
				nd.Tick()
			}
		}
		net.run()
	}
}

// TestDisseminationReachesEveryTableOnce: a departure announced by one
// member reaches every other table within log2(N)+1 intervals, each member
// receiving it exactly once (EDRA on consistent tables), and a join
// announced after its quarantine does the same.
func TestDisseminationReachesEveryTableOnce(t *testing.T) {
	const n = 100
	// No anti-entropy: it would ping the joiner, which is not a node here,
	// and drop it.
	net, nodes := oneHopStatic(t, n, 21, func(c *Config) { c.AntiEntropyTicks = 1 << 30 })
	cfg := nodes[0].cfg
	gone := nodes[50].self
	net.down[gone.Addr] = true // crashes: its predecessor's stabilize detects it
	tickAll(net, nodes, 2*cfg.RequestTimeoutTicks+(nodes[49].levels()+3)*cfg.DisseminateTicks)
	for _, nd := range nodes {
		if nd.self.ID == gone.ID {
			continue
		}
		if _, ok := nd.oh.table.find(gone.ID); ok {
			t.Fatalf("member %s still lists the departed %s", nd.self.Addr, gone.Addr)
		}
		if got := net.membership[nd.self.Addr]; nd != nodes[49] && nd.self.ID != gone.ID && got != 1 {
			t.Fatalf("member %s received %d membership messages, want exactly 1", nd.self.Addr, got)
		}
	}

	// A joiner between nodes[10] and nodes[11]: its successor quarantines
	// and then announces it; nobody but the successor learns it earlier.
	var id ID
	id = nodes[10].self.ID
	for k := 16; k < len(id); k++ {
		id[k] = 0xff
	}
	if !Between(nodes[10].self.ID, id, nodes[11].self.ID) {
		t.Fatal("test setup: the joiner does not lie between its neighbours")
	}
	j := Peer{ID: id, Addr: "joiner"}
	nodes[11].learnOne(j)
	nodes[11].announceJoin(j)
	clear(net.membership)
	tickAll(net, nodes, cfg.QuarantineTicks-cfg.DisseminateTicks)
	if _, ok := nodes[80].oh.table.find(j.ID); ok {
		t.Fatal("a quarantined joiner was announced before its quarantine ended")
	}
	tickAll(net, nodes, (nodes[11].levels()+3)*cfg.DisseminateTicks)
	for _, nd := range nodes {
		if nd.self.ID == gone.ID {
			continue
		}
		if _, ok := nd.oh.table.find(j.ID); !ok {
			t.Fatalf("member %s does not list the joiner after its announcement", nd.self.Addr)
		}
		if got := net.membership[nd.self.Addr]; nd != nodes[11] && got != 1 {
			t.Fatalf("member %s received the join in %d messages, want exactly 1", nd.self.Addr, got)
		}
	}
}

// TestDigestWalkRepairsTable: a member whose table lost entries and holds
// a dead one gets the missing entries back from one digest sweep with its
// successor, and the dead entry is pinged and dropped.
func TestDigestWalkRepairsTable(t *testing.T) {
	const n = 300
	net, nodes := oneHopStatic(t, n, 22, nil)
	a := nodes[0]
	for k := 5; k < n; k += 7 {
		a.oh.table.remove(nodes[k].self.ID)
	}
	dead := Peer{ID: nodes[100].self.ID, Addr: "dead"}
	dead.ID[7] ^= 0x55 // next to nodes[100], another 8-byte prefix
	a.learnOne(dead)
	net.down["dead"] = true
	missing := n - 1 - a.MembershipSize() + 1
	if missing < 40 {
		t.Fatalf("test setup removed only %d entries", missing)
	}
	done := false
	a.walk(a.succ[0], a.self.ID, a.self.ID, func() { done = true })
	net.run()
	if !done {
		t.Fatal("the sweep did not finish")
	}
	for _, o := range nodes[1:] {
		if _, ok := a.oh.table.find(o.self.ID); !ok {
			t.Fatalf("sweep left %s out", o.self.Addr)
		}
	}
	for range a.cfg.RequestTimeoutTicks + 1 {
		a.Tick()
		net.run()
	}
	if _, ok := a.oh.table.find(dead.ID); ok {
		t.Fatal("the dead entry the successor lacked is still listed after its ping timed out")
	}
	// Agreeing tables: a sweep is one small exchange per range.
	before := len(net.queue)
	sent := 0
	a.walk(a.succ[0], a.self.ID, a.self.ID, func() {})
	for len(net.queue) > before {
		for _, m := range net.queue {
			if m.Type == MsgMembers && len(m.Peers) > 0 {
				t.Fatalf("agreeing tables exchanged a page of %d entries", len(m.Peers))
			}
		}
		sent += len(net.queue)
		net.run()
	}
	if want := 2 * ((n + maxMembersPerMessage - 1) / maxMembersPerMessage); sent > want {
		t.Fatalf("sweep of agreeing tables sent %d messages, want at most %d", sent, want)
	}
}

// TestOneHopLookupOnStaticRing: with complete tables every lookup of a
// key outside the asker's successor list asks the owner directly: one
// hop, the right owner.
func TestOneHopLookupOnStaticRing(t *testing.T) {
	const n = 200
	net, nodes := oneHopStatic(t, n, 23, nil)
	rng := rand.New(rand.NewPCG(23, 1))
	for range 300 {
		key := randomKey(rng)
		got := lookupOwner(t, net, nodes, nodes[rng.IntN(n)], key)
		if got.Hops > 1 {
			t.Fatalf("lookup of %s took %d hops with complete tables", key.Short(), got.Hops)
		}
	}
}

// TestStabilizeUnchangedIsSmall: on a ring at rest a stabilize answer
// carries no list (Done: unchanged), and the asker keeps its list.
func TestStabilizeUnchangedIsSmall(t *testing.T) {
	net, nodes := oneHopStatic(t, 20, 24, func(c *Config) { c.OneHop = false })
	tickAll(net, nodes, 3)
	net.states, net.fullStates = 0, 0
	tickAll(net, nodes, 5)
	if net.states == 0 || net.fullStates > 0 {
		t.Fatalf("%d state answers, %d of them full, on a ring at rest", net.states, net.fullStates)
	}
	for i, nd := range nodes {
		if len(nd.succ) != nd.cfg.SuccessorListLen || nd.succ[0].ID != nodes[(i+1)%len(nodes)].self.ID {
			t.Fatalf("node %d lost its successor list: %v", i, nd.succ)
		}
	}
	// A change at the head makes the next answer full again.
	nodes[1].succ = append([]Peer(nil), nodes[1].succ[:len(nodes[1].succ)-1]...)
	tickAll(net, nodes, 2*nodes[0].cfg.StabilizeTicks)
	if net.fullStates == 0 {
		t.Fatal("a changed successor list was answered as unchanged")
	}
}

// TestDirectorySharesPeers: tables sharing a Directory hold one Peer per
// member; removing a member from every table frees it.
func TestDirectorySharesPeers(t *testing.T) {
	d := NewDirectory()
	a, b := newMemberTable(d, 100), newMemberTable(d, 100)
	for k := byte(1); k <= 10; k++ {
		p := Peer{ID: idAt(k * 16), Addr: strconv.Itoa(int(k))}
		a.add(p)
		b.add(p)
	}
	if d.Len() != 10 {
		t.Fatalf("directory holds %d peers for 10 members in two tables", d.Len())
	}
	a.remove(idAt(16))
	if d.Len() != 10 {
		t.Fatal("a peer still in one table was freed")
	}
	b.remove(idAt(16))
	if d.Len() != 9 {
		t.Fatal("a peer in no table was kept")
	}
	b.add(Peer{ID: idAt(32), Addr: "new"})
	if a.peer(0).Addr != "new" {
		t.Fatal("an address update did not reach the shared entry")
	}
	a.clear()
	b.clear()
	if d.Len() != 0 {
		t.Fatalf("%d peers left after clearing both tables", d.Len())
	}
}

// TestThinningKeepsNearEntries: a full table keeps the members near its
// own ID and thins farther out.
func TestThinningKeepsNearEntries(t *testing.T) {
	const max, members = 200, 2000
	rng := rand.New(rand.NewPCG(25, 2))
	t.Logf("seed 25")
	cfg := DefaultConfig()
	cfg.OneHop, cfg.MaxTableSize = true, max
	nd, err := NewNode(Peer{ID: idAt(0x80), Addr: "self"}, cfg, &captureTransport{}, NewMemStorage(), &fakeClock{now: epoch}, rng)
	if err != nil {
		t.Fatal(err)
	}
	var all []Peer
	for k := 0; k < members; k++ {
		var id ID
		for b := range id {
			id[b] = byte(rng.Uint32())
		}
		all = append(all, Peer{ID: id, Addr: strconv.Itoa(k)})
	}
	for round := 0; round < 3; round++ {
		for _, p := range all {
			nd.learnOne(p)
		}
	}
	if nd.MembershipSize() != max {
		t.Fatalf("table holds %d entries, cap %d", nd.MembershipSize(), max)
	}
	sort.Slice(all, func(a, b int) bool { return nd.ringDist(all[a].ID).less(nd.ringDist(all[b].ID)) })
	for _, p := range all[:max/10] {
		if _, ok := nd.oh.table.find(p.ID); !ok {
			t.Fatalf("a member among the %d nearest was thinned out", max/10)
		}
	}
	near, far := 0, 0
	for _, p := range all[:members/4] {
		if _, ok := nd.oh.table.find(p.ID); ok {
			near++
		}
	}
	for _, p := range all[3*members/4:] {
		if _, ok := nd.oh.table.find(p.ID); ok {
			far++
		}
	}
	if near <= 2*far {
		t.Fatalf("entries in the nearest quarter %d, farthest quarter %d: not thinning with distance", near, far)
	}
}

// TestTableRangesAgainstScan checks each and digest against a scan of
// the sorted IDs, wrapping ranges included.
func TestTableRangesAgainstScan(t *testing.T) {
	rng := rand.New(rand.NewPCG(26, 3))
	t.Logf("seed 26")
	for round := 0; round < 200; round++ {
		tb := newMemberTable(nil, 1<<10)
		var ids []ID
		for k := rng.IntN(30); k > 0; k-- {
			var id ID
			id[0] = byte(rng.Uint32())
			id[7] = byte(rng.Uint32())
			if tb.add(Peer{ID: id, Addr: "a"}) {
				ids = append(ids, id)
			}
		}
		var lo, hi ID
		lo[0], hi[0] = byte(rng.Uint32()), byte(rng.Uint32())
		if rng.IntN(4) == 0 && len(ids) > 0 {
			lo = ids[rng.IntN(len(ids))]
		}
		if rng.IntN(4) == 0 {
			hi = lo
		}
		var want []ID
		for _, id := range ids {
			if id != lo && BetweenRightIncl(lo, id, hi) {
				want = append(want, id)
			}
		}
		var got []ID
		tb.each(lo, hi, func(p Peer) bool { got = append(got, p.ID); return true })
		if len(got) != len(want) {
			t.Fatalf("round %d: each(%s, %s) gave %d entries, want %d", round, lo.Short(), hi.Short(), len(got), len(want))
		}
		for k := 1; k < len(got); k++ {
			if !Between(lo, got[k-1], got[k]) {
				t.Fatalf("round %d: each is not in clockwise order", round)
			}
		}
		cnt, _, _ := tb.digest(lo, hi, tb.len()+1)
		if cnt != len(want) {
			t.Fatalf("round %d: digest counted %d, want %d", round, cnt, len(want))
		}
	}
}

// TestOneHopLookupSparseTables: tables that lack half the members (a ring
// formed faster than its announcements spread) still give right owners,
// in a few more hops.
func TestOneHopLookupSparseTables(t *testing.T) {
	const n = 200
	net, nodes := oneHopStatic(t, n, 27, nil)
	rng := rand.New(rand.NewPCG(27, 1))
	for _, nd := range nodes {
		for _, o := range nodes {
			if rng.IntN(2) == 0 {
				nd.oh.table.remove(o.self.ID)
			}
		}
	}
	hops := 0
	for range 500 {
		got := lookupOwner(t, net, nodes, nodes[rng.IntN(n)], randomKey(rng))
		hops += got.Hops
	}
	t.Logf("mean hops %.2f", float64(hops)/500)
}

// TestIdleStabilizeOneHop: a one-hop member at rest stabilizes every
// other tick, and at once again when its head changes.
func TestIdleStabilizeOneHop(t *testing.T) {
	net, nodes := oneHopStatic(t, 20, 28, nil)
	tickAll(net, nodes, 10)
	net.states = 0
	tickAll(net, nodes, 20)
	per := float64(net.states) / float64(len(nodes)) / 20
	if per > 0.6 || per < 0.4 {
		t.Fatalf("%.2f stabilize rounds per tick per node at rest, want about 1/2", per)
	}
	a := nodes[0]
	a.succ = append([]Peer(nil), a.succ[1:]...) // a new head
	if a.stabilizeIdle() {
		t.Fatal("a new head waits for an idle round")
	}
}

// FuzzOneHopStep feeds arbitrary membership and table messages to a
// one-hop member of a small static ring: no panic, the table stays within
// its cap and never lists the node itself, and the ring state is untouched.
func FuzzOneHopStep(f *testing.F) {
	f.Add(uint8(MsgMembership), []byte{1, 2, 3, 4, 5, 6, 7, 8}, []byte("k"), 3, false)
	f.Add(uint8(MsgMembership), []byte{1, 2, 3}, []byte{}, -1, true)
	f.Add(uint8(MsgGetMembers), make([]byte, digestQueryLen), []byte("s"), 0, false)
	f.Add(uint8(MsgGetMembers), []byte{}, []byte("s"), 1<<30, true)
	f.Add(uint8(MsgState), []byte{}, []byte{}, 7, true)
	f.Fuzz(func(t *testing.T, typ uint8, data, key []byte, count int, flag bool) {
		net, nodes := oneHopStatic(t, 12, 29, func(c *Config) { c.MaxTableSize = 10 })
		n := nodes[3]
		succ := append([]Peer(nil), n.succ...)
		var self [leavePrefix]byte
		copy(self[:], n.self.ID[:])
		q := append([]byte(nil), data...)
		if flag && len(q) >= leavePrefix {
			copy(q, self[:]) // a departure naming the node itself
		}
		m := &Message{Type: MsgType(typ % 20), ID: uint64(count), From: nodes[5].self, Key: HashID(key), Count: count,
			Done: flag, Replica: flag, Query: q,
			Peers: []Peer{{ID: HashID(data), Addr: "x"}, n.self, nodes[7].self}}
		n.Step(m)
		net.run()
		for range 3 {
			n.Tick()
			net.run()
		}
		if n.MembershipSize() > 10 {
			t.Fatalf("table of %d entries, cap 10", n.MembershipSize())
		}
		if _, ok := n.oh.table.find(n.self.ID); ok {
			t.Fatal("the table lists the node itself")
		}
		if len(n.succ) != len(succ) {
			t.Fatalf("membership input changed the successor list: %v -> %v", succ, n.succ)
		}
	})
}

// randomKey draws a key from rng.
func randomKey(rng *rand.Rand) ID {
	var key ID
	for k := range key {
		key[k] = byte(rng.Uint32())
	}
	return key
}

// lookupOwner runs from's lookup of key to its end and fails the test
// unless it names key's owner among nodes.
func lookupOwner(t *testing.T, net *countingNet, nodes []*Node, from *Node, key ID) LookupResult {
	t.Helper()
	want := ownerIn(nodes, key).self
	var got LookupResult
	from.Lookup(key, func(r LookupResult) { got = r })
	net.run()
	if got.Err != nil || len(got.Successors) == 0 || got.Successors[0].ID != want.ID {
		t.Fatalf("lookup of %s from %s: %+v, want %s", key.Short(), from.self.Addr, got, want.ID.Short())
	}
	return got
}

// TestJoinerCopiesTableInSlices: a joiner asks for pullSlices pages at
// once, one per slice of the ID space, and ends with every member its
// successor lists, none lost at a slice boundary.
func TestJoinerCopiesTableInSlices(t *testing.T) {
	const n = 600 // 10 pages
	net, nodes := oneHopStatic(t, n, 31, nil)
	x := nodes[0]
	x.oh.table = newMemberTable(x.cfg.Directory, x.cfg.MaxTableSize)
	before := len(net.queue)
	x.oneHopJoined(x.succ[0])
	if asked := len(net.queue) - before; asked != pullSlices {
		t.Fatalf("the joiner asked for %d pages at once, want %d", asked, pullSlices)
	}
	net.run()
	if x.oh.sync.busy {
		t.Fatal("the copy did not finish")
	}
	for _, o := range nodes[1:] {
		if _, ok := x.oh.table.find(o.self.ID); !ok {
			t.Fatalf("the copy left out %s", o.self.Addr)
		}
	}
}

// TestDisseminationRoutesAroundDeadTarget: when the member an event is
// sent to for one level is dead (here the detector's level-4 target), the
// member after it gets the event instead, so nobody in that part of the
// ring keeps the departed entry.
func TestDisseminationRoutesAroundDeadTarget(t *testing.T) {
	const n = 100
	net, nodes := oneHopStatic(t, n, 23, func(c *Config) { c.AntiEntropyTicks = 1 << 30 })
	cfg := nodes[0].cfg
	det, gone := nodes[49], nodes[50]
	target, _ := det.oh.table.after(det.self.ID, 17) // 16 places on once gone is removed
	net.down[gone.self.Addr] = true
	net.down[target.Addr] = true
	tickAll(net, nodes, 4*cfg.RequestTimeoutTicks+(det.levels()+3)*cfg.DisseminateTicks)
	for _, nd := range nodes {
		if net.down[nd.self.Addr] {
			continue
		}
		if _, ok := nd.oh.table.find(gone.self.ID); ok {
			t.Fatalf("member %s still lists the departed %s (the event's target %s was dead)", nd.self.Addr, gone.self.Addr, target.Addr)
		}
	}
}

// TestOneHopLookupTableGap: a table that lacks a whole region (a joiner's
// slice not copied yet) names an owner far past the key; the lookup goes
// to the iterative lookup from the gap's start at its first step back
// instead of stepping back one node per hop, r times.
func TestOneHopLookupTableGap(t *testing.T) {
	const n = 400
	net, nodes := oneHopStatic(t, n, 33, nil)
	sorted := append([]*Node(nil), nodes...)
	sort.Slice(sorted, func(a, b int) bool { return sorted[a].self.ID.Less(sorted[b].self.ID) })
	asker := sorted[0]
	for _, o := range sorted[100:200] {
		asker.oh.table.remove(o.self.ID)
	}
	worst := 0
	for k := 110; k < 190; k += 8 {
		key := sorted[k].self.ID // owned by sorted[k]; the table names sorted[200]
		got := lookupOwner(t, net, nodes, asker, key)
		worst = max(worst, got.Hops)
	}
	t.Logf("most hops %d", worst)
	if r := asker.cfg.SuccessorListLen; worst > r {
		t.Fatalf("a lookup across the table's gap took %d hops: stepped back node by node (r = %d)", worst, r)
	}
	// The asker loses its whole successor list while the lookup waits for
	// its first answer: the lookup goes on without it (it once read the
	// list to judge the gap then, and crashed).
	answered := false
	asker.Lookup(sorted[150].self.ID, func(LookupResult) { answered = true })
	asker.succ = nil
	net.run()
	tickAll(net, nodes, 2*asker.cfg.RequestTimeoutTicks)
	if !answered {
		t.Fatal("the lookup never ended")
	}
}
