package bootstrap

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync/atomic"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
)

func testBootstrapConfig(peers ...peer.AddrInfo) BootstrapConfig {
	cfg := DefaultBootstrapConfig()
	cfg.Peers = peers
	cfg.MinConnections = 1
	return cfg
}

func seededRand(t *testing.T) *rand.Rand {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	return rand.New(rand.NewPCG(seed, 2))
}

// nextAttempt reads the retry time of the only known peer.
func (b *Bootstrapper) nextAttempt() (time.Time, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.known[0].next, b.known[0].dialing
}

// TestBootstrapperBackoff drives the retry schedule with a fake clock and a
// dialer that fails four times: each wait lies in the upper half of the
// doubled back-off, the loop sleeps exactly until the retry, and the fifth
// attempt's success is reported.
func TestBootstrapperBackoff(t *testing.T) {
	h := newTestHost(t, testConfig(t, ModeClient))
	target := peer.AddrInfo{ID: newTestHost(t, testConfig(t, ModeServer)).ID(), Addrs: h.Addrs()}
	clk := newFakeClock()
	b, err := NewBootstrapper(h, testBootstrapConfig(target), clk, seededRand(t))
	if err != nil {
		t.Fatal(err)
	}
	var dials atomic.Int32
	const failures = 4
	b.dial = func(ctx context.Context, p peer.AddrInfo) error {
		if dials.Add(1) <= failures {
			return errors.New("refused")
		}
		return nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- b.Run(ctx) }()
	defer func() { cancel(); <-done }()

	want := b.cfg.InitialBackoff
	for n := 1; n <= failures; n++ {
		eventually(t, "a failed dial recorded", func() bool {
			next, dialing := b.nextAttempt()
			return int(dials.Load()) == n && !dialing && !next.IsZero()
		})
		next, _ := b.nextAttempt()
		gap := next.Sub(clk.Now())
		if gap < want/2 || gap > want {
			t.Fatalf("failure %d: retry after %v, want within [%v, %v]", n, gap, want/2, want)
		}
		eventually(t, "the loop to sleep until the retry", func() bool { return clk.hasWaiterAt(next) })
		if got := dials.Load(); int(got) != n {
			t.Fatalf("dialed %d times before the back-off expired, want %d", got, n)
		}
		clk.AdvanceTo(next)
		want = min(2*want, b.cfg.MaxBackoff)
	}
	wctx, wcancel := context.WithTimeout(ctx, 10*time.Second)
	defer wcancel()
	got, err := b.WaitAnswered(wctx)
	if err != nil || len(got) != 1 || got[0].ID != target.ID {
		t.Fatalf("WaitAnswered = %v, %v; want [%s]", got, err, target.ID)
	}
}

func TestBackoffCapped(t *testing.T) {
	b := &Bootstrapper{cfg: DefaultBootstrapConfig(), rng: seededRand(t)}
	for n := 1; n < 80; n++ {
		d := b.backoff(n)
		if d < b.cfg.InitialBackoff/2 || d > b.cfg.MaxBackoff {
			t.Fatalf("backoff(%d) = %v outside [%v, %v]", n, d, b.cfg.InitialBackoff/2, b.cfg.MaxBackoff)
		}
	}
}

// TestBootstrapperRetriesRealPeer: the bootstrap peer is down at first; the
// dial fails, and after the back-off (fake clock) the peer, now up at the
// same address with the same key, is connected and reported.
func TestBootstrapperRetriesRealPeer(t *testing.T) {
	peerCfg := testConfig(t, ModeServer, "/ip4/127.0.0.1/tcp/0")
	first, err := New(peerCfg)
	if err != nil {
		t.Fatal(err)
	}
	info := peer.AddrInfo{ID: first.ID(), Addrs: first.Addrs()}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}

	h := newTestHost(t, testConfig(t, ModeClient))
	clk := newFakeClock()
	cfg := testBootstrapConfig(info)
	cfg.DialTimeout = 5 * time.Second
	b, err := NewBootstrapper(h, cfg, clk, seededRand(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- b.Run(ctx) }()
	defer func() { cancel(); <-done }()

	eventually(t, "the first dial to fail", func() bool {
		next, dialing := b.nextAttempt()
		return !dialing && !next.IsZero()
	})
	if len(b.Answered()) != 0 {
		t.Fatal("a peer that is down answered")
	}
	peerCfg.Listen = info.Addrs
	newTestHost(t, peerCfg)
	next, _ := b.nextAttempt()
	eventually(t, "the loop to sleep until the retry", func() bool { return clk.hasWaiterAt(next) })
	clk.AdvanceTo(next)
	wctx, wcancel := context.WithTimeout(ctx, 10*time.Second)
	defer wcancel()
	if _, err := b.WaitAnswered(wctx); err != nil {
		t.Fatal(err)
	}
	if h.Network().Connectedness(info.ID) != network.Connected {
		t.Error("answered but not connected")
	}
}

func TestBootstrapConfigValidate(t *testing.T) {
	good := DefaultBootstrapConfig()
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	bad := map[string]func(*BootstrapConfig){
		"no connections":   func(c *BootstrapConfig) { c.MinConnections = 0 },
		"backoff inverted": func(c *BootstrapConfig) { c.MaxBackoff = c.InitialBackoff / 2 },
		"no timeout":       func(c *BootstrapConfig) { c.DialTimeout = 0 },
		"peer without addr": func(c *BootstrapConfig) {
			c.Peers = []peer.AddrInfo{{ID: "x"}}
		},
	}
	for name, mutate := range bad {
		c := good
		mutate(&c)
		if c.Validate() == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// TestBootstrapperKeepsMinConnections: with three bootstrap peers and
// MinConnections 2 it connects to two and leaves the third alone; when one
// connection drops, the next check (fake clock) restores two.
func TestBootstrapperKeepsMinConnections(t *testing.T) {
	h := newTestHost(t, testConfig(t, ModeClient))
	var peers []peer.AddrInfo
	for i := 0; i < 3; i++ {
		p := newTestHost(t, testConfig(t, ModeServer, "/ip4/127.0.0.1/tcp/0"))
		peers = append(peers, peer.AddrInfo{ID: p.ID(), Addrs: p.Addrs()})
	}
	connected := func() int {
		n := 0
		for _, p := range peers {
			if h.Network().Connectedness(p.ID) == network.Connected {
				n++
			}
		}
		return n
	}
	clk := newFakeClock()
	cfg := testBootstrapConfig(peers...)
	cfg.MinConnections = 2
	b, err := NewBootstrapper(h, cfg, clk, seededRand(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- b.Run(ctx) }()
	defer func() { cancel(); <-done }()

	check := func() time.Time { return clk.Now().Add(cfg.CheckInterval) }
	eventually(t, "two connections and the loop idle", func() bool {
		return connected() == 2 && len(b.Answered()) == 2 && clk.hasWaiterAt(check())
	})
	clk.AdvanceTo(check())
	eventually(t, "the loop idle again", func() bool { return clk.hasWaiterAt(check()) })
	if n := connected(); n != 2 || len(b.Answered()) != 2 {
		t.Fatalf("after a check with enough connections: %d connected, %d answered; want 2 and 2", n, len(b.Answered()))
	}

	first := b.Answered()[0].ID
	if err := h.Network().ClosePeer(first); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the drop noticed", func() bool { return connected() == 1 })
	clk.AdvanceTo(check())
	eventually(t, "two connections again", func() bool { return connected() == 2 })
}
