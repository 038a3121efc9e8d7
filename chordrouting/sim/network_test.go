package sim

import (
	"errors"
	"strings"
	"testing"
	"time"

	"kwsearch/chordrouting"
)

// fakeEndpoint records what reaches it and, when echo is set, answers every
// ping with a pong.
type fakeEndpoint struct {
	net    *Network
	self   int
	tr     chordrouting.Transport
	echo   bool
	got    []received
	ticks  []time.Duration
	onTick func()
}

type received struct {
	at   time.Duration
	from string
	typ  chordrouting.MsgType
	id   uint64
}

func (f *fakeEndpoint) Step(m *chordrouting.Message) {
	f.got = append(f.got, received{at: f.net.Elapsed(), from: m.From.Addr, typ: m.Type, id: m.ID})
	if f.echo && m.Type == chordrouting.MsgPing {
		f.tr.Send(m.From, &chordrouting.Message{Type: chordrouting.MsgPong, ID: m.ID, From: f.peer()})
	}
}

func (f *fakeEndpoint) Tick() {
	f.ticks = append(f.ticks, f.net.Elapsed())
	if f.onTick != nil {
		f.onTick()
	}
}

func (f *fakeEndpoint) peer() chordrouting.Peer { return chordrouting.Peer{Addr: Addr(f.self)} }

func (f *fakeEndpoint) ping(to int, id uint64) {
	f.tr.Send(chordrouting.Peer{Addr: Addr(to)}, &chordrouting.Message{Type: chordrouting.MsgPing, ID: id, From: f.peer()})
}

func newFakeNet(t *testing.T, cfg NetConfig, seed int64, n int) (*Network, []*fakeEndpoint) {
	t.Helper()
	net, err := NewNetwork(cfg, NewRand(seed))
	if err != nil {
		t.Fatal(err)
	}
	eps := make([]*fakeEndpoint, n)
	for k := range eps {
		i, tr := net.Reserve()
		eps[k] = &fakeEndpoint{net: net, self: i, tr: tr, echo: true}
		net.Start(i, eps[k])
	}
	return net, eps
}

func countType(got []received, typ chordrouting.MsgType) int {
	c := 0
	for _, r := range got {
		if r.typ == typ {
			c++
		}
	}
	return c
}

func TestNetConfigValidate(t *testing.T) {
	ok := DefaultNetConfig()
	if err := ok.Validate(); err != nil {
		t.Fatalf("default config: %v", err)
	}
	cases := []struct {
		name string
		mod  func(*NetConfig)
		want string
	}{
		{"zero tick", func(c *NetConfig) { c.Tick = 0 }, "Tick"},
		{"negative delay", func(c *NetConfig) { c.MinDelay = -1 }, "MinDelay"},
		{"max below min", func(c *NetConfig) { c.MaxDelay = c.MinDelay - 1 }, "MaxDelay"},
		{"loss one", func(c *NetConfig) { c.Loss = 1 }, "Loss"},
		{"loss negative", func(c *NetConfig) { c.Loss = -0.1 }, "Loss"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultNetConfig()
			tc.mod(&c)
			err := c.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Validate() = %v, want an error naming %s", err, tc.want)
			}
		})
	}
}

// pingStorm has every endpoint ping random others on every tick.
func pingStorm(net *Network, eps []*fakeEndpoint) {
	for _, f := range eps {
		f := f
		f.onTick = func() {
			for k := 0; k < 3; k++ {
				f.ping(net.rng.IntN(len(eps)), net.rng.Uint64())
			}
		}
	}
}

func TestNetworkDeterminism(t *testing.T) {
	cfg := DefaultNetConfig()
	cfg.Loss = 0.1
	run := func(seed int64) (uint64, Stats) {
		net, eps := newFakeNet(t, cfg, seed, 20)
		pingStorm(net, eps)
		net.After(3*time.Second, func() { net.Stop(3) })
		net.After(4*time.Second, func() { net.Partition([]int{0, 1, 2, 4}) })
		if err := net.RunFor(10 * time.Second); err != nil {
			t.Fatal(err)
		}
		return net.TraceHash(), net.Stats()
	}
	for _, seed := range []int64{1, 2, 42} {
		h1, s1 := run(seed)
		h2, s2 := run(seed)
		t.Logf("seed %d: trace %x, %d steps", seed, h1, s1.Steps)
		if h1 != h2 || s1 != s2 {
			t.Fatalf("seed %d: two runs differ: %x %+v vs %x %+v", seed, h1, s1, h2, s2)
		}
	}
	if h1, _ := run(1); h1 == func() uint64 { h, _ := run(2); return h }() {
		t.Fatal("seeds 1 and 2 produced the same trace")
	}
}

