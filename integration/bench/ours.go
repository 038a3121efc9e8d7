package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"sync/atomic"
	"time"

	cr "kwsearch/chordrouting"
	"kwsearch/chordrouting/p2p"
	"kwsearch/keyword"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/peerstore"
	ma "github.com/multiformats/go-multiaddr"
)

// formTick is the ring's tick while it forms: a tenth of the daemon's
// second, so a ring of a thousand hosts forms and settles in minutes.
// Once it has, the ring ticks at Config.RingTick (the daemon's second):
// lookups do not wait on ticks, but maintenance at ten times the daemon's
// rate took most of a core at 1,000 in-process hosts and queued the
// searches behind it.
const formTick = 100 * time.Millisecond

// wallClock is the real clock.
type wallClock struct{}

func (wallClock) Now() time.Time { return time.Now() }

// ringHost is our stack on one host: transport, ring node, index.
type ringHost struct {
	tr     *p2p.Transport
	runner *cr.Runner
	index  *keyword.Index
}

// oursSystem is kwsearch: the ring (chordrouting over chordrouting/p2p) in
// server mode on every host, with the daemon's defaults, and the keyword
// index on top of it.
type oursSystem struct {
	cfg   Config
	seed  int64
	hosts []host.Host
	nodes []*ringHost
	count msgCounter
	// rtt is the link round trip between two hosts (nil: unknown, as on
	// loopback).
	rtt func(a, b peer.ID) time.Duration
	// slow counts searches over 500 ms (the first few are logged).
	slow atomic.Int64
	// tables is the one-hop tables' completeness once settled.
	tables tableStats
	// clock makes every ring runner's ticker.
	clock *tickClock
}

func newOursSystem(cfg Config, seed int64, rtt func(a, b peer.ID) time.Duration) *oursSystem {
	return &oursSystem{cfg: cfg, seed: seed, rtt: rtt, clock: newTickClock(formTick)}
}

// Messages counts requests: our transport opens one stream per exchange.
func (o *oursSystem) Messages() int64 { return o.count.streams.Load() }

// Start runs a ring node and an index on every host, lets host 0 create
// the ring and every other host join through a random host that has joined
// already (16 joins at a time), then waits until the ring is correct (every
// successor and predecessor as the sorted IDs say) and the fingers have
// stopped changing.
func (o *oursSystem) Start(ctx context.Context, hosts []host.Host) error {
	o.hosts = hosts
	rng := seededRand(o.seed, "ours-ring")
	v, err := keyword.NewValidator(keyword.DefaultValidatorConfig())
	if err != nil {
		return fmt.Errorf("bench: keyword validator: %w", err)
	}
	cfg := cr.DefaultConfig()
	cfg.Validator = v
	if o.cfg.OneHop {
		cfg.EnableOneHop() // as the daemon runs it (node/ring.go)
	}
	if t := o.cfg.RingRequestTimeoutTicks; t > 0 {
		cfg.RequestTimeoutTicks = t
		cfg.LookupTimeoutTicks = max(cfg.LookupTimeoutTicks, t)
		cfg.RepairTicks = max(cfg.RepairTicks, t+1)
	}
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("bench: ring config: %w", err)
	}
	for i, h := range hosts {
		rh, err := newRingHost(&countingHost{Host: h, c: &o.count, inbound: true}, cfg, rand.New(rand.NewPCG(uint64(rng.Int63()), uint64(i))), o.clock)
		if err != nil {
			return fmt.Errorf("bench: ring on host %d: %w", i, err)
		}
		o.nodes = append(o.nodes, rh)
	}
	if err := o.nodes[0].runner.Do(ctx, func(n *cr.Node) { n.Create() }); err != nil {
		return fmt.Errorf("bench: creating the ring: %w", err)
	}
	order := rng.Perm(len(hosts) - 1)
	joined := []int{0}
	for start := 0; start < len(order); start += 16 {
		batch := order[start:min(start+16, len(order))]
		vias := make([]int, len(batch))
		for k := range batch {
			vias[k] = joined[rng.Intn(len(joined))]
		}
		alt := make([]int, len(batch)) // a second entry point, as a daemon retries
		for k := range batch {
			alt[k] = joined[rng.Intn(len(joined))]
		}
		err := parallel(ctx, len(batch), len(batch), func(ctx context.Context, k int) error {
			i := batch[k] + 1
			err := o.join(ctx, i, vias[k])
			for attempt := 0; err != nil && attempt < 2 && ctx.Err() == nil; attempt++ {
				o.cfg.logf("ours: %v; retrying via host %d", err, alt[k])
				err = o.join(ctx, i, alt[k])
			}
			return err
		})
		if err != nil {
			return err
		}
		for _, i := range batch {
			joined = append(joined, i+1)
		}
	}
	if err := o.waitConverged(ctx); err != nil {
		return err
	}
	o.clock.SetPeriod(o.cfg.RingTick)
	return nil
}

