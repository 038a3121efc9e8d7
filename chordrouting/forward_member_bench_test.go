package chordrouting

import (
	"container/heap"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// dialNet is a discrete-event network that models connections: each pair
// of members has a round trip drawn once from [10, 150] ms (the
// benchmarks' links), a message takes half of it, and a message between
// two members without an open connection first waits for a dial of
// dialRTTs round trips (TCP with Noise and yamux: about 3; QUIC: 1), after
// which the connection stays open both ways. Members start connected to
// what ring maintenance keeps them talking to: their predecessor, their
// successor list and their dissemination targets (2^l places on).
type dialNet struct {
	nodes    []*Node
	idx      map[string]int
	clock    *fakeClock
	start    time.Time
	seed     uint64
	dialRTTs int
	conns    map[[2]int]time.Time // when the connection is (was) ready
	q        evQueue
	seq      int
}

type dialEv struct {
	at  time.Time
	seq int
	to  int
	m   *Message
}

type evQueue []dialEv

func (q evQueue) Len() int { return len(q) }
func (q evQueue) Less(i, j int) bool {
	return q[i].at.Before(q[j].at) || (q[i].at.Equal(q[j].at) && q[i].seq < q[j].seq)
}
func (q evQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *evQueue) Push(x any)   { *q = append(*q, x.(dialEv)) }
func (q *evQueue) Pop() any {
	old := *q
	e := old[len(old)-1]
	*q = old[:len(old)-1]
	return e
}

// rtt is the round trip between members a and b.
func (d *dialNet) rtt(a, b int) time.Duration {
	a, b = min(a, b), max(a, b)
	x := d.seed ^ uint64(a)<<32 ^ uint64(b)
	x ^= x >> 33
	x *= 0xff51afd7ed558ccd
	x ^= x >> 33
	return 10*time.Millisecond + time.Duration(x%141)*time.Millisecond
}

func pairOf(a, b int) [2]int { return [2]int{min(a, b), max(a, b)} }

// ready returns when a connection between a and b is usable, dialing one
// now if none is open or opening.
func (d *dialNet) ready(a, b int) time.Time {
	k := pairOf(a, b)
	at, ok := d.conns[k]
	if !ok {
		at = d.clock.now.Add(time.Duration(d.dialRTTs) * d.rtt(a, b))
		d.conns[k] = at
	}
	return at
}

// run delivers events until the queue is empty or stop reports true.
func (d *dialNet) run(stop func() bool) {
	for d.q.Len() > 0 && !stop() {
		e := heap.Pop(&d.q).(dialEv)
		if e.at.After(d.clock.now) {
			d.clock.now = e.at
		}
		d.nodes[e.to].Step(e.m)
	}
}

// dialTransport is one member's side of a dialNet (a ConnState).
type dialTransport struct {
	net  *dialNet
	self int
}

func (t dialTransport) Send(to Peer, m *Message) {
	d := t.net
	b, ok := d.idx[to.Addr]
	if !ok {
		return
	}
	at := d.ready(t.self, b)
	if now := d.clock.now; at.Before(now) {
		at = now
	}
	d.seq++
	heap.Push(&d.q, dialEv{at: at.Add(d.rtt(t.self, b) / 2), seq: d.seq, to: b, m: m})
}

func (t dialTransport) Connected(p Peer) bool {
	b, ok := t.net.idx[p.Addr]
	if !ok {
		return false
	}
	at, open := t.net.conns[pairOf(t.self, b)]
	return open && !at.After(t.net.clock.now)
}

func (t dialTransport) Prepare(p Peer) {
	if b, ok := t.net.idx[p.Addr]; ok {
		t.net.ready(t.self, b)
	}
}

// DialRoundTrips is the model's: dialRTTs.
func (t dialTransport) DialRoundTrips() float64 { return float64(t.net.dialRTTs) }

// newDialNet puts the members of a static one-hop ring on a dialNet.
func newDialNet(nodes []*Node, seed uint64, dialRTTs int) *dialNet {
	d := &dialNet{nodes: nodes, idx: map[string]int{}, clock: nodes[0].clock.(*fakeClock), seed: seed,
		dialRTTs: dialRTTs, conns: map[[2]int]time.Time{}}
	d.start = d.clock.now
	n := len(nodes)
	for i, nd := range nodes {
		d.idx[nd.self.Addr] = i
		nd.tr = dialTransport{d, i}
	}
	for i, nd := range nodes {
		open := func(j int) { d.conns[pairOf(i, (j+n)%n)] = d.start }
		open(i - 1)
		for k := 1; k <= len(nd.succ); k++ {
			open(i + k)
		}
		for l := 1; l < n; l *= 2 {
			open(i + l)
		}
	}
	return d
}

// memberReadLatencies runs reads members from random members of keys
// held by their owners and the next replicas-1 (3, the core's default, or
// OneHopReplicas, the daemon's), one after another (connections opened by
// one read stay open for the next), and returns each read's duration in
// virtual time and how many went through a neighbour.
func memberReadLatencies(tb testing.TB, n, reads int, seed uint64, dialRTTs, replicas int, forward bool) ([]time.Duration, int) {
	_, nodes := oneHopStatic(tb, n, seed, func(c *Config) {
		c.Validator = recValidator{}
		c.MemberForward = forward
		c.Replicas, c.ReadFanout = replicas, replicas
	})
	d := newDialNet(nodes, seed, dialRTTs)
	rng := rand.New(rand.NewPCG(seed, 11))
	var lat []time.Duration
	forwarded := 0
	for i := range reads {
		key := randomKey(rng)
		val := []byte(fmt.Sprintf("pub|lat%d|1|3600", i))
		holdAt(tb, nodes, key, val)
		from := nodes[rng.IntN(n)]
		if _, local := from.localAnswer(key); local {
			continue
		}
		began := d.clock.now
		var got *GetResult
		from.Get(key, nil, 0, func(r GetResult) { got = &r })
		d.run(func() bool { return got != nil })
		if got == nil || len(got.Values) != 1 {
			tb.Fatalf("read %d: %+v", i, got)
		}
		lat = append(lat, d.clock.now.Sub(began))
		o := ringIndex(nodes, key)
		if h := slices.IndexFunc(nodes, func(nd *Node) bool { return nd.self.ID == got.From.ID }); (h-o+n)%n >= replicas {
			forwarded++ // answered by a node that holds no replica: a neighbour
		}
		d.run(func() bool { return false }) // the rest of the read's answers
	}
	return lat, forwarded
}

// BenchmarkMemberForwardReadLatency reports the virtual duration of
// one-hop reads by members of a static ring of 500 (complete tables), each
// of a fresh key from a random member, on a network whose links have
// round trips of 10-150 ms and whose dials cost 3 round trips (TCP) or 1
// (QUIC), keys held by 3 or by OneHopReplicas (8) members, with forwarding
// for members on and off: its mean, median, 90th and 99th percentile in ms
// and the share of reads forwarded. The figures are in virtual time; the
// benchmark's own speed means nothing.
//
//	go test -run '^$' -bench MemberForwardReadLatency -benchtime 1x ./chordrouting/
func BenchmarkMemberForwardReadLatency(b *testing.B) {
	const n, reads, seed = 500, 2000, 1
	for _, reps := range []int{3, OneHopReplicas} {
		for _, dial := range []int{3, 1} {
			for _, fwd := range []bool{true, false} {
				name := fmt.Sprintf("holders=%d/dial=%drtt/forward=%v", reps, dial, fwd)
				b.Run(name, func(b *testing.B) {
					b.Logf("seed %d", seed)
					var lat []time.Duration
					forwarded := 0
					for range b.N {
						lat, forwarded = memberReadLatencies(b, n, reads, seed, dial, reps, fwd)
					}
					slices.Sort(lat)
					pct := func(p float64) float64 {
						return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))]) / float64(time.Millisecond)
					}
					b.ReportMetric(float64(meanOf(lat))/float64(time.Millisecond), "mean-ms")
					b.ReportMetric(pct(0.5), "p50-ms")
					b.ReportMetric(pct(0.9), "p90-ms")
					b.ReportMetric(pct(0.99), "p99-ms")
					b.ReportMetric(float64(forwarded)/float64(len(lat)), "forwarded")
				})
			}
		}
	}
}

