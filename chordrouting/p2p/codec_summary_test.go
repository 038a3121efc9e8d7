package p2p

import (
	"errors"
	"reflect"
	"testing"

	cr "kwsearch/chordrouting"
)

// summaryMessage is a repair summary as the core sends it.
func summaryMessage() *cr.Message {
	return &cr.Message{Type: cr.MsgDigestSummary, ID: 1<<40 + 3, Key: cr.HashID([]byte("range start")), Count: 1000,
		Query: []byte{1, 2, 3, 4, 5, 6, 7, 8, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8}}
}

// TestCodecSummaryRoundTrip: repair's summary and its reply come through
// the codec unchanged, and both are small (the point of them).
func TestCodecSummaryRoundTrip(t *testing.T) {
	for _, m := range []*cr.Message{
		summaryMessage(),
		{Type: cr.MsgDigestSummary, ID: 2, Query: make([]byte, cr.SummaryQueryLen)}, // an empty range: count 0, range start 0
		{Type: cr.MsgDigestSummaryReply, ID: 3, Done: true},
		{Type: cr.MsgDigestSummaryReply, ID: 4},
	} {
		b := Encode(m, nil)
		got, _, err := Decode(b)
		if err != nil || !reflect.DeepEqual(got, m) {
			t.Fatalf("round trip: %v\n got %+v\nwant %+v", err, got, m)
		}
		if len(b) > 64 {
			t.Errorf("type %d: %d bytes, want at most 64", m.Type, len(b))
		}
	}
}

// TestDecodeRefusesBadSummary: a summary whose query is not a salt and a
// sum is refused by the decoder, not carried to the core.
func TestDecodeRefusesBadSummary(t *testing.T) {
	for _, q := range [][]byte{nil, make([]byte, cr.SummaryQueryLen-1), make([]byte, cr.SummaryQueryLen+1)} {
		m := summaryMessage()
		m.Query = q
		if _, _, err := Decode(Encode(m, nil)); !errors.Is(err, ErrMalformed) {
			t.Errorf("summary with a %d-byte query: %v, want ErrMalformed", len(q), err)
		}
	}
}
