package sim

import (
	"crypto/ed25519"
	"math/rand/v2"
	"testing"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"

	"kwsearch/chordrouting"
	"kwsearch/chordrouting/p2p"
)

// TestWireSizeMatchesCodec: the traffic model counts what the libp2p
// codec writes for libp2p peers with one QUIC multiaddr each, for every
// shape of message the ring sends.
func TestWireSizeMatchesCodec(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	t.Logf("seed 3")
	peers := make([]chordrouting.Peer, 6)
	for k := range peers {
		seed := make([]byte, ed25519.SeedSize)
		for b := range seed {
			seed[b] = byte(rng.Uint32())
		}
		priv, err := crypto.UnmarshalEd25519PrivateKey(ed25519.NewKeyFromSeed(seed))
		if err != nil {
			t.Fatal(err)
		}
		id, err := peer.IDFromPrivateKey(priv)
		if err != nil {
			t.Fatal(err)
		}
		peers[k] = p2p.PeerOf(id)
	}
	addr := ma.StringCast("/ip4/203.0.113.7/udp/4001/quic-v1")
	addrs := func(chordrouting.Peer) []ma.Multiaddr { return []ma.Multiaddr{addr} }
	msgs := []*chordrouting.Message{
		{Type: chordrouting.MsgGetState, ID: rng.Uint64() | 1, Count: 123456789},
		{Type: chordrouting.MsgState, ID: rng.Uint64(), HasPred: true, Pred: peers[1], Peers: peers[2:6]},
		{Type: chordrouting.MsgState, ID: 77, Done: true},
		{Type: chordrouting.MsgNotify},
		{Type: chordrouting.MsgFindSuccessor, ID: 1 << 40, Key: chordrouting.HashID([]byte("k"))},
		{Type: chordrouting.MsgStore, ID: 5, Items: []chordrouting.Item{{Key: chordrouting.HashID([]byte("x")), Value: make([]byte, 300)}}, Replica: true},
		{Type: chordrouting.MsgDigest, ID: 6, Digests: []chordrouting.Digest{{Key: chordrouting.HashID([]byte("d")), Identity: "pub/1", Version: 99}}},
		{Type: chordrouting.MsgDigestSummary, ID: rng.Uint64(), Key: chordrouting.HashID([]byte("lo")), Count: 1000, Query: make([]byte, chordrouting.SummaryQueryLen)},
		{Type: chordrouting.MsgDigestSummaryReply, ID: rng.Uint64(), Done: true},
		{Type: chordrouting.MsgMembership, Count: 7, Peers: peers[1:4], Query: make([]byte, 16)},
		{Type: chordrouting.MsgGetMembers, ID: 8, Key: chordrouting.HashID([]byte("s")), Query: make([]byte, 44)},
		{Type: chordrouting.MsgMembers, ID: 9, Peers: peers[:5], Done: true},
		{Type: chordrouting.MsgError, ID: 10, Err: "not yet integrated"},
		{Type: chordrouting.MsgGet, ID: 11, Key: chordrouting.HashID([]byte("g")), Query: []byte("song"), Count: 20, Forward: true},
	}
	for _, m := range msgs {
		m.From = peers[0]
		enc := p2p.Encode(m, addrs)
		want := len(enc) + protowireSize(len(enc))
		if got := wireSize(m); got != want {
			t.Errorf("type %d: model says %d bytes, the codec writes %d", m.Type, got, want)
		}
	}
}

// protowireSize is the length of the uvarint frame prefix.
func protowireSize(n int) int {
	s := 1
	for n >= 0x80 {
		n >>= 7
		s++
	}
	return s
}
