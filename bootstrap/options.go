package bootstrap

import (
	"fmt"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/libp2p/go-libp2p/p2p/host/autorelay"
	rcmgr "github.com/libp2p/go-libp2p/p2p/host/resource-manager"
	"github.com/libp2p/go-libp2p/p2p/net/connmgr"
	relayv2 "github.com/libp2p/go-libp2p/p2p/protocol/circuitv2/relay"
	ma "github.com/multiformats/go-multiaddr"
)

// hostOptions turns cfg into libp2p options; relays feeds autorelay.
func hostOptions(cfg Config, relays *candidates) ([]libp2p.Option, error) {
	rm, err := resourceManager(cfg)
	if err != nil {
		return nil, err
	}
	cm, err := connmgr.NewConnManager(cfg.ConnLow, cfg.ConnHigh, connmgr.WithGracePeriod(cfg.ConnGrace))
	if err != nil {
		return nil, fmt.Errorf("bootstrap: connection manager: %w", err)
	}
	opts := []libp2p.Option{
		libp2p.Identity(cfg.Identity),
		libp2p.ListenAddrs(cfg.Listen...),
		libp2p.DefaultTransports,
		libp2p.DefaultSecurity,
		libp2p.DefaultMuxers,
		libp2p.ResourceManager(rm),
		libp2p.ConnectionManager(cm),
		libp2p.EnableRelay(),
		libp2p.EnableAutoNATv2(),
		libp2p.EnableAutoRelayWithPeerSource(relays.source,
			// No three-minute boot delay (issue 7): reserve as soon as a
			// candidate is known.
			autorelay.WithBootDelay(0),
			// One candidate is enough to start: a small network has few.
			autorelay.WithMinCandidates(1),
			autorelay.WithNumRelays(cfg.NumRelays),
			autorelay.WithBackoff(cfg.RelayBackoff),
			autorelay.WithMinInterval(cfg.RelayMinInterval),
		),
	}
	if cfg.Registerer != nil {
		opts = append(opts, libp2p.PrometheusRegisterer(cfg.Registerer))
	} else {
		opts = append(opts, libp2p.DisableMetrics())
	}
	if cfg.gater != nil {
		opts = append(opts, libp2p.ConnectionGater(cfg.gater))
	}
	if cfg.PortMapping {
		opts = append(opts, libp2p.NATPortMap())
	}
	if cfg.HolePunching {
		opts = append(opts, libp2p.EnableHolePunching())
	}
	switch cfg.Mode {
	case ModeServer:
		opts = append(opts, libp2p.ForceReachabilityPublic(), libp2p.EnableNATService())
	case ModeClient:
		opts = append(opts, libp2p.ForceReachabilityPrivate())
	default:
		// AutoNAT v1's service turns itself off while this node is private.
		opts = append(opts, libp2p.EnableNATService())
	}
	if cfg.RelayService && cfg.Mode != ModeClient {
		opts = append(opts, libp2p.EnableRelayService(relayOptions(cfg)...))
	}
	return opts, nil
}

// relayOptions are the relay service's limits from cfg.Relay.
func relayOptions(cfg Config) []relayv2.Option {
	res := relayv2.DefaultResources()
	res.MaxReservations = cfg.Relay.MaxReservations
	res.MaxCircuits = cfg.Relay.MaxCircuits
	res.ReservationTTL = cfg.Relay.ReservationTTL
	res.MaxReservationsPerIP = cfg.Relay.MaxReservationsPerIP
	res.Limit = nil
	if cfg.Relay.LimitData > 0 || cfg.Relay.LimitDuration > 0 {
		res.Limit = &relayv2.RelayLimit{Data: cfg.Relay.LimitData, Duration: cfg.Relay.LimitDuration}
	}
	opts := []relayv2.Option{relayv2.WithResources(res)}
	if cfg.allowNonPublicReservationAddrs {
		opts = append(opts, relayv2.WithReservationAddressFilter(func(ma.Multiaddr) bool { return true }))
	}
	return opts
}

// resourceManager builds libp2p's resource manager with limiter(cfg).
func resourceManager(cfg Config) (network.ResourceManager, error) {
	rm, err := rcmgr.NewResourceManager(limiter(cfg))
	if err != nil {
		return nil, fmt.Errorf("bootstrap: resource manager: %w", err)
	}
	return rm, nil
}

