package chordrouting

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// recValidator accepts values "pub|identity|version|ttlSeconds[|R]" (R: a
// removal); anything else is refused. A query matches values containing
// it.
type recValidator struct{}

func (recValidator) Validate(_ ID, value []byte, now time.Time) (ValueInfo, error) {
	f := strings.Split(string(value), "|")
	if len(f) < 4 || len(f) > 5 || f[0] == "" || f[1] == "" {
		return ValueInfo{}, fmt.Errorf("bad record %q", value)
	}
	ver, err1 := strconv.ParseInt(f[2], 10, 64)
	ttl, err2 := strconv.Atoi(f[3])
	if err1 != nil || err2 != nil {
		return ValueInfo{}, fmt.Errorf("bad numbers in %q", value)
	}
	return ValueInfo{Publisher: f[0], Identity: f[1], Version: ver,
		Expiry: epoch.Add(time.Duration(ttl) * time.Second), Removal: len(f) == 5 && f[4] == "R"}, nil
}

func (recValidator) Match(_ ID, q, v []byte) bool { return strings.Contains(string(v), string(q)) }

var epoch = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

// fakeClock is a settable Clock.
type fakeClock struct{ now time.Time }

func (c *fakeClock) Now() time.Time { return c.now }

// captureTransport records what a node sends.
type captureTransport struct{ sent []*Message }

func (c *captureTransport) Send(to Peer, m *Message) { c.sent = append(c.sent, m) }

func (c *captureTransport) last(t *testing.T, typ MsgType) *Message {
	t.Helper()
	for k := len(c.sent) - 1; k >= 0; k-- {
		if c.sent[k].Type == typ {
			return c.sent[k]
		}
	}
	t.Fatalf("no message of type %d sent", typ)
	return nil
}

