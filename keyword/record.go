package keyword

import (
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/record"
	ma "github.com/multiformats/go-multiaddr"
	"google.golang.org/protobuf/encoding/protowire"

	"kwsearch/chordrouting"
)

// RecordDomain is the libp2p signed-envelope domain of kwsearch records: a
// signature made for another domain (a peer record, say) never verifies as
// one of ours.
const RecordDomain = "kwsearch-record"

// RecordCodec is the envelope payload type of kwsearch records.
var recordCodec = []byte("/kwsearch/record/1")

// RecordCodec returns the envelope payload type of kwsearch records.
func RecordCodec() []byte { return append([]byte(nil), recordCodec...) }

func init() {
	// Let record.ConsumeEnvelope open our envelopes, as go-libp2p's own
	// peer records do. This package itself uses ConsumeTypedEnvelope.
	record.RegisterType(&Record{})
}

// Kind says what a record points at.
type Kind uint8

// Record kinds.
const (
	// KindKeyword: under KeywordKey(Keyword), "the file CID, named Name, of
	// Size bytes, with these Keywords, is held by Publisher at Addrs".
	KindKeyword Kind = 1
	// KindProvider: under ContentKey(CID), "Publisher at Addrs holds CID".
	KindProvider Kind = 2
	// KindRemoval: a signed withdrawal of Publisher's record for CID under
	// KeywordKey(Keyword), or under ContentKey(CID) when Keyword is empty.
	KindRemoval Kind = 3
)

