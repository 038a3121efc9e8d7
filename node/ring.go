package node

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"

	"kwsearch/bootstrap"
	cr "kwsearch/chordrouting"
	"kwsearch/chordrouting/p2p"
	"kwsearch/keyword"
)

// ring runs the Chord node over libp2p: the core's Runner, its transport,
// and the membership decisions (create, join, client of the ring) that
// follow the effective mode.
type ring struct {
	nw        *network
	runner    *cr.Runner
	transport *p2p.Transport

	mu     sync.Mutex
	member bool // joined (or created) the ring
	mode   bootstrap.Mode
	// relayAddrs are the relay addresses last seen in the host's status.
	relayAddrs []ma.Multiaddr

	ctx    context.Context // ends the watch loop
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// joinWait bounds how long Start waits for a bootstrap peer before a server
// creates a ring of its own (and keeps trying to join in the background).
const joinWait = 8 * time.Second

// ringConfig is the ring's configuration: the core's defaults, the keyword
// validator, fingers limited per IP and subnet by the transport
// (SECURITY.md), and one-hop routing (chordrouting's doc, "One-hop
// routing": every member's table of the ring, so a search reaches the
// keyword's holders in one round trip, eight of them at once
// (chordrouting.OneHopReplicas); at the daemon's one-second tick it
// costs a few kbit/s per node). One-hop routing was off for a while
// because a store right after a member's kill -9 and restart timed out in
// about one loopback integration run in three: the dead QUIC connection to the old
// process took the requests meant for the restarted one (fixed in
// chordrouting/p2p, connpick.go), and a put's retry stored at the same
// unreachable owner again (fixed in chordrouting's grouping by owner).
// A client's searches and publishes are forwarded to two of its entry
// points (Config.ClientForward, on by default), which run them with their
// tables: behind NAT the client then dials its entry points only.
func ringConfig(tr *p2p.Transport) (cr.Config, error) {
	v, err := keyword.NewValidator(keyword.DefaultValidatorConfig())
	if err != nil {
		return cr.Config{}, fmt.Errorf("node: %w", err)
	}
	cfg := cr.DefaultConfig()
	cfg.Validator = v
	cfg.AdmitFinger = tr.AdmitFinger
	cfg.EnableOneHop()
	return cfg, cfg.Validate()
}

// ringParts builds the ring's transport on h with tcfg and the core's
// configuration for it (ringConfig), and refuses a transport that cannot
// carry that core (p2p.Config.ValidateRing): it must carry what the core's
// pending table admits, or operations could fill it and refuse ring
// maintenance, and take a peer's operations and maintenance per peer, or a
// peer's stabilize queries could be reset. startRing builds the daemon's
// ring with it; on error the transport is closed.
func ringParts(h host.Host, tcfg p2p.Config) (*p2p.Transport, cr.Config, error) {
	tr, err := p2p.NewTransport(h, tcfg, wallClock{})
	if err != nil {
		return nil, cr.Config{}, fmt.Errorf("node: %w", err)
	}
	cfg, err := ringConfig(tr)
	if err != nil {
		tr.Close()
		return nil, cr.Config{}, err
	}
	if err := tcfg.ValidateRing(cfg); err != nil {
		tr.Close()
		return nil, cr.Config{}, fmt.Errorf("node: %w", err)
	}
	return tr, cfg, nil
}

func startRing(ctx context.Context, nw *network) (*ring, error) {
	n := nw.n
	tr, cfg, err := ringParts(nw.host, p2p.DefaultConfig())
	if err != nil {
		return nil, err
	}
	self := p2p.PeerOf(nw.host.ID())
	core, err := cr.NewNode(self, cfg, tr, n.db.Records(), wallClock{}, newRand())
	if err != nil {
		tr.Close()
		return nil, fmt.Errorf("node: %w", err)
	}
	r := &ring{nw: nw, transport: tr}
	r.ctx, r.cancel = context.WithCancel(nw.ctx)
	r.runner = cr.NewRunner(core, n.cfg.Tick.D(), wallClock{})
	tr.Start(r.runner.Deliver)
	n.metrics.gauge("kwsearch_records_held", "Ring records this node holds for the network.",
		func() float64 { return float64(n.db.Records().Len()) })
	if err := r.enter(ctx, nw.host.Status().Mode); err != nil {
		r.close(context.Background())
		return nil, err
	}
	r.wg.Add(1)
	go r.watch()
	return r, nil
}

// enter takes the node into the ring (server) or makes it a client.
func (r *ring) enter(ctx context.Context, mode bootstrap.Mode) error {
	r.mu.Lock()
	r.mode = mode
	r.mu.Unlock()
	if mode != bootstrap.ModeServer {
		return r.becomeClient(ctx)
	}
	return r.becomeMember(ctx)
}

// entryPeers are the ring peers to join through or ask: bootstrap peers
// that answered, after waiting up to wait for the first.
func (r *ring) entryPeers(ctx context.Context, wait time.Duration) []cr.Peer {
	var infos []peer.AddrInfo
	if r.nw.peersToTry > 0 {
		wctx, cancel := context.WithTimeout(ctx, wait)
		infos, _ = r.nw.boot.WaitAnswered(wctx)
		cancel()
	} else {
		infos = r.nw.boot.Answered()
	}
	var out []cr.Peer
	for _, ai := range infos {
		if ai.ID != r.nw.host.ID() {
			out = append(out, p2p.PeerOf(ai.ID))
		}
	}
	return out
}

func (r *ring) becomeMember(ctx context.Context) error {
	log := r.nw.n.log
	via := r.entryPeers(ctx, joinWait)
	if len(via) > 0 {
		jctx, cancel := context.WithTimeout(ctx, joinWait)
		err := r.runner.Join(jctx, via)
		cancel()
		if err == nil {
			r.setMember(true)
			log.Info("joined the ring", "via", len(via))
			return nil
		}
		log.Warn("joining the ring failed; starting a ring of one and retrying", "err", err)
	} else if r.nw.peersToTry > 0 {
		log.Warn("no bootstrap or remembered peer answered; starting a ring of one and retrying")
	}
	if err := r.runner.Do(ctx, func(c *cr.Node) { c.Create() }); err != nil {
		return fmt.Errorf("node: creating the ring: %w", err)
	}
	r.setMember(true)
	log.Info("created a ring of one")
	return nil
}

func (r *ring) becomeClient(ctx context.Context) error {
	via := r.entryPeers(ctx, joinWait)
	if err := r.runner.Do(ctx, func(c *cr.Node) { c.SetEntryPoints(via) }); err != nil {
		return fmt.Errorf("node: setting ring entry points: %w", err)
	}
	r.nw.n.log.Info("running as a client of the ring", "entry_points", len(via))
	return nil
}

func (r *ring) setMember(m bool) {
	r.mu.Lock()
	r.member = m
	r.mu.Unlock()
}

// watch follows mode changes (AutoNAT) and keeps a lonely ring or a client
// without entry points trying to reach the network.
func (r *ring) watch() {
	defer r.wg.Done()
	ctx := r.ctx
	t := time.NewTicker(r.nw.n.cfg.Reconnect.D())
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case st := <-r.nw.host.Changes():
			r.onStatus(ctx, st)
		case <-t.C:
			r.retry(ctx)
		}
	}
}

