package node

import (
	"context"
	crand "crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"

	"kwsearch/bootstrap"
	"kwsearch/storage"
)

// network is the node's libp2p side: the host (built by package
// bootstrap), the bootstrapper that keeps it connected, and the ring.
type network struct {
	n    *Node
	host *bootstrap.Host
	boot *bootstrap.Bootstrapper
	ring *ring

	// Adapters to the transfer and keyword layers (services.go).
	// addrsChanged is signalled when the relay addresses change, so that
	// shares are republished with them.
	addrsChanged chan struct{}

	// peersToTry counts bootstrap and remembered peers: when there are
	// some, a server waits for one to answer before starting a ring alone.
	peersToTry int

	files    fileIndexer
	index    recordIndex
	fetch    fetcher
	transfer *transfer

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// wallClock is the real clock, for the packages that take one.
type wallClock struct{}

func (wallClock) Now() time.Time                         { return time.Now() }
func (wallClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// newRand returns a generator seeded from the system's randomness.
func newRand() *rand.Rand {
	var b [16]byte
	if _, err := crand.Read(b[:]); err != nil {
		panic(fmt.Sprintf("node: reading system randomness: %v", err)) // cannot happen on supported systems
	}
	return rand.New(rand.NewPCG(binary.LittleEndian.Uint64(b[:8]), binary.LittleEndian.Uint64(b[8:])))
}

func startNetwork(ctx context.Context, n *Node) (*network, error) {
	cfg, err := hostConfig(n)
	if err != nil {
		return nil, err
	}
	h, err := bootstrap.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("node: %w", err)
	}
	nw := &network{n: n, host: h, addrsChanged: make(chan struct{}, 1)}
	nw.ctx, nw.cancel = context.WithCancel(n.ctx)
	if err := nw.startBootstrapper(cfg.BootstrapPeers); err != nil {
		h.Close()
		return nil, err
	}
	if nw.ring, err = startRing(ctx, nw); err != nil {
		nw.cancel()
		nw.wg.Wait()
		h.Close()
		return nil, err
	}
	if err := nw.startServices(); err != nil {
		nw.close(context.Background())
		return nil, err
	}
	nw.wg.Add(1)
	go nw.rememberLoop()
	return nw, nil
}

// hostConfig turns the repo config into the bootstrap package's.
func hostConfig(n *Node) (bootstrap.Config, error) {
	c := n.cfg
	cfg := bootstrap.DefaultConfig()
	cfg.Identity = n.opt.Repo.Key
	for _, s := range c.Listen {
		a, err := ma.NewMultiaddr(s)
		if err != nil {
			return cfg, fmt.Errorf("node: listen address %q: %w", s, err)
		}
		cfg.Listen = append(cfg.Listen, a)
	}
	mode, err := bootstrap.ParseMode(c.Mode)
	if err != nil {
		return cfg, err
	}
	cfg.Mode = mode
	cfg.PortMapping = c.PortMapping
	cfg.RelayService = c.RelayService
	if cfg.BootstrapPeers, err = bootstrap.ParsePeers(c.Bootstrap); err != nil {
		return cfg, fmt.Errorf("node: %w", err)
	}
	if n.opt.MetricsAddr != "" {
		cfg.Registerer = n.metrics.reg
	}
	return cfg, cfg.Validate()
}

func (nw *network) startBootstrapper(peers []peer.AddrInfo) error {
	bc := bootstrap.DefaultBootstrapConfig()
	bc.Peers = peers
	remembered, err := nw.n.db.Peers()
	if err != nil {
		return fmt.Errorf("node: %w", err)
	}
	self := nw.host.ID()
	for _, rp := range remembered {
		if ai, ok := rememberedInfo(rp); ok && ai.ID != self {
			bc.Remembered = append(bc.Remembered, ai)
		}
	}
	nw.peersToTry = len(bc.Peers) + len(bc.Remembered)
	b, err := bootstrap.NewBootstrapper(nw.host, bc, wallClock{}, newRand())
	if err != nil {
		return fmt.Errorf("node: %w", err)
	}
	nw.boot = b
	nw.wg.Add(1)
	go func() {
		defer nw.wg.Done()
		if err := b.Run(nw.ctx); err != nil && !errors.Is(err, context.Canceled) {
			nw.n.log.Warn("bootstrapper stopped", "err", err)
		}
	}()
	return nil
}

func rememberedInfo(rp storage.RememberedPeer) (peer.AddrInfo, bool) {
	id, err := peer.Decode(rp.ID)
	if err != nil {
		return peer.AddrInfo{}, false
	}
	ai := peer.AddrInfo{ID: id}
	for _, s := range rp.Addrs {
		if a, err := ma.NewMultiaddr(s); err == nil {
			ai.Addrs = append(ai.Addrs, a)
		}
	}
	return ai, len(ai.Addrs) > 0
}

// Connected peers are saved for the next start soon after start (so that
// a daemon killed early still finds the network again) and then every
// rememberInterval, and at Close.
const (
	rememberFirst    = 10 * time.Second
	rememberInterval = 2 * time.Minute
)

func (nw *network) rememberLoop() {
	defer nw.wg.Done()
	t := time.NewTimer(rememberFirst)
	defer t.Stop()
	for {
		select {
		case <-nw.ctx.Done():
			return
		case <-t.C:
			nw.rememberPeers()
			t.Reset(rememberInterval)
		}
	}
}

// rememberPeers saves the connected peers' addresses in the database.
func (nw *network) rememberPeers() {
	now := time.Now()
	max := nw.n.cfg.MaxRememberedPeers
	for i, id := range nw.host.Network().Peers() {
		if i >= max {
			break
		}
		rp := storage.RememberedPeer{ID: id.String(), LastSeen: now}
		for _, c := range nw.host.Network().ConnsToPeer(id) {
			if !bootstrap.IsRelayed(c) {
				rp.Addrs = append(rp.Addrs, c.RemoteMultiaddr().String())
			}
		}
		if len(rp.Addrs) == 0 {
			continue
		}
		if err := nw.n.db.RememberPeer(rp, max); err != nil {
			nw.n.log.Warn("remembering peer", "peer", id, "err", err)
			return
		}
	}
}

// fullAddrs lists the host's addresses with /p2p/ID appended.
func (nw *network) fullAddrs() []string {
	id := nw.host.ID()
	var out []string
	for _, a := range nw.host.Addrs() {
		out = append(out, a.String()+"/p2p/"+id.String())
	}
	return out
}

func (nw *network) close(ctx context.Context) error {
	var errs []error
	if nw.ring != nil {
		errs = append(errs, nw.ring.close(ctx))
	}
	nw.rememberPeers()
	if nw.transfer != nil {
		errs = append(errs, nw.transfer.close())
	}
	nw.cancel()
	nw.wg.Wait()
	errs = append(errs, nw.host.Close())
	return errors.Join(errs...)
}
