package keyword

import (
	"fmt"
	"strings"

	"google.golang.org/protobuf/encoding/protowire"
)

// Query is the filter a ring node applies to the records under one key
// (the bytes given to Runner.Get). A keyword search is sent to the owner
// of one of its words and carries all of them, so the owner returns only
// files whose keywords contain every word.
type Query struct {
	// Kind selects the records that answer: KindKeyword for a search,
	// KindProvider for a provider lookup. Removals never answer.
	Kind Kind
	// Words must all be among a keyword record's keywords.
	Words []string
	// PrefixLast lets the last word match any keyword it is a prefix of
	// ("beat" matches "beatles"), for search-as-you-type. The other words
	// match whole keywords only: the query is routed by one of them.
	PrefixLast bool
}

// Query wire format (protobuf-compatible, hand-encoded):
//
//	message Query {
//	  uint32          kind        = 1;
//	  repeated string words       = 2; // at most MaxQueryWords
//	  bool            prefix_last = 3;
//	}
const (
	fqKind   = 1
	fqWords  = 2
	fqPrefix = 3
	// maxQuerySize bounds an encoded query.
	maxQuerySize = 1 + MaxQueryWords*(2+maxKeywordBytes) + 16
)

// Encode returns the query's wire form.
func (q Query) Encode() []byte {
	var b []byte
	b = appendVarintField(b, fqKind, uint64(q.Kind))
	for _, w := range q.Words {
		b = protowire.AppendTag(b, fqWords, protowire.BytesType)
		b = protowire.AppendString(b, w)
	}
	if q.PrefixLast {
		b = appendVarintField(b, fqPrefix, 1)
	}
	return b
}

// DecodeQuery parses a query from the network, refusing anything over the
// bounds.
func DecodeQuery(data []byte) (Query, error) {
	var q Query
	if len(data) > maxQuerySize {
		return q, fmt.Errorf("%w: query of %d bytes", ErrMalformed, len(data))
	}
	for len(data) > 0 {
		num, typ, n := protowire.ConsumeTag(data)
		if n < 0 {
			return q, fmt.Errorf("%w: query: %v", ErrMalformed, protowire.ParseError(n))
		}
		data = data[n:]
		switch {
		case num == fqKind && typ == protowire.VarintType:
			var v uint64
			v, n = protowire.ConsumeVarint(data)
			q.Kind = Kind(min(v, 255))
		case num == fqPrefix && typ == protowire.VarintType:
			var v uint64
			v, n = protowire.ConsumeVarint(data)
			q.PrefixLast = v != 0
		case num == fqWords && typ == protowire.BytesType:
			var v []byte
			v, n = protowire.ConsumeBytes(data)
			if len(q.Words) == MaxQueryWords || len(v) > maxKeywordBytes {
				return q, fmt.Errorf("%w: query words over the bounds", ErrMalformed)
			}
			q.Words = append(q.Words, string(v))
		default:
			n = protowire.ConsumeFieldValue(num, typ, data)
		}
		if n < 0 {
			return q, fmt.Errorf("%w: query field %d: %v", ErrMalformed, num, protowire.ParseError(n))
		}
		data = data[n:]
	}
	return q, nil
}

// Match reports whether r answers q.
func (q Query) Match(r *Record) bool {
	if r.Kind != q.Kind || r.Kind == KindRemoval {
		return false
	}
	for i, w := range q.Words {
		prefix := q.PrefixLast && i == len(q.Words)-1
		if !hasKeyword(r.Keywords, w, prefix) {
			return false
		}
	}
	return true
}

func hasKeyword(keywords []string, w string, prefix bool) bool {
	for _, k := range keywords {
		if k == w || (prefix && strings.HasPrefix(k, w)) {
			return true
		}
	}
	return false
}

// matchFields decodes only what Query.Match reads (kind and keywords) of
// a stored record's payload, without checking its signature or rules (it
// was validated when stored): the owner runs it on every record under a
// key for every search.
func matchFields(payload []byte) (*Record, error) {
	r := &Record{}
	for len(payload) > 0 {
		num, typ, n := protowire.ConsumeTag(payload)
		if n < 0 {
			return nil, ErrMalformed
		}
		payload = payload[n:]
		switch {
		case num == fKind && typ == protowire.VarintType:
			var v uint64
			v, n = protowire.ConsumeVarint(payload)
			r.Kind = Kind(min(v, 255))
		case num == fKeywords && typ == protowire.BytesType:
			var v []byte
			v, n = protowire.ConsumeBytes(payload)
			if len(r.Keywords) == MaxKeywords {
				return nil, ErrMalformed
			}
			r.Keywords = append(r.Keywords, string(v))
		default:
			n = protowire.ConsumeFieldValue(num, typ, payload)
		}
		if n < 0 {
			return nil, ErrMalformed
		}
		payload = payload[n:]
	}
	return r, nil
}

// envelopePayload returns field 3 (payload) of a libp2p Envelope message.
func envelopePayload(data []byte) ([]byte, error) {
	if len(data) > MaxRecordSize {
		return nil, ErrTooLarge
	}
	var payload []byte
	for len(data) > 0 {
		num, typ, n := protowire.ConsumeTag(data)
		if n < 0 {
			return nil, ErrMalformed
		}
		data = data[n:]
		if num == 3 && typ == protowire.BytesType {
			payload, n = protowire.ConsumeBytes(data)
		} else {
			n = protowire.ConsumeFieldValue(num, typ, data)
		}
		if n < 0 {
			return nil, ErrMalformed
		}
		data = data[n:]
	}
	return payload, nil
}
