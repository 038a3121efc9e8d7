package keyword

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/record"
	"github.com/libp2p/go-libp2p/p2p/security/noise"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"

	"kwsearch/chordrouting"
	"kwsearch/chordrouting/p2p"
)

// testTick is the ring tick in network tests: short, so that the ring
// stabilizes and repairs in well under a second.
const testTick = 20 * time.Millisecond

// testRequestTicks is the ring's request timeout in tests: 1.5s, because
// dials and signature checks under the race detector are slow.
const testRequestTicks = 75

type netNode struct {
	h      host.Host
	priv   crypto.PrivKey
	ring   *p2p.Ring
	st     *chordrouting.MemStorage
	x      *Index
	member bool
	down   bool
}

// testNet is an in-process network of real libp2p hosts on loopback.
type testNet struct {
	t     testing.TB
	clock *fakeClock
	cfg   chordrouting.Config
	rng   *rand.Rand
	mu    sync.Mutex
	nodes []*netNode
	seed  uint64
	wait  time.Duration // the ring's request timeout
}

// newTestNet starts members ring nodes. requestTicks is the ring's request
// timeout in ticks of testTick: a few dozen for tests; more for the
// benchmark, where 50 hosts verify thousands of signatures on 2 cores and
// a loaded node answers late rather than never.
func newTestNet(t testing.TB, members, requestTicks int) *testNet {
	t.Helper()
	seed := uint64(time.Now().UnixNano())
	t.Logf("network seed %d", seed)
	val := testValidator(t)
	cfg := chordrouting.DefaultConfig()
	cfg.Validator = val
	// Ticks of testTick: stabilize and fix a finger every 100ms (every
	// tick would cost thousands of streams a second across the hosts of
	// one process), repair a little slower than requests time out.
	cfg.StabilizeTicks = 5
	cfg.FixFingerTicks = 5
	cfg.RequestTimeoutTicks = requestTicks
	cfg.LookupTimeoutTicks = 10 * requestTicks
	cfg.RepairTicks = requestTicks + 10
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	tn := &testNet{t: t, clock: &fakeClock{now: time.Now()}, cfg: cfg, rng: rand.New(rand.NewPCG(seed, 2)), seed: seed,
		wait: time.Duration(requestTicks) * testTick}
	t.Cleanup(tn.close)
	for i := 0; i < members; i++ {
		tn.addMember()
	}
	tn.waitRing()
	return tn
}

func (tn *testNet) close() {
	var wg sync.WaitGroup
	for _, n := range tn.nodes {
		if !n.down {
			wg.Add(1)
			go func() {
				defer wg.Done()
				n.ring.Close(false)
				n.h.Close()
			}()
		}
	}
	wg.Wait()
}