func newRingHost(h host.Host, cfg cr.Config, rng *rand.Rand, clock *tickClock) (*ringHost, error) {
	tr, err := p2p.NewTransport(h, p2p.DefaultConfig(), wallClock{})
	if err != nil {
		return nil, err
	}
	tr.SetAddrGrouper(hostGroup)
	node, err := cr.NewNode(tr.Self(), cfg, tr, cr.NewMemStorage(), wallClock{}, rng)
	if err != nil {
		tr.Close()
		return nil, err
	}
	runner := cr.NewRunner(node, formTick, clock)
	tr.Start(runner.Deliver)
	key := h.Peerstore().PrivKey(h.ID())
	if key == nil {
		runner.Close(false)
		tr.Close()
		return nil, errors.New("bench: host has no private key in its peerstore")
	}
	addrs := func() []ma.Multiaddr { return h.Addrs() }
	index, err := keyword.New(runner, key, addrs, wallClock{}, keyword.DefaultConfig())
	if err != nil {
		runner.Close(false)
		tr.Close()
		return nil, err
	}
	return &ringHost{tr: tr, runner: runner, index: index}, nil
}

// hostGroup puts every host in a network of its own: mocknet gives all
// hosts addresses in one /64 (100::/64, with the peer ID as suffix), which
// the transport's per-subnet limits would treat as one attacker's network.
func hostGroup(p peer.ID, _ ma.Multiaddr) p2p.AddrGroup {
	return p2p.AddrGroup{IP: p.String(), Subnet: p.String()}
}

func (o *oursSystem) join(ctx context.Context, i, via int) error {
	h, v := o.hosts[i], o.hosts[via]
	h.Peerstore().AddAddrs(v.ID(), v.Addrs(), peerstore.TempAddrTTL)
	jctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := o.nodes[i].runner.Join(jctx, []cr.Peer{p2p.PeerOf(v.ID())}); err != nil {
		return fmt.Errorf("bench: host %d joining via host %d: %w", i, via, err)
	}
	return nil
}

