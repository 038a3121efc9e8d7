package sim

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"kwsearch/chordrouting"
)

// Endpoint is what the network drives: a chordrouting.Node, or a fake in
// tests. Both methods are called on the simulation's goroutine only.
type Endpoint interface {
	Step(m *chordrouting.Message)
	Tick()
}

// Epoch is the virtual clock's time zero. It is a fixed date so that runs
// replay exactly and expiry times in records are stable across runs.
var epochTime = time.Date(2030, time.January, 1, 0, 0, 0, 0, time.UTC)

// Network is a deterministic simulated network: a virtual clock, one event
// queue, one random source, and the endpoints it delivers to. It is not safe
// for concurrent use; everything runs on the caller's goroutine.
type Network struct {
	cfg   NetConfig
	rng   *Rand
	q     eventQueue
	seq   uint64
	now   int64 // virtual nanoseconds since epochTime
	nodes []netNode

	steps uint64
	stats Stats
	trace uint64 // hash of every processed event

	check    func() error
	checkErr error
	traceW   io.Writer

	stop    <-chan struct{} // closed: the run is to end (SetStop)
	stopped bool
}

// netNode is the network's view of one endpoint.
type netNode struct {
	ep    Endpoint
	up    bool
	group int32  // partition group; 0 when healed
	epoch uint32 // bumped on Stop so that pending ticks die
}

// transport is the chordrouting.Transport of one endpoint.
type transport struct {
	net  *Network
	from int32
}

// Send implements chordrouting.Transport.
func (t *transport) Send(to chordrouting.Peer, m *chordrouting.Message) {
	t.net.send(t.from, to.Addr, m)
}

// Stats counts what the network did.
type Stats struct {
	Steps            uint64 // events processed
	Ticks            uint64 // node ticks delivered
	Sent             uint64 // messages handed to Send by live nodes
	Delivered        uint64 // messages handed to a live endpoint's Step
	Lost             uint64 // dropped by the loss probability
	DroppedDead      uint64 // sender or receiver was down
	DroppedPartition uint64 // sender and receiver in different partition groups
	DroppedBadAddr   uint64 // Addr named no endpoint
	Bytes            uint64 // estimated wire bytes of sent messages
	SentByType       [32]uint64
	BytesByType      [32]uint64 // estimated wire bytes by message type
}

// NewNetwork returns an empty network. rng is its only source of randomness;
// the caller may share it with the endpoints as long as everything runs on
// one goroutine.
func NewNetwork(cfg NetConfig, rng *Rand) (*Network, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if rng == nil {
		return nil, errors.New("sim: nil random source")
	}
	return &Network{cfg: cfg, rng: rng, trace: traceSeed}, nil
}

// Now implements chordrouting.Clock with the virtual time.
func (n *Network) Now() time.Time { return epochTime.Add(time.Duration(n.now)) }

// Elapsed is the virtual time since the start of the run.
func (n *Network) Elapsed() time.Duration { return time.Duration(n.now) }

// Stats returns the counters so far.
func (n *Network) Stats() Stats {
	s := n.stats
	s.Steps = n.steps
	return s
}

// Steps is the number of events processed so far.
func (n *Network) Steps() uint64 { return n.steps }

// TraceHash is a hash of every event processed so far (time, kind and
// nodes, in order). Two runs with the same seed and inputs have the same
// hash; it is the cheap way to compare whole traces.
func (n *Network) TraceHash() uint64 { return n.trace }

// Len is the number of endpoint slots.
func (n *Network) Len() int { return len(n.nodes) }

// Pending is the number of queued events.
func (n *Network) Pending() int { return n.q.Len() }

// Reserve adds a slot for an endpoint and returns its index (its address is
// Addr(index)) and its transport. The slot is down until Start.
func (n *Network) Reserve() (int, chordrouting.Transport) {
	i := len(n.nodes)
	n.nodes = append(n.nodes, netNode{})
	return i, &transport{net: n, from: int32(i)}
}

// Addr is the transport address of slot i.
func Addr(i int) string { return strconv.Itoa(i) }

// Start brings slot i up with ep: it receives messages and ticks every
// NetConfig.Tick, starting at a random phase within the first interval.
func (n *Network) Start(i int, ep Endpoint) {
	nd := &n.nodes[i]
	nd.ep = ep
	if nd.up {
		return
	}
	nd.up = true
	nd.epoch++
	phase := int64(0)
	if t := int64(n.cfg.Tick); t > 0 {
		phase = n.rng.Int64N(t) + 1
		n.push(event{at: n.now + phase, kind: evTick, to: int32(i), epoch: nd.epoch})
	}
}

