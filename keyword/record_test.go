package keyword

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/record"
	ma "github.com/multiformats/go-multiaddr"
	mh "github.com/multiformats/go-multihash"
	"google.golang.org/protobuf/encoding/protowire"

	"kwsearch/chordrouting"
)

var testNow = time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)

// testKey returns a deterministic Ed25519 key and its peer ID.
func testKey(t testing.TB, seed uint64) (crypto.PrivKey, peer.ID) {
	t.Helper()
	src := rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8), 1})
	priv, _, err := crypto.GenerateEd25519Key(src)
	if err != nil {
		t.Fatal(err)
	}
	id, err := peer.IDFromPrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return priv, id
}

func testCID(t testing.TB, s string) cid.Cid {
	t.Helper()
	h, err := mh.Sum([]byte(s), mh.SHA2_256, -1)
	if err != nil {
		t.Fatal(err)
	}
	return cid.NewCidV1(cid.Raw, h)
}

func testRecord(t testing.TB, pub peer.ID) *Record {
	return &Record{
		Kind:      KindKeyword,
		Publisher: pub,
		CID:       testCID(t, "file"),
		Keyword:   "beatles",
		Keywords:  []string{"beatles", "let", "it", "be"},
		Name:      "The Beatles - Let It Be.mp3",
		Size:      4 << 20,
		Addrs: []ma.Multiaddr{
			ma.StringCast("/ip4/127.0.0.1/tcp/4001"),
			ma.StringCast("/ip4/127.0.0.1/tcp/4002/p2p/12D3KooWGRUVh1tGuB8Qjr1dXjnBYKYb1QYRQ3qzS1RCuh4JQXxz/p2p-circuit"),
		},
		Published: testNow.Add(-time.Hour),
		Expires:   testNow.Add(23 * time.Hour),
	}
}

