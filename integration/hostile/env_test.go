package hostile

import (
	"bytes"
	"context"
	crand "crypto/rand"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/security/noise"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"

	"kwsearch/blockxfer"
	cr "kwsearch/chordrouting"
	"kwsearch/chordrouting/p2p"
	"kwsearch/keyword"
)

// tick is the ring tick of the nodes under attack: short, so that request
// timeouts (requestTicks) are half a second.
const (
	tick         = 20 * time.Millisecond
	requestTicks = 25
)

// wallClock is the real clock (records carry real times).
type wallClock struct{}

func (wallClock) Now() time.Time { return time.Now() }

// newHost starts a libp2p host on loopback TCP with Noise (the cheapest
// handshake), with the default resource manager.
func newHost(t testing.TB, priv crypto.PrivKey) host.Host {
	t.Helper()
	if priv == nil {
		var err error
		priv, _, err = crypto.GenerateEd25519Key(crand.Reader)
		if err != nil {
			t.Fatal(err)
		}
	}
	h, err := libp2p.New(
		libp2p.Identity(priv),
		libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"),
		libp2p.NoTransports,
		libp2p.Transport(tcp.NewTCPTransport),
		libp2p.Security(noise.ID, noise.New),
		libp2p.DisableRelay(),
		libp2p.DisableMetrics(),
	)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return h
}

