package main

import (
	"fmt"
	"log/slog"
	"net"
	"strings"

	ma "github.com/multiformats/go-multiaddr"
	"github.com/spf13/cobra"

	"kwsearch/bootstrap"
	"kwsearch/node"
	"kwsearch/repo"
)

// daemonFlags are the daemon's command-line overrides of the config file.
type daemonFlags struct {
	listen, bootstrap, publicCIDR []string
	api, mode, logLevel, metrics  string
	relayService                  bool
}

func newDaemonCmd(e *env) *cobra.Command {
	var f daemonFlags
	cmd := &cobra.Command{
		Use:   "daemon [--listen MADDR]... [--bootstrap MADDR]... [--api HOST:PORT] [--mode auto|server|client] [--relay-service] [--public-cidr CIDR]...",
		Short: "Run the node (creates the repository first if missing)",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			level, err := f.check()
			if err != nil {
				return err
			}
			path, err := e.repoPath()
			if err != nil {
				return err
			}
			r, created, err := openOrInit(path)
			if err != nil {
				return fmt.Errorf("daemon: %w", err)
			}
			cfg := f.apply(cmd, r.Config)
			if err := cfg.Validate(); err != nil {
				return usageError{fmt.Errorf("daemon: %w", err)}
			}
			// Process-wide: libp2p reads go-multiaddr's address tables everywhere.
			if _, err := bootstrap.UsePublicCIDRs(cfg.PublicCIDRs); err != nil {
				if len(f.publicCIDR) > 0 {
					return usageError{fmt.Errorf("daemon: --public-cidr: %w", err)}
				}
				return fmt.Errorf("daemon: config public_cidrs: %w", err)
			}
			log := slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: level}))
			if created {
				log.Info("created repository", "path", path, "peer_id", r.ID)
			}
			version, commit := buildVersion()
			n, err := node.Start(cmd.Context(), node.Options{
				Repo: r, Config: cfg, Log: log, MetricsAddr: f.metrics,
				Version: version + " " + commit,
			})
			if err != nil {
				if cmd.Context().Err() != nil {
					log.Info("interrupted while starting")
					return nil // SIGINT/SIGTERM: a clean stop, whenever it comes
				}
				return fmt.Errorf("daemon: %w", err)
			}
			fmt.Fprintf(e.stdout, "ready peer_id=%s api=%s addrs=%s\n", r.ID, n.APIAddr(), strings.Join(n.Addrs(), ","))
			<-cmd.Context().Done()
			log.Info("stopping: leaving the ring gracefully")
			if err := n.Close(); err != nil {
				return fmt.Errorf("daemon: stopping: %w", err)
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringArrayVar(&f.listen, "listen", nil, "multiaddr to listen on (repeatable; default TCP and QUIC on port 4001)")
	fl.StringArrayVar(&f.bootstrap, "bootstrap", nil, "bootstrap peer, a full multiaddr ending in /p2p/ID (repeatable)")
	fl.StringVar(&f.api, "api", "", "local API address HOST:PORT, loopback only (default 127.0.0.1:5151; port 0 picks one)")
	fl.StringVar(&f.mode, "mode", "", "auto, server or client (default auto)")
	fl.BoolVar(&f.relayService, "relay-service", false, "offer a circuit relay service to NATed peers (server mode)")
	fl.StringArrayVar(&f.publicCIDR, "public-cidr", nil, "treat this address range as public internet (repeatable)")
	fl.StringVar(&f.logLevel, "log-level", "info", "debug, info, warn or error")
	fl.StringVar(&f.metrics, "metrics", "", "serve Prometheus metrics on HOST:PORT (off when empty)")
	return cmd
}

// check validates the flag values; errors are bad usage.
func (f *daemonFlags) check() (slog.Level, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(f.logLevel)); err != nil {
		return 0, usagef("daemon: --log-level %q: want debug, info, warn or error", f.logLevel)
	}
	for _, s := range f.listen {
		if _, err := ma.NewMultiaddr(s); err != nil {
			return 0, usagef("daemon: --listen %q: %v", s, err)
		}
	}
	for _, s := range f.bootstrap {
		a, err := ma.NewMultiaddr(s)
		if err != nil {
			return 0, usagef("daemon: --bootstrap %q: %v", s, err)
		}
		if _, err := a.ValueForProtocol(ma.P_P2P); err != nil {
			return 0, usagef("daemon: --bootstrap %q must end in /p2p/PEER-ID", s)
		}
	}
	if f.api != "" {
		if err := repo.CheckLoopback(f.api); err != nil {
			return 0, usagef("daemon: --api: %v", err)
		}
	}
	switch f.mode {
	case "", repo.ModeAuto, repo.ModeServer, repo.ModeClient:
	default:
		return 0, usagef("daemon: --mode %q: want auto, server or client", f.mode)
	}
	for _, s := range f.publicCIDR {
		if _, _, err := net.ParseCIDR(s); err != nil {
			return 0, usagef("daemon: --public-cidr %q: %v", s, err)
		}
	}
	if f.metrics != "" {
		if _, _, err := net.SplitHostPort(f.metrics); err != nil {
			return 0, usagef("daemon: --metrics %q: %v", f.metrics, err)
		}
	}
	return level, nil
}

// apply overrides cfg with the flags given on the command line.
func (f *daemonFlags) apply(cmd *cobra.Command, cfg repo.Config) repo.Config {
	if len(f.listen) > 0 {
		cfg.Listen = f.listen
	}
	if len(f.bootstrap) > 0 {
		cfg.Bootstrap = f.bootstrap
	}
	if f.api != "" {
		cfg.API = f.api
	}
	if f.mode != "" {
		cfg.Mode = f.mode
	}
	if cmd.Flags().Changed("relay-service") {
		cfg.RelayService = f.relayService
	}
	if len(f.publicCIDR) > 0 {
		cfg.PublicCIDRs = f.publicCIDR
	}
	return cfg
}
