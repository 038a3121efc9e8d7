package bootstrap

import (
	"fmt"
	"slices"
	"sync"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/event"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/host/eventbus"
	ma "github.com/multiformats/go-multiaddr"
)

// Host is a libp2p host built from a Config, with the node's reachability
// and mode tracked from libp2p's events. All methods are safe for
// concurrent use.
type Host struct {
	host.Host
	cfg     Config
	relays  *candidates
	sub     event.Subscription
	done    chan struct{}
	changes chan Status

	mu  sync.Mutex
	st  Status
	v1  network.Reachability
	rch event.EvtHostReachableAddrsChanged
	// relayAddrs are the latest /p2p-circuit addresses from autorelay.
	relayAddrs []ma.Multiaddr
}

// New builds and starts the host. The caller closes it.
func New(cfg Config) (*Host, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	relays := newCandidates(cfg)
	if id, err := peer.IDFromPrivateKey(cfg.Identity); err == nil {
		relays.self = id
	}
	opts, err := hostOptions(cfg, relays)
	if err != nil {
		return nil, err
	}
	h, err := libp2p.New(opts...)
	if err != nil {
		return nil, fmt.Errorf("bootstrap: starting libp2p host: %w", err)
	}
	sub, err := h.EventBus().Subscribe([]any{
		new(event.EvtLocalReachabilityChanged),
		new(event.EvtHostReachableAddrsChanged),
		new(event.EvtAutoRelayAddrsUpdated),
	}, eventbus.Name("kwsearch bootstrap"))
	if err != nil {
		h.Close()
		return nil, fmt.Errorf("bootstrap: subscribing to reachability events: %w", err)
	}
	bh := &Host{
		Host:    h,
		cfg:     cfg,
		relays:  relays,
		sub:     sub,
		done:    make(chan struct{}),
		changes: make(chan Status, 1),
		v1:      network.ReachabilityUnknown,
	}
	bh.st = bh.derive()
	for _, p := range cfg.BootstrapPeers {
		h.Peerstore().AddAddrs(p.ID, p.Addrs, peerstoreTTL)
	}
	go bh.watch()
	return bh, nil
}

// Close stops the event watcher and the libp2p host.
func (h *Host) Close() error {
	h.sub.Close()
	<-h.done
	if err := h.Host.Close(); err != nil {
		return fmt.Errorf("bootstrap: closing host: %w", err)
	}
	return nil
}

// AddRelayCandidates offers peers (ring nodes) to autorelay as relays. It
// never dials by itself: autorelay asks when it needs a relay.
func (h *Host) AddRelayCandidates(ps ...peer.AddrInfo) { h.relays.add(ps) }

// Changes delivers the status each time the effective mode, the
// reachability, or the relay addresses change. It holds only the latest
// status: a slow reader skips intermediate ones, never blocks the host.
// The channel is never closed.
func (h *Host) Changes() <-chan Status { return h.changes }

// Status returns a snapshot for `kwnode status`.
func (h *Host) Status() Status {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.st.clone()
}

func (h *Host) watch() {
	defer close(h.done)
	for e := range h.sub.Out() {
		h.mu.Lock()
		old := h.st
		switch e := e.(type) {
		case event.EvtLocalReachabilityChanged:
			h.v1 = e.Reachability
		case event.EvtHostReachableAddrsChanged:
			h.rch = e
		case event.EvtAutoRelayAddrsUpdated:
			h.relayAddrs = slices.Clone(e.RelayAddrs)
		}
		h.st = h.derive()
		changed := !old.sameAs(h.st)
		st := h.st.clone()
		h.mu.Unlock()
		if changed {
			h.publish(st)
		}
	}
}

// publish replaces any unread status with st.
func (h *Host) publish(st Status) {
	for {
		select {
		case h.changes <- st:
			return
		default:
		}
		select {
		case <-h.changes:
		default:
		}
	}
}

// derive computes the status from the latest events; h.mu is held.
func (h *Host) derive() Status {
	st := Status{
		Configured:       h.cfg.Mode,
		ReachableAddrs:   slices.Clone(h.rch.Reachable),
		UnreachableAddrs: slices.Clone(h.rch.Unreachable),
		RelayAddrs:       slices.Clone(h.relayAddrs),
	}
	st.Reachability = combineReachability(h.v1, h.rch)
	switch h.cfg.Mode {
	case ModeServer:
		st.Mode = ModeServer
	case ModeClient:
		st.Mode = ModeClient
	default:
		st.Mode = ModeClient
		if st.Reachability == ReachabilityPublic {
			st.Mode = ModeServer
		}
	}
	st.RelayService = h.cfg.RelayService && st.Mode == ModeServer
	return st
}

// combineReachability merges AutoNAT v1's host verdict with AutoNAT v2's
// per-address results (see the package doc).
func combineReachability(v1 network.Reachability, v2 event.EvtHostReachableAddrsChanged) Reachability {
	switch {
	case v1 == network.ReachabilityPublic || len(v2.Reachable) > 0:
		return ReachabilityPublic
	case v1 == network.ReachabilityPrivate || len(v2.Unreachable) > 0:
		return ReachabilityPrivate
	}
	return ReachabilityUnknown
}

// Reachability is whether the internet can dial this node.
type Reachability string

// Reachability values, as `kwnode status` prints them.
const (
	ReachabilityUnknown Reachability = "unknown"
	ReachabilityPublic  Reachability = "public"
	ReachabilityPrivate Reachability = "private"
)

// Status is the node's reachability and mode.
type Status struct {
	// Mode is the effective mode: server (ring member) or client.
	Mode Mode `json:"mode"`
	// Configured is the mode asked for: auto, server or client.
	Configured Mode `json:"configured"`
	// Reachability: public, private or unknown.
	Reachability Reachability `json:"reachability"`
	// ReachableAddrs and UnreachableAddrs are AutoNAT v2's per-address results.
	ReachableAddrs   []ma.Multiaddr `json:"reachable_addrs"`
	UnreachableAddrs []ma.Multiaddr `json:"unreachable_addrs"`
	// RelayAddrs are the node's /p2p-circuit addresses: one per relay
	// reservation it holds.
	RelayAddrs []ma.Multiaddr `json:"relay_addrs"`
	// RelayService is whether this node relays for others now.
	RelayService bool `json:"relay_service"`
}

func (s Status) clone() Status {
	s.ReachableAddrs = slices.Clone(s.ReachableAddrs)
	s.UnreachableAddrs = slices.Clone(s.UnreachableAddrs)
	s.RelayAddrs = slices.Clone(s.RelayAddrs)
	return s
}

func (s Status) sameAs(o Status) bool {
	eq := func(a, b []ma.Multiaddr) bool { return slices.EqualFunc(a, b, ma.Multiaddr.Equal) }
	return s.Mode == o.Mode && s.Reachability == o.Reachability && s.RelayService == o.RelayService &&
		eq(s.RelayAddrs, o.RelayAddrs) && eq(s.ReachableAddrs, o.ReachableAddrs) && eq(s.UnreachableAddrs, o.UnreachableAddrs)
}

// IsRelayed reports whether a connection goes through a relay.
func IsRelayed(c network.Conn) bool {
	_, err := c.RemoteMultiaddr().ValueForProtocol(ma.P_CIRCUIT)
	return err == nil
}
