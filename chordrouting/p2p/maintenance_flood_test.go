package p2p

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	cr "kwsearch/chordrouting"
)

// floodHost is newTestHost without libp2p's resource manager, whose
// default per-peer stream limits would refuse a flood at one peer before
// the transport's own caps, the subject here, are reached.
func floodHost(t testing.TB, seed uint64) host.Host {
	t.Helper()
	return newTestHost(t, seed, libp2p.ResourceManager(&network.NullResourceManager{}))
}

// slowOwner is a real ring node that, once silent is set, never answers
// operations (an overloaded or hostile owner: each holds the requester's
// exchange until this node's ReplyTimeout, floodHold) but does its ring
// maintenance; it counts what it receives by type. The operations are reads, stores
// and owner confirmations (an operation's lookup asking the owner for its
// state), told apart from stabilize queries, also MsgGetState, by the
// digest of the state last answered (Count) that only stabilize queries
// carry (chordrouting's onehop_statedigest.go).
type slowOwner struct {
	tr     *Transport
	runner *cr.Runner
	mu     sync.Mutex
	silent bool
	got    map[cr.MsgType]int
	// stabilize counts the stabilize queries, held the operations held.
	stabilize, held int
}

func startSlowOwner(t testing.TB, h host.Host, tick, floodHold time.Duration, seed uint64) *slowOwner {
	t.Helper()
	cfg := DefaultConfig()
	// Take every stream of the flood and hold it: the flooding node's
	// caps, not this one's, are under test.
	cfg.MaxInbound, cfg.MaxInboundPerPeer = 1<<14, 1<<14
	cfg.MaxInboundPerIP, cfg.MaxInboundPerSubnet = 1<<14, 1<<14
	cfg.RequestRate, cfg.RequestBurst = 1e9, 1<<20
	cfg.RequestTimeout, cfg.ReplyTimeout = floodHold, floodHold
	return startSlowOwnerWith(t, h, tick, cfg, seed)
}

// startSlowOwnerWith is startSlowOwner with the owner's transport
// configured as cfg.
func startSlowOwnerWith(t testing.TB, h host.Host, tick time.Duration, cfg Config, seed uint64) *slowOwner {
	t.Helper()
	tr, err := NewTransport(h, cfg, WallClock{})
	if err != nil {
		t.Fatal(err)
	}
	n, err := cr.NewNode(tr.Self(), cr.DefaultConfig(), tr, cr.NewMemStorage(), WallClock{}, rand.New(rand.NewPCG(seed, 2)))
	if err != nil {
		t.Fatal(err)
	}
	o := &slowOwner{tr: tr, runner: cr.NewRunner(n, tick, WallClock{}), got: map[cr.MsgType]int{}}
	tr.Start(o.deliver)
	t.Cleanup(func() { o.runner.Close(false); tr.Close() })
	return o
}

func (o *slowOwner) deliver(m *cr.Message) {
	o.mu.Lock()
	o.got[m.Type]++
	stabilize := m.Type == cr.MsgGetState && m.Count != 0
	if stabilize {
		o.stabilize++
	}
	op := m.Type == cr.MsgGet || (m.Type == cr.MsgStore && !m.Replica) || (m.Type == cr.MsgGetState && !stabilize)
	hold := o.silent && op
	if hold {
		o.held++
	}
	o.mu.Unlock()
	if !hold {
		o.runner.Deliver(m)
	}
}

func (o *slowOwner) setSilent() {
	o.mu.Lock()
	o.silent = true
	o.mu.Unlock()
}

func (o *slowOwner) heldOps() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.held
}

func (o *slowOwner) stabilizeQueries() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.stabilize
}

func (o *slowOwner) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return fmt.Sprintf("received by type %v, stabilize queries %d, operations held %d", o.got, o.stabilize, o.held)
}

