package p2p

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"reflect"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
	"google.golang.org/protobuf/encoding/protowire"

	cr "kwsearch/chordrouting"
)

// testPeer returns a deterministic libp2p identity and its ring peer.
func testPeer(t testing.TB, seed uint64) (crypto.PrivKey, cr.Peer) {
	t.Helper()
	priv, _, err := crypto.GenerateEd25519Key(rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8), 7}))
	if err != nil {
		t.Fatal(err)
	}
	id, err := peer.IDFromPrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return priv, PeerOf(id)
}

func fullMessage(t testing.TB) *cr.Message {
	_, a := testPeer(t, 1)
	_, b := testPeer(t, 2)
	_, c := testPeer(t, 3)
	return &cr.Message{
		Type:    cr.MsgStore,
		ID:      1<<63 + 5,
		Key:     cr.HashID([]byte("k")),
		HasPred: true,
		Pred:    b,
		Peers:   []cr.Peer{b, c, a},
		Items:   []cr.Item{{Key: cr.HashID([]byte("x")), Value: []byte("value")}, {Key: cr.HashID([]byte("y"))}},
		Query:   []byte{1, 2, 3},
		Digests: []cr.Digest{{Key: cr.HashID([]byte("z")), Identity: "p/c", Version: -7}, {Key: cr.HashID([]byte("w")), Version: 1 << 62}},
		Done:    true,
		Replica: true,
		Count:   123456,
		Err:     "refused",
		Forward: true,
	}
}

func TestCodecRoundTrip(t *testing.T) {
	m := fullMessage(t)
	addrs := map[string][]ma.Multiaddr{
		m.Pred.Addr: {ma.StringCast("/ip4/127.0.0.1/tcp/1"), ma.StringCast("/ip4/127.0.0.1/udp/2/quic-v1")},
	}
	got, book, err := Decode(Encode(m, func(p cr.Peer) []ma.Multiaddr { return addrs[p.Addr] }))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, m) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, m)
	}
	if len(book) != 1 || len(book[m.Pred.Addr]) != 2 || !book[m.Pred.Addr][1].Equal(addrs[m.Pred.Addr][1]) {
		t.Fatalf("address book %v", book)
	}
	// The zero-valued optional fields round-trip too.
	small := &cr.Message{Type: cr.MsgPing}
	got, _, err = Decode(Encode(small, nil))
	if err != nil || !reflect.DeepEqual(got, small) {
		t.Fatalf("small: %+v, %v", got, err)
	}
}

// TestCodecRandomRoundTrip checks random messages against the encoder.
func TestCodecRandomRoundTrip(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	peers := make([]cr.Peer, 5)
	for i := range peers {
		_, peers[i] = testPeer(t, uint64(i+10))
	}
	types := []cr.MsgType{cr.MsgPing, cr.MsgPong, cr.MsgGetState, cr.MsgState, cr.MsgNotify, cr.MsgFindSuccessor,
		cr.MsgFindSuccessorReply, cr.MsgStore, cr.MsgStoreAck, cr.MsgGet, cr.MsgGetReply, cr.MsgDigest,
		cr.MsgDigestReply, cr.MsgLeave, cr.MsgError, cr.MsgDigestSummary, cr.MsgDigestSummaryReply}
	randID := func() (id cr.ID) {
		for i := range id {
			id[i] = byte(rng.UintN(256))
		}
		return id
	}
	for i := 0; i < 500; i++ {
		m := &cr.Message{Type: types[rng.IntN(len(types))], ID: rng.Uint64(),
			Done: rng.IntN(2) == 0, Replica: rng.IntN(2) == 0, Count: rng.IntN(1 << 20)}
		m.Forward = (m.Type == cr.MsgGet || m.Type == cr.MsgStore) && rng.IntN(2) == 0
		if m.Type == cr.MsgDigestSummary {
			m.Query = make([]byte, cr.SummaryQueryLen)
			for j := range m.Query {
				m.Query[j] = byte(rng.UintN(256))
			}
		}
		if rng.IntN(2) == 0 {
			m.Key = randID()
		}
		if rng.IntN(2) == 0 {
			m.HasPred, m.Pred = true, peers[rng.IntN(5)]
		}
		for j := rng.IntN(4); j > 0; j-- {
			m.Peers = append(m.Peers, peers[rng.IntN(5)])
		}
		for j := rng.IntN(4); j > 0; j-- {
			v := make([]byte, 1+rng.IntN(50))
			m.Items = append(m.Items, cr.Item{Key: randID(), Value: v})
		}
		for j := rng.IntN(4); j > 0; j-- {
			m.Digests = append(m.Digests, cr.Digest{Key: randID(), Identity: "id", Version: rng.Int64() - rng.Int64()})
		}
		got, _, err := Decode(Encode(m, nil))
		if err != nil || !reflect.DeepEqual(got, m) {
			t.Fatalf("message %d: %v\n got %+v\nwant %+v", i, err, got, m)
		}
	}
}

