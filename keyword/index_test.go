package keyword

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"

	"kwsearch/chordrouting"
)

// fakeClock is a clock tests move by hand.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// memRing is a one-node ring with the store semantics chordrouting
// promises (validate, replace by identity and version, removals, expiry,
// Match), to test the index without a network.
type memRing struct {
	mu     sync.Mutex
	v      *Validator
	clock  *fakeClock
	data   map[chordrouting.ID]map[string]chordrouting.StoredValue
	calls  int
	fail   map[chordrouting.ID]bool
	inject map[chordrouting.ID][][]byte // extra values Get returns (a lying owner)
}

func newMemRing(t testing.TB, clock *fakeClock) *memRing {
	return &memRing{v: testValidator(t), clock: clock, data: map[chordrouting.ID]map[string]chordrouting.StoredValue{},
		fail: map[chordrouting.ID]bool{}, inject: map[chordrouting.ID][][]byte{}}
}

func (m *memRing) Put(ctx context.Context, items []chordrouting.Item) (chordrouting.PutResult, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls++
	res := chordrouting.PutResult{RPCs: 1, Lookups: 1}
	for _, it := range items {
		info, err := m.v.Validate(it.Key, it.Value, m.clock.Now())
		if err != nil {
			continue
		}
		vals := m.data[it.Key]
		if vals == nil {
			vals = map[string]chordrouting.StoredValue{}
			m.data[it.Key] = vals
		}
		if old, ok := vals[info.Identity]; ok && old.Version >= info.Version {
			continue
		}
		vals[info.Identity] = chordrouting.StoredValue{ValueInfo: info, Data: it.Value}
		res.Stored++
	}
	return res, nil
}

func (m *memRing) Get(ctx context.Context, key chordrouting.ID, query []byte, limit int) (chordrouting.GetResult, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail[key] {
		return chordrouting.GetResult{}, errors.New("owner unreachable")
	}
	var res chordrouting.GetResult
	now := m.clock.Now()
	ids := make([]string, 0, len(m.data[key]))
	for id := range m.data[key] {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		sv := m.data[key][id]
		if len(res.Values) < limit && !sv.Removal && sv.Expiry.After(now) && m.v.Match(key, query, sv.Data) {
			res.Values = append(res.Values, sv.Data)
		}
	}
	res.Values = append(res.Values, m.inject[key]...)
	return res, nil
}

type testPublisher struct {
	priv crypto.PrivKey
	id   peer.ID
	x    *Index
}

func newPublisher(t testing.TB, ring Ring, clock *fakeClock, seed uint64) *testPublisher {
	priv, id := testKey(t, seed)
	addrs := []ma.Multiaddr{ma.StringCast(fmt.Sprintf("/ip4/127.0.0.1/tcp/%d", 4000+seed))}
	x, err := New(ring, priv, func() []ma.Multiaddr { return addrs }, clock, DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	return &testPublisher{priv: priv, id: id, x: x}
}

func file(t testing.TB, name string, extra ...string) FileEntry {
	return FileEntry{CID: testCID(t, name), Name: name, Size: uint64(len(name)), Keywords: extra}
}

func names(rs []Result) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.Name)
	}
	return out
}

