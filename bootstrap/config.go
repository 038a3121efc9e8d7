package bootstrap

import (
	"errors"
	"fmt"
	"time"

	"github.com/libp2p/go-libp2p/core/connmgr"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
	"github.com/prometheus/client_golang/prometheus"
)

// Mode is how a node takes part in the network (SPEC §2).
type Mode string

// Modes. Auto lets AutoNAT decide; server and client force the decision.
const (
	ModeAuto   Mode = "auto"
	ModeServer Mode = "server"
	ModeClient Mode = "client"
)

// ParseMode parses "auto", "server" or "client".
func ParseMode(s string) (Mode, error) {
	switch m := Mode(s); m {
	case ModeAuto, ModeServer, ModeClient:
		return m, nil
	}
	return "", fmt.Errorf("bootstrap: mode %q: want auto, server or client", s)
}

// Config configures the host New builds. Identity and Listen are required.
type Config struct {
	// Identity is the node's libp2p key.
	Identity crypto.PrivKey
	// Listen lists the addresses to listen on (TCP and QUIC).
	Listen []ma.Multiaddr
	// Mode: auto, server or client.
	Mode Mode
	// PortMapping asks the home router for a port mapping (UPnP, NAT-PMP).
	PortMapping bool
	// RelayService offers a circuit relay v2 service while the node is
	// public (forced by mode server, or confirmed by AutoNAT in mode auto).
	RelayService bool
	// Relay are the relay service's limits.
	Relay RelayConfig
	// StaticRelays are relays the node always considers in client mode.
	StaticRelays []peer.AddrInfo
	// BootstrapPeers are also offered to autorelay as relay candidates.
	BootstrapPeers []peer.AddrInfo
	// NumRelays is how many relay reservations a client keeps.
	NumRelays int
	// RelayBackoff is how long autorelay leaves a relay alone after a
	// failed reservation.
	RelayBackoff time.Duration
	// RelayMinInterval is the least time between two requests to the relay
	// peer source.
	RelayMinInterval time.Duration
	// ConnLow and ConnHigh are the connection manager's watermarks: above
	// ConnHigh connections it trims down to ConnLow.
	ConnLow, ConnHigh int
	// ConnGrace protects new connections from trimming for this long.
	ConnGrace time.Duration
	// MaxMemory caps the resource manager's memory (bytes); 0 scales with the
	// machine's memory.
	MaxMemory int64
	// MaxFDs caps the file descriptors the resource manager lets libp2p use;
	// 0 scales with the process limit.
	MaxFDs int
	// HolePunching enables DCUtR.
	HolePunching bool
	// Registerer receives libp2p's metrics; nil disables them.
	Registerer prometheus.Registerer

	// allowNonPublicReservationAddrs makes the relay put loopback and
	// private addresses in reservation vouchers (tests on 127.0.0.1).
	allowNonPublicReservationAddrs bool
	// gater, when set, filters connections (tests simulate a NAT with it).
	gater connmgr.ConnectionGater
}

// RelayConfig are the relay service's limits (issue 7: relayed connections
// carry 128 KiB / 2 min each unless the relay is configured to carry data).
type RelayConfig struct {
	// MaxReservations is how many clients may hold a slot at once.
	MaxReservations int
	// MaxCircuits is how many relayed connections one client may have open.
	MaxCircuits int
	// ReservationTTL is how long a reservation lasts before it is refreshed.
	ReservationTTL time.Duration
	// LimitData is how many bytes each relayed connection may carry in each
	// direction; 0 means no limit.
	LimitData int64
	// LimitDuration is how long a relayed connection may last; 0 means no
	// limit.
	LimitDuration time.Duration
	// MaxReservationsPerIP caps slots per client IP address.
	MaxReservationsPerIP int
}

// DefaultRelayConfig returns the relay limits of a ring node.
func DefaultRelayConfig() RelayConfig {
	return RelayConfig{
		// libp2p's default; a ring node relays for up to this many NATed clients.
		MaxReservations: 128,
		// Relayed connections only carry ring RPCs and the DCUtR handshake.
		MaxCircuits: 16,
		// libp2p's default; autorelay refreshes well before expiry.
		ReservationTTL: time.Hour,
		// 128 KiB: enough for RPCs and hole punching, not for file transfer.
		LimitData: 128 << 10,
		// 2 min: a relayed connection is a stepping stone to a direct one.
		LimitDuration: 2 * time.Minute,
		// Several clients may sit behind one home router.
		MaxReservationsPerIP: 8,
	}
}