// start makes a node: host, ring node (not a member yet), index.
func (tn *testNet) start() *netNode {
	t := tn.t
	t.Helper()
	tn.seed++
	priv, _ := testKey(t, tn.seed)
	h, err := libp2p.New(
		libp2p.Identity(priv),
		libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"),
		// TCP and Noise only: the cheapest handshake, which matters with
		// dozens of hosts in one process under the race detector.
		libp2p.NoTransports,
		libp2p.Transport(tcp.NewTCPTransport),
		libp2p.Security(noise.ID, noise.New),
		libp2p.DisableRelay(),
		libp2p.DisableMetrics(),
	)
	if err != nil {
		t.Fatal(err)
	}
	st := chordrouting.NewMemStorage()
	pcfg := p2p.DefaultConfig()
	pcfg.RequestTimeout, pcfg.ReplyTimeout = 2*tn.wait, tn.wait
	pcfg.RequestBurst = 10000 // benchmarks search hard from one node
	ring, err := p2p.New(h, tn.cfg, st, p2p.Options{Transport: pcfg, Tick: testTick, Clock: tn.clock,
		Rand: rand.New(rand.NewPCG(tn.seed, 3))})
	if err != nil {
		t.Fatal(err)
	}
	x, err := New(ring.Runner, priv, h.Addrs, tn.clock, DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	n := &netNode{h: h, priv: priv, ring: ring, st: st, x: x}
	tn.mu.Lock()
	tn.nodes = append(tn.nodes, n)
	tn.mu.Unlock()
	return n
}

func (tn *testNet) members() []*netNode {
	var out []*netNode
	for _, n := range tn.nodes {
		if n.member && !n.down {
			out = append(out, n)
		}
	}
	return out
}

func info(n *netNode) peer.AddrInfo { return peer.AddrInfo{ID: n.h.ID(), Addrs: n.h.Addrs()} }

// addMember starts a node and makes it join through a random member (or
// create the ring).
func (tn *testNet) addMember() *netNode {
	t := tn.t
	t.Helper()
	ms := tn.members()
	n := tn.start()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if len(ms) == 0 {
		if err := n.ring.Create(ctx); err != nil {
			t.Fatal(err)
		}
	} else {
		// The core refuses lookups at a node that is not yet part of the
		// ring, and Join gives up after a few immediate attempts: if the
		// entry points were all that fresh, let the ring settle and retry.
		for attempt := 0; ; attempt++ {
			err := n.ring.JoinVia(ctx, tn.entryPoints(ms))
			if err == nil {
				break
			}
			if attempt == 3 {
				t.Fatalf("node %d joining a ring of %d: %v", len(tn.nodes), len(ms), err)
			}
			t.Logf("node %d joining a ring of %d: %v; retrying once the ring is correct", len(tn.nodes), len(ms), err)
			tn.waitRing()
		}
	}
	n.member = true
	return n
}

// entryPoints picks up to three random members to join through (a node
// that joined a moment ago may still refuse lookups until it is part of
// the ring, so one is not enough).
func (tn *testNet) entryPoints(ms []*netNode) []peer.AddrInfo {
	var out []peer.AddrInfo
	for _, k := range tn.rng.Perm(len(ms))[:min(3, len(ms))] {
		out = append(out, info(ms[k]))
	}
	return out
}

// addClient starts a node that is a client of the ring.
func (tn *testNet) addClient() *netNode {
	t := tn.t
	t.Helper()
	ms := tn.members()
	n := tn.start()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := n.ring.SetEntryPoints(ctx, []peer.AddrInfo{info(ms[0]), info(ms[1])}); err != nil {
		t.Fatal(err)
	}
	return n
}

// stored counts the values n holds (under key only, when one is set),
// read on n's loop (the only goroutine that touches its storage).
func (n *netNode) stored(key chordrouting.ID, one bool) int {
	count := -1
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	n.ring.Runner.Do(ctx, func(*chordrouting.Node) {
		if !one {
			count = n.st.Len()
			return
		}
		vs, _ := n.st.Values(key)
		count = len(vs)
	})
	return count
}

// waitReplicas waits until the key's owner and its next R-1 successors
// each hold want values under key: the owner acknowledges a store before
// its replicas have it, so a test that kills the owner must wait.
func (tn *testNet) waitReplicas(key chordrouting.ID, want int) {
	tn.t.Helper()
	waitFor(tn.t, "R copies", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		lr, err := tn.members()[0].ring.Runner.Lookup(ctx, key)
		if err != nil || len(lr.Successors) < tn.cfg.Replicas {
			return false
		}
		for _, p := range lr.Successors[:tn.cfg.Replicas] {
			n := tn.byID(p.ID)
			if n == nil || n.down || n.stored(key, true) < want {
				return false
			}
		}
		return true
	})
}

func (tn *testNet) byID(id chordrouting.ID) *netNode {
	for _, n := range tn.nodes {
		if n.ring.Self().ID == id {
			return n
		}
	}
	return nil
}

// fail stops a node abruptly (no leave).
func (tn *testNet) fail(n *netNode) {
	n.down = true
	n.ring.Close(false)
	n.h.Close()
}