func (r *ring) onStatus(ctx context.Context, st bootstrap.Status) {
	r.mu.Lock()
	old := r.mode
	relaysChanged := !slices.EqualFunc(st.RelayAddrs, r.relayAddrs, ma.Multiaddr.Equal)
	r.relayAddrs = st.RelayAddrs
	r.mu.Unlock()
	if relaysChanged {
		// Published records carry the relay addresses: renew them now,
		// not at the next scheduled republish.
		select {
		case r.nw.addrsChanged <- struct{}{}:
		default:
		}
	}
	if st.Mode == old {
		return
	}
	log := r.nw.n.log
	log.Info("mode changed", "from", old, "to", st.Mode, "reachability", st.Reachability)
	if old == bootstrap.ModeServer {
		if err := r.runner.Do(ctx, func(c *cr.Node) { c.Leave() }); err != nil {
			log.Warn("leaving the ring", "err", err)
		}
		r.setMember(false)
	}
	if err := r.enter(ctx, st.Mode); err != nil {
		log.Warn("changing mode", "err", err)
	}
}

// retry rejoins through bootstrap peers when this node is a ring of one
// (it started before any of them answered), and refreshes a client's
// entry points.
func (r *ring) retry(ctx context.Context) {
	st := r.runner.State()
	r.feedRelays(st)
	if r.nw.peersToTry == 0 {
		return
	}
	r.mu.Lock()
	mode := r.mode
	r.mu.Unlock()
	alone := st.Member && (len(st.Successors) == 0 || st.Successors[0].ID == st.Self.ID)
	switch {
	case mode == bootstrap.ModeServer && alone:
		via := r.entryPeers(ctx, time.Second)
		if len(via) == 0 {
			return
		}
		jctx, cancel := context.WithTimeout(ctx, joinWait)
		defer cancel()
		if err := r.runner.Join(jctx, via); err != nil {
			r.nw.n.log.Debug("rejoining the ring", "err", err)
			return
		}
		r.nw.n.log.Info("joined the ring after starting alone")
	case mode != bootstrap.ModeServer:
		if via := r.entryPeers(ctx, time.Second); len(via) > 0 {
			r.runner.Do(ctx, func(c *cr.Node) { c.SetEntryPoints(via) })
		}
	}
}

// feedRelays offers the ring members this node knows to autorelay.
func (r *ring) feedRelays(st cr.NodeState) {
	var infos []peer.AddrInfo
	for _, p := range append(append([]cr.Peer{}, st.Successors...), st.Fingers...) {
		id, err := p2p.PeerID(p)
		if err != nil || id == r.nw.host.ID() {
			continue
		}
		infos = append(infos, peer.AddrInfo{ID: id, Addrs: r.nw.host.Peerstore().Addrs(id)})
	}
	if len(infos) > 0 {
		r.nw.host.AddRelayCandidates(infos...)
	}
}

// state is the ring snapshot for status.
func (r *ring) state() cr.NodeState { return r.runner.State() }

// close leaves the ring gracefully (when a member) and stops the loop.
func (r *ring) close(ctx context.Context) error {
	r.cancel()
	r.wg.Wait()
	r.mu.Lock()
	leave := r.member
	r.mu.Unlock()
	errc := make(chan error, 1)
	go func() { errc <- r.runner.Close(leave) }()
	var err error
	select {
	case err = <-errc:
	case <-ctx.Done():
		err = fmt.Errorf("node: leaving the ring: %w", ctx.Err())
	}
	if terr := r.transport.Close(); terr != nil && !errors.Is(terr, context.Canceled) {
		err = errors.Join(err, terr)
	}
	return err
}