func mustSeal(t testing.TB, r *Record, key crypto.PrivKey) []byte {
	t.Helper()
	b, err := Seal(r, key)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func testValidator(t testing.TB) *Validator {
	v, err := NewValidator(DefaultValidatorConfig())
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestRecordRoundTrip(t *testing.T) {
	priv, pub := testKey(t, 1)
	r := testRecord(t, pub)
	env := mustSeal(t, r, priv)
	got, err := Open(env)
	if err != nil {
		t.Fatal(err)
	}
	if got.Kind != r.Kind || got.Publisher != r.Publisher || !got.CID.Equals(r.CID) ||
		got.Keyword != r.Keyword || strings.Join(got.Keywords, ",") != strings.Join(r.Keywords, ",") ||
		got.Name != r.Name || got.Size != r.Size || len(got.Addrs) != 2 || !got.Addrs[1].Equal(r.Addrs[1]) ||
		!got.Published.Equal(r.Published) || !got.Expires.Equal(r.Expires) {
		t.Fatalf("round trip: got %+v, want %+v", got, r)
	}
	// go-libp2p's registry opens it too.
	_, rec, err := record.ConsumeEnvelope(env, RecordDomain)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := rec.(*Record); !ok {
		t.Fatalf("ConsumeEnvelope gave %T", rec)
	}
}

func TestValidateAccepts(t *testing.T) {
	priv, pub := testKey(t, 1)
	v := testValidator(t)
	r := testRecord(t, pub)
	info, err := v.Validate(chordrouting.KeywordKey("beatles"), mustSeal(t, r, priv), testNow)
	if err != nil {
		t.Fatal(err)
	}
	want := chordrouting.ValueInfo{
		Identity:  pub.String() + "/" + r.CID.String(),
		Version:   r.Published.UnixNano(),
		Expiry:    r.Expires,
		Publisher: pub.String(),
	}
	if info.Identity != want.Identity || info.Version != want.Version || !info.Expiry.Equal(want.Expiry) ||
		info.Publisher != want.Publisher || info.Removal {
		t.Fatalf("info = %+v, want %+v", info, want)
	}

	prov := &Record{Kind: KindProvider, Publisher: pub, CID: r.CID, Addrs: r.Addrs,
		Published: r.Published, Expires: r.Expires}
	pinfo, err := v.Validate(chordrouting.ContentKey(r.CID.Bytes()), mustSeal(t, prov, priv), testNow)
	if err != nil || pinfo.Identity != want.Identity || pinfo.Removal {
		t.Fatalf("provider: %+v, %v", pinfo, err)
	}

	// A removal has the identity of what it removes and a later version.
	rm := &Record{Kind: KindRemoval, Publisher: pub, CID: r.CID, Keyword: "beatles",
		Published: testNow, Expires: testNow.Add(24 * time.Hour)}
	rinfo, err := v.Validate(chordrouting.KeywordKey("beatles"), mustSeal(t, rm, priv), testNow)
	if err != nil || !rinfo.Removal || rinfo.Identity != want.Identity || rinfo.Version <= info.Version {
		t.Fatalf("removal: %+v, %v", rinfo, err)
	}
	rm.Keyword = ""
	if _, err := v.Validate(chordrouting.ContentKey(r.CID.Bytes()), mustSeal(t, rm, priv), testNow); err != nil {
		t.Fatalf("provider removal: %v", err)
	}
}

// replacePayload rebuilds an envelope with another payload, keeping the
// original public key and signature.
func replacePayload(t testing.TB, env, payload []byte) []byte {
	t.Helper()
	var out []byte
	for len(env) > 0 {
		num, typ, n := protowire.ConsumeTag(env)
		env = env[n:]
		v, m := protowire.ConsumeBytes(env)
		if n < 0 || m < 0 || typ != protowire.BytesType {
			t.Fatal("bad envelope")
		}
		env = env[m:]
		if num == 3 {
			v = payload
		}
		out = protowire.AppendTag(out, num, typ)
		out = protowire.AppendBytes(out, v)
	}
	return out
}

func TestValidateRefuses(t *testing.T) {
	priv, pub := testKey(t, 1)
	otherPriv, other := testKey(t, 2)
	v := testValidator(t)
	key := chordrouting.KeywordKey("beatles")

	alter := func(f func(r *Record)) []byte {
		r := testRecord(t, pub)
		env := mustSeal(t, r, priv)
		f(r)
		payload, err := r.MarshalRecord()
		if err != nil {
			t.Fatal(err)
		}
		return replacePayload(t, env, payload)
	}
	sealWith := func(k crypto.PrivKey, f func(r *Record)) []byte {
		r := testRecord(t, pub)
		f(r)
		id, _ := peer.IDFromPrivateKey(k)
		if id != r.Publisher {
			// Seal refuses a foreign key, so sign by hand as a forger would.
			env, err := record.Seal(r, k)
			if err != nil {
				t.Fatal(err)
			}
			b, err := env.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			return b
		}
		return mustSeal(t, r, k)
	}
	good := mustSeal(t, testRecord(t, pub), priv)
	flipped := bytes.Clone(good)
	flipped[len(flipped)-1] ^= 1

	tests := []struct {
		name  string
		key   chordrouting.ID
		value []byte
		want  error
	}{
		{"forged: signed by another key", key, sealWith(otherPriv, func(r *Record) {}), ErrWrongSigner},
		{"forged: other publisher's record re-signed", key, sealWith(otherPriv, func(r *Record) { r.Publisher = pub }), ErrWrongSigner},
		{"signature bit flipped", key, flipped, ErrBadSignature},
		{"altered kind", chordrouting.ContentKey(testCID(t, "file").Bytes()), alter(func(r *Record) {
			r.Kind, r.Keyword, r.Keywords = KindProvider, "", nil
		}), ErrBadSignature},
		{"altered publisher", key, alter(func(r *Record) { r.Publisher = other }), ErrBadSignature},
		{"altered cid", key, alter(func(r *Record) { r.CID = testCID(t, "evil") }), ErrBadSignature},
		{"altered keyword", chordrouting.KeywordKey("let"), alter(func(r *Record) { r.Keyword = "let" }), ErrBadSignature},
		{"altered keywords", key, alter(func(r *Record) { r.Keywords = append(r.Keywords, "spam") }), ErrBadSignature},
		{"altered name", key, alter(func(r *Record) { r.Name = "virus.exe beatles" }), ErrBadSignature},
		{"altered size", key, alter(func(r *Record) { r.Size++ }), ErrBadSignature},
		{"altered addrs", key, alter(func(r *Record) { r.Addrs = r.Addrs[:1] }), ErrBadSignature},
		{"altered published", key, alter(func(r *Record) { r.Published = r.Published.Add(time.Second) }), ErrBadSignature},
		{"altered expires", key, alter(func(r *Record) { r.Expires = r.Expires.Add(time.Hour) }), ErrBadSignature},
		{"wrong key", chordrouting.KeywordKey("let"), good, ErrWrongKey},
		{"content key for keyword record", chordrouting.ContentKey(testCID(t, "file").Bytes()), good, ErrWrongKey},
		{"expired", key, sealWith(priv, func(r *Record) {
			r.Published, r.Expires = testNow.Add(-25*time.Hour), testNow.Add(-time.Hour)
		}), ErrExpired},
		{"published in the future", key, sealWith(priv, func(r *Record) {
			r.Published, r.Expires = testNow.Add(time.Hour), testNow.Add(2*time.Hour)
		}), ErrTooFarAhead},
		{"lives too long", key, sealWith(priv, func(r *Record) { r.Expires = testNow.Add(72 * time.Hour) }), ErrTooFarAhead},
		{"oversized", key, make([]byte, MaxRecordSize+1), ErrTooLarge},
		{"garbage", key, []byte("not an envelope"), ErrBadSignature},
		{"empty", key, nil, ErrBadSignature},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := v.Validate(tc.key, tc.value, testNow)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Validate: %v, want %v", err, tc.want)
			}
		})
	}
}