// leave stops a node gracefully.
func (tn *testNet) leave(n *netNode) {
	n.down = true
	if err := n.ring.Close(true); err != nil {
		tn.t.Fatalf("leave: %v", err)
	}
	n.h.Close()
}

// ringCorrect reports whether every live member's successor and
// predecessor are its neighbours in ID order.
func (tn *testNet) ringCorrect() bool {
	ms := tn.members()
	sort.Slice(ms, func(i, j int) bool {
		a, b := ms[i].ring.Self().ID, ms[j].ring.Self().ID
		return slices.Compare(a[:], b[:]) < 0
	})
	for i, n := range ms {
		st := n.ring.Runner.State()
		next := ms[(i+1)%len(ms)].ring.Self()
		prev := ms[(i+len(ms)-1)%len(ms)].ring.Self()
		if !st.Member || len(st.Successors) == 0 || st.Successors[0].ID != next.ID ||
			(len(ms) > 1 && (st.Predecessor == nil || st.Predecessor.ID != prev.ID)) {
			return false
		}
	}
	return true
}

func (tn *testNet) waitRing() {
	tn.t.Helper()
	waitFor(tn.t, "a correct ring", tn.ringCorrect)
}

// waitFor polls cond until it holds or 20s pass.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// ownerOf returns the live member that owns key.
func (tn *testNet) ownerOf(key chordrouting.ID) *netNode {
	tn.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	lr, err := tn.members()[0].ring.Runner.Lookup(ctx, key)
	if err != nil || lr.Err != nil || len(lr.Successors) == 0 {
		tn.t.Fatalf("lookup: %v %v", err, lr.Err)
	}
	for _, n := range tn.nodes {
		if n.ring.Self().ID == lr.Successors[0].ID {
			return n
		}
	}
	tn.t.Fatal("owner not in the network")
	return nil
}

// searchNames searches from n and returns the result names, or nil and
// the error.
func searchNames(n *netNode, words ...string) ([]string, SearchResult, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res, err := n.x.Search(ctx, words, 0, 0)
	if err != nil {
		return nil, res, err
	}
	return names(res.Results), res, nil
}