func (k Kind) String() string {
	switch k {
	case KindKeyword:
		return "keyword"
	case KindProvider:
		return "provider"
	case KindRemoval:
		return "removal"
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// Bounds on a record's fields. Every record is checked against them when
// it is decoded, so nothing bigger is ever stored or forwarded.
const (
	// MaxRecordSize bounds a signed record (envelope included). An Ed25519
	// envelope with 32 keywords, a 1 KiB name and 16 addresses fits in
	// about 4 KiB; RSA keys add about 600 bytes.
	MaxRecordSize = 8 << 10
	// MaxNameBytes bounds a file name.
	MaxNameBytes = 1024
	// MaxAddrs bounds the addresses a record carries (direct and relay).
	MaxAddrs = 16
	// MaxAddrBytes bounds one address in binary form.
	MaxAddrBytes = 256
	// maxKeywordBytes bounds one keyword in bytes (MaxWordRunes of UTF-8).
	maxKeywordBytes = MaxWordRunes * utf8.UTFMax
)

// Errors returned when a record is refused.
var (
	ErrMalformed    = errors.New("keyword: malformed record")
	ErrTooLarge     = errors.New("keyword: record too large")
	ErrBadSignature = errors.New("keyword: bad record signature")
	ErrWrongSigner  = errors.New("keyword: record not signed by its publisher")
	ErrWrongKey     = errors.New("keyword: record stored under the wrong key")
	ErrExpired      = errors.New("keyword: record expired")
	ErrTooFarAhead  = errors.New("keyword: record dated too far in the future")
)

// Record is the signed payload of a keyword, provider or removal record.
// It implements go-libp2p's record.Record; Seal signs it and Open checks it.
type Record struct {
	Kind      Kind
	Publisher peer.ID
	CID       cid.Cid
	// Keyword: the key's keyword (keyword records, keyword removals).
	Keyword string
	// Keywords: every keyword the file is published under (keyword
	// records); the owner of one keyword filters a multi-word search with
	// them.
	Keywords []string
	// Name and Size describe the file (keyword records; optional in
	// provider records).
	Name string
	Size uint64
	// Addrs are the publisher's addresses, relay addresses included.
	Addrs     []ma.Multiaddr
	Published time.Time
	Expires   time.Time
}

var _ record.Record = (*Record)(nil)

// Domain implements record.Record.
func (r *Record) Domain() string { return RecordDomain }

// Codec implements record.Record.
func (r *Record) Codec() []byte { return recordCodec }

// Key returns the ring key the record belongs under.
func (r *Record) Key() chordrouting.ID {
	if r.Kind == KindKeyword || (r.Kind == KindRemoval && r.Keyword != "") {
		return chordrouting.KeywordKey(r.Keyword)
	}
	return chordrouting.ContentKey(r.CID.Bytes())
}

// Identity names the record within its key: one per publisher and file, so
// a republish (or a removal) replaces the earlier record.
func (r *Record) Identity() string {
	return r.Publisher.String() + "/" + r.CID.String()
}

// AddrInfo returns the publisher and its addresses.
func (r *Record) AddrInfo() peer.AddrInfo {
	return peer.AddrInfo{ID: r.Publisher, Addrs: r.Addrs}
}

// Record payload wire format (protobuf-compatible, hand-encoded):
//
//	message Record {
//	  uint32          kind      = 1;  // Kind
//	  bytes           publisher = 2;  // peer ID bytes
//	  bytes           cid       = 3;  // CID bytes
//	  string          keyword   = 4;
//	  repeated string keywords  = 5;  // at most MaxKeywords
//	  string          name      = 6;  // at most MaxNameBytes
//	  uint64          size      = 7;
//	  repeated bytes  addrs     = 8;  // multiaddr bytes, at most MaxAddrs
//	  int64           published = 9;  // Unix nanoseconds
//	  int64           expires   = 10; // Unix nanoseconds
//	}
//
// Unknown fields are skipped (they are still covered by the signature).
const (
	fKind      = 1
	fPublisher = 2
	fCID       = 3
	fKeyword   = 4
	fKeywords  = 5
	fName      = 6
	fSize      = 7
	fAddrs     = 8
	fPublished = 9
	fExpires   = 10
)

// MarshalRecord implements record.Record.
func (r *Record) MarshalRecord() ([]byte, error) {
	if err := r.check(); err != nil {
		return nil, err
	}
	var b []byte
	b = appendVarintField(b, fKind, uint64(r.Kind))
	b = appendBytesField(b, fPublisher, []byte(r.Publisher))
	b = appendBytesField(b, fCID, r.CID.Bytes())
	b = appendBytesField(b, fKeyword, []byte(r.Keyword))
	for _, k := range r.Keywords {
		b = protowire.AppendTag(b, fKeywords, protowire.BytesType)
		b = protowire.AppendString(b, k)
	}
	b = appendBytesField(b, fName, []byte(r.Name))
	b = appendVarintField(b, fSize, r.Size)
	for _, a := range r.Addrs {
		b = protowire.AppendTag(b, fAddrs, protowire.BytesType)
		b = protowire.AppendBytes(b, a.Bytes())
	}
	b = appendVarintField(b, fPublished, uint64(r.Published.UnixNano()))
	b = appendVarintField(b, fExpires, uint64(r.Expires.UnixNano()))
	return b, nil
}

func appendVarintField(b []byte, num protowire.Number, v uint64) []byte {
	if v == 0 {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.VarintType)
	return protowire.AppendVarint(b, v)
}

func appendBytesField(b []byte, num protowire.Number, v []byte) []byte {
	if len(v) == 0 {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendBytes(b, v)
}

// UnmarshalRecord implements record.Record. It refuses malformed input and
// anything over the bounds.
func (r *Record) UnmarshalRecord(data []byte) error {
	if err := r.parse(data); err != nil {
		return err
	}
	return r.check()
}

// parse decodes a payload, checking only the wire format and the counts.
func (r *Record) parse(data []byte) error {
	if len(data) > MaxRecordSize {
		return ErrTooLarge
	}
	*r = Record{}
	var published, expires int64
	for len(data) > 0 {
		num, typ, n := protowire.ConsumeTag(data)
		if n < 0 {
			return fmt.Errorf("%w: %v", ErrMalformed, protowire.ParseError(n))
		}
		data = data[n:]
		var err error
		switch {
		case typ == protowire.VarintType && num <= fExpires:
			var v uint64
			v, n = protowire.ConsumeVarint(data)
			err = r.setVarint(num, v, &published, &expires)
		case typ == protowire.BytesType && num <= fExpires:
			var v []byte
			v, n = protowire.ConsumeBytes(data)
			if n >= 0 {
				err = r.setBytes(num, v)
			}
		default:
			n = protowire.ConsumeFieldValue(num, typ, data)
		}
		if n < 0 {
			return fmt.Errorf("%w: field %d: %v", ErrMalformed, num, protowire.ParseError(n))
		}
		if err != nil {
			return err
		}
		data = data[n:]
	}
	r.Published = time.Unix(0, published)
	r.Expires = time.Unix(0, expires)
	return nil
}

func (r *Record) setVarint(num protowire.Number, v uint64, published, expires *int64) error {
	switch num {
	case fKind:
		if v > 255 {
			return fmt.Errorf("%w: kind %d", ErrMalformed, v)
		}
		r.Kind = Kind(v)
	case fSize:
		r.Size = v
	case fPublished:
		*published = int64(v)
	case fExpires:
		*expires = int64(v)
	default:
		return fmt.Errorf("%w: field %d is not a varint", ErrMalformed, num)
	}
	return nil
}

func (r *Record) setBytes(num protowire.Number, v []byte) error {
	switch num {
	case fPublisher:
		id, err := peer.IDFromBytes(v)
		if err != nil {
			return fmt.Errorf("%w: publisher: %v", ErrMalformed, err)
		}
		r.Publisher = id
	case fCID:
		c, err := cid.Cast(v)
		if err != nil {
			return fmt.Errorf("%w: cid: %v", ErrMalformed, err)
		}
		r.CID = c
	case fKeyword:
		r.Keyword = string(v)
	case fKeywords:
		if len(r.Keywords) == MaxKeywords {
			return fmt.Errorf("%w: more than %d keywords", ErrMalformed, MaxKeywords)
		}
		r.Keywords = append(r.Keywords, string(v))
	case fName:
		r.Name = string(v)
	case fAddrs:
		if len(r.Addrs) == MaxAddrs {
			return fmt.Errorf("%w: more than %d addresses", ErrMalformed, MaxAddrs)
		}
		if len(v) > MaxAddrBytes {
			return fmt.Errorf("%w: address of %d bytes", ErrMalformed, len(v))
		}
		a, err := ma.NewMultiaddrBytes(v)
		if err != nil {
			return fmt.Errorf("%w: address: %v", ErrMalformed, err)
		}
		r.Addrs = append(r.Addrs, a)
	default:
		return fmt.Errorf("%w: field %d is not bytes", ErrMalformed, num)
	}
	return nil
}

// check verifies what a record must satisfy whatever the time: known
// kind, fields present for that kind, normalized keywords, bounds.
func (r *Record) check() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrMalformed}, a...)...)
	}
	switch r.Kind {
	case KindKeyword, KindProvider, KindRemoval:
	default:
		return bad("unknown kind %d", r.Kind)
	}
	if r.Publisher == "" || !r.CID.Defined() {
		return bad("publisher and cid are required")
	}
	if r.Kind == KindProvider && (r.Keyword != "" || len(r.Keywords) > 0) {
		return bad("provider record with keywords")
	}
	if r.Kind == KindKeyword && (r.Name == "" || !containsString(r.Keywords, r.Keyword)) {
		return bad("keyword record needs a name and its keyword among its keywords")
	}
	if len(r.Name) > MaxNameBytes || !utf8.ValidString(r.Name) {
		return bad("name too long or not UTF-8")
	}
	if len(r.Keywords) > MaxKeywords || len(r.Addrs) > MaxAddrs {
		return bad("too many keywords or addresses")
	}
	if r.Keyword != "" && !isNormalized(r.Keyword) {
		return bad("keyword %q is not normalized", r.Keyword)
	}
	for _, k := range r.Keywords {
		if !isNormalized(k) {
			return bad("keyword %q is not normalized", k)
		}
	}
	if !r.Expires.After(r.Published) {
		return bad("expires before it is published")
	}
	return nil
}

// isNormalized reports whether w is a keyword as Words produces it.
func isNormalized(w string) bool {
	if len(w) > maxKeywordBytes || !utf8.ValidString(w) {
		return false
	}
	ws := Words(w)
	return len(ws) > 0 && ws[0] == w
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