func TestSealRefuses(t *testing.T) {
	priv, pub := testKey(t, 1)
	_, other := testKey(t, 2)
	tests := []struct {
		name string
		f    func(r *Record)
		want error
	}{
		{"foreign publisher", func(r *Record) { r.Publisher = other }, ErrWrongSigner},
		{"unknown kind", func(r *Record) { r.Kind = 9 }, ErrMalformed},
		{"keyword not among keywords", func(r *Record) { r.Keyword = "zzz" }, ErrMalformed},
		{"keyword not normalized", func(r *Record) { r.Keyword = "Beatles"; r.Keywords[0] = "Beatles" }, ErrMalformed},
		{"no name", func(r *Record) { r.Name = "" }, ErrMalformed},
		{"name too long", func(r *Record) { r.Name = strings.Repeat("n", MaxNameBytes+1) }, ErrMalformed},
		{"expires before published", func(r *Record) { r.Expires = r.Published }, ErrMalformed},
		{"too many addresses", func(r *Record) {
			for len(r.Addrs) <= MaxAddrs {
				r.Addrs = append(r.Addrs, r.Addrs[0])
			}
		}, ErrMalformed},
		{"too large", func(r *Record) {
			r.Name = strings.Repeat("n", MaxNameBytes)
			for i := 0; len(r.Addrs) < MaxAddrs; i++ {
				r.Addrs = append(r.Addrs, ma.StringCast("/dns4/"+strings.Repeat("h", 240)+"/tcp/1"))
			}
			for len(r.Keywords) < MaxKeywords {
				// Deseret small letters: 4 bytes each, already folded.
				r.Keywords = append(r.Keywords, strings.Repeat("\U00010428", MaxWordRunes-1)+string(rune(0x10429+len(r.Keywords))))
			}
		}, ErrTooLarge},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := testRecord(t, pub)
			tc.f(r)
			if _, err := Seal(r, priv); !errors.Is(err, tc.want) {
				t.Fatalf("Seal: %v, want %v", err, tc.want)
			}
		})
	}
}

// An envelope of our domain but another payload type is refused.
type otherRecord struct{ Record }

func (o *otherRecord) Codec() []byte { return []byte("/other/1") }

func TestOpenRefusesOtherPayloadType(t *testing.T) {
	priv, pub := testKey(t, 1)
	o := &otherRecord{*testRecord(t, pub)}
	env, err := record.Seal(o, priv)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := env.Marshal()
	if _, err := Open(b); !errors.Is(err, ErrMalformed) {
		t.Fatalf("Open: %v", err)
	}
}

