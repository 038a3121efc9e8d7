package p2p

import (
	"errors"
	"fmt"
	"math"

	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
	"google.golang.org/protobuf/encoding/protowire"

	cr "kwsearch/chordrouting"
)

// Wire format of one ring message (protobuf-compatible, hand-encoded with
// protowire; a frame is a uvarint length followed by the message):
//
//	message Peer {
//	  bytes          id    = 1; // 32-byte ring ID = SHA-256(peer ID bytes)
//	  string         addr  = 2; // the libp2p peer ID, base58/base32 string form
//	  repeated bytes addrs = 3; // multiaddrs the sender knows for it (at most MaxPeerAddrs)
//	  bytes          pid   = 4; // the peer ID's bytes, in place of id and addr (compact form)
//	}
//	message Item   { bytes key = 1; bytes value = 2; }
//	message Digest { bytes key = 1; string identity = 2; int64 version = 3; }
//	message Message {
//	  uint32          type     = 1;  // chordrouting.MsgType, known values only
//	  uint64          id       = 2;
//	  reserved                   3;  // was from: the sender is the stream's peer
//	  bytes           key      = 4;  // empty or 32 bytes
//	  bool            has_pred = 5;
//	  Peer            pred     = 6;
//	  repeated Peer   peers    = 7;  // at most MaxPeers
//	  repeated Item   items    = 8;  // at most MaxItems
//	  bytes           query    = 9;  // at most MaxQuery bytes
//	  repeated Digest digests  = 10; // at most MaxDigests
//	  bool            done     = 11;
//	  bool            replica  = 12;
//	  int64           count    = 13; // 0 ≤ count ≤ MaxInt32
//	  string          err      = 14; // at most MaxErr bytes
//	  bool            forward  = 15; // a client's Get or Store for the receiver to run (chordrouting's forward.go)
//	}
//
// forward is new in 1.1.0's life, not a new protocol: a peer that
// predates it skips the unknown field and answers the request as a
// direct Get or Store, which the client tells apart (no Done) and then
// runs the operation itself.
//
// So are the types MsgDigestSummary (19: key = the range start, count,
// query = exactly chordrouting.SummaryQueryLen bytes, salt then sum) and
// MsgDigestSummaryReply (20: done = the same values), repair's summary
// before a digest offer. A peer that predates them refuses the message
// (an unknown type) and resets the stream; the sender's core hears no
// answer and offers the digests as before (chordrouting's offer.go), and
// takes the peer for no suspect for it.
//
// Every peer is written in the compact form: pid alone, from which the
// receiver derives addr and the ring ID: 55 bytes with one QUIC multiaddr
// instead of 103 (the full form is still read). The sender is not written
// at all: libp2p authenticates the stream's remote peer, and the
// transport sets Message.From to it (a sender field could only be
// redundant or a lie). Both matter on the ring's busiest paths: a
// stabilization round at rest was two messages of about 120 bytes, 103 of
// them the sender; one-hop tables and events are lists of peers.
//
// Peer.addrs is not part of chordrouting.Message: it is how the adapter
// tells a node where the peers it names can be dialed (see doc.go).

// Bounds on decoded messages, apart from the frame size cap (Config).
const (
	MaxPeers       = 64
	MaxItems       = 1 << 14
	MaxDigests     = 1 << 15
	MaxQuery       = 64 << 10
	MaxErr         = 1 << 10
	MaxIdentity    = 1 << 10
	MaxPeerAddrs   = 8
	MaxAddrBytes   = 256
	maxPeerIDBytes = 128
)

// ErrMalformed is wrapped by every decoding error.
var ErrMalformed = errors.New("chordrouting/p2p: malformed message")

// AddrBook holds addresses carried in a message, by Peer.Addr.
type AddrBook map[string][]ma.Multiaddr

const (
	fType, fID, fSender, fKey, fHasPred, fPred, fPeers, fItems = 1, 2, 3, 4, 5, 6, 7, 8
	fQuery, fDigests, fDone, fReplica, fCount, fErr, fForward  = 9, 10, 11, 12, 13, 14, 15
)