func newKey(t testing.TB) crypto.PrivKey {
	t.Helper()
	priv, _, err := crypto.GenerateEd25519Key(crand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return priv
}

func infoOf(h host.Host) peer.AddrInfo { return peer.AddrInfo{ID: h.ID(), Addrs: h.Addrs()} }

// ringConfig is the ring configuration of every honest node here.
func ringConfig(t testing.TB) cr.Config {
	t.Helper()
	val, err := keyword.NewValidator(keyword.DefaultValidatorConfig())
	if err != nil {
		t.Fatal(err)
	}
	cfg := cr.DefaultConfig()
	cfg.Validator = val
	cfg.StabilizeTicks = 5
	cfg.FixFingerTicks = 5
	cfg.RequestTimeoutTicks = requestTicks
	cfg.LookupTimeoutTicks = 10 * requestTicks
	cfg.RepairTicks = requestTicks + 10
	return cfg
}

// transportConfig is the p2p transport configuration of the nodes under
// attack: the defaults, with deadlines short enough for tests.
func transportConfig() p2p.Config {
	c := p2p.DefaultConfig()
	c.RequestTimeout = 3 * time.Second
	c.ReplyTimeout = 2 * time.Second
	return c
}

// node is an honest kwsearch node: host, ring node, index, block server.
type node struct {
	h     host.Host
	priv  crypto.PrivKey
	ring  *p2p.Ring
	st    *cr.MemStorage
	idx   *keyword.Index
	src   *blockxfer.FileSource
	srv   *blockxfer.Server
	files []keyword.FileEntry
	data  map[cid.Cid][]byte
}

type nodeOpts struct {
	ring      cr.Config
	transport p2p.Config
	server    blockxfer.ServerConfig
}

func defaultOpts(t testing.TB) nodeOpts {
	return nodeOpts{ring: ringConfig(t), transport: transportConfig(), server: blockxfer.DefaultServerConfig()}
}

func startNode(t testing.TB, o nodeOpts) *node {
	t.Helper()
	priv := newKey(t)
	h := newHost(t, priv)
	st := cr.NewMemStorage()
	ring, err := p2p.New(h, o.ring, st, p2p.Options{Transport: o.transport, Tick: tick, Clock: wallClock{},
		Rand: rand.New(rand.NewPCG(rand.Uint64(), 1))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ring.Close(false) })
	idx, err := keyword.New(ring.Runner, priv, h.Addrs, wallClock{}, keyword.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	src := blockxfer.NewFileSource(nil)
	srv, err := blockxfer.NewServer(h, src, o.server)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return &node{h: h, priv: priv, ring: ring, st: st, idx: idx, src: src, srv: srv, data: map[cid.Cid][]byte{}}
}

// startVictim starts a ring of one: the node every attack aims at.
func startVictim(t testing.TB, o nodeOpts) *node {
	t.Helper()
	v := startNode(t, o)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := v.ring.Create(ctx); err != nil {
		t.Fatal(err)
	}
	return v
}

// startRing starts an honest ring of n nodes (the first is the victim
// the others join through) and waits until every node's predecessor and
// successor are the right ones.
func startRing(t testing.TB, o nodeOpts, n int) []*node {
	t.Helper()
	nodes := []*node{startVictim(t, o)}
	for len(nodes) < n {
		nd := startNode(t, o)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := nd.ring.JoinVia(ctx, []peer.AddrInfo{infoOf(nodes[0].h)})
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		nodes = append(nodes, nd)
	}
	ids := make([]cr.ID, n)
	for i, nd := range nodes {
		ids[i] = nd.ring.Self().ID
	}
	slices.SortFunc(ids, func(a, b cr.ID) int { return bytes.Compare(a[:], b[:]) })
	poll(t, "ring of "+fmt.Sprint(n)+" stable", 20*time.Second, func() error {
		for _, nd := range nodes {
			st := nd.ring.Runner.State()
			k := slices.Index(ids, st.Self.ID)
			succ, pred := ids[(k+1)%n], ids[(k+n-1)%n]
			if len(st.Successors) == 0 || st.Successors[0].ID != succ || st.Predecessor == nil || st.Predecessor.ID != pred {
				return fmt.Errorf("node %d not linked yet", k)
			}
		}
		return nil
	})
	return nodes
}

// startClient starts an honest client of the ring with these entry points,
// asked in this order.
func startClient(t testing.TB, entry ...peer.AddrInfo) *node {
	t.Helper()
	return startClientWith(t, defaultOpts(t), entry...)
}

// startClientWith is startClient with the client's own options.
func startClientWith(t testing.TB, o nodeOpts, entry ...peer.AddrInfo) *node {
	t.Helper()
	c := startNode(t, o)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.ring.SetEntryPoints(ctx, entry); err != nil {
		t.Fatal(err)
	}
	return c
}

// share writes a file of size random bytes named name, serves it and
// publishes it; it returns the file's CID.
func (n *node) share(t testing.TB, name string, size int) cid.Cid {
	t.Helper()
	data := make([]byte, size)
	if _, err := crand.Read(data); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	fi, err := n.src.AddFile(path)
	if err != nil {
		t.Fatal(err)
	}
	f := keyword.FileEntry{CID: fi.Root(), Name: name, Size: uint64(size)}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := n.idx.Publish(ctx, []keyword.FileEntry{f})
	if err != nil || res.Stored != res.Records {
		t.Fatalf("publishing %s: stored %d of %d: %v", name, res.Stored, res.Records, err)
	}
	n.files = append(n.files, f)
	n.data[f.CID] = data
	return f.CID
}

// honest counts an honest client's successful searches and downloads.
type honest struct {
	searches, searchOK     int
	downloads, downloadOK  int
	lastSearchErr, lastDLE error
}

func (c honest) String() string {
	return fmt.Sprintf("honest searches %d/%d ok, downloads %d/%d ok", c.searchOK, c.searches, c.downloadOK, c.downloads)
}

// search runs one search for words and reports whether want was found
// with provider prov.
func (c *honest) search(t testing.TB, cl *node, words []string, want cid.Cid, prov peer.ID) bool {
	t.Helper()
	c.searches++
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	res, err := cl.idx.Search(ctx, words, 0, 0)
	if err != nil {
		c.lastSearchErr = err
		return false
	}
	for _, r := range res.Results {
		if r.CID != want {
			continue
		}
		for _, p := range r.Providers {
			if p.ID == prov {
				c.searchOK++
				return true
			}
		}
	}
	c.lastSearchErr = fmt.Errorf("%s not found among %d results (refused %d)", want, len(res.Results), res.Refused)
	return false
}

// download fetches root from providers into a fresh folder and reports
// whether the bytes are exactly want.
func (c *honest) download(t testing.TB, cl *node, root cid.Cid, want []byte, providers ...peer.AddrInfo) (blockxfer.Result, bool) {
	t.Helper()
	c.downloads++
	out := filepath.Join(t.TempDir(), "download")
	opts := blockxfer.DefaultFetchOptions()
	opts.OpenTimeout = 5 * time.Second
	opts.BlockTimeout = 2 * time.Second
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := blockxfer.Fetch(ctx, cl.h, root, providers, out, opts)
	if err != nil {
		c.lastDLE = err
		return res, false
	}
	got, err := os.ReadFile(out)
	if err != nil || !bytes.Equal(got, want) {
		c.lastDLE = fmt.Errorf("downloaded bytes differ (%d bytes, %v)", len(got), err)
		return res, false
	}
	c.downloadOK++
	return res, true
}

// round runs one honest search and one honest download of every file the
// victim shares, from the client.
func (c *honest) round(t testing.TB, cl, v *node) {
	t.Helper()
	for _, f := range v.files {
		c.search(t, cl, keyword.QueryWords(f.Name), f.CID, v.h.ID())
		c.download(t, cl, f.CID, v.data[f.CID], infoOf(v.h))
	}
}

// requireAllOK fails the test unless every honest operation succeeded.
func (c *honest) requireAllOK(t testing.TB) {
	t.Helper()
	t.Log(c.String())
	if c.searchOK != c.searches {
		t.Errorf("%d of %d honest searches failed; last: %v", c.searches-c.searchOK, c.searches, c.lastSearchErr)
	}
	if c.downloadOK != c.downloads {
		t.Errorf("%d of %d honest downloads failed; last: %v", c.downloads-c.downloadOK, c.downloads, c.lastDLE)
	}
}

// storeSnapshot is what a node holds: for every key, identity -> bytes.
type storeSnapshot map[cr.ID]map[string][]byte

// snapshot reads the victim's storage on its loop (the Node owns it) and
// checks that every stored value validates now.
func (n *node) snapshot(t testing.TB) storeSnapshot {
	t.Helper()
	val, err := keyword.NewValidator(keyword.DefaultValidatorConfig())
	if err != nil {
		t.Fatal(err)
	}
	snap := storeSnapshot{}
	var bad []string
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = n.ring.Runner.Do(ctx, func(*cr.Node) {
		keys, err := n.st.Keys()
		if err != nil {
			bad = append(bad, err.Error())
			return
		}
		now := time.Now()
		for _, k := range keys {
			vs, _ := n.st.Values(k)
			m := map[string][]byte{}
			for _, v := range vs {
				if _, err := val.Validate(k, v.Data, now); err != nil {
					bad = append(bad, fmt.Sprintf("key %s identity %s: %v", k, v.Identity, err))
				}
				m[v.Identity] = v.Data
			}
			snap[k] = m
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range bad {
		t.Errorf("invalid value stored: %s", b)
	}
	return snap
}

// values counts the values in a snapshot.
func (s storeSnapshot) values() int {
	n := 0
	for _, m := range s {
		n += len(m)
	}
	return n
}

// requireKept fails unless every value of before is still in after with
// the same bytes (nothing valid lost or altered).
func requireKept(t testing.TB, before, after storeSnapshot) {
	t.Helper()
	for k, m := range before {
		for id, data := range m {
			got, ok := after[k][id]
			if !ok {
				t.Errorf("value lost: key %s identity %s", k, id)
			} else if !bytes.Equal(got, data) {
				t.Errorf("value changed: key %s identity %s", k, id)
			}
		}
	}
}

// poll calls cond until it returns nil or the deadline passes.
func poll(t testing.TB, what string, timeout time.Duration, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %v", what, err)
		}
		time.Sleep(20 * time.Millisecond) // polling interval, not a wait for a condition
	}
}

// parallel runs f(i) for i in [0, n) on at most workers goroutines.
func parallel(n, workers int, f func(i int)) {
	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				f(i)
			}
		}()
	}
	for i := 0; i < n; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
}

func contextTimeout(d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), d)
}
