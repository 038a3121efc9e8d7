package node

import (
	"context"
	"errors"
	"sync"
	"time"

	cr "kwsearch/chordrouting"
)

// ringRunner is what the node needs from the goroutine shell around the
// ring core (the contract's chordrouting.Runner has these methods).
type ringRunner interface {
	Deliver(m *cr.Message)
	Do(ctx context.Context, f func(*cr.Node)) error
	Join(ctx context.Context, via []cr.Peer) error
	Put(ctx context.Context, items []cr.Item) (cr.PutResult, error)
	Get(ctx context.Context, key cr.ID, query []byte, limit int) (cr.GetResult, error)
	State() cr.NodeState
	Close(leave bool) error
}

// ringLoop runs a *cr.Node on one goroutine: ticks, incoming messages and
// calls are serialized through one queue.
type ringLoop struct {
	node  *cr.Node
	queue chan func(*cr.Node)
	stop  chan struct{}
	done  chan struct{}
	tick  time.Duration

	mu    sync.Mutex
	state cr.NodeState
	once  sync.Once
}

var _ ringRunner = (*ringLoop)(nil)

// ringQueueLen bounds queued work; incoming messages beyond it are dropped
// (the transport is best effort, and the core treats them as lost).
const ringQueueLen = 4096

var errRingClosed = errors.New("node: the ring loop is closed")

func newRingLoop(n *cr.Node, tick time.Duration) *ringLoop {
	l := &ringLoop{node: n, queue: make(chan func(*cr.Node), ringQueueLen), stop: make(chan struct{}),
		done: make(chan struct{}), tick: tick, state: n.State()}
	go l.run()
	return l
}

func (l *ringLoop) run() {
	defer close(l.done)
	t := time.NewTicker(l.tick)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case f := <-l.queue:
			f(l.node)
		case <-t.C:
			l.node.Tick()
			st := l.node.State()
			l.mu.Lock()
			l.state = st
			l.mu.Unlock()
		}
	}
}

// Deliver queues an incoming message; it never blocks.
func (l *ringLoop) Deliver(m *cr.Message) {
	select {
	case l.queue <- func(n *cr.Node) { n.Step(m) }:
	default:
	}
}

// Do runs f on the loop and waits for it.
func (l *ringLoop) Do(ctx context.Context, f func(*cr.Node)) error {
	ran := make(chan struct{})
	select {
	case l.queue <- func(n *cr.Node) { f(n); close(ran) }:
	case <-l.done:
		return errRingClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-ran:
		return nil
	case <-l.done:
		return errRingClosed
	case <-ctx.Done():
		return ctx.Err()
	}
}

// call starts an asynchronous core operation and waits for its callback.
func call[T any](ctx context.Context, l *ringLoop, start func(*cr.Node, func(T))) (T, error) {
	res := make(chan T, 1)
	var zero T
	if err := l.Do(ctx, func(n *cr.Node) { start(n, func(v T) { res <- v }) }); err != nil {
		return zero, err
	}
	select {
	case v := <-res:
		return v, nil
	case <-l.done:
		return zero, errRingClosed
	case <-ctx.Done():
		return zero, ctx.Err()
	}
}

func (l *ringLoop) Join(ctx context.Context, via []cr.Peer) error {
	err, cerr := call(ctx, l, func(n *cr.Node, done func(error)) { n.Join(via, done) })
	if cerr != nil {
		return cerr
	}
	return err
}

func (l *ringLoop) Put(ctx context.Context, items []cr.Item) (cr.PutResult, error) {
	r, err := call(ctx, l, func(n *cr.Node, done func(cr.PutResult)) { n.Put(items, done) })
	if err != nil {
		return r, err
	}
	return r, r.Err
}

func (l *ringLoop) Get(ctx context.Context, key cr.ID, query []byte, limit int) (cr.GetResult, error) {
	r, err := call(ctx, l, func(n *cr.Node, done func(cr.GetResult)) { n.Get(key, query, limit, done) })
	if err != nil {
		return r, err
	}
	return r, r.Err
}

// State returns the latest snapshot (fresh when the loop answers quickly).
func (l *ringLoop) State() cr.NodeState {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	var st cr.NodeState
	if l.Do(ctx, func(n *cr.Node) { st = n.State() }) == nil {
		l.mu.Lock()
		l.state = st
		l.mu.Unlock()
		return st
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.state
}

// leaveGrace is how long Close keeps the loop running after a graceful
// Leave, so that the handoff's stores are answered.
const leaveGrace = time.Second

// Close stops the loop, leaving the ring gracefully first if asked.
func (l *ringLoop) Close(leave bool) error {
	var err error
	l.once.Do(func() {
		if leave {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			err = l.Do(ctx, func(n *cr.Node) { n.Leave() })
			cancel()
			if err == nil {
				t := time.NewTimer(leaveGrace)
				<-t.C
			}
		}
		close(l.stop)
		<-l.done
	})
	return err
}
