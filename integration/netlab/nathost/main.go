// Command nathost is a plain libp2p node built by package bootstrap, for
// the NAT lab tests: it runs in one lab namespace, reports its status as
// JSON lines on stdout, and on the command "connect MADDR ATTEMPTS
// PER_ATTEMPT" on stdin dials a peer through its relay address and reports
// when (and whether) hole punching, driven by bootstrap.DirectConnect,
// turned that into a direct connection.
package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"kwsearch/bootstrap"

	mrand "math/rand/v2"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
)

type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(s string) error { *l = append(*l, s); return nil }

// out writes one JSON object per line; safe for concurrent use.
type out struct {
	mu  sync.Mutex
	enc *json.Encoder
}

func (o *out) emit(v map[string]any) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.enc.Encode(v)
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "nathost:", err)
		os.Exit(1)
	}
}

func run() error {
	var listen, cidrs, boot listFlag
	flag.Var(&listen, "listen", "listen multiaddr (repeatable)")
	flag.Var(&cidrs, "public-cidr", "range treated as public (repeatable)")
	flag.Var(&boot, "bootstrap", "bootstrap peer /.../p2p/ID (repeatable)")
	mode := flag.String("mode", "auto", "auto, server or client")
	relaySvc := flag.Bool("relay-service", false, "offer a relay service when public")
	flag.Parse()

	prefixes, err := bootstrap.ParsePublicCIDRs(cidrs)
	if err != nil {
		return err
	}
	bootstrap.TreatAsPublic(prefixes)
	cfg, err := config(listen, boot, *mode, *relaySvc)
	if err != nil {
		return err
	}
	h, err := bootstrap.New(cfg)
	if err != nil {
		return err
	}
	defer h.Close()
	o := &out{enc: json.NewEncoder(os.Stdout)}
	o.emit(map[string]any{"event": "ready", "id": h.ID().String(), "addrs": h.Addrs()})

	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	if len(cfg.BootstrapPeers) > 0 {
		bc := bootstrap.DefaultBootstrapConfig()
		bc.Peers = cfg.BootstrapPeers
		bc.MinConnections = len(bc.Peers)
		b, err := bootstrap.NewBootstrapper(h, bc, bootstrap.SystemClock{}, mrand.New(mrand.NewPCG(mrand.Uint64(), mrand.Uint64())))
		if err != nil {
			return err
		}
		go b.Run(ctx)
	}
	go reportStatus(ctx, h, o)
	go commands(ctx, h, o)
	<-ctx.Done()
	return nil
}

func config(listen, boot []string, mode string, relaySvc bool) (bootstrap.Config, error) {
	cfg := bootstrap.DefaultConfig()
	key, _, err := crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		return cfg, err
	}
	cfg.Identity = key
	cfg.PortMapping = false // nothing to map in the lab
	cfg.RelayService = relaySvc
	if cfg.Mode, err = bootstrap.ParseMode(mode); err != nil {
		return cfg, err
	}
	for _, s := range listen {
		a, err := ma.NewMultiaddr(s)
		if err != nil {
			return cfg, err
		}
		cfg.Listen = append(cfg.Listen, a)
	}
	if cfg.BootstrapPeers, err = bootstrap.ParsePeers(boot); err != nil {
		return cfg, err
	}
	return cfg, cfg.Validate()
}

func reportStatus(ctx context.Context, h *bootstrap.Host, o *out) {
	emit := func(st bootstrap.Status) {
		o.emit(map[string]any{"event": "status", "mode": st.Mode, "reachability": st.Reachability,
			"relay_addrs": st.RelayAddrs, "reachable_addrs": st.ReachableAddrs})
	}
	emit(h.Status())
	for {
		select {
		case <-ctx.Done():
			return
		case st := <-h.Changes():
			emit(st)
		}
	}
}

// commands reads "connect MADDR ATTEMPTS PER_ATTEMPT" lines.
func commands(ctx context.Context, h *bootstrap.Host, o *out) {
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 4 || f[0] != "connect" {
			o.emit(map[string]any{"event": "error", "error": "want: connect MADDR ATTEMPTS PER_ATTEMPT"})
			continue
		}
		cfg := bootstrap.DefaultDirectConfig()
		var err error
		if cfg.Attempts, err = strconv.Atoi(f[2]); err == nil {
			cfg.PerAttempt, err = time.ParseDuration(f[3])
		}
		if err == nil {
			err = cfg.Validate()
		}
		if err != nil {
			o.emit(map[string]any{"event": "error", "error": err.Error()})
			continue
		}
		go connect(ctx, h, o, f[1], cfg)
	}
}

// connect dials through the relay address, then gets a direct connection
// with bootstrap.DirectConnect, reporting times from the relayed dial.
func connect(ctx context.Context, h *bootstrap.Host, o *out, addr string, cfg bootstrap.DirectConfig) {
	info, err := peer.AddrInfoFromString(addr)
	if err != nil {
		o.emit(map[string]any{"event": "error", "error": err.Error()})
		return
	}
	start := time.Now()
	dctx, cancel := context.WithTimeout(ctx, cfg.PerAttempt)
	err = h.Connect(dctx, *info)
	cancel()
	if err != nil {
		o.emit(map[string]any{"event": "error", "error": fmt.Sprintf("relayed dial: %v", err)})
		return
	}
	o.emit(map[string]any{"event": "relayed", "ms": ms(time.Since(start))})
	c, err := bootstrap.DirectConnect(ctx, h, *info, cfg)
	switch {
	case errors.Is(err, bootstrap.ErrNoDirect):
		o.emit(map[string]any{"event": "nodirect", "ms": ms(time.Since(start)), "error": err.Error()})
	case err != nil:
		o.emit(map[string]any{"event": "error", "error": err.Error()})
	default:
		o.emit(map[string]any{"event": "direct", "ms": ms(time.Since(start)), "addr": c.RemoteMultiaddr().String()})
	}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