// Encode returns m's wire form. addrs, when not nil, gives the addresses
// to attach to each peer named in m (at most MaxPeerAddrs are sent).
func Encode(m *cr.Message, addrs func(p cr.Peer) []ma.Multiaddr) []byte {
	var b []byte
	b = appendVarint(b, fType, uint64(m.Type))
	b = appendVarint(b, fID, m.ID)
	if m.Key != (cr.ID{}) {
		b = appendBytes(b, fKey, m.Key[:])
	}
	b = appendBool(b, fHasPred, m.HasPred)
	if m.HasPred {
		b = appendCompactPeer(b, fPred, m.Pred, addrs)
	}
	for _, p := range m.Peers {
		b = appendCompactPeer(b, fPeers, p, addrs)
	}
	for _, it := range m.Items {
		var ib []byte
		ib = appendBytes(ib, 1, it.Key[:])
		ib = appendBytes(ib, 2, it.Value)
		b = protowire.AppendTag(b, fItems, protowire.BytesType)
		b = protowire.AppendBytes(b, ib)
	}
	b = appendBytes(b, fQuery, m.Query)
	for _, d := range m.Digests {
		var db []byte
		db = appendBytes(db, 1, d.Key[:])
		db = appendBytes(db, 2, []byte(d.Identity))
		db = appendVarint(db, 3, uint64(d.Version))
		b = protowire.AppendTag(b, fDigests, protowire.BytesType)
		b = protowire.AppendBytes(b, db)
	}
	b = appendBool(b, fDone, m.Done)
	b = appendBool(b, fReplica, m.Replica)
	b = appendVarint(b, fCount, uint64(int64(m.Count)))
	b = appendBytes(b, fErr, []byte(m.Err))
	b = appendBool(b, fForward, m.Forward)
	return b
}

func appendPeer(b []byte, num protowire.Number, p cr.Peer, addrs func(cr.Peer) []ma.Multiaddr) []byte {
	var pb []byte
	pb = appendBytes(pb, 1, p.ID[:])
	pb = appendBytes(pb, 2, []byte(p.Addr))
	pb = appendAddrs(pb, p, addrs)
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendBytes(b, pb)
}

// appendAddrs appends p's addresses (field 3), at most MaxPeerAddrs.
func appendAddrs(pb []byte, p cr.Peer, addrs func(cr.Peer) []ma.Multiaddr) []byte {
	if addrs == nil {
		return pb
	}
	n := 0
	for _, a := range addrs(p) {
		if ab := a.Bytes(); len(ab) <= MaxAddrBytes && n < MaxPeerAddrs {
			pb = appendBytes(pb, 3, ab)
			n++
		}
	}
	return pb
}

// appendCompactPeer encodes p by its peer ID's bytes (field 4) and
// addresses; a peer whose Addr is not a peer ID gets the full form.
func appendCompactPeer(b []byte, num protowire.Number, p cr.Peer, addrs func(cr.Peer) []ma.Multiaddr) []byte {
	id, err := peer.Decode(p.Addr)
	if err != nil {
		return appendPeer(b, num, p, addrs)
	}
	pb := appendBytes(nil, 4, []byte(id))
	pb = appendAddrs(pb, p, addrs)
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendBytes(b, pb)
}

func appendVarint(b []byte, num protowire.Number, v uint64) []byte {
	if v == 0 {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.VarintType)
	return protowire.AppendVarint(b, v)
}

func appendBool(b []byte, num protowire.Number, v bool) []byte {
	if !v {
		return b
	}
	return appendVarint(b, num, 1)
}

func appendBytes(b []byte, num protowire.Number, v []byte) []byte {
	if len(v) == 0 {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendBytes(b, v)
}

// Decode parses and checks one message: known type, 32-byte IDs, counts
// within the bounds, every peer's ID equal to the hash of its peer ID.
// From stays empty: the caller knows the sender (the stream's peer). The returned AddrBook holds the addresses the
// message carried. The message does not alias b.
func Decode(b []byte) (*cr.Message, AddrBook, error) {
	d := decoder{m: &cr.Message{}, book: AddrBook{}}
	if err := d.message(b); err != nil {
		return nil, nil, err
	}
	if err := d.check(); err != nil {
		return nil, nil, err
	}
	return d.m, d.book, nil
}

type decoder struct {
	m    *cr.Message
	book AddrBook
}

func malformed(format string, a ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrMalformed}, a...)...)
}