// Stop takes slot i down: it neither sends nor receives, and its pending
// ticks are dropped. Messages it sent earlier are still in flight.
func (n *Network) Stop(i int) {
	nd := &n.nodes[i]
	nd.up = false
	nd.epoch++
}

// Up reports whether slot i is up.
func (n *Network) Up(i int) bool { return i >= 0 && i < len(n.nodes) && n.nodes[i].up }

// Partition splits the slots into groups: slots listed in groups[k] form
// group k+1, slots listed nowhere form one more group together. Messages
// between groups are dropped at delivery (also those already in flight).
func (n *Network) Partition(groups ...[]int) {
	for i := range n.nodes {
		n.nodes[i].group = 0
	}
	for k, g := range groups {
		for _, i := range g {
			if i >= 0 && i < len(n.nodes) {
				n.nodes[i].group = int32(k + 1)
			}
		}
	}
}

// Heal removes every partition.
func (n *Network) Heal() { n.Partition() }

// After schedules fn to run on the simulation goroutine after d of virtual
// time. Driver actions (joins, failures, lookups) are scheduled this way so
// that they interleave with message deliveries deterministically.
func (n *Network) After(d time.Duration, fn func()) {
	if d < 0 {
		d = 0
	}
	n.push(event{at: n.now + int64(d), kind: evFunc, fn: fn})
}

// SetStop makes RunFor and RunUntil return ErrInterrupted, from then on,
// once stop is closed (looked at every stopEvery events, so a run of
// millions of events ends within a millisecond or so). nil: never.
func (n *Network) SetStop(stop <-chan struct{}) { n.stop = stop }

// stopEvery is how many events pass between looks at the stop channel.
const stopEvery = 1 << 12

// ErrInterrupted is returned by RunFor and RunUntil once SetStop's
// channel is closed: the user stopped the run (kwnode sim on Ctrl-C).
var ErrInterrupted = errors.New("sim: interrupted")

// interrupted reports whether the stop channel has been closed.
func (n *Network) interrupted() bool {
	if !n.stopped && n.stop != nil {
		select {
		case <-n.stop:
			n.stopped = true
		default:
		}
	}
	return n.stopped
}

// SetCheck installs a function run after every event; the first error it
// returns stops the run and is returned by RunFor/RunUntil together with the
// step number. nil removes the check.
func (n *Network) SetCheck(fn func() error) { n.check = fn }

// InFlight calls fn for every message queued for delivery, in no
// particular order. Checks use it to see answers a node has not yet
// received (the state it is about to adopt).
func (n *Network) InFlight(fn func(from, to int, m *chordrouting.Message)) {
	n.q.each(func(e *event) {
		if e.kind == evDeliver {
			fn(int(e.from), int(e.to), e.msg)
		}
	})
}

// SetTrace makes the network write one line per processed event to w (nil
// stops it): step, virtual time, what happened. For replaying a failing
// seed by hand; it slows the run down.
func (n *Network) SetTrace(w io.Writer) { n.traceW = w }

func (n *Network) writeTrace(e *event, what string) {
	if n.traceW == nil {
		return
	}
	switch e.kind {
	case evDeliver:
		fmt.Fprintf(n.traceW, "%d %v %s -> %s type %d id %d: %s\n", n.steps, n.Elapsed(), Addr(int(e.from)), Addr(int(e.to)), e.msg.Type, e.msg.ID, what)
	case evTick:
		fmt.Fprintf(n.traceW, "%d %v tick %s\n", n.steps, n.Elapsed(), Addr(int(e.to)))
	case evFunc:
		fmt.Fprintf(n.traceW, "%d %v driver\n", n.steps, n.Elapsed())
	}
}

// Err is the error that stopped the run, if any.
func (n *Network) Err() error { return n.checkErr }

func (n *Network) push(e event) {
	n.q.push(e, n.seq)
	n.seq++
}