// limiter scales libp2p's default limits (with its bundled services' limits
// and ours, serviceLimits) to cfg.MaxMemory and cfg.MaxFDs; a zero value
// scales with the machine.
func limiter(cfg Config) rcmgr.Limiter {
	limits := rcmgr.DefaultLimits
	libp2p.SetDefaultServiceLimits(&limits)
	for _, l := range serviceLimits() {
		l.addTo(&limits)
		l.addToSystem(&limits)
	}
	if cfg.MaxMemory == 0 && cfg.MaxFDs == 0 {
		return rcmgr.NewFixedLimiter(limits.AutoScale())
	}
	auto := limits.AutoScale().ToPartialLimitConfig().System
	mem, fds := cfg.MaxMemory, cfg.MaxFDs
	if mem == 0 {
		mem = int64(auto.Memory)
	}
	if fds == 0 {
		fds = int(auto.FD)
	}
	return rcmgr.NewFixedLimiter(limits.Scale(mem, fds))
}

// Our protocols' names in the resource manager. They repeat
// chordrouting/p2p's and blockxfer's ProtocolID and ServiceName: bootstrap
// imports neither (blockxfer sits beside it, not below it), and
// TestServiceLimitsMatchCaps keeps them equal.
const (
	ringService   = "kwsearch.chord"
	ringProtocol  = protocol.ID("/kwsearch/chord/1.1.0")
	blockService  = "kwsearch.blockxfer"
	blockProtocol = protocol.ID("/kwsearch/blockxfer/1.0.0")
)

// serviceLimit is one of our protocols' limits in the resource manager. A
// stream of ours counts against its service's scopes (all peers, and per
// peer) and its protocol's; both get the same limits, else libp2p's default
// protocol limits decide first (512 inbound streams in all, 16 MiB per
// peer at any machine size).
type serviceLimit struct {
	service  string
	protocol protocol.ID
	// total bounds all peers together with libp2p's smallest budget
	// (128 MiB); totalIncrease is added per GiB of budget (AutoScale: an
	// eighth of the machine's memory; else Config.MaxMemory).
	total         rcmgr.BaseLimit
	totalIncrease rcmgr.BaseLimitIncrease
	// perPeer bounds one peer. It does not scale: it mirrors per-peer caps
	// of the ring transport and the block server, which do not.
	perPeer rcmgr.BaseLimit
}

// addTo sets l's limits on the service's and the protocol's scopes.
func (l serviceLimit) addTo(c *rcmgr.ScalingLimitConfig) {
	c.AddServiceLimit(l.service, l.total, l.totalIncrease)
	c.AddProtocolLimit(l.protocol, l.total, l.totalIncrease)
	c.AddServicePeerLimit(l.service, l.perPeer, rcmgr.BaseLimitIncrease{})
	c.AddProtocolPeerLimit(l.protocol, l.perPeer, rcmgr.BaseLimitIncrease{})
}

// addToSystem makes room for the service's streams in the system scope,
// on top of libp2p's defaults (at the smallest budget 1,024 inbound and
// 2,048 outbound streams for everything): the service's own limits, which
// mirror its protocol's caps, must decide, not the system's. A ring
// request the system scope refuses looks to the ring core like a peer
// that did not answer (it waits for its timeout and may drop a live
// successor), while the transport's own cap, MaxOutbound, tells the core
// the request was never sent.
func (l serviceLimit) addToSystem(c *rcmgr.ScalingLimitConfig) {
	c.SystemBaseLimit.StreamsInbound += l.total.StreamsInbound
	c.SystemBaseLimit.StreamsOutbound += l.total.StreamsOutbound
	c.SystemBaseLimit.Streams += l.total.Streams
}

// serviceLimits are the limits of the ring and block protocols, set so
// that the resource manager and the protocols' own caps (chordrouting/p2p
// DefaultConfig, blockxfer DefaultServerConfig) agree. A reservation at
// priority p succeeds while the scope's use stays within (p+1)/256 of its
// limit: the ring reserves frames over 64 KiB, and the block server its
// streams, at medium priority (60%); the block fetcher at high (80%); ring
// frames up to 64 KiB always.
func serviceLimits() []serviceLimit {
	return []serviceLimit{ringLimit(), blockLimit()}
}