// fields walks the fields of one protobuf message, calling f with the
// varint value or the bytes of each.
func fields(b []byte, f func(num protowire.Number, v uint64, bs []byte, isBytes bool) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return malformed("tag: %v", protowire.ParseError(n))
		}
		b = b[n:]
		var err error
		switch typ {
		case protowire.VarintType:
			var v uint64
			v, n = protowire.ConsumeVarint(b)
			if n >= 0 {
				err = f(num, v, nil, false)
			}
		case protowire.BytesType:
			var v []byte
			v, n = protowire.ConsumeBytes(b)
			if n >= 0 {
				err = f(num, 0, v, true)
			}
		default:
			n = protowire.ConsumeFieldValue(num, typ, b)
		}
		if n < 0 {
			return malformed("field %d: %v", num, protowire.ParseError(n))
		}
		if err != nil {
			return err
		}
		b = b[n:]
	}
	return nil
}

func (d *decoder) message(b []byte) error {
	m := d.m
	return fields(b, func(num protowire.Number, v uint64, bs []byte, isBytes bool) error {
		switch {
		case num == fType && !isBytes:
			if v > math.MaxUint8 {
				return malformed("type %d", v)
			}
			m.Type = cr.MsgType(v)
		case num == fID && !isBytes:
			m.ID = v
		case num == fSender:
			return malformed("field 3 (a sender) is no longer sent: the sender is the stream's peer")
		case num == fKey && isBytes:
			return readID(bs, &m.Key)
		case num == fHasPred && !isBytes:
			m.HasPred = v != 0
		case num == fPred && isBytes:
			return d.peer(bs, &m.Pred)
		case num == fPeers && isBytes:
			if len(m.Peers) == MaxPeers {
				return malformed("more than %d peers", MaxPeers)
			}
			m.Peers = append(m.Peers, cr.Peer{})
			return d.peer(bs, &m.Peers[len(m.Peers)-1])
		case num == fItems && isBytes:
			if len(m.Items) == MaxItems {
				return malformed("more than %d items", MaxItems)
			}
			it, err := decodeItem(bs)
			m.Items = append(m.Items, it)
			return err
		case num == fQuery && isBytes:
			if len(bs) > MaxQuery {
				return malformed("query of %d bytes", len(bs))
			}
			m.Query = append([]byte(nil), bs...)
		case num == fDigests && isBytes:
			if len(m.Digests) == MaxDigests {
				return malformed("more than %d digests", MaxDigests)
			}
			dg, err := decodeDigest(bs)
			m.Digests = append(m.Digests, dg)
			return err
		case num == fDone && !isBytes:
			m.Done = v != 0
		case num == fReplica && !isBytes:
			m.Replica = v != 0
		case num == fCount && !isBytes:
			if int64(v) < 0 || v > math.MaxInt32 {
				return malformed("count %d", int64(v))
			}
			m.Count = int(v)
		case num == fErr && isBytes:
			if len(bs) > MaxErr {
				return malformed("error text of %d bytes", len(bs))
			}
			m.Err = string(bs)
		case num == fForward && !isBytes:
			m.Forward = v != 0
		case num <= fForward:
			return malformed("field %d has the wrong wire type", num)
		}
		return nil
	})
}

func readID(bs []byte, id *cr.ID) error {
	if len(bs) != len(id) {
		return malformed("ID of %d bytes", len(bs))
	}
	copy(id[:], bs)
	return nil
}