func (n *Network) send(from int32, addr string, m *chordrouting.Message) {
	if m == nil {
		return
	}
	if !n.nodes[from].up {
		n.stats.DroppedDead++
		return
	}
	n.stats.Sent++
	size := uint64(wireSize(m))
	n.stats.Bytes += size
	if t := int(m.Type); t < len(n.stats.SentByType) {
		n.stats.SentByType[t]++
		n.stats.BytesByType[t] += size
	}
	to, err := strconv.Atoi(addr)
	if err != nil || to < 0 || to >= len(n.nodes) {
		n.stats.DroppedBadAddr++
		return
	}
	if n.cfg.Loss > 0 && n.rng.Float64() < n.cfg.Loss {
		n.stats.Lost++
		return
	}
	d := int64(n.cfg.MinDelay)
	if span := int64(n.cfg.MaxDelay - n.cfg.MinDelay); span > 0 {
		d += n.rng.Int64N(span + 1)
	}
	n.push(event{at: n.now + d, kind: evDeliver, to: int32(to), from: from, msg: m})
}

// step processes the earliest event. It returns false when the queue is
// empty.
func (n *Network) step() bool {
	if n.q.Len() == 0 {
		return false
	}
	e := n.q.pop()
	n.now = e.at
	n.steps++
	n.hash(&e)
	switch e.kind {
	case evDeliver:
		n.deliver(&e)
	case evTick:
		nd := &n.nodes[e.to]
		if !nd.up || nd.epoch != e.epoch {
			return true
		}
		n.writeTrace(&e, "")
		n.stats.Ticks++
		n.push(event{at: n.now + int64(n.cfg.Tick), kind: evTick, to: e.to, epoch: e.epoch})
		nd.ep.Tick()
	case evFunc:
		n.writeTrace(&e, "")
		e.fn()
	}
	if n.check != nil && n.checkErr == nil {
		if err := n.check(); err != nil {
			n.checkErr = fmt.Errorf("sim: step %d at %v: %w", n.steps, n.Elapsed(), err)
		}
	}
	return true
}

func (n *Network) deliver(e *event) {
	to, from := &n.nodes[e.to], &n.nodes[e.from]
	switch {
	case !to.up:
		n.stats.DroppedDead++
		n.writeTrace(e, "dropped, receiver down")
	case to.group != from.group:
		n.stats.DroppedPartition++
		n.writeTrace(e, "dropped, partition")
	default:
		n.stats.Delivered++
		n.writeTrace(e, "delivered")
		to.ep.Step(e.msg)
	}
}

// RunFor processes every event up to Elapsed()+d and leaves the clock there.
// It stops early, returning the error, when the check installed by SetCheck
// fails.
func (n *Network) RunFor(d time.Duration) error {
	if n.interrupted() {
		return ErrInterrupted
	}
	end := n.now + int64(d)
	for n.q.Len() > 0 && n.q.peekAt() <= end {
		if n.steps%stopEvery == 0 && n.interrupted() {
			return ErrInterrupted
		}
		n.step()
		if n.checkErr != nil {
			return n.checkErr
		}
	}
	if n.now < end {
		n.now = end
	}
	return nil
}

// ErrLimit is returned by RunUntil when the condition did not hold within
// the limit.
var ErrLimit = errors.New("sim: condition not reached within the time limit")

// RunUntil runs until cond holds or limit of virtual time has passed. cond
// is evaluated at the start and then once per NetConfig.Tick of virtual time
// (it may be expensive, like a whole-ring check), so the run may go on for
// up to one tick after cond became true.
func (n *Network) RunUntil(cond func() bool, limit time.Duration) error {
	return n.RunUntilEvery(cond, n.cfg.Tick, limit)
}

// RunUntilEvery is RunUntil evaluating cond once per every of virtual time.
func (n *Network) RunUntilEvery(cond func() bool, every, limit time.Duration) error {
	end := n.now + int64(limit)
	if every <= 0 {
		every = time.Millisecond
	}
	for {
		if cond() {
			return nil
		}
		if n.now >= end {
			return ErrLimit
		}
		next := min(n.now+int64(every), end)
		if err := n.RunFor(time.Duration(next - n.now)); err != nil {
			return err
		}
	}
}

// traceSeed starts the trace hash.
const traceSeed = 0x6b77736561726368

// hash folds one event into the trace hash: a multiply-xorshift mix of its
// time, kind and nodes. Any change in the order or timing of events changes
// it. (The message itself is left out: reading it here would pay the cache
// miss the receiving node pays anyway, and a different message changes the
// events that follow.)
func (n *Network) hash(e *event) {
	h := n.trace
	h = (h ^ uint64(e.at)) * 0x9e3779b97f4a7c15
	h ^= h >> 31
	h = (h ^ (uint64(e.kind)<<56 | uint64(uint32(e.to))<<24 | uint64(uint32(e.from)&0xffffff))) * 0x9e3779b97f4a7c15
	h ^= h >> 31
	n.trace = h
}
