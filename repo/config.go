package repo

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	ma "github.com/multiformats/go-multiaddr"
)

// Modes a node can run in (SPEC §2).
const (
	ModeAuto   = "auto"
	ModeServer = "server"
	ModeClient = "client"
)

// Config is the content of REPO/config.json.
type Config struct {
	// Listen lists the multiaddrs the libp2p host listens on.
	Listen []string `json:"listen"`
	// Bootstrap lists full multiaddrs (ending in /p2p/ID) of peers to join through.
	Bootstrap []string `json:"bootstrap"`
	// API is the HOST:PORT of the local API; it must be a loopback address.
	API string `json:"api"`
	// Mode is auto, server or client.
	Mode string `json:"mode"`
	// PublicCIDRs are address ranges treated as public internet.
	PublicCIDRs []string `json:"public_cidrs"`
	// RelayService offers a circuit relay v2 service when in server mode.
	RelayService bool `json:"relay_service"`
	// PortMapping asks the home router for a port mapping (UPnP, NAT-PMP).
	PortMapping bool `json:"port_mapping"`
	// Tick is the ring's unit of time.
	Tick Duration `json:"tick"`
	// RecordTTL is how long published records live before they expire.
	RecordTTL Duration `json:"record_ttl"`
	// Republish is how often this node republishes its shares.
	Republish Duration `json:"republish"`
	// Recheck is how often shared files are checked for changes.
	Recheck Duration `json:"recheck"`
	// Reconnect is how often the node retries bootstrap and remembered peers
	// while it has too few connections.
	Reconnect Duration `json:"reconnect"`
	// IndexWorkers is how many files are hashed in parallel when sharing.
	IndexWorkers int `json:"index_workers"`
	// PublishBatch is how many files' records go into one ring Put.
	PublishBatch int `json:"publish_batch"`
	// MaxRememberedPeers caps the peers kept in the database for the next start.
	MaxRememberedPeers int `json:"max_remembered_peers"`
}

// DefaultConfig returns the configuration a fresh repository gets.
func DefaultConfig() Config {
	return Config{
		// SPEC §5: TCP and QUIC on port 4001, all interfaces, IPv4 and IPv6.
		Listen: []string{
			"/ip4/0.0.0.0/tcp/4001",
			"/ip4/0.0.0.0/udp/4001/quic-v1",
			"/ip6/::/tcp/4001",
			"/ip6/::/udp/4001/quic-v1",
		},
		// No well-known network exists yet: the operator names bootstrap peers.
		Bootstrap: []string{},
		// SPEC §5: the local API is on loopback port 5151.
		API: "127.0.0.1:5151",
		// SPEC §2: AutoNAT decides by default.
		Mode: ModeAuto,
		// Only real public addresses count as public unless told otherwise.
		PublicCIDRs: []string{},
		// Reachable nodes relay for NATed ones, like Skype's super peers (issue 7).
		RelayService: true,
		// Most home routers need a mapping to make a laptop reachable (issue 7).
		PortMapping: true,
		// One second is short enough for failure detection in a few ticks and
		// long enough that maintenance traffic stays a few messages per second.
		Tick: Duration(time.Second),
		// SPEC §3: records live 24 h ...
		RecordTTL: Duration(24 * time.Hour),
		// ... and are republished every 12 h, so one missed round loses nothing.
		Republish: Duration(12 * time.Hour),
		// Files change rarely; a re-check every 10 minutes is a few stat calls.
		Recheck: Duration(10 * time.Minute),
		// Retrying every 30 s keeps a node that lost its peers from waiting long,
		// while the bootstrap package backs off per peer on top of this.
		Reconnect: Duration(30 * time.Second),
		// Hashing is CPU- and disk-bound: four workers keep a disk busy
		// without starving the node on a small machine.
		IndexWorkers: 4,
		// A batch of 64 files groups their keyword records into few store RPCs
		// (one per owner) and still reports progress often.
		PublishBatch: 64,
		// Enough peers to find the network again after a restart; small on disk.
		MaxRememberedPeers: 64,
	}
}

// Validate reports the first problem with c.
func (c Config) Validate() error {
	if len(c.Listen) == 0 {
		return errors.New("repo: config: listen must name at least one address")
	}
	for _, s := range c.Listen {
		if _, err := ma.NewMultiaddr(s); err != nil {
			return fmt.Errorf("repo: config: listen address %q: %w", s, err)
		}
	}
	for _, s := range c.Bootstrap {
		if err := checkBootstrap(s); err != nil {
			return fmt.Errorf("repo: config: bootstrap address %q: %w", s, err)
		}
	}
	if err := CheckLoopback(c.API); err != nil {
		return fmt.Errorf("repo: config: api: %w", err)
	}
	switch c.Mode {
	case ModeAuto, ModeServer, ModeClient:
	default:
		return fmt.Errorf("repo: config: mode %q: want auto, server or client", c.Mode)
	}
	for _, s := range c.PublicCIDRs {
		if _, _, err := net.ParseCIDR(s); err != nil {
			return fmt.Errorf("repo: config: public CIDR %q: %w", s, err)
		}
	}
	return c.validateNumbers()
}

func (c Config) validateNumbers() error {
	for name, d := range map[string]Duration{"tick": c.Tick, "record_ttl": c.RecordTTL,
		"republish": c.Republish, "recheck": c.Recheck, "reconnect": c.Reconnect} {
		if d <= 0 {
			return fmt.Errorf("repo: config: %s must be positive, got %s", name, d)
		}
	}
	if c.Republish >= c.RecordTTL {
		return fmt.Errorf("repo: config: republish (%s) must be shorter than record_ttl (%s), or records expire before they are renewed",
			c.Republish, c.RecordTTL)
	}
	if c.IndexWorkers < 1 || c.IndexWorkers > 256 {
		return fmt.Errorf("repo: config: index_workers must be in 1..256, got %d", c.IndexWorkers)
	}
	if c.PublishBatch < 1 || c.PublishBatch > 10000 {
		return fmt.Errorf("repo: config: publish_batch must be in 1..10000, got %d", c.PublishBatch)
	}
	if c.MaxRememberedPeers < 0 {
		return fmt.Errorf("repo: config: max_remembered_peers must not be negative, got %d", c.MaxRememberedPeers)
	}
	return nil
}

func checkBootstrap(s string) error {
	a, err := ma.NewMultiaddr(s)
	if err != nil {
		return err
	}
	if _, err := a.ValueForProtocol(ma.P_P2P); err != nil {
		return errors.New("must end in /p2p/PEER-ID")
	}
	return nil
}

// CheckLoopback reports an error unless addr is HOST:PORT with a loopback
// host (an IP in 127.0.0.0/8 or ::1, or "localhost") and a valid port.
func CheckLoopback(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%q is not HOST:PORT: %w", addr, err)
	}
	p, err := strconv.Atoi(port)
	if err != nil || p < 0 || p > 65535 {
		return fmt.Errorf("%q: bad port %q", addr, port)
	}
	if strings.EqualFold(host, "localhost") {
		return nil
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("%q is not a loopback address: the local API must not be reachable from the network", addr)
	}
	return nil
}

// Duration is a time.Duration written as a Go duration string ("12h0m0s") in JSON.
type Duration time.Duration

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

func (d Duration) String() string { return time.Duration(d).String() }

// MarshalJSON writes d as a string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

// UnmarshalJSON reads a duration string such as "90s" or "12h".
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration must be a string like \"30s\": %w", err)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}
