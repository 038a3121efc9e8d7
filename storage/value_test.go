package storage

import (
	"testing"
	"time"

	"kwsearch/chordrouting"
)

func TestValueRoundTrip(t *testing.T) {
	for _, v := range []chordrouting.StoredValue{
		{},
		val("id", -5, "data"),
		{ValueInfo: chordrouting.ValueInfo{Identity: "x", Removal: true, Expiry: time.Unix(0, 1)}},
	} {
		got, err := decodeValue(encodeValue(v))
		if err != nil {
			t.Fatal(err)
		}
		if !valuesEqual([]chordrouting.StoredValue{got}, []chordrouting.StoredValue{v}) {
			t.Fatalf("round trip %+v -> %+v", v, got)
		}
	}
}

func TestDecodeValueRejects(t *testing.T) {
	good := encodeValue(val("id", 1, "data"))
	cases := map[string][]byte{
		"empty":     nil,
		"format":    append([]byte{9}, good[1:]...),
		"truncated": good[:len(good)-1],
		"trailing":  append(append([]byte{}, good...), 0),
		"hugelen":   {valueFormat, 0xff, 0xff, 0xff, 0xff, 0x0f},
	}
	for name, b := range cases {
		if _, err := decodeValue(b); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func FuzzDecodeValue(f *testing.F) {
	f.Add(encodeValue(val("id", 1, "data")))
	f.Add([]byte{valueFormat})
	f.Add([]byte{})
	f.Add([]byte{valueFormat, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := decodeValue(b)
		if err != nil {
			return
		}
		// Whatever decodes must re-encode to something that decodes the same.
		v2, err := decodeValue(encodeValue(v))
		if err != nil || !valuesEqual([]chordrouting.StoredValue{v}, []chordrouting.StoredValue{v2}) {
			t.Fatalf("re-decode %+v -> %+v, %v", v, v2, err)
		}
	})
}
