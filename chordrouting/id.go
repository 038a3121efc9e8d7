package chordrouting

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math/bits"
)

// IDBits is the number of bits in an ID: the ring has 2^IDBits points.
const IDBits = 256

// Between reports whether x lies strictly inside the clockwise interval
// from a to b. When a == b the interval is the whole ring except a, so it
// is true for every x != a (RING.md's between).
func Between(a, x, b ID) bool {
	ab := bytes.Compare(a[:], b[:])
	ax := bytes.Compare(a[:], x[:])
	xb := bytes.Compare(x[:], b[:])
	switch {
	case ab == 0:
		return ax != 0
	case ab < 0:
		return ax < 0 && xb < 0
	default: // the interval wraps past zero
		return ax < 0 || xb < 0
	}
}

// BetweenRightIncl reports whether x lies in the clockwise interval (a, b]:
// the keys a node b owns when a is its predecessor. When a == b it is true
// for every x (a ring of one owns everything).
func BetweenRightIncl(a, x, b ID) bool {
	return x == b || Between(a, x, b)
}

// Cmp compares two IDs as unsigned big-endian integers: -1, 0 or +1.
func (id ID) Cmp(o ID) int { return bytes.Compare(id[:], o[:]) }

// Less reports whether id < o as unsigned big-endian integers.
func (id ID) Less(o ID) bool { return bytes.Compare(id[:], o[:]) < 0 }

// AddPow2 returns id + 2^i mod 2^256: the start of finger i of a node at
// id. i must be in [0, IDBits).
func (id ID) AddPow2(i int) ID {
	out := id
	if i < 0 || i >= IDBits {
		return out
	}
	k := len(out) - 1 - i/8 // byte holding bit i (big-endian)
	carry := uint16(1) << (uint(i) % 8)
	for ; k >= 0 && carry != 0; k-- {
		s := uint16(out[k]) + carry
		out[k] = byte(s)
		carry = s >> 8
	}
	return out
}

// Sub returns id - o mod 2^256: the clockwise distance from o to id.
func (id ID) Sub(o ID) ID {
	var out ID
	borrow := 0
	for k := len(id) - 1; k >= 0; k-- {
		d := int(id[k]) - int(o[k]) - borrow
		borrow = 0
		if d < 0 {
			d += 256
			borrow = 1
		}
		out[k] = byte(d)
	}
	return out
}

// String is the ID as 64 lowercase hex digits.
func (id ID) String() string { return hex.EncodeToString(id[:]) }

// Short is the first 8 hex digits, for logs.
func (id ID) Short() string { return hex.EncodeToString(id[:4]) }

// ParseID parses 64 hex digits (either case) into an ID.
func ParseID(s string) (ID, error) {
	var id ID
	if len(s) != 2*len(id) {
		return id, fmt.Errorf("chordrouting: parse ID: want %d hex digits, got %d", 2*len(id), len(s))
	}
	if _, err := hex.Decode(id[:], []byte(s)); err != nil {
		return ID{}, fmt.Errorf("chordrouting: parse ID: %w", err)
	}
	return id, nil
}

// dist is a clockwise distance as four big-endian 64-bit words, for fast
// comparisons in routing.
type dist [4]uint64

// distTo returns (to - from) mod 2^256.
func distTo(from, to ID) dist {
	var d dist
	var borrow uint64
	for w := 3; w >= 0; w-- {
		a := binary.BigEndian.Uint64(to[8*w:])
		b := binary.BigEndian.Uint64(from[8*w:])
		d[w], borrow = bits.Sub64(a, b, borrow)
	}
	return d
}

func (d dist) less(o dist) bool {
	for w := range d {
		if d[w] != o[w] {
			return d[w] < o[w]
		}
	}
	return false
}

func (d dist) zero() bool { return d == dist{} }