// waitConverged polls every node's state until the ring is correct and the
// total finger count (with one-hop routing, plus the membership tables'
// sizes) has not changed for three seconds. Tables that settle incomplete
// are measured as they are: a missing entry costs a lookup a second hop.
func (o *oursSystem) waitConverged(ctx context.Context) error {
	ids := make([]cr.ID, len(o.hosts))
	for i, h := range o.hosts {
		ids[i] = p2p.PeerOf(h.ID()).ID
	}
	sorted := append([]cr.ID(nil), ids...)
	sort.Slice(sorted, func(a, b int) bool { return string(sorted[a][:]) < string(sorted[b][:]) })
	pos := make(map[cr.ID]int, len(sorted))
	for k, id := range sorted {
		pos[id] = k
	}
	n := len(sorted)
	lastRouting, stableSince := -1, time.Now()
	deadline := time.Now().Add(5*time.Minute + time.Duration(n)*100*time.Millisecond)
	for {
		correct, routing, minTable := true, 0, n-1
		for i, rh := range o.nodes {
			if o.cfg.OneHop {
				size := o.tableSize(ctx, rh)
				minTable = min(minTable, size)
				routing += size // tables are routing state that must settle too
			}
			st := rh.runner.State()
			k := pos[ids[i]]
			if !st.Member || len(st.Successors) == 0 || st.Successors[0].ID != sorted[(k+1)%n] ||
				st.Predecessor == nil || st.Predecessor.ID != sorted[(k+n-1)%n] {
				correct = false
			}
			routing += len(st.Fingers)
		}
		if routing != lastRouting {
			lastRouting, stableSince = routing, time.Now()
		}
		if correct && time.Since(stableSince) >= 3*time.Second {
			if o.cfg.OneHop {
				o.tables = o.tableStats(ctx, n)
				o.cfg.logf("ours: one-hop tables settled; the smallest names %d of the %d other hosts; %.2f%% of all entries missing",
					o.tables.Min, n-1, 100*o.tables.Missing)
			}
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("bench: ring not converged (correct %v, %d finger and table entries, smallest one-hop table %d of %d)", correct, routing, minTable, n-1)
		}
		select {
		case <-time.After(200 * time.Millisecond):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// tableStats is how complete the one-hop tables are when the searches
// start.
type tableStats struct {
	Min     int     // entries in the smallest table
	Missing float64 // share of all (host, other host) entries missing
}

func (o *oursSystem) tableStats(ctx context.Context, n int) tableStats {
	st := tableStats{Min: n - 1}
	missing := 0
	for _, rh := range o.nodes {
		size := o.tableSize(ctx, rh)
		st.Min = min(st.Min, size)
		missing += max(0, n-1-size)
	}
	if n > 1 {
		st.Missing = float64(missing) / float64(n*(n-1))
	}
	return st
}

// TableStats reports the one-hop tables' completeness when the searches
// started (ok false without one-hop routing).
func (o *oursSystem) TableStats() (tableStats, bool) { return o.tables, o.cfg.OneHop }

// tableSize is the number of members in rh's one-hop table (0 if the
// runner has stopped).
func (o *oursSystem) tableSize(ctx context.Context, rh *ringHost) int {
	size := 0
	if err := rh.runner.Do(ctx, func(n *cr.Node) { size = n.MembershipSize() }); err != nil {
		return 0
	}
	return size
}

func fileEntries(w *workload) []keyword.FileEntry {
	out := make([]keyword.FileEntry, len(w.Files))
	for i, f := range w.Files {
		out[i] = keyword.FileEntry{CID: f.CID, Name: f.Name, Size: uint64(f.Size)}
	}
	return out
}

// Publish shares every file with one Index.Publish call on the publisher.
func (o *oursSystem) Publish(ctx context.Context, w *workload) (publishStats, error) {
	res, err := o.nodes[w.Publisher].index.Publish(ctx, fileEntries(w))
	if err != nil {
		return publishStats{}, fmt.Errorf("bench: keyword publish: %w", err)
	}
	if res.Stored < res.Records {
		return publishStats{}, fmt.Errorf("bench: keyword publish: owners acknowledged %d of %d records", res.Stored, res.Records)
	}
	return publishStats{RPCs: res.RPCs, Lookups: res.Lookups, Keys: res.Records, Mode: "one Publish call"}, nil
}

// Search runs a one-word search and accepts it only if it found every file
// of the workload that has the word, from the publisher.
func (o *oursSystem) Search(ctx context.Context, s search, w *workload) (searchSample, error) {
	self := o.hosts[s.Host]
	before := make(map[peer.ID]bool)
	for _, p := range self.Network().Peers() {
		before[p] = true
	}
	t0 := time.Now()
	res, err := o.nodes[s.Host].index.Search(ctx, []string{s.Word}, 0, 0)
	d := time.Since(t0)
	if err != nil {
		return searchSample{}, fmt.Errorf("bench: keyword search %q: %w", s.Word, err)
	}
	want := w.filesWith(s.Word)
	pub := o.hosts[w.Publisher].ID()
	got := 0
	for _, r := range res.Results {
		if want[r.CID.KeyString()] && hasProvider(r.Providers, pub) {
			got++
		}
	}
	if got < len(want) {
		return searchSample{}, fmt.Errorf("bench: keyword search %q: %d of %d files", s.Word, got, len(want))
	}
	out := searchSample{First: d, Done: d, Hops: res.Hops, Results: len(res.Results)}
	if owner, err := p2p.PeerID(res.From); err == nil && owner != self.ID() {
		out.Fresh = !before[owner]
		if o.rtt != nil {
			out.OwnerRTT = o.rtt(self.ID(), owner)
		}
	}
	if d > 500*time.Millisecond && o.slow.Add(1) <= 10 {
		o.cfg.logf("ours: slow search %q from host %d: %.0f ms, %d hops, owner %s (link RTT %.0f ms, fresh connection %v)",
			s.Word, s.Host, ms(d), res.Hops, res.From.ID.Short(), ms(out.OwnerRTT), out.Fresh)
	}
	return out, nil
}

func hasProvider(ps []peer.AddrInfo, p peer.ID) bool {
	for _, ai := range ps {
		if ai.ID == p {
			return true
		}
	}
	return false
}

func (o *oursSystem) Close() error {
	var errs []error
	for _, rh := range o.nodes {
		errs = append(errs, rh.runner.Close(false), rh.tr.Close())
	}
	o.nodes = nil
	return errors.Join(errs...)
}

var _ system = (*oursSystem)(nil)