func mustSearch(t testing.TB, x *Index, limit, offset int, words ...string) SearchResult {
	t.Helper()
	res, err := x.Search(context.Background(), words, limit, offset)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestIndexPublishSearch(t *testing.T) {
	ctx := context.Background()
	clock := &fakeClock{now: testNow}
	ring := newMemRing(t, clock)
	a := newPublisher(t, ring, clock, 1)
	b := newPublisher(t, ring, clock, 2)

	files := []FileEntry{
		file(t, "The Beatles - Let It Be.mp3"),
		file(t, "The Beatles - Yesterday.mp3", "live"),
		file(t, "Beatlemania documentary.mkv"),
		file(t, "Let It Go.flac"),
	}
	res, err := a.x.Publish(ctx, files)
	if err != nil {
		t.Fatal(err)
	}
	wantRecords := 0
	for _, k := range res.Keywords {
		wantRecords += len(k) + 1
	}
	if res.Records != wantRecords || res.Stored != wantRecords || res.Calls != 1 || res.RPCs != 1 {
		t.Fatalf("publish result %+v, want %d records in one call", res, wantRecords)
	}
	// b shares one of the same files (same CID) under the same name.
	if _, err := b.x.Publish(ctx, files[:1]); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name  string
		words []string
		want  []string
	}{
		{"one word, most providers first", []string{"beatles"}, []string{"The Beatles - Let It Be.mp3", "The Beatles - Yesterday.mp3"}},
		{"AND of two words", []string{"beatles let"}, []string{"The Beatles - Let It Be.mp3"}},
		{"AND with no match", []string{"beatles", "go"}, nil},
		{"user keyword", []string{"live", "yesterday"}, []string{"The Beatles - Yesterday.mp3"}},
		{"a lone prefix is routed by itself: exact only", []string{"beatl"}, nil},
		{"prefix after an exact word", []string{"let beatl"}, []string{"The Beatles - Let It Be.mp3"}},
		{"stop words ignored", []string{"the beatles yesterday mp3"}, []string{"The Beatles - Yesterday.mp3"}},
		{"case, more providers first", []string{"LET", "It"}, []string{"The Beatles - Let It Be.mp3", "Let It Go.flac"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := mustSearch(t, b.x, 0, 0, tc.words...)
			if !slices.Equal(names(got.Results), tc.want) {
				t.Fatalf("Search(%q) = %q, want %q", tc.words, names(got.Results), tc.want)
			}
			if got.Total != len(tc.want) || got.Refused != 0 {
				t.Fatalf("total %d refused %d", got.Total, got.Refused)
			}
		})
	}

	top := mustSearch(t, b.x, 0, 0, "beatles").Results[0]
	if len(top.Providers) != 2 || top.Size != uint64(len(files[0].Name)) || !top.Exact {
		t.Fatalf("top result %+v", top)
	}
	if provs, err := a.x.Providers(ctx, files[0].CID); err != nil || len(provs) != 2 || len(provs[0].Addrs) != 1 {
		t.Fatalf("providers %+v, %v", provs, err)
	}
}

