package p2p

import (
	"context"
	crand "crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/peerstore"

	cr "kwsearch/chordrouting"
)

// WallClock is the real clock.
type WallClock struct{}

// Now returns the current time.
func (WallClock) Now() time.Time { return time.Now() }

// Options configure New.
type Options struct {
	// Transport configures the stream transport (DefaultConfig if zero).
	Transport Config
	// Tick is the Runner's tick period (500ms if zero): the ring's timeouts
	// and maintenance periods are counted in ticks.
	Tick time.Duration
	// Clock tells the time for record expiry and rate limits (WallClock if
	// nil).
	Clock cr.Clock
	// Rand drives the node's random choices (seeded from crypto/rand if nil).
	Rand *rand.Rand
}

// Ring is a ring node on a libp2p host: the core Node inside its Runner,
// with the Transport it talks through.
type Ring struct {
	Runner    *cr.Runner
	Transport *Transport
	host      host.Host
}

// New starts a ring node on h, not yet a member: call Create, Join (or
// JoinVia) to become one, or SetEntryPoints for client mode. It refuses a
// transport whose MaxOutbound is below cfg.MaxPending, or whose
// MaxInboundPerPeer is below cfg.MaxOpsPerPeer plus the maintenance a
// peer may have in flight plus MaxOpsPerPeer of headroom
// (Config.ValidateRing).
func New(h host.Host, cfg cr.Config, st cr.Storage, opt Options) (*Ring, error) {
	if opt.Transport == (Config{}) {
		opt.Transport = DefaultConfig()
	}
	if opt.Tick <= 0 {
		opt.Tick = 500 * time.Millisecond
	}
	if opt.Clock == nil {
		opt.Clock = WallClock{}
	}
	if opt.Rand == nil {
		var seed [16]byte
		if _, err := crand.Read(seed[:]); err != nil {
			return nil, fmt.Errorf("chordrouting/p2p: seeding: %w", err)
		}
		opt.Rand = rand.New(rand.NewPCG(binary.LittleEndian.Uint64(seed[:8]), binary.LittleEndian.Uint64(seed[8:])))
	}
	if err := opt.Transport.ValidateRing(cfg); err != nil {
		return nil, err
	}
	tr, err := NewTransport(h, opt.Transport, opt.Clock)
	if err != nil {
		return nil, err
	}
	if cfg.AdmitFinger == nil {
		cfg.AdmitFinger = tr.AdmitFinger // fingers limited per IP and subnet
	}
	n, err := cr.NewNode(tr.Self(), cfg, tr, st, opt.Clock, opt.Rand)
	if err != nil {
		return nil, fmt.Errorf("chordrouting/p2p: %w", err)
	}
	r := &Ring{Runner: cr.NewRunner(n, opt.Tick, opt.Clock), Transport: tr, host: h}
	tr.Start(r.Runner.Deliver)
	return r, nil
}

// Self is this node's ring peer.
func (r *Ring) Self() cr.Peer { return r.Transport.Self() }

// Create makes this node a ring of one.
func (r *Ring) Create(ctx context.Context) error {
	return r.Runner.Do(ctx, func(n *cr.Node) { n.Create() })
}

// JoinVia joins the ring through any of these peers (their addresses are
// added to the peerstore first).
func (r *Ring) JoinVia(ctx context.Context, via []peer.AddrInfo) error {
	return r.Runner.Join(ctx, r.learnPeers(via))
}

// SetEntryPoints makes this node a client of the ring (not a member),
// asking these ring nodes to look up, publish and search for it.
func (r *Ring) SetEntryPoints(ctx context.Context, via []peer.AddrInfo) error {
	peers := r.learnPeers(via)
	return r.Runner.Do(ctx, func(n *cr.Node) { n.SetEntryPoints(peers) })
}

func (r *Ring) learnPeers(infos []peer.AddrInfo) []cr.Peer {
	out := make([]cr.Peer, 0, len(infos))
	for _, ai := range infos {
		if ai.ID == r.host.ID() {
			continue
		}
		r.host.Peerstore().AddAddrs(ai.ID, ai.Addrs, peerstore.TempAddrTTL)
		out = append(out, PeerOf(ai.ID))
	}
	return out
}

// Close stops the node: with leave, it first leaves gracefully (hands its
// records on and tells its neighbours); then the transport closes. The
// host stays open (it is the caller's).
func (r *Ring) Close(leave bool) error {
	err := r.Runner.Close(leave)
	if leave {
		// Let the handoff and the neighbours' notices go out.
		ctx, cancel := context.WithTimeout(context.Background(), r.Transport.cfg.RequestTimeout)
		r.Transport.Drain(ctx)
		cancel()
	}
	if errors.Is(err, cr.ErrClosed) {
		err = nil
	}
	return errors.Join(err, r.Transport.Close())
}
