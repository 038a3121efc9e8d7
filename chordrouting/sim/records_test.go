package sim

import (
	"strings"
	"testing"
	"time"

	"kwsearch/chordrouting"
)

func TestRecordValidator(t *testing.T) {
	v := RecordValidator{}
	r := NewRecord(12, 7)
	info, err := v.Validate(r.Key, r.Value, epochTime)
	if err != nil {
		t.Fatal(err)
	}
	if info.Publisher != "12" || info.Identity != string(r.Value) || !info.Expiry.After(epochTime.Add(time.Hour)) {
		t.Fatalf("ValueInfo %+v for %q", info, r.Value)
	}
	for _, bad := range []string{"", "|x", "abc|x", "x", strings.Repeat("1", maxRecordSize+1)} {
		if _, err := v.Validate(r.Key, []byte(bad), epochTime); err == nil {
			t.Errorf("Validate(%.20q) accepted a bad record", bad)
		}
	}
	if !v.Match(r.Key, nil, r.Value) || !v.Match(r.Key, []byte("r7"), r.Value) || v.Match(r.Key, []byte("r8"), r.Value) {
		t.Fatal("Match does not filter by substring")
	}
	if NewRecord(1, 1).Key == NewRecord(1, 2).Key {
		t.Fatal("distinct records share a key")
	}
}

// FuzzRecordValidator: the validator never panics, and what it accepts
// names a numeric publisher that prefixes the value.
func FuzzRecordValidator(f *testing.F) {
	f.Add([]byte("3|r1"))
	f.Add([]byte("|"))
	f.Add([]byte("12345678901234567890|x"))
	f.Add([]byte{0xff, '|'})
	f.Fuzz(func(t *testing.T, value []byte) {
		info, err := RecordValidator{}.Validate(chordrouting.ID{}, value, epochTime)
		if err != nil {
			return
		}
		if !strings.HasPrefix(string(value), info.Publisher+"|") || info.Identity != string(value) {
			t.Fatalf("accepted %q as %+v", value, info)
		}
	})
}
