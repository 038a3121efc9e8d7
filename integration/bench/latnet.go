package main

import (
	"context"
	"fmt"
	"math/rand"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	mocknet "github.com/libp2p/go-libp2p/p2p/net/mock"
	"github.com/libp2p/go-libp2p/p2p/net/swarm"
	ma "github.com/multiformats/go-multiaddr"
)

// latencyNet is n in-process hosts on a mocknet where every pair of hosts
// has its own round-trip time.
type latencyNet struct {
	mn      mocknet.Mocknet
	Hosts   []host.Host
	MeanRTT time.Duration
}

// newLatencyNet builds n hosts with keys drawn from rng and links every pair
// with a round trip drawn uniformly from [rttMin, rttMax]. mocknet delays
// each write by the link's latency, one way, so a link gets half the RTT.
// With public, the hosts' addresses are public ones (11.0.0.0/8; nothing
// leaves the process), which kad-dht's fullrt client requires of the
// peers it keeps; else private ones (10.0.0.0/8).
func newLatencyNet(rng *rand.Rand, n int, rttMin, rttMax time.Duration, public bool) (*latencyNet, error) {
	ln := &latencyNet{mn: mocknet.New()}
	for i := 0; i < n; i++ {
		sk, _, err := crypto.GenerateEd25519Key(rng)
		if err != nil {
			ln.Close()
			return nil, fmt.Errorf("bench: host key %d: %w", i, err)
		}
		first := 10
		if public {
			first = 11
		}
		addr := ma.StringCast(fmt.Sprintf("/ip4/%d.%d.%d.%d/tcp/4001", first, i>>16&255, i>>8&255, i&255))
		h, err := ln.mn.AddPeer(sk, addr)
		if err != nil {
			ln.Close()
			return nil, fmt.Errorf("bench: adding host %d: %w", i, err)
		}
		ln.Hosts = append(ln.Hosts, h)
	}
	var sum time.Duration
	pairs := 0
	spread := int64(rttMax - rttMin)
	for i := 0; i < n; i++ {
		for j := i + 1; j < n; j++ {
			rtt := rttMin + time.Duration(rng.Int63n(spread+1))
			l, err := ln.mn.LinkPeers(ln.Hosts[i].ID(), ln.Hosts[j].ID())
			if err != nil {
				ln.Close()
				return nil, fmt.Errorf("bench: linking hosts %d and %d: %w", i, j, err)
			}
			l.SetOptions(mocknet.LinkOptions{Latency: rtt / 2})
			sum += rtt
			pairs++
		}
	}
	ln.MeanRTT = sum / time.Duration(pairs)
	return ln, nil
}

// RTT is the round trip of the link between a and b (0 when they are not
// linked).
func (ln *latencyNet) RTT(a, b peer.ID) time.Duration {
	links := ln.mn.LinksBetweenPeers(a, b)
	if len(links) == 0 {
		return 0
	}
	return 2 * links[0].Options().Latency
}

// Close stops every host.
func (ln *latencyNet) Close() error { return ln.mn.Close() }

// connectRandom makes every host dial degree random other hosts, as a
// fresh network whose hosts know a few bootstrap peers each, width dials at
// a time.
func connectRandom(ctx context.Context, rng *rand.Rand, hosts []host.Host, degree, width int) error {
	type pair struct{ a, b int }
	var pairs []pair
	for i := range hosts {
		for _, j := range rng.Perm(len(hosts) - 1)[:min(degree, len(hosts)-1)] {
			if j >= i {
				j++
			}
			pairs = append(pairs, pair{i, j})
		}
	}
	return parallel(ctx, width, len(pairs), func(ctx context.Context, k int) error {
		a, b := hosts[pairs[k].a], hosts[pairs[k].b]
		var first, err error
		// Real handshakes on a busy machine can time out: try again, past
		// the swarm's dial backoff.
		for attempt := 0; attempt < 3; attempt++ {
			cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			err = a.Connect(network.WithForceDirectDial(cctx, "bench retry"), peer.AddrInfo{ID: b.ID(), Addrs: b.Addrs()})
			cancel()
			if err == nil || ctx.Err() != nil {
				break
			}
			if first == nil {
				first = err
			}
			if sw, ok := a.Network().(interface{ Backoff() *swarm.DialBackoff }); ok {
				sw.Backoff().Clear(b.ID())
			}
		}
		if err != nil {
			return fmt.Errorf("bench: connecting %s to %s: %w (first attempt: %v)", a.ID(), b.ID(), err, first)
		}
		return nil
	})
}

// disconnectAll closes every connection, so that the next system starts
// from the same cold state as the previous one.
func disconnectAll(hosts []host.Host) {
	for _, h := range hosts {
		for _, p := range h.Network().Peers() {
			_ = h.Network().ClosePeer(p)
		}
	}
}

// parallel runs f(0..n-1) on at most width goroutines and returns the first
// error.
func parallel(ctx context.Context, width, n int, f func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	next := make(chan int)
	for w := 0; w < min(width, n); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := f(ctx, i); err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
						cancel()
					}
					mu.Unlock()
				}
			}
		}()
	}
	for i := 0; i < n; i++ {
		select {
		case next <- i:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
	}
	close(next)
	wg.Wait()
	if firstErr == nil && ctx.Err() != nil {
		return ctx.Err()
	}
	return firstErr
}