// ringLimit mirrors the ring transport's caps.
func ringLimit() serviceLimit {
	return serviceLimit{
		service:  ringService,
		protocol: ringProtocol,
		total: rcmgr.BaseLimit{
			// MaxInbound (1024) and MaxOutbound (4096, the ring core's
			// MaxPending): the transport's caps, which do not grow with
			// the machine either. libp2p's protocol default (512 + 256
			// per GiB) refused ring streams below MaxInbound on machines
			// under 16 GiB. A refusal here is silent to the ring core (it
			// waits for the request's timeout, as for a dead peer), while
			// the transport's own cap tells it the request was never sent:
			// so this must not be the smaller; the system scope gets
			// room for these on top of its defaults (addToSystem).
			StreamsInbound:  1024,
			StreamsOutbound: 4096,
			Streams:         5120,
			// Half the smallest system budget (128 MiB): most frames are
			// under 1 KiB; the medium share (38 MiB) holds 9 frames of
			// MaxMessageSize (4 MiB) at once.
			Memory: 64 << 20,
		},
		// 64 MiB per GiB: 9 more large frames at once; the rest of the
		// budget is left to blocks, which move bulk data.
		totalIncrease: rcmgr.BaseLimitIncrease{Memory: 64 << 20},
		perPeer: rcmgr.BaseLimit{
			// MaxInboundPerPeer (48: the ring core's operations and
			// maintenance per peer and their headroom, 43).
			StreamsInbound: 48,
			// Twice the remote's MaxInboundPerPeer: our side keeps a
			// stream until the remote has closed it, a little after the
			// remote freed its slot, so we must not refuse an exchange
			// the remote would admit; beyond that the remote resets.
			StreamsOutbound: 96,
			Streams:         144,
			// Two 4 MiB frames at once (a store batch and a handoff
			// chunk) fit the medium share (9.6 MiB); small frames (up to
			// 64 KiB, reserved at priority always) of all 48 inbound
			// streams take at most 3 MiB of the rest (6.4 MiB).
			// libp2p's protocol-per-peer default was the same 16 MiB.
			Memory: 16 << 20,
		},
	}
}

// blockLimit mirrors the block server's caps and what block streams
// reserve: a served stream Pipeline (8) × MaxBlockResponseSize + 128 B =
// 2 MiB + 512 B at medium priority (blockxfer/server.go), a fetching stream
// 5 × MaxBlockResponseSize = 1.25 MiB + 240 B at high (blockxfer/peer.go).
func blockLimit() serviceLimit {
	return serviceLimit{
		service:  blockService,
		protocol: blockProtocol,
		total: rcmgr.BaseLimit{
			// 16 served streams (32 MiB) fit the medium share of 64 MiB
			// (38 MiB); 16 fetching streams are two downloads from
			// MaxPeers (8) providers each. With both full at once,
			// memory decides (the high share, 51 MiB, holds 16 served
			// and 15 fetching).
			StreamsInbound:  16,
			StreamsOutbound: 16,
			Streams:         32,
			// Half the smallest system budget, as for the ring.
			Memory: 64 << 20,
		},
		// Per GiB: 64 more served streams (128 MiB, in the medium share
		// of 256 MiB) and 64 more fetching ones (8 downloads of 8
		// providers); a provider serves many fetchers.
		totalIncrease: rcmgr.BaseLimitIncrease{
			StreamsInbound:  64,
			StreamsOutbound: 64,
			Streams:         128,
			Memory:          256 << 20,
		},
		perPeer: rcmgr.BaseLimit{
			// ServerConfig.MaxStreamsPerPeer.
			StreamsInbound: 4,
			// A fetch opens one stream per provider, so one per download
			// at once; twice the provider's MaxStreamsPerPeer, for the
			// same reason as the ring's outbound streams.
			StreamsOutbound: 8,
			Streams:         12,
			// 24 MiB: the medium share (14.3 MiB) takes all 4 served
			// streams (8 MiB + 2 KiB) while this node fetches from the
			// same peer on up to 5 streams (two nodes fetching from each
			// other); the high share (19.1 MiB) takes 4 served and 8
			// fetching. 8 MiB would admit only 2 served streams.
			Memory: 24 << 20,
		},
	}
}
