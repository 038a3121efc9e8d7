package hostile

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/record"

	cr "kwsearch/chordrouting"
	"kwsearch/keyword"
)

// keywordRecord builds a keyword record of publisher for word.
func keywordRecord(t testing.TB, pub crypto.PrivKey, c cid.Cid, name, word string, published time.Time, ttl time.Duration) *keyword.Record {
	t.Helper()
	id, err := peer.IDFromPrivateKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return &keyword.Record{Kind: keyword.KindKeyword, Publisher: id, CID: c, Keyword: word,
		Keywords: keyword.Keywords(name, nil), Name: name, Size: 1000, Published: published, Expires: published.Add(ttl)}
}

func seal(t testing.TB, r *keyword.Record, key crypto.PrivKey) []byte {
	t.Helper()
	b, err := keyword.Seal(r, key)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// forge signs r with key whatever publisher r names (keyword.Seal refuses
// that; an attacker uses the envelope library directly).
func forge(t testing.TB, r *keyword.Record, key crypto.PrivKey) []byte {
	t.Helper()
	env, err := record.Seal(r, key)
	if err != nil {
		t.Fatal(err)
	}
	b, err := env.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestForgedRecords sends forged, altered, replayed, expired, misplaced
// and oversized records straight to the key's owner as MsgStore, as a
// publish and as a replica push. None may be stored; the honest records
// (the latest republish included) must survive unchanged.
func TestForgedRecords(t *testing.T) {
	t.Parallel()
	v := startVictim(t, defaultOpts(t))
	root := v.share(t, "honest forged target song.flac", 300<<10)
	cl := startClient(t, infoOf(v.h))
	var hc honest
	hc.round(t, cl, v)

	// The honest publisher republishes; the first version is what an
	// attacker who watched the network replays.
	name := v.files[0].Name
	word := "forged"
	key := cr.KeywordKey(word)
	now := time.Now()
	old := seal(t, keywordRecord(t, v.priv, root, name, word, now.Add(-time.Hour), 24*time.Hour), v.priv)
	ctx, cancel := contextTimeout(10 * time.Second)
	defer cancel()
	if _, err := v.idx.Republish(ctx, v.files); err != nil {
		t.Fatal(err)
	}
	before := v.snapshot(t)

	a := newAttacker(t)
	akey := a.h.Peerstore().PrivKey(a.h.ID())
	altered := bytes.Clone(before[key][peer.ID(v.h.ID()).String()+"/"+root.String()])
	if altered == nil {
		t.Fatalf("the honest record for %q is not at the victim", word)
	}
	// Flip a byte inside the payload: the file name's first byte.
	if i := bytes.Index(altered, []byte(name)); i >= 0 {
		altered[i] ^= 0x20
	} else {
		t.Fatal("name not found in the envelope")
	}
	other := cid.NewCidV1(cid.Raw, mustHash(t, []byte("attacker file")))
	items := []struct {
		name string
		item cr.Item
	}{
		{"forged (attacker signs the honest publisher's record)", cr.Item{Key: key,
			Value: forge(t, keywordRecord(t, v.priv, other, "forged target evil.exe", word, now, time.Hour), akey)}},
		{"altered (one byte of an honest record)", cr.Item{Key: key, Value: altered}},
		{"replayed (the version before the republish)", cr.Item{Key: key, Value: old}},
		{"expired (an honest record that lapsed)", cr.Item{Key: key,
			Value: seal(t, keywordRecord(t, v.priv, root, name, word, now.Add(-26*time.Hour), 24*time.Hour), v.priv)}},
		{"misplaced (valid record under another key)", cr.Item{Key: cr.KeywordKey("song"),
			Value: seal(t, keywordRecord(t, akey, other, "forged target evil.exe", word, now, time.Hour), akey)}},
		{"future-dated beyond the skew", cr.Item{Key: key,
			Value: seal(t, keywordRecord(t, akey, other, "forged target evil.exe", word, now.Add(time.Hour), time.Hour), akey)}},
		{"lives longer than MaxTTL", cr.Item{Key: key,
			Value: seal(t, keywordRecord(t, akey, other, "forged target evil.exe", word, now, 30*24*time.Hour), akey)}},
		{"forged removal of the honest record", cr.Item{Key: key, Value: forge(t, &keyword.Record{Kind: keyword.KindRemoval,
			Publisher: v.h.ID(), CID: root, Keyword: word, Published: now, Expires: now.Add(time.Hour)}, akey)}},
		{"oversized value", cr.Item{Key: key, Value: make([]byte, 9<<10)}},
		{"empty value", cr.Item{Key: key, Value: nil}},
	}
	id := uint64(100)
	for _, replica := range []bool{false, true} {
		for _, it := range items {
			id++
			r, err := a.ringRequest(v.h, &cr.Message{Type: cr.MsgStore, ID: id, From: a.self, Replica: replica, Items: []cr.Item{it.item}})
			switch {
			case err != nil:
				t.Logf("replica=%v %-56s stream refused: %v", replica, it.name, err)
			case r.Type == cr.MsgStoreAck && r.Count > 0 && it.name != "replayed (the version before the republish)":
				t.Errorf("replica=%v %s: acknowledged (%d)", replica, it.name, r.Count)
			default:
				t.Logf("replica=%v %-56s answered type %d count %d %q", replica, it.name, r.Type, r.Count, r.Err)
			}
		}
	}
	after := v.snapshot(t)
	requireKept(t, before, after)
	if after.values() != before.values() {
		t.Errorf("victim holds %d values after the attack, %d before", after.values(), before.values())
	}
	hc.round(t, cl, v)
	hc.requireAllOK(t)
}

// TestRecordFlood: one attacker publishes many valid records signed with
// its own key, straight to the owner. The rate limit answers the excess
// publishes with an error, the per-publisher cap bounds what it may hold,
// and the honest records under the flooded keyword must survive.
func TestRecordFlood(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name    string
		perPub  int // victim's MaxValuesPerPublisher (0: default)
		records int
		sameKey bool
	}{
		{name: "many keywords, publisher cap 300", perPub: 300, records: 1200},
		{name: "one keyword, default caps", records: 1100, sameKey: true},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			o := defaultOpts(t)
			if c.perPub > 0 {
				o.ring.MaxValuesPerPublisher = c.perPub
			}
			// A slow refill, so that the check below does not depend on
			// how fast this machine opens streams (the flood itself is 6
			// store messages, well inside the burst).
			o.transport.RequestRate, o.transport.RequestBurst = 1, 50
			v := startVictim(t, o)
			v.share(t, "honest flood target song.ogg", 200<<10)
			cl := startClient(t, infoOf(v.h))
			var hc honest
			hc.round(t, cl, v)
			before := v.snapshot(t)

			a := newAttacker(t)
			akey := a.h.Peerstore().PrivKey(a.h.ID())
			// Dated as far ahead as the validator allows, so that each
			// looks newer than every honest record.
			pub := time.Now().Add(9 * time.Minute)
			var items []cr.Item
			for i := 0; i < c.records; i++ {
				word := "flood"
				name := fmt.Sprintf("flood spam%d.exe", i)
				if !c.sameKey {
					word = fmt.Sprintf("spam%d", i)
				}
				other := cid.NewCidV1(cid.Raw, mustHash(t, fmt.Appendf(nil, "spam %d", i)))
				r := keywordRecord(t, akey, other, name, word, pub, time.Hour)
				items = append(items, cr.Item{Key: cr.KeywordKey(word), Value: seal(t, r, akey)})
			}
			acked, limited, msgs := 0, 0, 0
			id := uint64(1)
			for len(items) > 0 {
				k := min(len(items), 200)
				id++
				msgs++
				r, err := a.ringRequest(v.h, &cr.Message{Type: cr.MsgStore, ID: id, From: a.self, Items: items[:k]})
				items = items[k:]
				if err != nil {
					continue
				}
				if r.Type == cr.MsgError {
					limited++
				}
				acked += r.Count
			}
			// Small publishes as fast as possible: the rate limit answers.
			for i := 0; i < 260; i++ {
				id++
				r, err := a.ringRequest(v.h, &cr.Message{Type: cr.MsgGet, ID: id, From: a.self, Key: cr.KeywordKey("flood")})
				if err == nil && r.Type == cr.MsgError {
					limited++
				}
			}
			// The same publishes marked as replica pushes meet their own,
			// larger bucket (see chordrouting/p2p's doc); count them.
			replicaLimited := 0
			for i := 0; i < 60; i++ {
				id++
				r, err := a.ringRequest(v.h, &cr.Message{Type: cr.MsgStore, ID: id, From: a.self, Replica: true,
					Items: []cr.Item{{Key: cr.KeywordKey("flood"), Value: seal(t, keywordRecord(t, akey,
						cid.NewCidV1(cid.Raw, mustHash(t, fmt.Appendf(nil, "replica spam %d", i))), "flood replica spam", "flood", pub, time.Hour), akey)}}})
				if err == nil && r.Type == cr.MsgError {
					replicaLimited++
				}
			}
			t.Logf("60 replica-marked stores after the limit was hit: %d rate limited", replicaLimited)
			after := v.snapshot(t)
			held := 0
			for _, m := range after {
				for idn := range m {
					if len(idn) > len(a.h.ID().String()) && idn[:len(a.h.ID().String())] == a.h.ID().String() {
						held++
					}
				}
			}
			t.Logf("flood: %d store messages, %d records acknowledged, %d requests rate limited, attacker holds %d values (cap %d), victim %d values",
				msgs, acked, limited, held, o.ring.MaxValuesPerPublisher, after.values())
			if held > o.ring.MaxValuesPerPublisher {
				t.Errorf("attacker holds %d values, over the per-publisher cap %d", held, o.ring.MaxValuesPerPublisher)
			}
			if limited == 0 {
				t.Error("no request was rate limited")
			}
			hc.round(t, cl, v)
			t.Log(hc.String())
			lost := 0
			for k, m := range before {
				for idn := range m {
					if _, ok := after[k][idn]; !ok {
						lost++
					}
				}
			}
			if lost > 0 {
				t.Errorf("%d honest values evicted by the flood", lost)
			}
			requireKept(t, before, after)
			hc.requireAllOK(t)
		})
	}
}
