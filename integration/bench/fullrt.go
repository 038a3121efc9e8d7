package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	dht "github.com/libp2p/go-libp2p-kad-dht"
	"github.com/libp2p/go-libp2p-kad-dht/fullrt"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
)

// fullrtSystem is kad-dht's accelerated client (fullrt) searching a
// network of kad-dht servers: every host runs kad-dht in server mode as
// kadSystem does (and the same host publishes the same keys with
// Provide); the searches are asked from fullrt clients, which crawl the
// whole network first and then send a FindProviders straight to the k
// closest peers of the key. Crawling a thousand hosts from every host
// would measure the crawl, so only a few hosts run a client and a search
// the workload gives to host h runs on client h mod n: the searchers'
// links are drawn from the same RTT distribution as everyone's. fullrt
// keeps only peers with a public address in its table, so a run with
// fullrt gives the mocknet hosts public addresses (latencyNet).
type fullrtSystem struct {
	*kadSystem
	n       int
	clients []*fullrt.FullRT
}

func newFullRTSystem(cfg Config, seed int64, publisher, clients int) *fullrtSystem {
	return &fullrtSystem{kadSystem: newKadSystem(cfg, seed, publisher), n: clients}
}

// Start starts the kad-dht servers (kadSystem.Start), then a fullrt client
// on each of the first n hosts other than the publisher, bootstrapped from
// a few random hosts, and waits until every client has crawled the network.
func (f *fullrtSystem) Start(ctx context.Context, hosts []host.Host) error {
	if err := f.kadSystem.Start(ctx, hosts); err != nil {
		return err
	}
	rng := seededRand(f.seed, "fullrt-bootstrap")
	for i := 0; len(f.clients) < f.n && i < len(hosts); i++ {
		if i == f.publisher {
			continue
		}
		var boot []peer.AddrInfo
		for _, j := range rng.Perm(len(hosts))[:4] {
			if j != i {
				boot = append(boot, peer.AddrInfo{ID: hosts[j].ID(), Addrs: hosts[j].Addrs()})
			}
		}
		c, err := fullrt.NewFullRT(&countingHost{Host: hosts[i], c: &f.count}, dht.DefaultPrefix,
			fullrt.DHTOption(dht.BootstrapPeers(boot...), dht.BucketSize(20)), // k = 20, as the servers
			// mocknet puts every host in one /16: the IP diversity filter
			// would keep 3 of them as a key's closest peers.
			fullrt.WithIPDiversityFilterLimit(0))
		if err != nil {
			return fmt.Errorf("bench: fullrt client on host %d: %w", i, err)
		}
		f.clients = append(f.clients, c)
	}
	t0 := time.Now()
	err := waitFor(ctx, 10*time.Minute, func() bool {
		for _, c := range f.clients {
			if !c.Ready() {
				return false
			}
		}
		return true
	})
	if err != nil {
		return fmt.Errorf("bench: fullrt clients crawling: %w", err)
	}
	f.cfg.logf("fullrt: %d clients crawled %d hosts in %.1fs", len(f.clients), len(hosts), time.Since(t0).Seconds())
	return nil
}

// Search asks client (h mod n), h the searching host, for the providers
// of the word's key until the lookup ends.
func (f *fullrtSystem) Search(ctx context.Context, s search, w *workload) (searchSample, error) {
	want := f.hosts[w.Publisher].ID()
	c := f.clients[s.Host%len(f.clients)]
	t0 := time.Now()
	out, found := firstProvider(c.FindProvidersAsync(ctx, kadKeywordCID(s.Word), 0), want, t0)
	if !found {
		return out, fmt.Errorf("bench: fullrt found no provider for %q", s.Word)
	}
	return out, nil
}

func (f *fullrtSystem) Close() error {
	var errs []error
	for _, c := range f.clients {
		errs = append(errs, c.Close())
	}
	f.clients = nil
	return errors.Join(append(errs, f.kadSystem.Close())...)
}

var _ system = (*fullrtSystem)(nil)
