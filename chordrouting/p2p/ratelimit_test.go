package p2p

import (
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
)

// fakeClock is a clock tests move by hand.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func TestRateLimiter(t *testing.T) {
	clock := &fakeClock{now: time.Unix(1000, 0)}
	l := newRateLimiter(2, 3, 10, clock)
	a, b := peer.ID("a"), peer.ID("b")
	for i := 0; i < 3; i++ {
		if !l.allow(a) {
			t.Fatalf("burst request %d refused", i)
		}
	}
	if l.allow(a) {
		t.Fatal("request over the burst allowed")
	}
	if !l.allow(b) {
		t.Fatal("another peer is limited by a's use")
	}
	clock.Advance(500 * time.Millisecond) // one token at 2/s
	if !l.allow(a) || l.allow(a) {
		t.Fatal("refill: want exactly one token after 500ms")
	}
	clock.Advance(time.Hour)
	for i := 0; i < 3; i++ {
		if !l.allow(a) {
			t.Fatalf("after refill, request %d refused", i)
		}
	}
	if l.allow(a) {
		t.Fatal("refill exceeded the burst")
	}
}

func TestRateLimiterBoundsPeers(t *testing.T) {
	clock := &fakeClock{now: time.Unix(1000, 0)}
	l := newRateLimiter(1, 1, 4, clock)
	for i := 0; i < 100; i++ {
		l.allow(peer.ID(rune('a' + i)))
		if n := len(l.buckets); n > 4 {
			t.Fatalf("%d buckets, cap 4", n)
		}
	}
}