func TestNetworkDelayBounds(t *testing.T) {
	cfg := DefaultNetConfig()
	cfg.MinDelay, cfg.MaxDelay = 10*time.Millisecond, 20*time.Millisecond
	net, eps := newFakeNet(t, cfg, 7, 2)
	const n = 2000
	for k := 0; k < n; k++ {
		eps[0].ping(1, uint64(k))
	}
	if err := net.RunFor(time.Second); err != nil {
		t.Fatal(err)
	}
	got := eps[1].got
	if len(got) != n {
		t.Fatalf("delivered %d of %d pings with no loss", len(got), n)
	}
	seen := map[time.Duration]bool{}
	for _, r := range got {
		if r.at < cfg.MinDelay || r.at > cfg.MaxDelay {
			t.Fatalf("message delivered after %v, outside [%v, %v]", r.at, cfg.MinDelay, cfg.MaxDelay)
		}
		seen[r.at] = true
	}
	if len(seen) < 100 {
		t.Fatalf("only %d distinct delays in %d messages: delay is not drawn per message", len(seen), n)
	}
	if pongs := countType(eps[0].got, chordrouting.MsgPong); pongs != n {
		t.Fatalf("%d pongs came back, want %d", pongs, n)
	}
}

func TestNetworkLoss(t *testing.T) {
	cfg := DefaultNetConfig()
	cfg.Loss = 0.3
	net, eps := newFakeNet(t, cfg, 11, 2)
	eps[1].echo = false
	const n = 20000
	for k := 0; k < n; k++ {
		eps[0].ping(1, uint64(k))
	}
	if err := net.RunFor(time.Second); err != nil {
		t.Fatal(err)
	}
	got := len(eps[1].got)
	st := net.Stats()
	if st.Lost+st.Delivered != n || uint64(got) != st.Delivered {
		t.Fatalf("stats %+v do not add up for %d sent, %d received", st, n, got)
	}
	if frac := float64(st.Lost) / n; frac < 0.28 || frac > 0.32 {
		t.Fatalf("lost fraction %.3f, want about 0.3", frac)
	}
}

