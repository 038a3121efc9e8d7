package bootstrap

import (
	"fmt"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/network"
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

// limiter scales libp2p's default limits (with its bundled services' limits)
// to cfg.MaxMemory and cfg.MaxFDs; a zero value scales with the machine.
func limiter(cfg Config) rcmgr.Limiter {
	limits := rcmgr.DefaultLimits
	libp2p.SetDefaultServiceLimits(&limits)
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
