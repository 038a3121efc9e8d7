package blockxfer

import (
	"testing"
	"time"
)

type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time          { return c.t }
func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }

func newTestScheduler(n int, have []int) (*scheduler, *fakeClock, *[]int) {
	clk := &fakeClock{t: time.Unix(1000, 0)}
	var recorded []int
	s := newScheduler(n, have, schedConfig{
		now: clk.now, minWindow: 2, maxWindow: 16, initialWindow: 4, queueTime: time.Second,
		blockLen: func(int) int { return BlockSize },
	}, func(i int) error { recorded = append(recorded, i); return nil })
	return s, clk, &recorded
}

func TestSchedulerHandsOutEachBlockOnce(t *testing.T) {
	s, clk, recorded := newTestScheduler(10, []int{0, 5})
	a, b := &peerSched{}, &peerSched{}
	seen := map[int]bool{}
	for _, p := range []*peerSched{a, b, a, b, a, b, a, b} {
		if i, ok := s.next(p, 0); ok {
			if seen[i] {
				t.Fatalf("block %d handed out twice", i)
			}
			seen[i] = true
		}
	}
	if len(seen) != 8 || seen[0] || seen[5] {
		t.Fatalf("handed out %v, want the 8 missing blocks", seen)
	}
	// a fails: its blocks go back and b gets them.
	aBlocks := []int{}
	for _, q := range a.queue {
		aBlocks = append(aBlocks, q.index)
	}
	s.fail(a)
	if _, ok := s.next(a, 0); ok {
		t.Fatal("a dead peer got a block")
	}
	for range aBlocks {
		clk.advance(10 * time.Millisecond)
		if err := deliver(s, b); err != nil {
			t.Fatal(err)
		}
		if _, ok := s.next(b, 0); !ok {
			t.Fatal("b got no block back from a")
		}
	}
	for len(b.queue) > 0 {
		clk.advance(10 * time.Millisecond)
		if err := deliver(s, b); err != nil {
			t.Fatal(err)
		}
		s.next(b, 0)
	}
	select {
	case <-s.finished:
	default:
		t.Fatalf("not finished; %d remaining", s.remaining)
	}
	if len(*recorded) != 8 {
		t.Fatalf("recorded %v", *recorded)
	}
}

func TestSchedulerWindowFollowsRate(t *testing.T) {
	s, clk, _ := newTestScheduler(100, nil)
	p := &peerSched{}
	n := fill(s, p)
	if n != 4 {
		t.Fatalf("initial window %d, want 4", n)
	}
	// 4 blocks per second: 1 MiB/s, one second of queue = 4 blocks.
	for range 20 {
		clk.advance(250 * time.Millisecond)
		if err := deliver(s, p); err != nil {
			t.Fatal(err)
		}
		fill(s, p)
	}
	if w := s.window(p); w != 4 {
		t.Errorf("window at 1 MiB/s = %d, want 4", w)
	}
	for range 40 {
		clk.advance(10 * time.Millisecond)
		if err := deliver(s, p); err != nil {
			t.Fatal(err)
		}
		fill(s, p)
	}
	if w := s.window(p); w != 16 {
		t.Errorf("window at 25 MiB/s = %d, want the maximum 16", w)
	}
}

func fill(s *scheduler, p *peerSched) int {
	n := 0
	for {
		if _, ok := s.next(p, 0); !ok {
			return n
		}
		n++
	}
}

// measure gives p a rate of one block per d.
func measure(t *testing.T, s *scheduler, clk *fakeClock, p *peerSched, d time.Duration) {
	t.Helper()
	if _, ok := s.next(p, 0); !ok {
		t.Fatal("no block to measure with")
	}
	clk.advance(d)
	if err := deliver(s, p); err != nil {
		t.Fatal(err)
	}
}

