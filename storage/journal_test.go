package storage

import (
	"bytes"
	"testing"

	"kwsearch/chordrouting"
)

// encodeEntry is the entry journal.put or journal.delete writes for e.
func encodeEntry(e journalEntry) []byte {
	if e.Delete {
		return append(append([]byte{journalDelete}, e.Key[:]...), e.Value.Identity...)
	}
	return append(append([]byte{journalPut}, e.Key[:]...), encodeValue(e.Value)...)
}

func TestReadJournalStopsAtFirstBadFrame(t *testing.T) {
	k := chordrouting.KeywordKey("k")
	put := journalFrame(encodeEntry(journalEntry{Key: k, Value: val("a", 1, "v")}))
	del := journalFrame(encodeEntry(journalEntry{Delete: true, Key: k, Value: val("a", 0, "")}))
	bad := bytes.Clone(put)
	bad[len(bad)-1] ^= 1 // checksum mismatch
	data := append(append(append(bytes.Clone(put), del...), bad...), put...)
	got := readJournal(data)
	if len(got) != 2 || got[0].Delete || got[0].Value.Identity != "a" || !got[1].Delete || got[1].Key != k {
		t.Fatalf("entries %+v, want the put and the delete before the bad frame", got)
	}
	if n := len(readJournal(data[:len(put)+3])); n != 1 {
		t.Fatalf("torn second frame: %d entries, want 1", n)
	}
}

// FuzzReadJournal: any file decodes without panic, and each entry read
// re-encodes to a frame that reads back as the same entry.
func FuzzReadJournal(f *testing.F) {
	k := chordrouting.KeywordKey("k")
	f.Add(journalFrame(encodeEntry(journalEntry{Key: k, Value: val("a", 1, "v")})))
	f.Add(journalFrame(encodeEntry(journalEntry{Delete: true, Key: k, Value: val("a", 0, "")})))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, e := range readJournal(data) {
			back := readJournal(journalFrame(encodeEntry(e)))
			if len(back) != 1 || back[0].Delete != e.Delete || back[0].Key != e.Key ||
				!valuesEqual([]chordrouting.StoredValue{back[0].Value}, []chordrouting.StoredValue{e.Value}) {
				t.Fatalf("entry %+v reads back as %+v", e, back)
			}
		}
	})
}
