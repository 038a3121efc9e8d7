package sim

import (
	"google.golang.org/protobuf/encoding/protowire"

	"kwsearch/chordrouting"
)

// The traffic figures count each message as the libp2p codec
// (chordrouting/p2p) encodes it: protobuf fields with their tags and
// length prefixes, and a uvarint frame length. Simulated addresses are
// node indices, so every Peer is counted as it is on libp2p instead, in
// the codec's compact form: a 38-byte binary peer ID (an Ed25519 key) and
// one 11-byte multiaddr (/ip4/…/udp/…/quic-v1) attached by the transport.
// The sender is not on the wire (the receiver takes it from the stream).
// Stream and connection overhead (multistream negotiation, yamux or QUIC
// framing, encryption) is not counted: it depends on how streams are
// reused, not on the ring protocol. Repair's summaries (MsgDigestSummary,
// about 60 bytes, and its reply) are counted like any message, by their
// own types (digest_summary, digest_summary_reply in the reports), apart
// from the digest offers they spare.
const (
	wirePeerIDBytes    = 38
	wireMultiaddr      = 11
	wireCompactPayload = 1 + 1 + wirePeerIDBytes + 1 + 1 + wireMultiaddr
)

// wireSize is the size of m on the libp2p wire, as described above.
func wireSize(m *chordrouting.Message) int {
	s := varintField(uint64(m.Type)) + varintField(m.ID)
	if m.Key != (chordrouting.ID{}) {
		s += bytesField(32)
	}
	if m.HasPred {
		s += varintField(1) + peerField()
	}
	s += len(m.Peers) * peerField()
	for _, it := range m.Items {
		s += bytesField(bytesField(32) + bytesField(len(it.Value)))
	}
	if len(m.Query) > 0 {
		s += bytesField(len(m.Query))
	}
	for _, d := range m.Digests {
		in := bytesField(32) + varintField(uint64(d.Version))
		if d.Identity != "" {
			in += bytesField(len(d.Identity))
		}
		s += bytesField(in)
	}
	if m.Done {
		s += varintField(1)
	}
	if m.Replica {
		s += varintField(1)
	}
	if m.Forward {
		s += varintField(1)
	}
	s += varintField(uint64(int64(m.Count)))
	if m.Err != "" {
		s += bytesField(len(m.Err))
	}
	return protowire.SizeVarint(uint64(s)) + s
}

// varintField is the size of a varint field holding v (absent when 0).
func varintField(v uint64) int {
	if v == 0 {
		return 0
	}
	return 1 + protowire.SizeVarint(v)
}

// bytesField is the size of a bytes field of n bytes.
func bytesField(n int) int { return 1 + protowire.SizeVarint(uint64(n)) + n }

// peerField is the size of one Peer field.
func peerField() int { return bytesField(wireCompactPayload) }