// loneNode is a ring of one with the record validator.
func loneNode(t *testing.T, mod func(*Config)) (*Node, *captureTransport, *fakeClock, *MemStorage) {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Validator = recValidator{}
	if mod != nil {
		mod(&cfg)
	}
	tr, clock, st := &captureTransport{}, &fakeClock{now: epoch}, NewMemStorage()
	n, err := NewNode(Peer{ID: HashID([]byte("me")), Addr: "me"}, cfg, tr, st, clock, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	n.Create()
	return n, tr, clock, st
}

var client = Peer{ID: HashID([]byte("client")), Addr: "client"}

// store sends one MsgStore and returns the acknowledged count.
func store(t *testing.T, n *Node, tr *captureTransport, key ID, vals ...string) int {
	t.Helper()
	m := &Message{Type: MsgStore, ID: 99, From: client}
	for _, v := range vals {
		m.Items = append(m.Items, Item{Key: key, Value: []byte(v)})
	}
	n.Step(m)
	ack := tr.last(t, MsgStoreAck)
	if ack.ID != 99 {
		t.Fatalf("ack echoes ID %d", ack.ID)
	}
	return ack.Count
}

func held(t *testing.T, st *MemStorage, key ID) []string {
	t.Helper()
	vs, _ := st.Values(key)
	var out []string
	for _, v := range vs {
		out = append(out, string(v.Data))
	}
	return out
}

func TestStoreRefusesInvalid(t *testing.T) {
	n, tr, _, st := loneNode(t, nil)
	key := HashID([]byte("k"))
	if c := store(t, n, tr, key, "garbage", "p|id|1|60", "p||1|60", strings.Repeat("x", 9000)); c != 1 {
		t.Fatalf("accepted %d, want 1", c)
	}
	if got := held(t, st, key); len(got) != 1 || got[0] != "p|id|1|60" {
		t.Fatalf("held %q", got)
	}
	n.Step(&Message{Type: MsgStore, ID: 5, From: client, Items: make([]Item, n.cfg.MaxItemsPerMessage+1)})
	if e := tr.last(t, MsgError); e.ID != 5 {
		t.Fatal("oversized store not refused")
	}
	if st.Len() != 1 {
		t.Fatalf("oversized store changed the store: %d values", st.Len())
	}
}

func TestStoreVersionsAndRemoval(t *testing.T) {
	n, tr, _, st := loneNode(t, nil)
	key := HashID([]byte("k"))
	store(t, n, tr, key, "p|a|5|60")
	store(t, n, tr, key, "p|a|3|60") // older: kept out
	if got := held(t, st, key); len(got) != 1 || got[0] != "p|a|5|60" {
		t.Fatalf("after older version: %q", got)
	}
	store(t, n, tr, key, "p|a|7|60")
	if got := held(t, st, key); len(got) != 1 || got[0] != "p|a|7|60" {
		t.Fatalf("after newer version: %q", got)
	}
	store(t, n, tr, key, "p|a|8|60|R")
	store(t, n, tr, key, "p|a|7|60") // a stale replica must not resurrect it
	store(t, n, tr, key, "p|a|8|60") // nor the same version
	if got := held(t, st, key); len(got) != 1 || got[0] != "p|a|8|60|R" {
		t.Fatalf("after removal: %q", got)
	}
	n.Step(&Message{Type: MsgGet, ID: 7, From: client, Key: key})
	if r := tr.last(t, MsgGetReply); !r.Done || len(r.Items) != 0 {
		t.Fatalf("get returned a removed value: %+v", r)
	}
}

func TestStoreCaps(t *testing.T) {
	n, tr, _, st := loneNode(t, func(c *Config) { c.MaxValuesPerKey = 3; c.MaxValuesPerPublisher = 4 })
	key := HashID([]byte("k"))
	store(t, n, tr, key, "p|a|1|60", "q|b|2|60", "q|c|3|60")
	store(t, n, tr, key, "q|c|4|60") // a refresh replaces, evicts nothing
	if got := held(t, st, key); len(got) != 3 {
		t.Fatalf("refresh changed the count: %q", got)
	}
	// A new identity evicts the oldest value of the publisher holding the
	// most under the key (q's b), not p's older but only value.
	store(t, n, tr, key, "q|d|5|60")
	got := held(t, st, key)
	if len(got) != 3 || !slices.Contains(got, "p|a|1|60") || slices.Contains(got, "q|b|2|60") {
		t.Fatalf("after eviction: %q, want p's a kept and q's b evicted", got)
	}
	other := HashID([]byte("other"))
	if c := store(t, n, tr, other, "q|e|1|60", "q|f|1|60", "q|g|1|60"); c != 2 {
		t.Fatalf("publisher q (2 values held) over its cap of 4: accepted %d, want 2", c)
	}
	if c := store(t, n, tr, other, "r|g|1|60"); c != 1 {
		t.Fatal("another publisher refused")
	}
}

func TestStoreFloodEvictsTheFlooder(t *testing.T) {
	// One publisher floods a full key with newer, valid values: every value
	// of the honest publishers stays, the flooder only replaces its own.
	n, tr, _, st := loneNode(t, func(c *Config) { c.MaxValuesPerKey = 8; c.MaxValuesPerPublisher = 1000 })
	key := HashID([]byte("k"))
	store(t, n, tr, key, "h1|a|1|60", "h2|b|1|60", "h3|c|1|60")
	for i := range 50 {
		store(t, n, tr, key, fmt.Sprintf("f|x%d|%d|60", i, 100+i))
	}
	got := held(t, st, key)
	for _, honest := range []string{"h1|a|1|60", "h2|b|1|60", "h3|c|1|60"} {
		if !slices.Contains(got, honest) {
			t.Fatalf("flood evicted honest %q: %q", honest, got)
		}
	}
	if len(got) != 8 || !slices.Contains(got, "f|x49|149|60") {
		t.Fatalf("after the flood: %q, want 8 values with the flooder's newest", got)
	}
}

func TestStoreExpiry(t *testing.T) {
	n, tr, clock, st := loneNode(t, nil)
	key := HashID([]byte("k"))
	store(t, n, tr, key, "p|short|1|10", "p|long|1|100")
	clock.now = epoch.Add(11 * time.Second)
	n.Tick()
	if got := held(t, st, key); len(got) != 1 || got[0] != "p|long|1|100" {
		t.Fatalf("after expiry: %q", got)
	}
	if c := store(t, n, tr, key, "p|late|1|5"); c != 0 {
		t.Fatal("accepted a value that had already expired")
	}
	clock.now = epoch.Add(101 * time.Second)
	n.Tick()
	if st.Len() != 0 || len(n.pubCount) != 0 {
		t.Fatalf("left %d values, publisher counts %v", st.Len(), n.pubCount)
	}
}

func TestGetFiltersAndCaps(t *testing.T) {
	n, tr, _, _ := loneNode(t, func(c *Config) { c.MaxGetValues = 2 })
	key := HashID([]byte("k"))
	store(t, n, tr, key, "p|a-red|1|60", "p|b-red|1|60", "p|c-red|1|60", "p|d-blue|1|60")
	n.Step(&Message{Type: MsgGet, ID: 1, From: client, Key: key, Query: []byte("blue")})
	if r := tr.last(t, MsgGetReply); len(r.Items) != 1 || !strings.Contains(string(r.Items[0].Value), "blue") {
		t.Fatalf("query blue: %+v", r.Items)
	}
	n.Step(&Message{Type: MsgGet, ID: 2, From: client, Key: key, Count: 50})
	if r := tr.last(t, MsgGetReply); len(r.Items) != 2 {
		t.Fatalf("cap of 2: got %d", len(r.Items))
	}
}

func TestDigestNamesOnlyMissing(t *testing.T) {
	n, tr, _, _ := loneNode(t, nil)
	key := HashID([]byte("k"))
	store(t, n, tr, key, "p|a|2|60", "p|b|1|60")
	n.Step(&Message{Type: MsgDigest, ID: 3, From: client, Digests: []Digest{
		{Key: key, Identity: "a", Version: 2}, // held
		{Key: key, Identity: "b", Version: 4}, // held older
		{Key: key, Identity: "c", Version: 1}, // missing
		{Key: HashID([]byte("x")), Identity: "a", Version: 1},
	}})
	r := tr.last(t, MsgDigestReply)
	var names []string
	for _, d := range r.Digests {
		names = append(names, d.Identity)
	}
	if strings.Join(names, ",") != "b,c,a" {
		t.Fatalf("named %v, want b, c and the other key's a", names)
	}
}

// FuzzStep feeds arbitrary messages to a node: it must not panic, and a
// refused store changes nothing.
func FuzzStep(f *testing.F) {
	f.Add(uint8(MsgStore), []byte("p|a|1|60"), []byte{}, 3, true)
	f.Add(uint8(MsgFindSuccessor), []byte{}, []byte("k"), 0, false)
	f.Add(uint8(MsgGet), []byte("q"), []byte("k"), -5, true)
	f.Add(uint8(MsgDigest), []byte("zz"), []byte("k"), 1<<30, false)
	f.Add(uint8(MsgLeave), []byte{}, []byte{}, 0, true)
	f.Fuzz(func(t *testing.T, typ uint8, data, key []byte, count int, flag bool) {
		var n *Node
		if count%2 == 0 {
			n, _, _, _ = loneNode(t, nil)
		} else {
			n, _ = placedNode(t) // with a predecessor and successors
		}
		st := n.st
		k := HashID(key)
		m := &Message{Type: MsgType(typ % 20), ID: uint64(count), From: client, Key: k, Count: count,
			Done: flag, Replica: flag, HasPred: flag, Pred: Peer{ID: HashID(data)}, Query: data,
			Items:   []Item{{Key: k, Value: data}},
			Digests: []Digest{{Key: k, Identity: string(data), Version: int64(count)}},
			Peers:   []Peer{{ID: HashID(data), Addr: "x"}, client}}
		before := st.Len()
		n.Step(m)
		for range 3 {
			n.Tick()
		}
		if m.Type == MsgStore {
			if _, err := (recValidator{}).Validate(k, data, epoch); err != nil && st.Len() != before {
				t.Fatalf("invalid value %q stored", data)
			}
		}
	})
}
