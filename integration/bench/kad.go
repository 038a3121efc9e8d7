package main

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/ipfs/go-cid"
	dht "github.com/libp2p/go-libp2p-kad-dht"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
)

// kadSystem is go-libp2p-kad-dht in server mode with its defaults on every
// host.
type kadSystem struct {
	cfg       Config
	seed      int64
	publisher int
	dialWidth int // dials at once while connecting
	hosts     []host.Host
	dhts      []*dht.IpfsDHT
	count     msgCounter
}

func newKadSystem(cfg Config, seed int64, publisher int) *kadSystem {
	return &kadSystem{cfg: cfg, seed: seed, publisher: publisher, dialWidth: 32}
}

func (k *kadSystem) Messages() int64 { return k.count.writes.Load() }

// Start creates a DHT on every host, connects each host to a few random
// others, bootstraps every DHT and waits for its first routing table
// refresh to finish.
func (k *kadSystem) Start(ctx context.Context, hosts []host.Host) error {
	k.hosts = hosts
	for i, h := range hosts {
		d, err := dht.New(&countingHost{Host: h, c: &k.count}, dht.Mode(dht.ModeServer))
		if err != nil {
			return fmt.Errorf("bench: kad-dht on host %d: %w", i, err)
		}
		k.dhts = append(k.dhts, d)
	}
	if err := connectRandom(ctx, seededRand(k.seed, "kad-connect"), hosts, k.cfg.Degree, k.dialWidth); err != nil {
		return err
	}
	// A peer enters a routing table once identify has told the DHT that it
	// speaks the protocol, which takes a round trip after the dial.
	if err := waitFor(ctx, 30*time.Second, func() bool {
		for _, d := range k.dhts {
			if d.RoutingTable().Size() == 0 {
				return false
			}
		}
		return true
	}); err != nil {
		return fmt.Errorf("bench: kad-dht routing tables after connecting: %w", err)
	}
	// Bootstrap is RefreshNoWait: it starts a routing table refresh.
	// RefreshRoutingTable starts the same refresh and says when it has
	// finished, so that searches run over a warm network.
	err := parallel(ctx, 64, len(k.dhts), func(ctx context.Context, i int) error {
		select {
		case err := <-k.dhts[i].RefreshRoutingTable():
			if err != nil && k.dhts[i].RoutingTable().Size() == 0 {
				return fmt.Errorf("bench: kad-dht refresh on host %d: %w", i, err)
			}
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
	return err
}

// kadKeys is what kad-dht provides for w: one key per distinct keyword (the
// keyword's provider record points to the publisher, as our keyword record
// does) and one per file (the content's provider record).
func kadKeys(w *workload) []cid.Cid {
	keys := make([]cid.Cid, 0, len(w.Words)+len(w.Files))
	for _, wd := range w.Words {
		keys = append(keys, kadKeywordCID(wd))
	}
	for _, f := range w.Files {
		keys = append(keys, f.CID)
	}
	return keys
}

func (k *kadSystem) Publish(ctx context.Context, w *workload) (publishStats, error) {
	keys := kadKeys(w)
	if w.Publisher != k.publisher {
		return publishStats{}, fmt.Errorf("bench: kad-dht set up to publish from host %d, not %d", k.publisher, w.Publisher)
	}
	d := k.dhts[w.Publisher]
	perKey := make([]float64, len(keys))
	var done atomic.Int64
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		t := time.NewTicker(30 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				k.cfg.logf("kad-dht: provided %d of %d keys", done.Load(), len(keys))
			case <-stop:
				return
			}
		}
	}()
	err := parallel(ctx, k.cfg.KadWorkers, len(keys), func(ctx context.Context, i int) error {
		pctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		defer cancel()
		t0 := time.Now()
		if err := d.Provide(pctx, keys[i], true); err != nil {
			return fmt.Errorf("bench: kad-dht provide %s: %w", keys[i], err)
		}
		perKey[i] = ms(time.Since(t0))
		done.Add(1)
		return nil
	})
	return publishStats{Keys: len(keys), Mode: fmt.Sprintf("Provide, %d workers", k.cfg.KadWorkers), PerKeyMs: perKey}, err
}

// Search asks for the providers of the word's key until the lookup ends.
func (k *kadSystem) Search(ctx context.Context, s search, w *workload) (searchSample, error) {
	want := k.hosts[w.Publisher].ID()
	t0 := time.Now()
	out, found := firstProvider(k.dhts[s.Host].FindProvidersAsync(ctx, kadKeywordCID(s.Word), 0), want, t0)
	if !found {
		if err := ctx.Err(); err != nil {
			return out, fmt.Errorf("bench: kad-dht found no provider for %q: %w", s.Word, err)
		}
		return out, fmt.Errorf("bench: kad-dht found no provider for %q", s.Word)
	}
	return out, nil
}

func (k *kadSystem) Close() error {
	var errs []error
	for _, d := range k.dhts {
		errs = append(errs, d.Close())
	}
	k.dhts = nil
	return errors.Join(errs...)
}

var _ system = (*kadSystem)(nil)

// firstProvider drains a FindProvidersAsync channel: when want first
// came, when the lookup ended and how many providers came, and whether
// want was among them.
func firstProvider(ch <-chan peer.AddrInfo, want peer.ID, t0 time.Time) (searchSample, bool) {
	var out searchSample
	found := false
	for ai := range ch {
		if !found && ai.ID == want {
			found = true
			out.First = time.Since(t0)
		}
		out.Results++
	}
	out.Done = time.Since(t0)
	return out, found
}