// TestOperationFloodKeepsMaintenance: a member wired as New wires it (the
// transport's and the core's default configurations) whose operations
// flood an owner that never answers them keeps stabilizing with that
// owner, its successor: the operations hold at most their share of the
// core's pending table, and the transport carries that share and the
// maintenance kept beside it. With the transport's cap below the share
// (MaxOutbound 1024 before, against 3,072), the operations filled the
// transport and every stabilize query was refused until they ended. Also:
// the member's successor list and predecessor stay the owner.
func TestOperationFloodKeepsMaintenance(t *testing.T) {
	const floodHold = 30 * time.Second
	const tick = 50 * time.Millisecond
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	ownerHost := floodHost(t, 610)
	owner := startSlowOwner(t, ownerHost, tick, floodHold, seed)
	if err := owner.runner.Do(ctx, func(n *cr.Node) { n.Create() }); err != nil {
		t.Fatal(err)
	}
	// The caps are the defaults. The timeouts are floodHold on both
	// sides, in the core as in the transports, so that the operations
	// leave the core's pending table no sooner than the transport (see
	// MaxOutbound on what this fix does not cover) and nothing ends
	// before the test does, however loaded the machine.
	coreCfg := cr.DefaultConfig()
	coreCfg.RequestTimeoutTicks = int(floodHold / tick)
	coreCfg.LookupTimeoutTicks = 2 * coreCfg.RequestTimeoutTicks
	coreCfg.RepairTicks = 2 * coreCfg.RequestTimeoutTicks
	// The operations in flight to one peer are not capped here (their cap
	// keeps a flood at one peer far below MaxOutbound:
	// TestOperationFloodAtOnePeerKeepsSuccessor), and the member's own
	// inbound cap per peer is raised to match (ValidateRing).
	coreCfg.MaxOpsPerPeer = coreCfg.MaxPending
	tcfg := DefaultConfig()
	tcfg.RequestTimeout = floodHold
	tcfg.MaxInboundPerPeer = InboundPerPeerFor(coreCfg)
	tcfg.MaxInbound = tcfg.MaxInboundPerPeer
	member, err := New(floodHost(t, 611), coreCfg, cr.NewMemStorage(), Options{Transport: tcfg, Tick: tick, Rand: rand.New(rand.NewPCG(seed, 1))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { member.Close(false) })
	if err := member.JoinVia(ctx, []peer.AddrInfo{{ID: ownerHost.ID(), Addrs: ownerHost.Addrs()}}); err != nil {
		t.Fatal(err)
	}
	self, own := member.Self(), owner.tr.Self()
	waitFor(t, "a ring of the two, stabilizing", func() bool {
		st := member.Runner.State()
		return len(st.Successors) > 0 && st.Successors[0].ID == own.ID && st.Predecessor != nil && st.Predecessor.ID == own.ID &&
			owner.stabilizeQueries() > 0
	})
	owner.setSilent()

	// Reads of keys the owner holds (between the member and the owner),
	// more than the operations' share of the pending table.
	rng := rand.New(rand.NewPCG(seed, 3))
	share := coreCfg.MaxPending - coreCfg.MaxPending/4
	var keys []cr.ID
	for len(keys) < share+64 {
		keys = append(keys, keyBetween(rng, self.ID, own.ID))
	}
	if err := member.Runner.Do(ctx, func(n *cr.Node) {
		for _, k := range keys {
			n.Get(k, nil, 1, func(cr.GetResult) {})
		}
	}); err != nil {
		t.Fatal(err)
	}
	// The flood is in flight: its owner confirmations pile up at the
	// owner, as many as the member sends (the operations' share, or
	// before the transport's cap).
	waitWithin(t, 10*time.Second, func() bool { return owner.heldOps() >= 512 }, owner.String)
	waitSettled(t, 10*time.Second, owner.heldOps)
	// Stabilization goes on meanwhile, a query to the owner every tick.
	floodAt := owner.stabilizeQueries()
	waitWithin(t, 5*time.Second, func() bool { return owner.stabilizeQueries() >= floodAt+5 }, func() string {
		return fmt.Sprintf("stabilization stopped under the flood: %d stabilize queries reached the owner in 5 s; %v",
			owner.stabilizeQueries()-floodAt, owner)
	})
	st := member.Runner.State()
	if len(st.Successors) == 0 || st.Successors[0].ID != own.ID || st.Predecessor == nil || st.Predecessor.ID != own.ID {
		t.Fatalf("the member's ring state changed under the flood: successors %v, predecessor %v", st.Successors, st.Predecessor)
	}
	t.Logf("operations' share %d; at the owner: %v", share, owner)
}

// TestNewRefusesTransportBelowPending: New refuses a transport whose cap
// on outgoing exchanges is below the core's pending table, naming both;
// the default configurations pair.
func TestNewRefusesTransportBelowPending(t *testing.T) {
	if err := DefaultConfig().ValidateRing(cr.DefaultConfig()); err != nil {
		t.Fatalf("default configurations: %v", err)
	}
	tcfg := DefaultConfig()
	tcfg.MaxOutbound = 1024
	_, err := New(newTestHost(t, 612), cr.DefaultConfig(), cr.NewMemStorage(), Options{Transport: tcfg})
	if err == nil || !strings.Contains(err.Error(), "MaxOutbound (1024)") || !strings.Contains(err.Error(), "MaxPending (4096)") {
		t.Fatalf("New with MaxOutbound 1024 under MaxPending 4096: %v", err)
	}
	core := cr.DefaultConfig()
	core.MaxPending = 1024
	if err := tcfg.ValidateRing(core); err != nil {
		t.Fatalf("MaxOutbound equal to MaxPending: %v", err)
	}
}

// TestValidateRingPerPeer: a transport whose inbound cap per peer cannot
// take the core's operations to one peer, its maintenance beside them and
// MaxOpsPerPeer of headroom is refused, naming the fields: a cap of
// exactly operations plus maintenance (the old default, 32, was 8 + 24)
// left no room for a cancelled request whose reset is still travelling,
// timed-out maintenance or one-way messages. The daemon's pairing (OneHop,
// the defaults) fits; without OneHop maintenance needs less.
func TestValidateRingPerPeer(t *testing.T) {
	core := cr.DefaultConfig()
	core.OneHop = true
	tcfg := DefaultConfig()
	if err := tcfg.ValidateRing(core); err != nil {
		t.Fatalf("defaults with OneHop: %v", err)
	}
	if slack := tcfg.MaxInboundPerPeer - core.MaxOpsPerPeer - core.MaintenancePerPeer(); slack < core.MaxOpsPerPeer {
		t.Fatalf("default MaxInboundPerPeer %d leaves %d of headroom over operations and maintenance, want at least %d", tcfg.MaxInboundPerPeer, slack, core.MaxOpsPerPeer)
	}
	tcfg.MaxInboundPerPeer = core.MaxOpsPerPeer + core.MaintenancePerPeer()
	err := tcfg.ValidateRing(core)
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("MaxInboundPerPeer (%d)", tcfg.MaxInboundPerPeer)) || !strings.Contains(err.Error(), "MaxOpsPerPeer (8)") {
		t.Fatalf("MaxInboundPerPeer of exactly operations and maintenance accepted or unnamed: %v", err)
	}
	tcfg.MaxInboundPerPeer = InboundPerPeerFor(core)
	if err := tcfg.ValidateRing(core); err != nil {
		t.Fatalf("MaxInboundPerPeer %d: %v", tcfg.MaxInboundPerPeer, err)
	}
	core.MaxOpsPerPeer++
	if err := tcfg.ValidateRing(core); err == nil {
		t.Fatalf("MaxOpsPerPeer 9 with OneHop against MaxInboundPerPeer %d accepted", tcfg.MaxInboundPerPeer)
	}
	core.OneHop = false
	core.MaxOpsPerPeer = 8
	tcfg.MaxInboundPerPeer = 2*8 + core.MaintenancePerPeer()
	if err := tcfg.ValidateRing(core); err != nil {
		t.Fatalf("without OneHop against MaxInboundPerPeer %d: %v", tcfg.MaxInboundPerPeer, err)
	}
	tcfg.MaxInboundPerPeer--
	if err := tcfg.ValidateRing(core); err == nil {
		t.Fatalf("without OneHop against MaxInboundPerPeer %d accepted", tcfg.MaxInboundPerPeer)
	}
}