func TestSchedulerEndgame(t *testing.T) {
	t.Run("fast peer re-asks a slow peer's last block", func(t *testing.T) {
		s, clk, _ := newTestScheduler(4, nil)
		fast, slow := &peerSched{}, &peerSched{}
		measure(t, s, clk, fast, 10*time.Millisecond)
		measure(t, s, clk, slow, time.Second)
		i, ok := s.next(slow, 0)
		if !ok {
			t.Fatal("idle slow peer got no block")
		}
		if j, ok := s.next(slow, 0); ok {
			t.Fatalf("busy slow peer took block %d that the fast peer will deliver sooner", j)
		}
		j, ok := s.next(fast, 0)
		if !ok || j == i {
			t.Fatalf("fast peer got %d, %v; want the last fresh block", j, ok)
		}
		got, ok := s.next(fast, 0)
		if !ok || got != i {
			t.Fatalf("fast peer got %d, %v; want a duplicate of the slow peer's %d", got, ok, i)
		}
		// The fast copies arrive first and count; the slow one is a duplicate.
		for range 2 {
			clk.advance(10 * time.Millisecond)
			if err := deliver(s, fast); err != nil {
				t.Fatal(err)
			}
		}
		if err := deliver(s, slow); err != nil {
			t.Fatal(err)
		}
		if s.stats.duplicates != 1 || !s.done[i] || !s.done[j] {
			t.Fatalf("stats %+v", s.stats)
		}
		select {
		case <-s.finished:
		default:
			t.Fatal("not finished")
		}
	})
	t.Run("equal peers do not duplicate", func(t *testing.T) {
		s, clk, _ := newTestScheduler(4, nil)
		a, b := &peerSched{}, &peerSched{}
		measure(t, s, clk, a, 100*time.Millisecond)
		measure(t, s, clk, b, 100*time.Millisecond)
		s.next(a, 0)
		s.next(b, 0)
		if i, ok := s.next(a, 0); ok {
			t.Fatalf("peer of equal speed duplicated block %d", i)
		}
	})
	t.Run("a stalled peer's blocks move", func(t *testing.T) {
		s, clk, _ := newTestScheduler(3, nil)
		a, b := &peerSched{}, &peerSched{}
		measure(t, s, clk, a, 100*time.Millisecond)
		measure(t, s, clk, b, 100*time.Millisecond)
		i, _ := s.next(a, 0)
		if _, ok := s.next(b, 0); ok {
			t.Fatal("duplicate before any stall")
		}
		clk.advance(5 * time.Second)
		if got, ok := s.next(b, 0); !ok || got != i {
			t.Fatalf("after a's stall b got %d, %v; want %d", got, ok, i)
		}
	})
}

// deliver answers p's head request and completes it.
func deliver(s *scheduler, p *peerSched) error {
	q := s.received(p, BlockSize)
	return s.complete(p, q, BlockSize, true)
}

func TestSchedulerRefillsInBatches(t *testing.T) {
	s, clk, _ := newTestScheduler(200, nil)
	fast, slow := &peerSched{}, &peerSched{}
	// fast: one block per ms, window at the maximum 16; slow: one block
	// per second, window at the minimum 2.
	for range 20 {
		measure(t, s, clk, fast, time.Millisecond)
	}
	measure(t, s, clk, slow, time.Second)
	if w := s.window(fast); w != 16 {
		t.Fatalf("fast window %d, want 16", w)
	}
	if !s.refillDue(fast) || fill(s, fast) != 16 {
		t.Fatal("an empty window is not refilled at once")
	}
	for k := 1; k <= 4; k++ {
		clk.advance(time.Millisecond)
		if err := deliver(s, fast); err != nil {
			t.Fatal(err)
		}
		if due := s.refillDue(fast); due != (k == 4) {
			t.Fatalf("%d of 16 slots free: refillDue %v, want it only at a quarter (4)", k, due)
		}
	}
	if n := fill(s, fast); n != 4 {
		t.Fatalf("refill asked %d blocks, want 4", n)
	}
	// A window of 2 refills after every answer.
	fill(s, slow)
	clk.advance(time.Second)
	if err := deliver(s, slow); err != nil {
		t.Fatal(err)
	}
	if !s.refillDue(slow) {
		t.Fatal("a window of 2 with a free slot is not refilled")
	}
}
