package chordrouting

import (
	"context"
	"errors"
	"sync"
	"time"
)

// Ticker delivers ticks; TickerClock makes them. A Clock given to
// NewRunner that also implements TickerClock drives the Runner's ticks
// (a fake clock in tests); otherwise a time.Ticker does.
type Ticker interface {
	C() <-chan time.Time
	Stop()
}

// TickerClock is a Clock that can also make tickers.
type TickerClock interface {
	Clock
	NewTicker(d time.Duration) Ticker
}

// ErrClosed is returned by a Runner's methods after Close.
var ErrClosed = errors.New("chordrouting: runner closed")

// inboxLen bounds the messages waiting for the loop; beyond it Deliver
// drops (the protocol treats a lost message like a slow peer).
const inboxLen = 1024

// Runner is the goroutine shell around a Node for real (non-simulated)
// use: one goroutine owns the Node and serializes incoming messages,
// ticks and API calls. All methods are safe for concurrent use.
type Runner struct {
	n      *Node
	tick   time.Duration
	inbox  chan *Message
	ops    chan func()
	ticked chan struct{} // signalled after every tick, for Close's grace
	stop   chan struct{}
	done   chan struct{}
	once   sync.Once

	mu    sync.Mutex
	state NodeState
}

// NewRunner starts the loop that owns n, ticking every tick (on clock's
// tickers if it implements TickerClock). Nothing else may call n's methods
// afterwards; use Do.
func NewRunner(n *Node, tick time.Duration, clock Clock) *Runner {
	if tick <= 0 {
		tick = 100 * time.Millisecond
	}
	r := &Runner{
		n: n, tick: tick,
		inbox:  make(chan *Message, inboxLen),
		ops:    make(chan func()),
		ticked: make(chan struct{}, 1),
		stop:   make(chan struct{}),
		done:   make(chan struct{}),
		state:  n.State(),
	}
	var t Ticker
	if tc, ok := clock.(TickerClock); ok {
		t = tc.NewTicker(tick)
	} else {
		t = stdTicker{time.NewTicker(tick)}
	}
	go r.loop(t)
	return r
}

type stdTicker struct{ t *time.Ticker }

func (s stdTicker) C() <-chan time.Time { return s.t.C }
func (s stdTicker) Stop()               { s.t.Stop() }

func (r *Runner) loop(t Ticker) {
	defer close(r.done)
	defer t.Stop()
	for {
		select {
		case <-r.stop:
			return
		case m := <-r.inbox:
			r.n.Step(m)
		case f := <-r.ops:
			f()
			r.snapshot()
		case <-t.C():
			r.n.Tick()
			r.snapshot()
			select {
			case r.ticked <- struct{}{}:
			default:
			}
		}
	}
}

func (r *Runner) snapshot() {
	s := r.n.State()
	r.mu.Lock()
	r.state = s
	r.mu.Unlock()
}

// Deliver hands the loop an incoming message. It never blocks: when the
// loop is behind by inboxLen messages, or closed, the message is dropped.
func (r *Runner) Deliver(m *Message) {
	if m == nil {
		return
	}
	select {
	case <-r.stop:
	case r.inbox <- m:
	default:
	}
}

// Do runs f on the loop and waits for it to finish.
func (r *Runner) Do(ctx context.Context, f func(*Node)) error {
	fin := make(chan struct{})
	op := func() { f(r.n); close(fin) }
	select {
	case r.ops <- op:
	case <-ctx.Done():
		return ctx.Err()
	case <-r.done:
		return ErrClosed
	}
	select {
	case <-fin:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-r.done:
		return ErrClosed
	}
}

// call starts an asynchronous Node operation on the loop and waits for
// its callback's result.
func call[T any](ctx context.Context, r *Runner, start func(n *Node, done func(T))) (T, error) {
	ch := make(chan T, 1)
	var zero T
	if err := r.Do(ctx, func(n *Node) { start(n, func(v T) { ch <- v }) }); err != nil {
		return zero, err
	}
	select {
	case v := <-ch:
		return v, nil
	case <-ctx.Done():
		return zero, ctx.Err()
	case <-r.done:
		return zero, ErrClosed
	}
}

// Join joins the ring through any of via.
func (r *Runner) Join(ctx context.Context, via []Peer) error {
	err, cerr := call(ctx, r, func(n *Node, done func(error)) { n.Join(via, done) })
	if cerr != nil {
		return cerr
	}
	return err
}

// Lookup finds key's owner and its successors.
func (r *Runner) Lookup(ctx context.Context, key ID) (LookupResult, error) {
	res, err := call(ctx, r, func(n *Node, done func(LookupResult)) { n.Lookup(key, done) })
	if err != nil {
		return LookupResult{Key: key, Err: err}, err
	}
	return res, res.Err
}

// Put stores items on their owners.
func (r *Runner) Put(ctx context.Context, items []Item) (PutResult, error) {
	res, err := call(ctx, r, func(n *Node, done func(PutResult)) { n.Put(items, done) })
	if err != nil {
		return PutResult{Err: err}, err
	}
	return res, res.Err
}

// Get fetches values under key matching query.
func (r *Runner) Get(ctx context.Context, key ID, query []byte, limit int) (GetResult, error) {
	res, err := call(ctx, r, func(n *Node, done func(GetResult)) { n.Get(key, query, limit, done) })
	if err != nil {
		return GetResult{Err: err}, err
	}
	return res, res.Err
}

// State returns the node's state as of the last tick or operation.
func (r *Runner) State() NodeState {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.state
	s.Successors = append([]Peer(nil), s.Successors...)
	s.Fingers = append([]Peer(nil), s.Fingers...)
	return s
}

// Close stops the loop. With leave, the node first leaves gracefully and
// the loop keeps running for up to two ticks (at most a second) so that
// the transport can send the handoff and the neighbours' notices.
func (r *Runner) Close(leave bool) error {
	err := ErrClosed
	r.once.Do(func() {
		err = nil
		if leave {
			grace := min(2*r.tick, time.Second)
			ctx, cancel := context.WithTimeout(context.Background(), grace)
			if r.Do(ctx, func(n *Node) { n.Leave() }) == nil {
				for range 2 {
					select {
					case <-r.ticked:
						continue
					case <-ctx.Done():
					}
					break
				}
			}
			cancel()
		}
		close(r.stop)
		<-r.done
	})
	return err
}
