package p2p

import (
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	cr "kwsearch/chordrouting"
)

// rateLimiter is a token bucket per peer: each peer may send rate requests
// per second on average and burst at once. It is safe for concurrent use.
type rateLimiter struct {
	rate    float64
	burst   float64
	clock   cr.Clock
	maxPeer int

	mu      sync.Mutex
	buckets map[peer.ID]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

func newRateLimiter(rate float64, burst int, maxPeers int, clock cr.Clock) *rateLimiter {
	return &rateLimiter{rate: rate, burst: float64(burst), clock: clock, maxPeer: maxPeers,
		buckets: make(map[peer.ID]*bucket)}
}

// allow takes one token from p's bucket, if it has one.
func (l *rateLimiter) allow(p peer.ID) bool {
	now := l.clock.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.buckets[p]
	if !ok {
		if len(l.buckets) >= l.maxPeer {
			l.prune(now)
		}
		b = &bucket{tokens: l.burst, last: now}
		l.buckets[p] = b
	}
	if el := now.Sub(b.last); el > 0 {
		b.tokens = min(l.burst, b.tokens+el.Seconds()*l.rate)
		b.last = now
	}
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// prune forgets the buckets that have refilled (forgetting them changes
// nothing); if none has, it forgets them all rather than grow without
// bound, which at worst grants each peer one more burst.
func (l *rateLimiter) prune(now time.Time) {
	for p, b := range l.buckets {
		if b.tokens+now.Sub(b.last).Seconds()*l.rate >= l.burst {
			delete(l.buckets, p)
		}
	}
	if len(l.buckets) >= l.maxPeer {
		clear(l.buckets)
	}
}