// TestMemberForwardReadLatency: on the dial model of
// BenchmarkMemberForwardReadLatency (a small ring), forwarding for members
// makes reads of three holders faster on average when a dial costs 3
// round trips, and changes nothing when it costs one (the member then
// reads directly), nor, with eight holders, when it costs 3 (the nearest
// of eight is near enough that the dial pays: forwardDialRTTs).
func TestMemberForwardReadLatency(t *testing.T) {
	reps := 3
	mean := func(dial int, fwd bool) (time.Duration, int) {
		lat, f := memberReadLatencies(t, 60, 200, 2, dial, reps, fwd)
		return meanOf(lat), f
	}
	on, f := mean(3, true)
	off, _ := mean(3, false)
	t.Logf("3-RTT dials: mean read %v forwarded (%d forwarded), %v direct", on, f, off)
	if f == 0 || on >= off {
		t.Fatalf("3-RTT dials: mean read %v with forwarding (%d forwarded), %v without: want faster", on, f, off)
	}
	on, f = mean(1, true)
	off, _ = mean(1, false)
	if f != 0 || on != off {
		t.Fatalf("1-RTT dials: mean read %v with forwarding (%d forwarded), %v without: want the same, none forwarded", on, f, off)
	}
	reps = OneHopReplicas
	on, f = mean(3, true)
	off, _ = mean(3, false)
	if f != 0 || on != off {
		t.Fatalf("%d holders, 3-RTT dials: mean read %v with forwarding (%d forwarded), %v without: want the same, none forwarded", reps, on, f, off)
	}
}

func meanOf(ds []time.Duration) time.Duration {
	var sum time.Duration
	for _, d := range ds {
		sum += d
	}
	return sum / time.Duration(max(1, len(ds)))
}
