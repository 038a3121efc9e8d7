package chordrouting

import (
	"math/big"
	"strings"
	"testing"
	"testing/quick"
)

// idOf builds an ID whose last byte is v and all others zero (small rings
// in tables).
func idOf(v byte) ID {
	var id ID
	id[len(id)-1] = v
	return id
}

// bigOf is the ID as an unsigned integer.
func bigOf(id ID) *big.Int { return new(big.Int).SetBytes(id[:]) }

// naiveBetween walks the definition: the clockwise distance from a to x is
// positive and smaller than the distance from a to b (the whole ring when
// a == b).
func naiveBetween(a, x, b ID) bool {
	mod := new(big.Int).Lsh(big.NewInt(1), IDBits)
	dist := func(from, to ID) *big.Int {
		d := new(big.Int).Sub(bigOf(to), bigOf(from))
		return d.Mod(d, mod)
	}
	dx, db := dist(a, x), dist(a, b)
	if db.Sign() == 0 {
		db = mod
	}
	return dx.Sign() > 0 && dx.Cmp(db) < 0
}

func TestBetweenTable(t *testing.T) {
	var max ID
	for k := range max {
		max[k] = 0xff
	}
	cases := []struct {
		name    string
		a, x, b ID
		want    bool
	}{
		{"inside", idOf(1), idOf(5), idOf(9), true},
		{"at left end", idOf(1), idOf(1), idOf(9), false},
		{"at right end", idOf(1), idOf(9), idOf(9), false},
		{"below", idOf(5), idOf(1), idOf(9), false},
		{"above", idOf(1), idOf(10), idOf(9), false},
		{"wrap, above a", idOf(200), idOf(250), idOf(10), true},
		{"wrap, below b", idOf(200), idOf(3), idOf(10), true},
		{"wrap, zero", idOf(200), ID{}, idOf(10), true},
		{"wrap, outside", idOf(200), idOf(100), idOf(10), false},
		{"wrap, at b", idOf(200), idOf(10), idOf(10), false},
		{"wrap, at a", idOf(200), idOf(200), idOf(10), false},
		{"a==b, other", idOf(7), idOf(8), idOf(7), true},
		{"a==b, below", idOf(7), idOf(2), idOf(7), true},
		{"a==b, same", idOf(7), idOf(7), idOf(7), false},
		{"max to zero, nothing inside", max, idOf(3), ID{}, false},
		{"zero to max", ID{}, idOf(3), max, true},
		{"max wraps to 1", max, ID{}, idOf(1), true},
		{"adjacent", idOf(4), idOf(5), idOf(5), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := Between(c.a, c.x, c.b); got != c.want {
				t.Fatalf("Between(%s, %s, %s) = %v, want %v", c.a.Short(), c.x.Short(), c.b.Short(), got, c.want)
			}
			if got := naiveBetween(c.a, c.x, c.b); got != c.want {
				t.Fatalf("naive model disagrees with the table: %v", got)
			}
		})
	}
}

func TestBetweenRightIncl(t *testing.T) {
	cases := []struct {
		name    string
		a, x, b ID
		want    bool
	}{
		{"at b", idOf(1), idOf(9), idOf(9), true},
		{"at a", idOf(1), idOf(1), idOf(9), false},
		{"ring of one owns all", idOf(7), idOf(7), idOf(7), true},
		{"ring of one, other", idOf(7), idOf(1), idOf(7), true},
		{"outside", idOf(1), idOf(10), idOf(9), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := BetweenRightIncl(c.a, c.x, c.b); got != c.want {
				t.Fatalf("BetweenRightIncl = %v, want %v", got, c.want)
			}
		})
	}
}

// small maps quick's random IDs onto few distinct values so that equal
// endpoints (the tricky cases) come up often.
func small(id ID, n byte) ID {
	if id[0]&1 == 0 {
		return id
	}
	v := id
	v[0] &= 0x80 // keep the high bit half the time: wrap-around cases
	for k := 1; k < len(v)-1; k++ {
		v[k] = 0
	}
	v[len(v)-1] %= n
	return v
}

func TestBetweenQuick(t *testing.T) {
	f := func(a, x, b ID) bool {
		a, x, b = small(a, 4), small(x, 4), small(b, 4)
		return Between(a, x, b) == naiveBetween(a, x, b) &&
			BetweenRightIncl(a, x, b) == (x == b || naiveBetween(a, x, b))
	}
	if err := quick.Check(f, &quick.Config{MaxCount: 20000}); err != nil {
		t.Fatal(err)
	}
}

func TestAddPow2AndSubQuick(t *testing.T) {
	mod := new(big.Int).Lsh(big.NewInt(1), IDBits)
	f := func(id ID, i uint8, o ID) bool {
		got := bigOf(id.AddPow2(int(i)))
		want := new(big.Int).Add(bigOf(id), new(big.Int).Lsh(big.NewInt(1), uint(i)))
		want.Mod(want, mod)
		if got.Cmp(want) != 0 {
			return false
		}
		d := new(big.Int).Sub(bigOf(id), bigOf(o))
		d.Mod(d, mod)
		return bigOf(id.Sub(o)).Cmp(d) == 0
	}
	if err := quick.Check(f, &quick.Config{MaxCount: 5000}); err != nil {
		t.Fatal(err)
	}
	var max ID
	for k := range max {
		max[k] = 0xff
	}
	if got := max.AddPow2(0); got != (ID{}) {
		t.Fatalf("max+1 = %s, want zero", got)
	}
	if got := idOf(1).AddPow2(IDBits); got != idOf(1) {
		t.Fatal("out-of-range exponent changed the ID")
	}
}

func TestParseIDRoundTrip(t *testing.T) {
	id := HashID([]byte("x"))
	got, err := ParseID(id.String())
	if err != nil || got != id {
		t.Fatalf("round trip: %v %v", got, err)
	}
	if got, err := ParseID(strings.ToUpper(id.String())); err != nil || got != id {
		t.Fatalf("upper case: %v %v", got, err)
	}
	for _, bad := range []string{"", "00", strings.Repeat("g", 64), strings.Repeat("0", 63), strings.Repeat("0", 66)} {
		if _, err := ParseID(bad); err == nil {
			t.Fatalf("ParseID(%q) accepted", bad)
		}
	}
	if s := id.String(); len(s) != 64 || strings.ToLower(s) != s {
		t.Fatalf("String() = %q", s)
	}
}
