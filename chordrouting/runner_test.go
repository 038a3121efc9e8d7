package chordrouting

import (
	"context"
	"errors"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"
	"time"
)

// chanNet is an in-memory transport between Runners: Send hands the
// message to the receiver's Deliver (which never blocks).
type chanNet struct {
	mu      sync.Mutex
	runners map[string]*Runner
}

type chanTransport struct{ net *chanNet }

func (t chanTransport) Send(to Peer, m *Message) {
	t.net.mu.Lock()
	r := t.net.runners[to.Addr]
	t.net.mu.Unlock()
	if r != nil {
		r.Deliver(m)
	}
}

// manualClock is a TickerClock whose tickers fire only when the test says.
type manualClock struct {
	mu      sync.Mutex
	now     time.Time
	tickers []*manualTicker
}

type manualTicker struct {
	c       chan time.Time
	stopped chan struct{}
}

func (t *manualTicker) C() <-chan time.Time { return t.c }
func (t *manualTicker) Stop()               { close(t.stopped) }

func (c *manualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *manualClock) NewTicker(time.Duration) Ticker {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &manualTicker{c: make(chan time.Time), stopped: make(chan struct{})}
	c.tickers = append(c.tickers, t)
	return t
}

// tick advances time by one tick for every live ticker.
func (c *manualClock) tick() {
	c.mu.Lock()
	c.now = c.now.Add(100 * time.Millisecond)
	now, ts := c.now, append([]*manualTicker(nil), c.tickers...)
	c.mu.Unlock()
	for _, t := range ts {
		select {
		case t.c <- now:
		case <-t.stopped:
		}
	}
}

func TestRunnerRing(t *testing.T) {
	net := &chanNet{runners: map[string]*Runner{}}
	clock := &manualClock{now: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(uint64(seed), 1))
	var runners []*Runner
	var peers []Peer
	for i := range 3 {
		p := Peer{ID: HashID([]byte{byte(i)}), Addr: string(rune('a' + i))}
		n, err := NewNode(p, DefaultConfig(), chanTransport{net}, NewMemStorage(), clock, rand.New(rand.NewPCG(rng.Uint64(), 2)))
		if err != nil {
			t.Fatal(err)
		}
		r := NewRunner(n, 100*time.Millisecond, clock)
		net.mu.Lock()
		net.runners[p.Addr] = r
		net.mu.Unlock()
		runners, peers = append(runners, r), append(peers, p)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := runners[0].Do(ctx, func(n *Node) { n.Create() }); err != nil {
		t.Fatal(err)
	}
	for i := 1; i < 3; i++ {
		if err := runners[i].Join(ctx, peers[:1]); err != nil {
			t.Fatalf("join %d: %v", i, err)
		}
	}
	converged := func(want int) bool {
		for _, r := range runners[:want] {
			if s := r.State(); s.Predecessor == nil || len(s.Successors) != want-1 {
				return false
			}
		}
		return true
	}
	for !converged(3) {
		if ctx.Err() != nil {
			t.Fatal("ring of 3 did not converge")
		}
		clock.tick()
	}
	key := HashID([]byte("some key"))
	res, err := runners[2].Put(ctx, []Item{{Key: key, Value: []byte("v1")}})
	if err != nil || res.Stored != 1 {
		t.Fatalf("put: %+v %v", res, err)
	}
	got, err := runners[1].Get(ctx, key, nil, 0)
	if err != nil || len(got.Values) != 1 || string(got.Values[0]) != "v1" {
		t.Fatalf("get: %+v %v", got, err)
	}
	lr, err := runners[0].Lookup(ctx, key)
	if err != nil || len(lr.Successors) == 0 || lr.Successors[0].ID != got.From.ID {
		t.Fatalf("lookup %+v disagrees with get from %v (%v)", lr, got.From, err)
	}
	// Concurrent callers are serialized by the loop.
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _ = runners[i%3].Lookup(ctx, HashID([]byte{byte(i), 7}))
			_ = runners[i%3].State()
		}()
	}
	wg.Wait()
	// A graceful leave with the loop ticking meanwhile.
	stopTicks := make(chan struct{})
	ticking := make(chan struct{})
	go func() {
		defer close(ticking)
		for {
			select {
			case <-stopTicks:
				return
			default:
				clock.tick()
			}
		}
	}()
	if err := runners[2].Close(true); err != nil {
		t.Fatal(err)
	}
	net.mu.Lock()
	delete(net.runners, peers[2].Addr)
	net.mu.Unlock()
	for !converged(2) {
		if ctx.Err() != nil {
			t.Fatal("ring of 2 did not converge after the leave")
		}
		runtime.Gosched()
	}
	close(stopTicks)
	<-ticking
	if err := runners[2].Close(false); !errors.Is(err, ErrClosed) {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := runners[2].Lookup(ctx, key); !errors.Is(err, ErrClosed) {
		t.Fatalf("lookup after close: %v", err)
	}
	for _, r := range runners[:2] {
		if err := r.Close(false); err != nil {
			t.Fatal(err)
		}
	}
}

func TestRunnerContextCancel(t *testing.T) {
	clock := &manualClock{}
	n, err := NewNode(Peer{ID: HashID([]byte("x")), Addr: "x"}, DefaultConfig(), chanTransport{&chanNet{runners: map[string]*Runner{}}}, NewMemStorage(), clock, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	r := NewRunner(n, time.Second, clock)
	defer r.Close(false)
	// A join through a peer that never answers waits for timeouts, which
	// need ticks that never come: the context must end the wait.
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := r.Join(ctx, []Peer{{ID: HashID([]byte("y")), Addr: "nowhere"}}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("join: %v, want deadline exceeded", err)
	}
}