func TestNetworkFailure(t *testing.T) {
	net, eps := newFakeNet(t, DefaultNetConfig(), 5, 3)
	// A message in flight from a node that then fails is still delivered.
	eps[0].ping(1, 1)
	net.Stop(0)
	if err := net.RunFor(time.Second); err != nil {
		t.Fatal(err)
	}
	if countType(eps[1].got, chordrouting.MsgPing) != 1 {
		t.Fatalf("in-flight message from a node that failed later was not delivered: %+v", eps[1].got)
	}
	if len(eps[0].got) != 0 {
		t.Fatalf("failed node received %+v", eps[0].got)
	}
	ticks := len(eps[0].ticks)
	if ticks != 0 {
		t.Fatalf("failed node ticked %d times", ticks)
	}
	before := net.Stats()
	// A failed node sends nothing.
	eps[0].ping(2, 2)
	// Messages to a failed node are dropped.
	eps[2].ping(0, 3)
	if err := net.RunFor(time.Second); err != nil {
		t.Fatal(err)
	}
	st := net.Stats()
	if countType(eps[2].got, chordrouting.MsgPing) != 0 || len(eps[0].got) != 0 {
		t.Fatalf("messages crossed a failed node: %+v / %+v", eps[2].got, eps[0].got)
	}
	if st.DroppedDead-before.DroppedDead != 2 {
		t.Fatalf("DroppedDead grew by %d, want 2", st.DroppedDead-before.DroppedDead)
	}
	// Pending ticks of a failed node are dropped: stopping and restarting
	// does not leave two tick chains behind.
	net.Stop(1)
	net.Start(1, eps[1])
	eps[1].ticks = nil
	if err := net.RunFor(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	if n := len(eps[1].ticks); n < 99 || n > 100 {
		t.Fatalf("restarted node ticked %d times in 10 s at 100 ms, want 99–100", n)
	}
}

func TestNetworkPartition(t *testing.T) {
	net, eps := newFakeNet(t, DefaultNetConfig(), 9, 4)
	for _, f := range eps {
		f.echo = false
	}
	// A message in flight when the partition starts is dropped.
	eps[0].ping(2, 1)
	net.Partition([]int{0, 1}, []int{2, 3})
	eps[0].ping(1, 2) // same group
	eps[0].ping(3, 3) // other group
	eps[3].ping(2, 4) // same group
	if err := net.RunFor(time.Second); err != nil {
		t.Fatal(err)
	}
	if len(eps[1].got) != 1 || len(eps[2].got) != 1 || len(eps[3].got) != 0 {
		t.Fatalf("partition: got %d/%d/%d messages at nodes 1/2/3, want 1/1/0",
			len(eps[1].got), len(eps[2].got), len(eps[3].got))
	}
	if st := net.Stats(); st.DroppedPartition != 2 {
		t.Fatalf("DroppedPartition = %d, want 2", st.DroppedPartition)
	}
	net.Heal()
	eps[0].ping(3, 5)
	if err := net.RunFor(time.Second); err != nil {
		t.Fatal(err)
	}
	if len(eps[3].got) != 1 {
		t.Fatalf("after Heal node 3 got %d messages, want 1", len(eps[3].got))
	}
	// Nodes listed in no group form a group of their own.
	net.Partition([]int{0})
	eps[1].ping(2, 6)
	eps[1].ping(0, 7)
	if err := net.RunFor(time.Second); err != nil {
		t.Fatal(err)
	}
	if len(eps[2].got) != 2 || len(eps[0].got) != 0 {
		t.Fatalf("unlisted nodes: node 2 got %d (want 2), node 0 got %d (want 0)", len(eps[2].got), len(eps[0].got))
	}
}

func TestNetworkTicks(t *testing.T) {
	cfg := DefaultNetConfig()
	net, eps := newFakeNet(t, cfg, 3, 50)
	if err := net.RunFor(time.Second); err != nil {
		t.Fatal(err)
	}
	phases := map[time.Duration]bool{}
	for _, f := range eps {
		if len(f.ticks) != 10 {
			t.Fatalf("node %d ticked %d times in 1 s, want 10", f.self, len(f.ticks))
		}
		first := f.ticks[0]
		if first <= 0 || first > cfg.Tick {
			t.Fatalf("node %d first tick at %v, want in (0, %v]", f.self, first, cfg.Tick)
		}
		for k := 1; k < len(f.ticks); k++ {
			if d := f.ticks[k] - f.ticks[k-1]; d != cfg.Tick {
				t.Fatalf("node %d ticks %v apart, want %v", f.self, d, cfg.Tick)
			}
		}
		phases[first] = true
	}
	if len(phases) < 40 {
		t.Fatalf("only %d distinct phases among 50 nodes", len(phases))
	}
}

func TestNetworkEqualTimesReplayInOrder(t *testing.T) {
	net, _ := newFakeNet(t, DefaultNetConfig(), 1, 0)
	var order []int
	for k := 0; k < 100; k++ {
		k := k
		net.After(time.Second, func() { order = append(order, k) })
	}
	if err := net.RunFor(2 * time.Second); err != nil {
		t.Fatal(err)
	}
	for k, v := range order {
		if k != v {
			t.Fatalf("events at equal times ran out of order: %v", order)
		}
	}
	if len(order) != 100 {
		t.Fatalf("%d of 100 events ran", len(order))
	}
}

func TestNetworkBadAddr(t *testing.T) {
	net, eps := newFakeNet(t, DefaultNetConfig(), 1, 1)
	for _, a := range []string{"", "x", "-1", "1", "99999999999999999999"} {
		eps[0].tr.Send(chordrouting.Peer{Addr: a}, &chordrouting.Message{Type: chordrouting.MsgPing})
	}
	eps[0].tr.Send(chordrouting.Peer{Addr: "0"}, nil)
	if err := net.RunFor(time.Second); err != nil {
		t.Fatal(err)
	}
	if st := net.Stats(); st.DroppedBadAddr != 5 || st.Delivered != 0 {
		t.Fatalf("stats %+v, want 5 bad addresses and nothing delivered", st)
	}
}

func TestNetworkCheckStopsAtFirstBadStep(t *testing.T) {
	net, _ := newFakeNet(t, DefaultNetConfig(), 1, 5)
	bad := errors.New("broken")
	net.SetCheck(func() error {
		if net.Steps() == 17 {
			return bad
		}
		return nil
	})
	err := net.RunFor(time.Minute)
	if !errors.Is(err, bad) || !strings.Contains(err.Error(), "step 17 ") {
		t.Fatalf("RunFor = %v, want the check's error at step 17", err)
	}
	if net.Steps() != 17 {
		t.Fatalf("run went on to step %d after the check failed", net.Steps())
	}
}

func TestNetworkRunUntil(t *testing.T) {
	net, eps := newFakeNet(t, DefaultNetConfig(), 1, 1)
	if err := net.RunUntil(func() bool { return len(eps[0].ticks) >= 25 }, time.Minute); err != nil {
		t.Fatal(err)
	}
	if net.Elapsed() > 2700*time.Millisecond {
		t.Fatalf("condition reached after %v, want about 2.5 s", net.Elapsed())
	}
	err := net.RunUntil(func() bool { return false }, time.Second)
	if !errors.Is(err, ErrLimit) {
		t.Fatalf("RunUntil(false) = %v, want ErrLimit", err)
	}
}

func TestNetworkTrace(t *testing.T) {
	net, eps := newFakeNet(t, DefaultNetConfig(), 1, 2)
	var sb strings.Builder
	net.SetTrace(&sb)
	eps[0].ping(1, 42)
	net.Stop(0)
	if err := net.RunFor(150 * time.Millisecond); err != nil {
		t.Fatal(err)
	}
	out := sb.String()
	for _, want := range []string{"0 -> 1 type 1 id 42: delivered", "1 -> 0 type 2 id 42: dropped, receiver down", "tick 1"} {
		if !strings.Contains(out, want) {
			t.Fatalf("trace lacks %q:\n%s", want, out)
		}
	}
}
