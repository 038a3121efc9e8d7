package bootstrap

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/peerstore"
	ma "github.com/multiformats/go-multiaddr"
)

// peerstoreTTL keeps bootstrap addresses for the node's life.
const peerstoreTTL = peerstore.PermanentAddrTTL

// maxKnownPeers bounds the peers a Bootstrapper tries.
const maxKnownPeers = 256

// BootstrapConfig configures a Bootstrapper.
type BootstrapConfig struct {
	// Peers are the configured bootstrap peers (--bootstrap).
	Peers []peer.AddrInfo
	// Remembered are peers known from earlier runs; tried after Peers.
	Remembered []peer.AddrInfo
	// MinConnections is how many of these peers the node keeps connected.
	MinConnections int
	// InitialBackoff is the wait before retrying a peer after its first
	// failure; it doubles with each further failure up to MaxBackoff.
	InitialBackoff time.Duration
	MaxBackoff     time.Duration
	// DialTimeout bounds one connection attempt.
	DialTimeout time.Duration
	// CheckInterval is how often the connection count is checked while it
	// is high enough.
	CheckInterval time.Duration
}

// DefaultBootstrapConfig returns the bootstrap settings of a node.
func DefaultBootstrapConfig() BootstrapConfig {
	return BootstrapConfig{
		// Three bootstrap connections survive one or two bootstrap peers
		// leaving, and give AutoNAT three independent observers.
		MinConnections: 3,
		// One second: quick recovery when the bootstrap peer is merely
		// starting up at the same time as this node.
		InitialBackoff: time.Second,
		// Five minutes: a dead bootstrap peer costs one dial per peer per
		// five minutes, while a restarted one is found again soon enough.
		MaxBackoff: 5 * time.Minute,
		// 15 s covers a QUIC and a TCP handshake over a slow path.
		DialTimeout: 15 * time.Second,
		// 30 s: losing connections is noticed well within a ring
		// stabilization period.
		CheckInterval: 30 * time.Second,
	}
}

// Validate reports the first inconsistent field.
func (c BootstrapConfig) Validate() error {
	if c.MinConnections < 1 {
		return fmt.Errorf("bootstrap: MinConnections %d must be at least 1", c.MinConnections)
	}
	if c.InitialBackoff <= 0 || c.MaxBackoff < c.InitialBackoff {
		return fmt.Errorf("bootstrap: InitialBackoff %v must be positive and at most MaxBackoff %v", c.InitialBackoff, c.MaxBackoff)
	}
	if c.DialTimeout <= 0 || c.CheckInterval <= 0 {
		return errors.New("bootstrap: DialTimeout and CheckInterval must be positive")
	}
	for _, p := range c.Peers {
		if p.ID == "" || len(p.Addrs) == 0 {
			return fmt.Errorf("bootstrap: bootstrap peer %q needs an ID and an address", p.ID)
		}
	}
	return nil
}

// Bootstrapper keeps a node connected to its bootstrap and remembered
// peers: it dials them, retries failures with exponential back-off and
// jitter, and reports which peers answered.
type Bootstrapper struct {
	h     host.Host
	cfg   BootstrapConfig
	clock Clock
	dial  func(ctx context.Context, p peer.AddrInfo) error

	mu       sync.Mutex
	rng      *rand.Rand
	known    []*target
	answered []peer.AddrInfo
	notify   chan struct{} // closed and replaced when a peer first answers
	added    chan struct{} // wakes Run when peers are added
}

// target is one peer to keep connected and its retry state.
type target struct {
	info     peer.AddrInfo
	failures int
	next     time.Time // no attempt before this
	dialing  bool
}

// NewBootstrapper returns a Bootstrapper for h; call Run.
func NewBootstrapper(h host.Host, cfg BootstrapConfig, clock Clock, rng *rand.Rand) (*Bootstrapper, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	b := &Bootstrapper{
		h: h, cfg: cfg, clock: clock, rng: rng,
		notify: make(chan struct{}),
		added:  make(chan struct{}, 1),
	}
	b.dial = func(ctx context.Context, p peer.AddrInfo) error {
		// The Bootstrapper has its own back-off; the swarm's would turn
		// our retry into an immediate "dial backoff" error.
		return h.Connect(network.WithForceDirectDial(ctx, "kwsearch bootstrap retry"), p)
	}
	b.AddPeers(cfg.Peers...)
	b.AddPeers(cfg.Remembered...)
	return b, nil
}