func (d *decoder) peer(b []byte, p *cr.Peer) error {
	var addrs []ma.Multiaddr
	hasID := false
	err := fields(b, func(num protowire.Number, _ uint64, bs []byte, isBytes bool) error {
		switch {
		case num == 4 && isBytes:
			if len(bs) > maxPeerIDBytes {
				return malformed("peer ID of %d bytes", len(bs))
			}
			id, err := peer.IDFromBytes(bs)
			if err != nil {
				return malformed("peer ID: %v", err)
			}
			p.Addr = id.String()
			if !hasID {
				p.ID = cr.NodeID(bs)
			}
		case num == 1 && isBytes:
			hasID = true
			return readID(bs, &p.ID)
		case num == 2 && isBytes:
			if len(bs) > maxPeerIDBytes {
				return malformed("peer address of %d bytes", len(bs))
			}
			p.Addr = string(bs)
		case num == 3 && isBytes:
			if len(addrs) == MaxPeerAddrs || len(bs) > MaxAddrBytes {
				return malformed("too many or too long addresses")
			}
			a, err := ma.NewMultiaddrBytes(bs)
			if err != nil {
				return malformed("address: %v", err)
			}
			addrs = append(addrs, a)
		case num <= 4:
			return malformed("peer field %d has the wrong wire type", num)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if err := checkPeer(*p); err != nil {
		return err
	}
	if len(addrs) > 0 && len(d.book[p.Addr]) == 0 {
		d.book[p.Addr] = addrs
	}
	return nil
}

// checkPeer refuses a peer whose ring ID is not the hash of its peer ID:
// no one can place a node at a ring position of its choosing by naming it.
func checkPeer(p cr.Peer) error {
	id, err := peer.Decode(p.Addr)
	if err != nil {
		return malformed("peer %q: %v", p.Addr, err)
	}
	if cr.NodeID([]byte(id)) != p.ID {
		return malformed("peer %s: ring ID is not the hash of its peer ID", id)
	}
	return nil
}

func decodeItem(b []byte) (cr.Item, error) {
	var it cr.Item
	hasKey := false
	err := fields(b, func(num protowire.Number, _ uint64, bs []byte, isBytes bool) error {
		switch {
		case num == 1 && isBytes:
			hasKey = true
			return readID(bs, &it.Key)
		case num == 2 && isBytes:
			it.Value = append([]byte(nil), bs...)
		case num <= 2:
			return malformed("item field %d has the wrong wire type", num)
		}
		return nil
	})
	if err == nil && !hasKey {
		err = malformed("item without a key")
	}
	return it, err
}

func decodeDigest(b []byte) (cr.Digest, error) {
	var dg cr.Digest
	hasKey := false
	err := fields(b, func(num protowire.Number, v uint64, bs []byte, isBytes bool) error {
		switch {
		case num == 1 && isBytes:
			hasKey = true
			return readID(bs, &dg.Key)
		case num == 2 && isBytes:
			if len(bs) > MaxIdentity {
				return malformed("identity of %d bytes", len(bs))
			}
			dg.Identity = string(bs)
		case num == 3 && !isBytes:
			dg.Version = int64(v)
		case num <= 3:
			return malformed("digest field %d has the wrong wire type", num)
		}
		return nil
	})
	if err == nil && !hasKey {
		err = malformed("digest without a key")
	}
	return dg, err
}

// check applies the rules that span fields.
func (d *decoder) check() error {
	m := d.m
	if !m.Type.IsRequest() && !m.Type.IsReply() && m.Type != cr.MsgNotify && m.Type != cr.MsgLeave && m.Type != cr.MsgMembership {
		return malformed("unknown message type %d", m.Type)
	}
	if m.Forward && m.Type != cr.MsgGet && m.Type != cr.MsgStore {
		// Only a client's Get or Store is forwarded; the flag on
		// anything else is refused rather than carried unseen.
		return malformed("forward on message type %d", m.Type)
	}
	if m.Type == cr.MsgDigestSummary && len(m.Query) != cr.SummaryQueryLen {
		return malformed("summary of %d bytes, want %d", len(m.Query), cr.SummaryQueryLen)
	}
	if m.HasPred && m.Pred.Addr == "" {
		return malformed("has_pred without pred")
	}
	if !m.HasPred && m.Pred != (cr.Peer{}) {
		// Encode writes pred only with has_pred; a pred alone is refused
		// rather than carried unseen (found by FuzzDecodeMessage).
		return malformed("pred without has_pred")
	}
	return nil
}