func TestIndexRanking(t *testing.T) {
	ctx := context.Background()
	clock := &fakeClock{now: testNow}
	ring := newMemRing(t, clock)
	pubs := []*testPublisher{newPublisher(t, ring, clock, 1), newPublisher(t, ring, clock, 2), newPublisher(t, ring, clock, 3)}
	old, popular, recent, prefix := file(t, "song old"), file(t, "song popular"), file(t, "song recent"), file(t, "song songbook")
	for _, p := range pubs {
		if _, err := p.x.Publish(ctx, []FileEntry{popular}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := pubs[0].x.Publish(ctx, []FileEntry{old}); err != nil {
		t.Fatal(err)
	}
	clock.Advance(12 * time.Hour)
	if _, err := pubs[0].x.Publish(ctx, []FileEntry{recent, prefix}); err != nil {
		t.Fatal(err)
	}
	// "song song" → both words exact in all but "songbook" matches "song" exactly too:
	// use a prefix query to separate exact from prefix matches.
	got := mustSearch(t, pubs[0].x, 0, 0, "song", "songb")
	if !slices.Equal(names(got.Results), []string{"song songbook"}) {
		t.Fatalf("prefix search: %q", names(got.Results))
	}
	got = mustSearch(t, pubs[0].x, 0, 0, "song")
	want := []string{"song popular", "song recent", "song songbook", "song old"}
	if !slices.Equal(names(got.Results), want) {
		t.Fatalf("ranking: %q, want %q", names(got.Results), want)
	}
	for i := 1; i < len(got.Results); i++ {
		if got.Results[i].Score > got.Results[i-1].Score {
			t.Fatalf("scores not decreasing: %v", got.Results)
		}
	}
}

func TestIndexPaging(t *testing.T) {
	ctx := context.Background()
	clock := &fakeClock{now: testNow}
	ring := newMemRing(t, clock)
	p := newPublisher(t, ring, clock, 1)
	var files []FileEntry
	for i := 0; i < 23; i++ {
		files = append(files, file(t, fmt.Sprintf("track %02d", i)))
	}
	if _, err := p.x.Publish(ctx, files); err != nil {
		t.Fatal(err)
	}
	var all []string
	for off := 0; off < 30; off += 10 {
		page := mustSearch(t, p.x, 10, off, "track")
		if page.Total != 23 {
			t.Fatalf("total %d", page.Total)
		}
		if want := min(10, max(0, 23-off)); len(page.Results) != want {
			t.Fatalf("page at %d has %d results, want %d", off, len(page.Results), want)
		}
		all = append(all, names(page.Results)...)
	}
	slices.Sort(all)
	if len(slices.Compact(all)) != 23 {
		t.Fatalf("pages overlap or miss results: %q", all)
	}
	if page := mustSearch(t, p.x, 10, 100, "track"); len(page.Results) != 0 || page.Total != 23 {
		t.Fatalf("past the end: %+v", page)
	}
}

func TestIndexUnshareRepublishExpiry(t *testing.T) {
	ctx := context.Background()
	clock := &fakeClock{now: testNow}
	ring := newMemRing(t, clock)
	p := newPublisher(t, ring, clock, 1)
	f, g := file(t, "alpha one"), file(t, "alpha two")
	if _, err := p.x.Publish(ctx, []FileEntry{f, g}); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Second)
	if _, err := p.x.Unshare(ctx, []FileEntry{f}); err != nil {
		t.Fatal(err)
	}
	if got := names(mustSearch(t, p.x, 0, 0, "alpha").Results); !slices.Equal(got, []string{"alpha two"}) {
		t.Fatalf("after unshare: %q", got)
	}
	if provs, _ := p.x.Providers(ctx, f.CID); len(provs) != 0 {
		t.Fatalf("providers after unshare: %+v", provs)
	}
	// A replayed older record does not bring it back.
	old := mustSeal(t, &Record{Kind: KindKeyword, Publisher: p.id, CID: f.CID, Keyword: "alpha",
		Keywords: []string{"alpha", "one"}, Name: f.Name, Published: testNow, Expires: testNow.Add(24 * time.Hour)}, p.priv)
	if r, _ := ring.Put(ctx, []chordrouting.Item{{Key: chordrouting.KeywordKey("alpha"), Value: old}}); r.Stored != 0 {
		t.Fatal("replayed older record stored")
	}
	// Sharing it again (a later version) does.
	clock.Advance(time.Second)
	if _, err := p.x.Publish(ctx, []FileEntry{f}); err != nil {
		t.Fatal(err)
	}
	if got := mustSearch(t, p.x, 0, 0, "alpha").Total; got != 2 {
		t.Fatalf("after republish: %d results", got)
	}
	// Republishing g pushes its expiry forward; f expires.
	clock.Advance(20 * time.Hour)
	if _, err := p.x.Republish(ctx, []FileEntry{g}); err != nil {
		t.Fatal(err)
	}
	clock.Advance(5 * time.Hour)
	if got := names(mustSearch(t, p.x, 0, 0, "alpha").Results); !slices.Equal(got, []string{"alpha two"}) {
		t.Fatalf("after expiry: %q", got)
	}
}

// An owner that returns forged, altered, misplaced or non-matching records
// gets them refused and counted.
func TestIndexRefusesBadRecordsFromOwner(t *testing.T) {
	ctx := context.Background()
	clock := &fakeClock{now: testNow}
	ring := newMemRing(t, clock)
	p := newPublisher(t, ring, clock, 1)
	evilPriv, _ := testKey(t, 66)
	if _, err := p.x.Publish(ctx, []FileEntry{file(t, "gamma ray")}); err != nil {
		t.Fatal(err)
	}
	key := chordrouting.KeywordKey("gamma")
	rec := func(f func(r *Record)) *Record {
		r := &Record{Kind: KindKeyword, Publisher: p.id, CID: testCID(t, "x"), Keyword: "gamma",
			Keywords: []string{"gamma", "ray"}, Name: "gamma ray evil.exe", Published: testNow, Expires: testNow.Add(time.Hour)}
		f(r)
		return r
	}
	forged := func() []byte {
		b, err := Seal(rec(func(r *Record) { r.Publisher, _ = peer.IDFromPrivateKey(evilPriv) }), evilPriv)
		if err != nil {
			t.Fatal(err)
		}
		// claim p as publisher by swapping the payload: signature breaks
		good := mustSeal(t, rec(func(*Record) {}), p.priv)
		payload, _ := rec(func(r *Record) { r.Name = "gamma ray trojan" }).MarshalRecord()
		return append(b[:0:0], replacePayload(t, good, payload)...)
	}()
	ring.inject[key] = [][]byte{
		forged,
		mustSeal(t, rec(func(r *Record) { r.Keyword, r.Keywords = "ray", []string{"ray", "gamma"} }), p.priv), // other key
		mustSeal(t, rec(func(r *Record) { r.Keywords = []string{"gamma"} }), p.priv),                          // no "ray"
		[]byte("garbage"),
	}
	got := mustSearch(t, p.x, 0, 0, "gamma", "ray")
	if !slices.Equal(names(got.Results), []string{"gamma ray"}) || got.Refused != 4 {
		t.Fatalf("results %q, refused %d", names(got.Results), got.Refused)
	}
}

// When the owner of the routing word fails, the next word's owner answers.
func TestIndexSearchFallback(t *testing.T) {
	ctx := context.Background()
	clock := &fakeClock{now: testNow}
	ring := newMemRing(t, clock)
	p := newPublisher(t, ring, clock, 1)
	if _, err := p.x.Publish(ctx, []FileEntry{file(t, "longword tiny end")}); err != nil {
		t.Fatal(err)
	}
	ring.fail[chordrouting.KeywordKey("longword")] = true
	got := mustSearch(t, p.x, 0, 0, "tiny", "longword", "end")
	if got.Word != "tiny" || got.Total != 1 {
		t.Fatalf("fallback: word %q total %d", got.Word, got.Total)
	}
	ring.fail[chordrouting.KeywordKey("tiny")] = true
	ring.fail[chordrouting.KeywordKey("end")] = true
	if _, err := p.x.Search(ctx, []string{"tiny longword end"}, 0, 0); err == nil {
		t.Fatal("search succeeded with every owner down")
	}
	if _, err := p.x.Search(ctx, []string{"!!"}, 0, 0); !errors.Is(err, ErrNoWords) {
		t.Fatalf("empty search: %v", err)
	}
}

func TestRouteOrder(t *testing.T) {
	got := routeOrder([]string{"ab", "abcd", "abc", "abcdefgh"})
	if want := []string{"abcd", "abc", "ab", "abcdefgh"}; !slices.Equal(got, want) {
		t.Fatalf("routeOrder = %q, want %q", got, want)
	}
}

func TestIndexPublishBatches(t *testing.T) {
	ctx := context.Background()
	clock := &fakeClock{now: testNow}
	ring := newMemRing(t, clock)
	priv, _ := testKey(t, 1)
	cfg := DefaultConfig()
	cfg.PutBatchBytes = MaxRecordSize
	x, err := New(ring, priv, nil, clock, cfg)
	if err != nil {
		t.Fatal(err)
	}
	var files []FileEntry
	for i := 0; i < 40; i++ {
		files = append(files, file(t, fmt.Sprintf("batch file %d", i)))
	}
	res, err := x.Publish(ctx, files)
	if err != nil {
		t.Fatal(err)
	}
	if res.Calls < 2 || res.Stored != res.Records || ring.calls != res.Calls {
		t.Fatalf("result %+v, ring calls %d", res, ring.calls)
	}
	if _, err := x.Publish(ctx, []FileEntry{{Name: "no cid"}}); err == nil {
		t.Fatal("published a file without a CID")
	}
}

func TestConfigValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
	bad := DefaultConfig()
	bad.RepublishInterval = bad.TTL
	if bad.Validate() == nil {
		t.Fatal("RepublishInterval = TTL accepted")
	}
	bad = DefaultConfig()
	bad.TTL = 100 * time.Hour
	if bad.Validate() == nil {
		t.Fatal("TTL over MaxTTL accepted")
	}
}
