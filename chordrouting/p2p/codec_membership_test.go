package p2p

import (
	"reflect"
	"testing"

	ma "github.com/multiformats/go-multiaddr"
	"google.golang.org/protobuf/encoding/protowire"

	cr "kwsearch/chordrouting"
)

// TestCodecMembershipRoundTrip: a membership message (one-way, joins in
// Peers in the compact form, departures as ID prefixes in Query) and a
// table page
// survive the codec, and the compact form is smaller than the full one.
func TestCodecMembershipRoundTrip(t *testing.T) {
	_, a := testPeer(t, 1)
	_, b := testPeer(t, 2)
	_, c := testPeer(t, 3)
	m := &cr.Message{
		Type:  cr.MsgMembership,
		Peers: []cr.Peer{b, c},
		Query: []byte{1, 2, 3, 4, 5, 6, 7, 8},
		Count: 5,
	}
	addr := ma.StringCast("/ip4/127.0.0.1/udp/4001/quic-v1")
	enc := Encode(m, func(cr.Peer) []ma.Multiaddr { return []ma.Multiaddr{addr} })
	got, book, err := Decode(enc)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, m) {
		t.Fatalf("membership message changed:\n got %+v\nwant %+v", got, m)
	}
	if len(book[c.Addr]) != 1 || !book[c.Addr][0].Equal(addr) {
		t.Fatalf("address of a compact peer lost: %v", book)
	}
	var full []byte
	for _, p := range m.Peers {
		full = appendPeer(full, fPeers, p, nil)
	}
	if lf, lc := len(full), len(Encode(&cr.Message{Peers: m.Peers}, nil)); lc+2*40 > lf {
		t.Fatalf("compact peers save too little: %d bytes compact, %d full", lc, lf)
	}

	page := &cr.Message{Type: cr.MsgMembers, ID: 9, Peers: []cr.Peer{b, c, a}, Done: true, Replica: true}
	got, _, err = Decode(Encode(page, nil))
	if err != nil || !reflect.DeepEqual(got, page) {
		t.Fatalf("table page: %v\n got %+v\nwant %+v", err, got, page)
	}
}

// TestDecodeRefusesBadCompactPeer: a compact peer whose bytes are not a
// peer ID, or whose explicit ring ID disagrees, is refused.
func TestDecodeRefusesBadCompactPeer(t *testing.T) {
	_, a := testPeer(t, 1)
	_, b := testPeer(t, 2)
	good := Encode(&cr.Message{Type: cr.MsgMembership, Peers: []cr.Peer{a, b}}, nil)
	if _, _, err := Decode(good); err != nil {
		t.Fatal(err)
	}
	// A Peers field whose compact peer ID is not a multihash.
	bad := protowire.AppendTag(append([]byte(nil), good...), fPeers, protowire.BytesType)
	bad = protowire.AppendBytes(bad, protowire.AppendBytes(protowire.AppendTag(nil, 4, protowire.BytesType), []byte{1, 2, 3}))
	if _, _, err := Decode(bad); err == nil {
		t.Fatal("a compact peer that is not a peer ID was accepted")
	}
	wrong := b
	wrong.ID = cr.HashID([]byte("elsewhere"))
	if _, _, err := Decode(appendPeer(good, fPeers, wrong, nil)); err == nil {
		t.Fatal("a peer whose ring ID is not its peer ID's hash was accepted")
	}
}