// AddPeers adds peers to keep connected (remembered peers, ring nodes).
func (b *Bootstrapper) AddPeers(ps ...peer.AddrInfo) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, p := range ps {
		if p.ID == "" || p.ID == b.h.ID() || len(p.Addrs) == 0 || len(b.known) >= maxKnownPeers {
			continue
		}
		i := slices.IndexFunc(b.known, func(t *target) bool { return t.info.ID == p.ID })
		if i >= 0 {
			b.known[i].info.Addrs = uniqueAddrs(append(b.known[i].info.Addrs, p.Addrs...))
			continue
		}
		b.known = append(b.known, &target{info: peer.AddrInfo{ID: p.ID, Addrs: slices.Clone(p.Addrs)}})
	}
	select {
	case b.added <- struct{}{}:
	default:
	}
}

// Answered returns the peers that accepted a connection, in the order they
// first answered.
func (b *Bootstrapper) Answered() []peer.AddrInfo {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.answered)
}

// WaitAnswered blocks until at least one peer has answered, and returns
// the peers that have.
func (b *Bootstrapper) WaitAnswered(ctx context.Context) ([]peer.AddrInfo, error) {
	for {
		b.mu.Lock()
		got, ch := slices.Clone(b.answered), b.notify
		b.mu.Unlock()
		if len(got) > 0 {
			return got, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("bootstrap: waiting for a bootstrap peer: %w", ctx.Err())
		case <-ch:
		}
	}
}

// dialResult is one finished attempt.
type dialResult struct {
	t   *target
	err error
}

// Run dials until ctx ends. It returns ctx's error.
func (b *Bootstrapper) Run(ctx context.Context) error {
	results := make(chan dialResult)
	for {
		wait := b.startDue(ctx, results)
		select {
		case <-ctx.Done():
			b.drain(results)
			return ctx.Err()
		case r := <-results:
			b.record(r)
		case <-b.added:
		case <-b.clock.After(wait):
		}
	}
}

// drain waits for dials in flight (they end with ctx).
func (b *Bootstrapper) drain(results chan dialResult) {
	for {
		b.mu.Lock()
		n := 0
		for _, t := range b.known {
			if t.dialing {
				n++
			}
		}
		b.mu.Unlock()
		if n == 0 {
			return
		}
		b.record(<-results)
	}
}

// startDue starts dials to disconnected peers whose back-off has expired,
// when fewer than MinConnections of them are connected, and returns how
// long to wait before looking again.
func (b *Bootstrapper) startDue(ctx context.Context, results chan<- dialResult) time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.clock.Now()
	connected := 0 // connected or being dialed
	for _, t := range b.known {
		if t.dialing || b.h.Network().Connectedness(t.info.ID) == network.Connected {
			connected++
		}
	}
	wait := b.cfg.CheckInterval
	for _, t := range b.known {
		if connected >= b.cfg.MinConnections {
			break
		}
		if t.dialing || b.h.Network().Connectedness(t.info.ID) == network.Connected {
			continue
		}
		if d := t.next.Sub(now); d > 0 {
			wait = min(wait, d)
			continue
		}
		t.dialing = true
		connected++
		go func(t *target, info peer.AddrInfo) {
			dctx, cancel := context.WithTimeout(ctx, b.cfg.DialTimeout)
			defer cancel()
			err := b.dial(dctx, info)
			results <- dialResult{t, err}
		}(t, peer.AddrInfo{ID: t.info.ID, Addrs: slices.Clone(t.info.Addrs)})
	}
	return wait
}

// record applies one attempt's outcome.
func (b *Bootstrapper) record(r dialResult) {
	b.mu.Lock()
	defer b.mu.Unlock()
	t := r.t
	t.dialing = false
	if r.err != nil {
		t.failures++
		t.next = b.clock.Now().Add(b.backoff(t.failures))
		return
	}
	t.failures = 0
	t.next = time.Time{}
	b.h.ConnManager().Protect(t.info.ID, "kwsearch-bootstrap")
	if !slices.ContainsFunc(b.answered, func(p peer.AddrInfo) bool { return p.ID == t.info.ID }) {
		b.answered = append(b.answered, peer.AddrInfo{ID: t.info.ID, Addrs: slices.Clone(t.info.Addrs)})
		close(b.notify)
		b.notify = make(chan struct{})
	}
}

// backoff is the wait after the n-th consecutive failure (n >= 1):
// InitialBackoff·2^(n-1) capped at MaxBackoff, then "equal jitter": a
// uniformly random point in its upper half, so peers that failed together
// do not retry together.
func (b *Bootstrapper) backoff(n int) time.Duration {
	d := b.cfg.InitialBackoff
	for i := 1; i < n && d < b.cfg.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, b.cfg.MaxBackoff)
	half := d / 2
	return half + time.Duration(b.rng.Int64N(int64(d-half)+1))
}

// uniqueAddrs removes duplicate addresses.
func uniqueAddrs(as []ma.Multiaddr) []ma.Multiaddr { return ma.Unique(as) }