// TestOperationFloodAtOnePeerKeepsSuccessor: a member (the transport's
// and the core's default caps) whose operations flood its successor, an
// owner that takes the default MaxInboundPerPeer (48) streams from one
// peer and never answers operations, keeps that owner as its successor:
// the member keeps at most MaxOpsPerPeer operations in flight to it, so
// its stabilize queries are never among the streams the owner resets.
// Before the cap the owner reset them with the flood, the member timed
// them out and its successor list emptied within about a second. Both
// run their default timeouts too (the member's core at 50 ms ticks, so
// its request timeout, 250 ms, is far below the owner's ReplyTimeout, 5
// s): a request the member stops waiting for is reset (Cancel), and the
// owner gives its slot back then (watchRequester), so the two agree on
// how many of the member's streams are open.
func TestOperationFloodAtOnePeerKeepsSuccessor(t *testing.T) {
	const tick = 50 * time.Millisecond
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	ownerHost := floodHost(t, 613)
	owner := startSlowOwnerWith(t, ownerHost, tick, DefaultConfig(), seed)
	if err := owner.runner.Do(ctx, func(n *cr.Node) { n.Create() }); err != nil {
		t.Fatal(err)
	}
	coreCfg := cr.DefaultConfig()
	member, err := New(floodHost(t, 614), coreCfg, cr.NewMemStorage(), Options{Tick: tick, Rand: rand.New(rand.NewPCG(seed, 1))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { member.Close(false) })
	if err := member.JoinVia(ctx, []peer.AddrInfo{{ID: ownerHost.ID(), Addrs: ownerHost.Addrs()}}); err != nil {
		t.Fatal(err)
	}
	self, own := member.Self(), owner.tr.Self()
	ringOfTwo := func() bool {
		st := member.Runner.State()
		return len(st.Successors) > 0 && st.Successors[0].ID == own.ID
	}
	waitFor(t, "a ring of the two, stabilizing", func() bool {
		st := member.Runner.State()
		return ringOfTwo() && st.Predecessor != nil && st.Predecessor.ID == own.ID && owner.stabilizeQueries() > 0
	})
	owner.setSilent()

	// 64 reads of keys the owner holds, each read again as soon as it
	// ends, until the test stops them: a flood that lasts. A read that
	// ends inside Get (the member answers it itself: it has dropped the
	// owner) is not read again, which would recurse.
	rng := rand.New(rand.NewPCG(seed, 3))
	var stop atomic.Bool
	var reads atomic.Int64
	var get func(n *cr.Node)
	inGet := false
	get = func(n *cr.Node) {
		if stop.Load() {
			return
		}
		k := keyBetween(rng, self.ID, own.ID)
		inGet = true
		n.Get(k, nil, 1, func(cr.GetResult) {
			reads.Add(1)
			if !inGet {
				get(n)
			}
		})
		inGet = false
	}
	if err := member.Runner.Do(ctx, func(n *cr.Node) {
		for range 64 {
			get(n)
		}
	}); err != nil {
		t.Fatal(err)
	}
	defer stop.Store(true)
	waitWithin(t, 5*time.Second, func() bool { return owner.heldOps() >= 8 }, owner.String)
	// Ten of the member's request timeouts: each lets the next operations
	// out, and a reset stabilize query would have dropped the owner by
	// the first.
	floodAt := owner.stabilizeQueries()
	end := time.Now().Add(10 * time.Duration(coreCfg.RequestTimeoutTicks) * tick)
	tk := time.NewTicker(10 * time.Millisecond)
	defer tk.Stop()
	for time.Now().Before(end) {
		if !ringOfTwo() {
			t.Fatalf("the member dropped its successor under the flood: successors %v; %d reads ended; %v",
				member.Runner.State().Successors, reads.Load(), owner)
		}
		<-tk.C
	}
	if got := owner.stabilizeQueries() - floodAt; got < 10 {
		t.Fatalf("only %d stabilize queries reached the owner under the flood; %v", got, owner)
	}
	t.Logf("%d reads ended; at the owner: %v", reads.Load(), owner)
}

// waitSettled polls n until it has not changed for 300 ms, and fails if
// that takes longer than d.
func waitSettled(t testing.TB, d time.Duration, n func() int) {
	t.Helper()
	tk := time.NewTicker(20 * time.Millisecond)
	defer tk.Stop()
	deadline := time.After(d)
	last, since := n(), time.Now()
	for time.Since(since) < 300*time.Millisecond {
		select {
		case <-tk.C:
			if v := n(); v != last {
				last, since = v, time.Now()
			}
		case <-deadline:
			t.Fatalf("still changing after %v: %d", d, last)
		}
	}
}

// waitWithin polls cond every few milliseconds until it holds, and fails
// with why() if it does not within d.
func waitWithin(t testing.TB, d time.Duration, cond func() bool, why func() string) {
	t.Helper()
	tk := time.NewTicker(5 * time.Millisecond)
	defer tk.Stop()
	deadline := time.After(d)
	for !cond() {
		select {
		case <-tk.C:
		case <-deadline:
			if cond() {
				return
			}
			t.Fatal(why())
		}
	}
}

// keyBetween draws random keys until one lies strictly between a and b
// on the ring, and returns it.
func keyBetween(rng *rand.Rand, a, b cr.ID) cr.ID {
	for {
		var k cr.ID
		for i := range k {
			k[i] = byte(rng.UintN(256))
		}
		if cr.Between(a, k, b) {
			return k
		}
	}
}