// DefaultConfig returns a configuration without Identity and Listen.
func DefaultConfig() Config {
	return Config{
		// SPEC §2: AutoNAT decides.
		Mode: ModeAuto,
		// Most home routers need a mapping to make a node reachable (issue 7).
		PortMapping: true,
		// Reachable nodes relay for NATed ones, like Skype's super peers.
		RelayService: true,
		Relay:        DefaultRelayConfig(),
		// Two reservations: one relay may leave without cutting the client off.
		NumRelays: 2,
		// Our relays are a handful of ring nodes, not thousands of IPFS
		// nodes: a failed one is retried after a minute, not libp2p's hour.
		RelayBackoff: time.Minute,
		// Ask the peer source at most every 10 s (libp2p: 30 s) so a client
		// finds a relay soon after the ring changes.
		RelayMinInterval: 10 * time.Second,
		// A client needs a few connections, a ring node its successor list
		// (8), fingers (~log2 N) and clients: 100..400 covers both.
		ConnLow:  100,
		ConnHigh: 400,
		// A minute lets a new connection prove useful before it can be trimmed.
		ConnGrace: time.Minute,
		// Scale with the machine.
		MaxMemory: 0,
		MaxFDs:    0,
		// Behind NAT, a direct connection needs hole punching (issue 7).
		HolePunching: true,
	}
}

// Validate reports the first inconsistent field.
func (c Config) Validate() error {
	if c.Identity == nil {
		return errors.New("bootstrap: config: Identity is required")
	}
	if len(c.Listen) == 0 {
		return errors.New("bootstrap: config: Listen needs at least one address")
	}
	if _, err := ParseMode(string(c.Mode)); err != nil {
		return err
	}
	if c.NumRelays < 1 {
		return fmt.Errorf("bootstrap: config: NumRelays %d must be at least 1", c.NumRelays)
	}
	if c.RelayBackoff <= 0 || c.RelayMinInterval <= 0 {
		return errors.New("bootstrap: config: RelayBackoff and RelayMinInterval must be positive")
	}
	if c.ConnLow < 1 || c.ConnHigh < c.ConnLow {
		return fmt.Errorf("bootstrap: config: ConnLow %d must be at least 1 and at most ConnHigh %d", c.ConnLow, c.ConnHigh)
	}
	if c.ConnGrace < 0 || c.MaxMemory < 0 || c.MaxFDs < 0 {
		return errors.New("bootstrap: config: ConnGrace, MaxMemory and MaxFDs must not be negative")
	}
	for _, p := range append(append([]peer.AddrInfo{}, c.StaticRelays...), c.BootstrapPeers...) {
		if p.ID == "" || len(p.Addrs) == 0 {
			return fmt.Errorf("bootstrap: config: peer %q needs an ID and an address", p.ID)
		}
	}
	return c.Relay.Validate()
}

// Validate reports the first inconsistent field.
func (r RelayConfig) Validate() error {
	if r.MaxReservations < 1 || r.MaxCircuits < 1 || r.MaxReservationsPerIP < 1 {
		return errors.New("bootstrap: relay config: MaxReservations, MaxCircuits and MaxReservationsPerIP must be at least 1")
	}
	if r.MaxReservationsPerIP > r.MaxReservations {
		return fmt.Errorf("bootstrap: relay config: MaxReservationsPerIP %d exceeds MaxReservations %d", r.MaxReservationsPerIP, r.MaxReservations)
	}
	if r.ReservationTTL < time.Minute {
		return fmt.Errorf("bootstrap: relay config: ReservationTTL %v is below a minute", r.ReservationTTL)
	}
	if r.LimitData < 0 || r.LimitDuration < 0 {
		return errors.New("bootstrap: relay config: LimitData and LimitDuration must not be negative")
	}
	return nil
}

// ParsePeers parses full multiaddrs ending in /p2p/ID (--bootstrap) into
// peer infos, merging addresses of the same peer.
func ParsePeers(addrs []string) ([]peer.AddrInfo, error) {
	mas := make([]ma.Multiaddr, 0, len(addrs))
	for _, s := range addrs {
		m, err := ma.NewMultiaddr(s)
		if err != nil {
			return nil, fmt.Errorf("bootstrap: parsing peer address %q: %w", s, err)
		}
		if _, last := ma.SplitLast(m); last == nil || last.Protocol().Code != ma.P_P2P {
			return nil, fmt.Errorf("bootstrap: peer address %q must end in /p2p/ID", s)
		}
		mas = append(mas, m)
	}
	infos, err := peer.AddrInfosFromP2pAddrs(mas...)
	if err != nil {
		return nil, fmt.Errorf("bootstrap: parsing peer addresses: %w", err)
	}
	return infos, nil
}