func TestDecodeRefuses(t *testing.T) {
	good := fullMessage(t)
	_, other := testPeer(t, 9)
	enc := func(f func(m *cr.Message)) []byte {
		m := fullMessage(t)
		f(m)
		return Encode(m, nil)
	}
	// raw appends a field to a valid message.
	raw := func(f func(b []byte) []byte) []byte { return f(Encode(good, nil)) }
	tests := []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"invalid type", enc(func(m *cr.Message) { m.Type = cr.MsgInvalid })},
		{"unknown type", enc(func(m *cr.Message) { m.Type = 200 })},
		{"type over a byte", raw(func(b []byte) []byte {
			return protowire.AppendVarint(protowire.AppendTag(b, fType, protowire.VarintType), 300)
		})},
		{"a sender field", raw(func(b []byte) []byte { return appendPeer(b, fSender, other, nil) })},
		{"peer with bad peer ID", enc(func(m *cr.Message) { m.Peers[0].Addr = "not-a-peer" })},
		{"pred ring ID not its hash", raw(func(b []byte) []byte {
			bad := other
			bad.ID[0] ^= 1
			return appendPeer(b, fPred, bad, nil) // the full form names the ring ID
		})},
		{"short key", raw(func(b []byte) []byte {
			return protowire.AppendBytes(protowire.AppendTag(b, fKey, protowire.BytesType), []byte{1, 2})
		})},
		{"key as varint", raw(func(b []byte) []byte {
			return protowire.AppendVarint(protowire.AppendTag(b, fKey, protowire.VarintType), 1)
		})},
		{"negative count", enc(func(m *cr.Message) { m.Count = -1 })},
		{"huge count", enc(func(m *cr.Message) { m.Count = 1 << 40 })},
		{"too many peers", enc(func(m *cr.Message) {
			for len(m.Peers) <= MaxPeers {
				m.Peers = append(m.Peers, other)
			}
		})},
		{"item without key", raw(func(b []byte) []byte {
			return protowire.AppendBytes(protowire.AppendTag(b, fItems, protowire.BytesType), protowire.AppendBytes(protowire.AppendTag(nil, 2, protowire.BytesType), []byte("v")))
		})},
		{"query too long", enc(func(m *cr.Message) { m.Query = make([]byte, MaxQuery+1) })},
		{"error too long", enc(func(m *cr.Message) { m.Err = string(make([]byte, MaxErr+1)) })},
		{"truncated", Encode(good, nil)[:20]},
		{"bad tag", []byte{0xff, 0xff, 0xff}},
		{"has pred without pred", enc(func(m *cr.Message) { m.Pred = cr.Peer{}; m.HasPred = true })},
		{"forward on a reply", enc(func(m *cr.Message) { m.Type = cr.MsgGetReply })},
		{"forward on a lookup", enc(func(m *cr.Message) { m.Type = cr.MsgFindSuccessor })},
		{"forward as bytes", raw(func(b []byte) []byte {
			return protowire.AppendBytes(protowire.AppendTag(b, fForward, protowire.BytesType), []byte{1})
		})},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, _, err := Decode(tc.b); !errors.Is(err, ErrMalformed) {
				t.Fatalf("Decode: %v, want ErrMalformed", err)
			}
		})
	}
}