// waitSearch polls a search from n until it returns want.
func waitSearch(t testing.TB, n *netNode, want []string, words ...string) {
	t.Helper()
	var last []string
	var lastErr error
	deadline := time.Now().Add(20 * time.Second)
	for {
		got, _, err := searchNames(n, words...)
		if err == nil && slices.Equal(got, want) {
			return
		}
		last, lastErr = got, err
		if time.Now().After(deadline) {
			t.Fatalf("search %q from %s: got %q (%v), want %q", words, n.h.ID(), last, lastErr, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func publish(t testing.TB, n *netNode, files ...FileEntry) PublishResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := n.x.Publish(ctx, files)
	if err != nil {
		t.Fatal(err)
	}
	if res.Stored != res.Records {
		t.Fatalf("publish stored %d of %d records", res.Stored, res.Records)
	}
	return res
}

// TestNetwork runs the index on 20 (then more) real libp2p hosts on
// loopback, one network for all scenarios (building it is the slow part,
// especially under the race detector).
func TestNetwork(t *testing.T) {
	tn := newTestNet(t, 20, testRequestTicks)
	ms := tn.members()
	letItBe := file(t, "The Beatles - Let It Be.mp3")
	yesterday := file(t, "The Beatles - Yesterday.mp3")
	letItGo := file(t, "Let It Go (Frozen).flac")
	kino := file(t, "Кино — Группа крови.ogg")
	tokyo := file(t, "東京タワーの夜景.jpg")
	publish(t, ms[0], letItBe, yesterday, kino)
	publish(t, ms[1], letItBe, letItGo, tokyo)
	publish(t, ms[2], letItBe)

	t.Run("search from others", func(t *testing.T) {
		for _, n := range ms[10:15] {
			waitSearch(t, n, []string{"The Beatles - Let It Be.mp3", "The Beatles - Yesterday.mp3"}, "beatles")
		}
	})
	t.Run("AND semantics", func(t *testing.T) {
		waitSearch(t, ms[12], []string{"The Beatles - Let It Be.mp3"}, "let", "beatles")
		waitSearch(t, ms[13], []string{"The Beatles - Let It Be.mp3", "Let It Go (Frozen).flac"}, "let it")
		waitSearch(t, ms[14], nil, "beatles", "frozen")
		waitSearch(t, ms[15], []string{"Кино — Группа крови.ogg"}, "группа", "КИНО")
		waitSearch(t, ms[16], []string{"東京タワーの夜景.jpg"}, "東京タワー")
	})
	t.Run("ranking and providers", func(t *testing.T) {
		_, res, err := searchNames(ms[17], "let")
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Results) != 2 || res.Results[0].Name != letItBe.Name || len(res.Results[0].Providers) != 3 {
			t.Fatalf("results %+v", res.Results)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		provs, err := ms[18].x.Providers(ctx, letItBe.CID)
		if err != nil || len(provs) != 3 {
			t.Fatalf("providers %v, %v", provs, err)
		}
	})
	t.Run("forged and altered records refused", func(t *testing.T) {
		evil := ms[19]
		victim := ms[0]
		_, victimID := victim.priv, victim.h.ID()
		now := tn.clock.Now()
		rec := &Record{Kind: KindKeyword, Publisher: victimID, CID: testCID(t, "malware"), Keyword: "beatles",
			Keywords: []string{"beatles"}, Name: "beatles.exe", Published: now, Expires: now.Add(time.Hour)}
		// Forged: the evil node signs a record naming the victim.
		forged, err := sealUnchecked(rec, evil.priv)
		if err != nil {
			t.Fatal(err)
		}
		// Altered: a real record of the victim with its name changed.
		good := mustSeal(t, rec, victim.priv)
		altered := *rec
		altered.Name = "beatles trojan.exe"
		payload, _ := altered.MarshalRecord()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		key := chordrouting.KeywordKey("beatles")
		pr, err := evil.ring.Runner.Put(ctx, []chordrouting.Item{{Key: key, Value: forged}, {Key: key, Value: replacePayload(t, good, payload)}})
		if err != nil {
			t.Fatal(err)
		}
		if pr.Stored != 0 {
			t.Fatalf("ring stored %d forged or altered records", pr.Stored)
		}
		got, res, err := searchNames(ms[11], "beatles")
		if err != nil || len(got) != 2 || res.Refused != 0 {
			t.Fatalf("search after forgery: %q refused %d %v", got, res.Refused, err)
		}
	})
	t.Run("paging", func(t *testing.T) {
		var files []FileEntry
		for i := 0; i < 25; i++ {
			files = append(files, file(t, fmt.Sprintf("page track %02d.ogg", i)))
		}
		publish(t, ms[3], files...)
		// The owner has them once Publish returns; wait until a search
		// sees them all (the owner may be slow to answer under the race
		// detector, and a replica fed asynchronously answer instead).
		waitFor(t, "all 25 tracks found", func() bool {
			_, res, err := searchNames(ms[9], "page", "track")
			return err == nil && res.Total == 25
		})
		seen := map[string]bool{}
		for off := 0; off < 25; off += 10 {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			res, err := ms[9].x.Search(ctx, []string{"page", "track"}, 10, off)
			cancel()
			if err != nil || res.Total != 25 || len(res.Results) != min(10, 25-off) {
				t.Fatalf("page %d: total %d, %d results, %v", off, res.Total, len(res.Results), err)
			}
			for _, r := range res.Results {
				seen[r.Name] = true
			}
		}
		if len(seen) != 25 {
			t.Fatalf("pages covered %d files", len(seen))
		}
	})
	t.Run("unshare", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		// Keep the signed record as published, to replay it afterwards.
		key := chordrouting.KeywordKey("yesterday")
		gr, err := ms[6].ring.Runner.Get(ctx, key, nil, 10)
		if err != nil || len(gr.Values) != 1 {
			t.Fatalf("get before unshare: %d values, %v", len(gr.Values), err)
		}
		tn.clock.Advance(time.Second)
		if _, err := ms[0].x.Unshare(ctx, []FileEntry{yesterday}); err != nil {
			t.Fatal(err)
		}
		waitSearch(t, ms[5], []string{"The Beatles - Let It Be.mp3"}, "beatles")
		// A replayed older version does not bring it back.
		if _, err := ms[7].ring.Runner.Put(ctx, []chordrouting.Item{{Key: key, Value: gr.Values[0]}}); err != nil {
			t.Fatal(err)
		}
		if got, _, err := searchNames(ms[8], "yesterday"); err != nil || len(got) != 0 {
			t.Fatalf("after replaying the old record: %q, %v", got, err)
		}
	})
	t.Run("client mode", func(t *testing.T) {
		c := tn.addClient()
		publish(t, c, file(t, "client only song.ogg"))
		waitSearch(t, c, []string{"client only song.ogg"}, "client", "song")
		waitSearch(t, ms[7], []string{"client only song.ogg"}, "client")
		if st := c.ring.Runner.State(); st.Member {
			t.Fatal("client became a member")
		}
	})
	t.Run("churn", func(t *testing.T) { churnScenario(t, tn) })
	t.Run("expired records gone", func(t *testing.T) {
		tn.clock.Advance(25 * time.Hour)
		waitSearch(t, tn.members()[0], nil, "beatles")
		waitFor(t, "expired records dropped from storage", func() bool {
			for _, n := range tn.members() {
				if n.stored(chordrouting.ID{}, false) != 0 {
					return false
				}
			}
			return true
		})
	})
}

// sealUnchecked signs r with any key, as a forger would (Seal refuses).
func sealUnchecked(r *Record, key crypto.PrivKey) ([]byte, error) {
	env, err := record.Seal(r, key)
	if err != nil {
		return nil, err
	}
	return env.Marshal()
}

// churnScenario checks that records stay findable while the nodes holding
// them fail, new nodes join and owners leave gracefully.
func churnScenario(t *testing.T, tn *testNet) {
	key := chordrouting.KeywordKey("churn")
	// The publisher and the searchers are never among the key's holders.
	holders := func() map[*netNode]bool {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		lr, err := tn.members()[0].ring.Runner.Lookup(ctx, key)
		if err != nil || len(lr.Successors) == 0 {
			t.Fatalf("lookup: %v", err)
		}
		out := map[*netNode]bool{}
		for _, p := range lr.Successors[:min(len(lr.Successors), tn.cfg.Replicas+2)] {
			for _, n := range tn.nodes {
				if n.ring.Self().ID == p.ID {
					out[n] = true
				}
			}
		}
		return out
	}
	var others []*netNode
	held := holders()
	for _, n := range tn.members() {
		if !held[n] {
			others = append(others, n)
		}
	}
	publisher, searchers := others[0], others[1:]
	files := []FileEntry{file(t, "churn alpha.ogg"), file(t, "churn beta.ogg"), file(t, "churn gamma delta.ogg")}
	publish(t, publisher, files...)
	all := []string{"churn alpha.ogg", "churn beta.ogg", "churn gamma delta.ogg"}
	waitSearch(t, searchers[0], all, "churn")

	t.Run("owners fail", func(t *testing.T) {
		// Two owners in a row fail without warning: the replicas answer,
		// then repair restores R copies on the new holders.
		for i := 0; i < 2; i++ {
			tn.waitReplicas(key, len(all))
			tn.fail(tn.ownerOf(key))
			waitSearch(t, searchers[1+i], all, "churn")
			tn.waitRing()
		}
	})
	t.Run("joins hand records over", func(t *testing.T) {
		for i := 0; i < 5; i++ {
			tn.addMember()
		}
		tn.waitRing()
		ms := tn.members()
		waitSearch(t, ms[len(ms)-1], all, "churn")
		waitSearch(t, searchers[3], []string{"churn gamma delta.ogg"}, "delta", "churn")
	})
	t.Run("graceful leave", func(t *testing.T) {
		for i := 0; i < 2; i++ {
			tn.waitReplicas(key, len(all))
			tn.leave(tn.ownerOf(key))
			waitSearch(t, searchers[4+i], all, "churn")
		}
		tn.waitRing()
	})
}

// fileNames gives n distinct file names of about 5 keywords each.
func benchFiles(b testing.TB, n int, rng *rand.Rand) []FileEntry {
	words := []string{"alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india",
		"juliet", "kilo", "lima", "mike", "november", "oscar", "papa", "quebec", "romeo", "sierra", "tango"}
	var out []FileEntry
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("%s %s %s %s %d.ogg", words[rng.IntN(20)], words[rng.IntN(20)], words[rng.IntN(20)], words[rng.IntN(20)], i)
		out = append(out, FileEntry{CID: testCID(b, name), Name: name, Size: uint64(i)})
	}
	return out
}

// BenchmarkNetwork50 builds a 50-node loopback ring once, then measures
// publishing 1,000 files of ~5 keywords from one node (one iteration is
// one batch: RPCs per file and per batch, time per batch) and search
// latency from random nodes (one iteration is 500 two-word searches;
// p50 and p99 over all). Names draw 4 words from a 20-word vocabulary, so
// each keyword key gets ~280 records per batch and its owner more than one
// store message (the ring splits at MaxItemsPerMessage = 256): RPCs per
// batch are the owners plus those splits. Run with -benchtime=1x (or Nx):
//
//	go test ./keyword -run '^$' -bench Network50 -benchtime 3x
func BenchmarkNetwork50(b *testing.B) {
	tn := newTestNet(b, 50, 250)
	rng := rand.New(rand.NewPCG(tn.seed, 9))
	b.Run("Publish1000Files", func(b *testing.B) {
		var rpcs, records, files, stored int
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			batch := benchFiles(b, 1000, rng)
			n := tn.members()[rng.IntN(50)]
			b.StartTimer()
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			res, err := n.x.Publish(ctx, batch)
			cancel()
			if err != nil {
				b.Fatal(err)
			}
			rpcs += res.RPCs
			records += res.Records
			stored += res.Stored
			files += len(batch)
		}
		b.ReportMetric(float64(rpcs)/float64(files), "RPCs/file")
		b.ReportMetric(float64(records)/float64(files), "records/file")
		b.ReportMetric(float64(stored)/float64(records), "stored/record")
		b.ReportMetric(float64(rpcs)/float64(b.N), "RPCs/batch")
	})
	b.Run("Search", func(b *testing.B) {
		words := []string{"alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india",
			"juliet", "kilo", "lima", "mike", "november", "oscar", "papa", "quebec", "romeo", "sierra", "tango"}
		const perIter = 500
		lat := make([]time.Duration, 0, b.N*perIter)
		failed := 0
		ms := tn.members()
		for i := 0; i < b.N*perIter; i++ {
			n := ms[rng.IntN(len(ms))]
			q := []string{words[rng.IntN(20)], words[rng.IntN(20)]}
			start := time.Now()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			_, err := n.x.Search(ctx, q, 20, 0)
			cancel()
			if err != nil {
				failed++
				b.Logf("search %q: %v", q, err)
				continue
			}
			lat = append(lat, time.Since(start))
		}
		if len(lat) == 0 {
			b.Fatal("every search failed")
		}
		b.ReportMetric(float64(failed), "failed")
		slices.Sort(lat)
		b.ReportMetric(float64(len(lat)), "searches")
		b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
	})
}
