package storage

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"kwsearch/chordrouting"
)

// On-disk encoding of a chordrouting.StoredValue:
//
//	byte      format (1)
//	uvarint   len(Identity), Identity
//	varint    Version
//	varint    Expiry as Unix nanoseconds (0: zero time)
//	uvarint   len(Publisher), Publisher
//	byte      Removal (0 or 1)
//	uvarint   len(Data), Data
const valueFormat = 1

// maxValueSize bounds a decoded value; the ring caps values far below this.
const maxValueSize = 1 << 20

var errShortValue = errors.New("storage: truncated record")

func encodeValue(v chordrouting.StoredValue) []byte {
	b := make([]byte, 0, 32+len(v.Identity)+len(v.Publisher)+len(v.Data))
	b = append(b, valueFormat)
	b = binary.AppendUvarint(b, uint64(len(v.Identity)))
	b = append(b, v.Identity...)
	b = binary.AppendVarint(b, v.Version)
	var exp int64
	if !v.Expiry.IsZero() {
		exp = v.Expiry.UnixNano()
	}
	b = binary.AppendVarint(b, exp)
	b = binary.AppendUvarint(b, uint64(len(v.Publisher)))
	b = append(b, v.Publisher...)
	if v.Removal {
		b = append(b, 1)
	} else {
		b = append(b, 0)
	}
	b = binary.AppendUvarint(b, uint64(len(v.Data)))
	return append(b, v.Data...)
}

type valueReader struct {
	b   []byte
	err error
}

func (r *valueReader) bytes() []byte {
	n, k := binary.Uvarint(r.b)
	if k <= 0 || n > uint64(len(r.b)-k) || n > maxValueSize {
		r.fail()
		return nil
	}
	out := r.b[k : k+int(n)]
	r.b = r.b[k+int(n):]
	return out
}

func (r *valueReader) varint() int64 {
	n, k := binary.Varint(r.b)
	if k <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[k:]
	return n
}

func (r *valueReader) byte1() byte {
	if len(r.b) < 1 {
		r.fail()
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *valueReader) fail() {
	if r.err == nil {
		r.err = errShortValue
	}
	r.b = nil
}

func decodeValue(b []byte) (chordrouting.StoredValue, error) {
	var v chordrouting.StoredValue
	if len(b) > maxValueSize+1024 {
		return v, fmt.Errorf("storage: record of %d bytes is too large", len(b))
	}
	r := &valueReader{b: b}
	if f := r.byte1(); r.err == nil && f != valueFormat {
		return v, fmt.Errorf("storage: unknown record format %d", f)
	}
	v.Identity = string(r.bytes())
	v.Version = r.varint()
	if exp := r.varint(); exp != 0 {
		v.Expiry = time.Unix(0, exp)
	}
	v.Publisher = string(r.bytes())
	switch r.byte1() {
	case 0:
	case 1:
		v.Removal = true
	default:
		r.fail()
	}
	v.Data = append([]byte(nil), r.bytes()...)
	if r.err != nil {
		return chordrouting.StoredValue{}, r.err
	}
	if len(r.b) != 0 {
		return chordrouting.StoredValue{}, fmt.Errorf("storage: %d trailing bytes after record", len(r.b))
	}
	return v, nil
}
