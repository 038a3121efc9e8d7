package storage

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"kwsearch/chordrouting"
)

func openTest(t *testing.T, path string) *DB {
	t.Helper()
	db, err := Open(path, Options{LockTimeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return db
}

func val(id string, version int64, data string) chordrouting.StoredValue {
	return chordrouting.StoredValue{
		ValueInfo: chordrouting.ValueInfo{Identity: id, Version: version, Publisher: "pub-" + id,
			Expiry: time.Unix(1_800_000_000, 123).UTC()},
		Data: []byte(data),
	}
}

func TestRecordsSurviveReopen(t *testing.T) {
	path, db, r := openRecords(t)
	k1, k2 := chordrouting.KeywordKey("song"), chordrouting.KeywordKey("blue")
	must(t, r.Put(k1, val("a", 1, "one")))
	must(t, r.Put(k1, val("b", 1, "two")))
	must(t, r.Put(k2, val("a", 1, "three")))
	must(t, r.Put(k1, val("a", 2, "one-v2"))) // replaces
	must(t, r.Delete(k2, "a"))
	must(t, r.Delete(k2, "nope"))
	rm := val("c", 5, "")
	rm.Removal = true
	must(t, r.Put(k2, rm))
	if r.Len() != 3 {
		t.Fatalf("Len %d, want 3", r.Len())
	}
	must(t, db.Close())

	db = openTest(t, path)
	defer db.Close()
	r = db.Records()
	if r.Len() != 3 {
		t.Fatalf("after reopen Len %d, want 3", r.Len())
	}
	got, _ := r.Values(k1)
	want := []chordrouting.StoredValue{val("a", 2, "one-v2"), val("b", 1, "two")}
	if !valuesEqual(got, want) {
		t.Fatalf("values %+v, want %+v", got, want)
	}
	got, _ = r.Values(k2)
	if len(got) != 1 || !got[0].Removal || got[0].Identity != "c" {
		t.Fatalf("k2 values %+v", got)
	}
	keys, _ := r.Keys()
	if len(keys) != 2 || bytes.Compare(keys[0][:], keys[1][:]) >= 0 {
		t.Fatalf("keys not 2 ascending: %x", keys)
	}
}

// TestRecordsSurviveCrashBeforeFlush kills the database between flushes
// (bbolt closed, nothing flushed, the journal left as a kill leaves it):
// every Put and Delete that returned is there after reopening, and the
// flush that follows leaves no journal behind.
func TestRecordsSurviveCrashBeforeFlush(t *testing.T) {
	path, db, r := openRecords(t)
	k := chordrouting.KeywordKey("x")
	must(t, r.Put(k, val("a", 1, "flushed")))
	must(t, r.Put(k, val("c", 1, "flushed too")))
	must(t, r.Flush())
	if r.Pending() != 0 {
		t.Fatalf("pending after flush: %d", r.Pending())
	}
	must(t, r.Put(k, val("b", 1, "pending")))
	must(t, r.Delete(k, "a"))
	crash(t, db)
	// A kill in the middle of a write leaves a torn frame at the end.
	seqs, err := (&journal{base: path}).seqs()
	if err != nil || len(seqs) == 0 {
		t.Fatalf("journals after crash: %v %v", seqs, err)
	}
	f, err := os.OpenFile(journalPath(path, seqs[len(seqs)-1]), os.O_WRONLY|os.O_APPEND, 0)
	must(t, err)
	_, err = f.Write([]byte{40, 0, 0, 0, 1, 2})
	must(t, err)
	must(t, f.Close())

	db2 := openTest(t, path)
	got, _ := db2.Records().Values(k)
	if len(got) != 2 || got[0].Identity != "b" || got[1].Identity != "c" {
		t.Fatalf("after crash: %+v, want b (journaled) and c (flushed), a deleted", got)
	}
	must(t, db2.Close())
	if seqs, err := (&journal{base: path}).seqs(); err != nil || len(seqs) != 0 {
		t.Fatalf("journals left after a clean close: %v %v", seqs, err)
	}
	db3 := openTest(t, path)
	defer db3.Close()
	if got, _ := db3.Records().Values(k); len(got) != 2 {
		t.Fatalf("after flush and reopen: %+v", got)
	}
}

// TestRecordsCrashAfterFailedFlush: a flush whose commit failed keeps its
// journal, so the changes survive a crash that follows.
func TestRecordsCrashAfterFailedFlush(t *testing.T) {
	path, db, r := openRecords(t)
	k := chordrouting.KeywordKey("y")
	must(t, r.Put(k, val("a", 1, "one")))
	must(t, db.bolt.Close()) // every commit fails from now on
	if err := r.Flush(); err == nil {
		t.Fatal("flush into a closed database succeeded")
	}
	must(t, r.Put(k, val("b", 1, "two")))
	must(t, r.j.f.Close())
	db2 := openTest(t, path)
	defer db2.Close()
	if got, _ := db2.Records().Values(k); len(got) != 2 {
		t.Fatalf("after failed flush and crash: %+v, want a and b", got)
	}
}

// crash leaves db as a kill -9 would: nothing flushed, files as they are.
func crash(t *testing.T, db *DB) {
	t.Helper()
	must(t, db.records.j.f.Close())
	must(t, db.bolt.Close())
}

// TestRecordsModel checks Records against a plain map under random operations.
func TestRecordsModel(t *testing.T) {
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewSource(seed))
	path := filepath.Join(t.TempDir(), "db")
	db := openTest(t, path)
	model := map[chordrouting.ID]map[string]chordrouting.StoredValue{}
	keys := []chordrouting.ID{chordrouting.KeywordKey("a"), chordrouting.KeywordKey("b"), chordrouting.KeywordKey("c")}
	for i := 0; i < 2000; i++ {
		k := keys[rng.Intn(len(keys))]
		id := fmt.Sprint(rng.Intn(5))
		switch rng.Intn(10) {
		case 0, 1, 2:
			must(t, db.Records().Delete(k, id))
			delete(model[k], id)
		case 3:
			must(t, db.Records().Flush())
		case 4:
			must(t, db.Close())
			db = openTest(t, path)
		default:
			v := val(id, int64(i), fmt.Sprint(i))
			must(t, db.Records().Put(k, v))
			if model[k] == nil {
				model[k] = map[string]chordrouting.StoredValue{}
			}
			model[k][id] = v
		}
	}
	n := 0
	for _, k := range keys {
		got, _ := db.Records().Values(k)
		n += len(got)
		if len(got) != len(model[k]) {
			t.Fatalf("key %x: %d values, model %d", k[:4], len(got), len(model[k]))
		}
		for _, v := range got {
			if !valuesEqual([]chordrouting.StoredValue{v}, []chordrouting.StoredValue{model[k][v.Identity]}) {
				t.Fatalf("value %+v differs from model %+v", v, model[k][v.Identity])
			}
		}
	}
	if db.Records().Len() != n {
		t.Fatalf("Len %d, counted %d", db.Records().Len(), n)
	}
	must(t, db.Close())
}

func TestSecondOpenLocked(t *testing.T) {
	path := filepath.Join(t.TempDir(), "db")
	db := openTest(t, path)
	defer db.Close()
	if _, err := Open(path, Options{LockTimeout: 20 * time.Millisecond}); !errors.Is(err, ErrLocked) {
		t.Fatalf("second Open: %v, want ErrLocked", err)
	}
}

func TestSharesPeersDownloads(t *testing.T) {
	path := filepath.Join(t.TempDir(), "db")
	db := openTest(t, path)
	s := Share{CID: "bafyA", Path: "/a/b.txt", Name: "b.txt", Size: 3, Keywords: []string{"b", "txt"},
		ModTime: time.Unix(100, 0).UTC(), Index: []byte{1, 2}}
	must(t, db.PutShare(s))
	if err := db.PutShare(Share{Path: "x"}); err == nil {
		t.Fatal("share without CID accepted")
	}
	for i := 0; i < 5; i++ {
		must(t, db.RememberPeer(RememberedPeer{ID: fmt.Sprint("p", i), Addrs: []string{"/ip4/127.0.0.1/tcp/1"},
			LastSeen: time.Unix(int64(i), 0).UTC()}, 3))
	}
	must(t, db.PutDownload(Download{CID: "bafyB", Name: "n", Output: "/o/n", Size: 9}))
	must(t, db.Close())

	db = openTest(t, path)
	defer db.Close()
	got, ok, err := db.Share("bafyA")
	if err != nil || !ok || !reflect.DeepEqual(got, s) {
		t.Fatalf("Share = %+v %v %v, want %+v", got, ok, err, s)
	}
	shares, _ := db.Shares()
	if len(shares) != 1 {
		t.Fatalf("Shares: %d", len(shares))
	}
	peers, _ := db.Peers()
	if len(peers) != 3 || peers[0].ID != "p4" || peers[2].ID != "p2" {
		t.Fatalf("peers %+v, want p4 p3 p2", peers)
	}
	must(t, db.ForgetPeer("p4"))
	if peers, _ = db.Peers(); len(peers) != 2 {
		t.Fatalf("after forget: %d", len(peers))
	}
	dls, _ := db.Downloads()
	if len(dls) != 1 || dls[0].Output != "/o/n" {
		t.Fatalf("downloads %+v", dls)
	}
	must(t, db.DeleteDownload("bafyB"))
	if found, _ := db.DeleteShare("bafyA"); !found {
		t.Fatal("DeleteShare did not find the share")
	}
	if found, _ := db.DeleteShare("bafyA"); found {
		t.Fatal("second DeleteShare found it")
	}
}

func TestUnreadableRecordDropped(t *testing.T) {
	path := filepath.Join(t.TempDir(), "db")
	db := openTest(t, path)
	k := chordrouting.KeywordKey("q")
	must(t, db.Records().Put(k, val("a", 1, "ok")))
	must(t, db.Records().Put(k, val("b", 1, "to-damage")))
	must(t, db.Records().Flush())
	// Damage one stored record behind the package's back.
	must(t, db.bolt.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketRecords).Put(recordKey(k, "b"), []byte{valueFormat, 200})
	}))
	must(t, db.Close())
	db = openTest(t, path)
	defer db.Close()
	got, _ := db.Records().Values(k)
	if len(got) != 1 || got[0].Identity != "a" {
		t.Fatalf("values %+v, want only a", got)
	}
	var left int
	must(t, db.bolt.View(func(tx *bolt.Tx) error { left = tx.Bucket(bucketRecords).Stats().KeyN; return nil }))
	if left != 1 {
		t.Fatalf("%d records on disk, want the damaged one removed", left)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func valuesEqual(a, b []chordrouting.StoredValue) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i], b[i]
		if x.Identity != y.Identity || x.Version != y.Version || !x.Expiry.Equal(y.Expiry) ||
			x.Publisher != y.Publisher || x.Removal != y.Removal || !bytes.Equal(x.Data, y.Data) {
			return false
		}
	}
	return true
}
