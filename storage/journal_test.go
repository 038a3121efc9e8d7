package storage

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"kwsearch/chordrouting"
)

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

// TestJournalCutsTornFrame: what a write that failed part-way left (here
// appended by hand) is cut off before the next entry, so a Put
// acknowledged afterwards survives a crash.
func TestJournalCutsTornFrame(t *testing.T) {
	path, db, r := openRecords(t)
	k := chordrouting.KeywordKey("x")
	torn := journalFrame(encodeEntry(journalEntry{Key: k, Value: val("a", 1, "v")}))
	if _, err := r.j.f.Write(torn[:len(torn)/2]); err != nil {
		t.Fatal(err)
	}
	r.j.cutTorn() // what write does when its write fails
	must(t, r.Put(k, val("b", 1, "acknowledged")))
	crash(t, db)
	db2 := openTest(t, path)
	defer db2.Close()
	if got, _ := db2.Records().Values(k); len(got) != 1 || got[0].Identity != "b" {
		t.Fatalf("after a torn write and a crash: %+v, want the later Put", got)
	}
}

// TestJournalUncleanPathAndCloseWindow: a database path that is not clean
// still finds its journals, and a Put between the last flush and closing
// the journal stays journaled.
func TestJournalUncleanPathAndCloseWindow(t *testing.T) {
	dir := t.TempDir()
	must(t, os.Mkdir(filepath.Join(dir, "sub"), 0o700))
	path := dir + "/./sub/../db"
	db := openTest(t, path)
	r := db.Records()
	k := chordrouting.KeywordKey("y")
	must(t, r.Put(k, val("a", 1, "one")))
	must(t, r.Flush())
	must(t, r.Put(k, val("b", 1, "two"))) // after the final flush
	must(t, r.closeJournal(true))
	must(t, db.bolt.Close())
	db2 := openTest(t, path)
	if got, _ := db2.Records().Values(k); len(got) != 2 {
		t.Fatalf("a Put after the last flush was lost at close: %+v", got)
	}
	must(t, db2.Close())
	if seqs, err := (&journal{base: filepath.Join(dir, "db")}).seqs(); err != nil || len(seqs) != 0 {
		t.Fatalf("journals left after a clean close: %v %v", seqs, err)
	}
}

// TestJournalStaleFileIgnored: a journal file that survived its flush
// (its removal failed) is not replayed over bbolt.
func TestJournalStaleFileIgnored(t *testing.T) {
	path, db, r := openRecords(t)
	k := chordrouting.KeywordKey("z")
	must(t, r.Put(k, val("a", 1, "one")))
	old, err := os.ReadFile(journalPath(path, r.j.seq))
	must(t, err)
	stale := r.j.seq
	must(t, r.Flush())
	must(t, r.Delete(k, "a"))
	must(t, r.Flush())
	must(t, os.WriteFile(journalPath(path, stale), old, 0o600))
	crash(t, db)
	db2 := openTest(t, path)
	defer db2.Close()
	if got, _ := db2.Records().Values(k); len(got) != 0 {
		t.Fatalf("a stale journal brought back a deleted record: %+v", got)
	}
}

// openRecords opens a fresh database in a temporary folder.
func openRecords(t *testing.T) (string, *DB, *Records) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "db")
	db := openTest(t, path)
	return path, db, db.Records()
}