// A peer skips fields it does not know: this is how a peer that predates
// forward (field 15) reads a forwarded request, as a direct one, and how
// this one will read the fields after it.
func TestDecodeSkipsUnknownFields(t *testing.T) {
	m := &cr.Message{Type: cr.MsgGet, ID: 7, Key: cr.HashID([]byte("k")), Count: 3}
	b := Encode(m, nil)
	b = protowire.AppendVarint(protowire.AppendTag(b, 16, protowire.VarintType), 1)
	b = protowire.AppendBytes(protowire.AppendTag(b, 17, protowire.BytesType), []byte("later"))
	got, _, err := Decode(b)
	if err != nil || !reflect.DeepEqual(got, m) {
		t.Fatalf("Decode with unknown fields: %+v, %v; want %+v", got, err, m)
	}
}

func TestReadMessageBounds(t *testing.T) {
	m := fullMessage(t)
	var buf bytes.Buffer
	if err := WriteMessage(&buf, m, nil, 1<<20); err != nil {
		t.Fatal(err)
	}
	frame := buf.Bytes()
	tests := []struct {
		name    string
		in      []byte
		max     int
		reserve func(int) error
		want    error
	}{
		{"over the cap", frame, 10, nil, ErrTooLarge},
		{"truncated body", frame[:len(frame)-1], 1 << 20, nil, io.ErrUnexpectedEOF},
		{"empty", nil, 1 << 20, nil, io.EOF},
		{"varint overflow", bytes.Repeat([]byte{0xff}, 11), 1 << 20, nil, ErrMalformed},
		{"reservation refused", frame, 1 << 20, func(int) error { return errTest }, errTest},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, _, err := ReadMessage(bytes.NewReader(tc.in), tc.max, tc.reserve); !errors.Is(err, tc.want) {
				t.Fatalf("ReadMessage: %v, want %v", err, tc.want)
			}
		})
	}
	if err := WriteMessage(io.Discard, m, nil, 10); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("WriteMessage over the cap: %v", err)
	}
}

var errTest = errors.New("test error")

func TestExchangeOverPipe(t *testing.T) {
	_, a := testPeer(t, 1)
	_, b := testPeer(t, 2)
	req := &cr.Message{Type: cr.MsgGet, ID: 42, From: a, Key: cr.HashID([]byte("k")), Query: []byte("q")}
	tests := []struct {
		name      string
		handle    Handler
		wantErr   bool
		wantReply *cr.Message
	}{
		{"reply", func(m *cr.Message, _ AddrBook) (*cr.Message, error) {
			return &cr.Message{Type: cr.MsgGetReply, ID: m.ID, From: b, Done: true, Items: []cr.Item{{Key: m.Key, Value: m.Query}}}, nil
		}, false, &cr.Message{Type: cr.MsgGetReply, ID: 42, Done: true, Items: []cr.Item{{Key: req.Key, Value: []byte("q")}}}},
		{"wrong ID", func(m *cr.Message, _ AddrBook) (*cr.Message, error) {
			return &cr.Message{Type: cr.MsgGetReply, ID: m.ID + 1, From: b}, nil
		}, true, nil},
		{"not a reply", func(m *cr.Message, _ AddrBook) (*cr.Message, error) {
			return &cr.Message{Type: cr.MsgGet, ID: m.ID, From: b}, nil
		}, true, nil},
		{"handler refuses", func(m *cr.Message, _ AddrBook) (*cr.Message, error) { return nil, errTest }, true, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c1, c2 := net.Pipe()
			done := make(chan error, 1)
			go func() {
				err := Serve(c2, 1<<20, nil, nil, tc.handle)
				c2.Close()
				done <- err
			}()
			reply, _, err := RoundTrip(c1, req, nil, 1<<20, nil)
			c1.Close()
			serr := <-done
			if tc.wantErr {
				if err == nil {
					t.Fatalf("RoundTrip succeeded: %+v", reply)
				}
				return
			}
			if err != nil || serr != nil {
				t.Fatalf("RoundTrip: %v; Serve: %v", err, serr)
			}
			if !reflect.DeepEqual(reply, tc.wantReply) {
				t.Fatalf("reply %+v, want %+v", reply, tc.wantReply)
			}
		})
	}
}