func TestMatch(t *testing.T) {
	priv, pub := testKey(t, 1)
	v := testValidator(t)
	r := testRecord(t, pub)
	kw := mustSeal(t, r, priv)
	prov := mustSeal(t, &Record{Kind: KindProvider, Publisher: pub, CID: r.CID,
		Published: r.Published, Expires: r.Expires}, priv)
	rm := mustSeal(t, &Record{Kind: KindRemoval, Publisher: pub, CID: r.CID, Keyword: "beatles",
		Published: testNow, Expires: r.Expires}, priv)
	key := chordrouting.KeywordKey("beatles")
	tests := []struct {
		name  string
		q     []byte
		value []byte
		want  bool
	}{
		{"empty query matches all", nil, kw, true},
		{"one word", Query{Kind: KindKeyword, Words: []string{"beatles"}}.Encode(), kw, true},
		{"all words", Query{Kind: KindKeyword, Words: []string{"beatles", "let", "be"}}.Encode(), kw, true},
		{"one word missing", Query{Kind: KindKeyword, Words: []string{"beatles", "yesterday"}}.Encode(), kw, false},
		{"prefix last", Query{Kind: KindKeyword, Words: []string{"let", "beat"}, PrefixLast: true}.Encode(), kw, true},
		{"prefix off", Query{Kind: KindKeyword, Words: []string{"let", "beat"}}.Encode(), kw, false},
		{"prefix only last", Query{Kind: KindKeyword, Words: []string{"beat", "let"}, PrefixLast: true}.Encode(), kw, false},
		{"provider query skips keyword records", Query{Kind: KindProvider}.Encode(), kw, false},
		{"provider query", Query{Kind: KindProvider}.Encode(), prov, true},
		{"removal never answers", Query{Kind: KindKeyword, Words: []string{"beatles"}}.Encode(), rm, false},
		{"bad query matches nothing", []byte{0xff}, kw, false},
		{"bad value matches nothing", Query{Kind: KindKeyword}.Encode(), []byte{0xff}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := v.Match(key, tc.q, tc.value); got != tc.want {
				t.Fatalf("Match = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestQueryRoundTrip(t *testing.T) {
	q := Query{Kind: KindKeyword, Words: []string{"a1", "東京", "beatles"}, PrefixLast: true}
	got, err := DecodeQuery(q.Encode())
	if err != nil || got.Kind != q.Kind || strings.Join(got.Words, " ") != strings.Join(q.Words, " ") || !got.PrefixLast {
		t.Fatalf("got %+v, %v", got, err)
	}
	many := Query{Kind: KindKeyword}
	for i := 0; i <= MaxQueryWords; i++ {
		many.Words = append(many.Words, "ww")
	}
	if _, err := DecodeQuery(many.Encode()); !errors.Is(err, ErrMalformed) {
		t.Fatalf("too many words: %v", err)
	}
}

func FuzzOpenRecord(f *testing.F) {
	priv, pub := testKey(f, 1)
	f.Add(mustSeal(f, testRecord(f, pub), priv))
	f.Add(mustSeal(f, &Record{Kind: KindRemoval, Publisher: pub, CID: testCID(f, "x"),
		Published: testNow, Expires: testNow.Add(time.Hour)}, priv))
	f.Add([]byte{})
	f.Add([]byte{0x0a, 0x02, 0x08, 0x01})
	v := testValidator(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := Open(data)
		if err == nil {
			if err := r.check(); err != nil {
				t.Fatalf("opened a record that fails its rules: %v", err)
			}
			if _, err := v.Validate(r.Key(), data, testNow); err != nil && !errors.Is(err, ErrExpired) && !errors.Is(err, ErrTooFarAhead) {
				t.Fatalf("Validate after Open: %v", err)
			}
		}
		v.Match(chordrouting.ID{}, Query{Kind: KindKeyword, Words: []string{"beatles"}, PrefixLast: true}.Encode(), data)
	})
}

func FuzzDecodeQuery(f *testing.F) {
	f.Add(Query{Kind: KindKeyword, Words: []string{"beatles", "let"}, PrefixLast: true}.Encode())
	f.Add([]byte{0x12, 0xff})
	f.Fuzz(func(t *testing.T, data []byte) {
		q, err := DecodeQuery(data)
		if err != nil {
			return
		}
		if len(q.Words) > MaxQueryWords {
			t.Fatalf("%d words", len(q.Words))
		}
		q.Match(&Record{Kind: KindKeyword, Keywords: []string{"beatles"}})
	})
}

func BenchmarkValidate(b *testing.B) {
	priv, pub := testKey(b, 1)
	v := testValidator(b)
	env := mustSeal(b, testRecord(b, pub), priv)
	key := chordrouting.KeywordKey("beatles")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Validate(key, env, testNow); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMatch is the owner's cost per stored record of a multi-word query.
func BenchmarkMatch(b *testing.B) {
	priv, pub := testKey(b, 1)
	v := testValidator(b)
	env := mustSeal(b, testRecord(b, pub), priv)
	q := Query{Kind: KindKeyword, Words: []string{"beatles", "let", "b"}, PrefixLast: true}.Encode()
	key := chordrouting.KeywordKey("beatles")
	b.ReportAllocs()
	for b.Loop() {
		if !v.Match(key, q, env) {
			b.Fatal("no match")
		}
	}
}

func BenchmarkKeywords(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		Keywords("The Beatles - Let It Be (Remastered 2009) [Live].mp3", []string{"rock"})
	}
}