// A reply sent as a request stream's first message is refused unread by
// the handler.
func TestServeRefusesUnsolicitedReply(t *testing.T) {
	_, a := testPeer(t, 1)
	c1, c2 := net.Pipe()
	defer c1.Close()
	go func() { _ = WriteMessage(c1, &cr.Message{Type: cr.MsgPong, ID: 1, From: a}, nil, 1<<20) }()
	called := false
	err := Serve(c2, 1<<20, nil, nil, func(*cr.Message, AddrBook) (*cr.Message, error) { called = true; return nil, nil })
	if !errors.Is(err, ErrMalformed) || called {
		t.Fatalf("Serve: %v, handler called %v", err, called)
	}
}

// A one-way message gets no reply: Serve returns after the handler.
func TestServeOneWay(t *testing.T) {
	_, a := testPeer(t, 1)
	c1, c2 := net.Pipe()
	defer c1.Close()
	go func() { _ = WriteMessage(c1, &cr.Message{Type: cr.MsgNotify, From: a}, nil, 1<<20) }()
	var got *cr.Message
	err := Serve(c2, 1<<20, nil, nil, func(m *cr.Message, _ AddrBook) (*cr.Message, error) { got = m; return nil, nil })
	if err != nil || got == nil || got.Type != cr.MsgNotify {
		t.Fatalf("Serve: %v, got %+v", err, got)
	}
}

func FuzzDecodeMessage(f *testing.F) {
	f.Add(Encode(fullMessage(f), nil))
	_, a := testPeer(f, 1)
	f.Add(Encode(&cr.Message{Type: cr.MsgPing, ID: 1, From: a}, func(cr.Peer) []ma.Multiaddr {
		return []ma.Multiaddr{ma.StringCast("/ip4/127.0.0.1/tcp/4001")}
	}))
	f.Add([]byte{})
	f.Add([]byte{0x08, 0x01, 0x1a, 0x00})
	f.Add(Encode(&cr.Message{Type: cr.MsgGet, ID: 3, Key: cr.HashID([]byte("k")), Query: []byte("q"), Count: 10, Forward: true}, nil))
	f.Add([]byte{0x08, byte(cr.MsgGetReply), 0x78, 0x01}) // forward on a reply
	f.Add(Encode(summaryMessage(), nil))
	f.Add(Encode(&cr.Message{Type: cr.MsgDigestSummaryReply, ID: 4, Done: true}, nil))
	f.Add(Encode(&cr.Message{Type: cr.MsgDigestSummary, ID: 5, Count: 2, Query: []byte("short")}, nil))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, book, err := Decode(b)
		if err != nil {
			return
		}
		if len(m.Peers) > MaxPeers || len(m.Items) > MaxItems || len(m.Digests) > MaxDigests || m.Count < 0 ||
			(m.Forward && m.Type != cr.MsgGet && m.Type != cr.MsgStore) ||
			(m.Type == cr.MsgDigestSummary && len(m.Query) != cr.SummaryQueryLen) {
			t.Fatalf("bounds not enforced: %+v", m)
		}
		for _, addrs := range book {
			if len(addrs) > MaxPeerAddrs {
				t.Fatalf("%d addresses", len(addrs))
			}
		}
		// A decoded message encodes to something that decodes to itself.
		m2, _, err := Decode(Encode(m, nil))
		if err != nil || !reflect.DeepEqual(m, m2) {
			t.Fatalf("re-encode: %v\n%+v\n%+v", err, m, m2)
		}
	})
}
