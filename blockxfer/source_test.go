package blockxfer

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/libp2p/go-libp2p/core/peer"
)

func TestFileIndexSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	src, data := randomFile(t, dir, "src", 2*BlockSize+17, 4)
	fi, err := IndexFile(src)
	if err != nil {
		t.Fatal(err)
	}
	stored, err := fi.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	back, err := UnmarshalFileIndex(stored)
	if err != nil {
		t.Fatal(err)
	}
	if !back.Root().Equals(fi.Root()) || back.Path != fi.Path || !back.ModTime.Equal(fi.ModTime) {
		t.Fatalf("restored %+v, want %+v", back, fi)
	}
	fs := NewFileSource(nil)
	fs.Add(back)
	buf := make([]byte, BlockSize)
	n, err := fs.ReadBlock(back.Root(), 2, buf)
	if err != nil || n != 17 || string(buf[:n]) != string(data[2*BlockSize:]) {
		t.Fatalf("last block after restore: %d bytes, %v", n, err)
	}
	if _, err := fs.ReadBlock(back.Root(), 3, buf); !errors.Is(err, ErrNotFound) {
		t.Fatalf("block past the end: %v", err)
	}
	if !fs.Remove(back.Root()) || fs.Remove(back.Root()) {
		t.Fatal("Remove did not report sharing correctly")
	}
	if _, err := fs.Manifest(back.Root()); !errors.Is(err, ErrNotFound) {
		t.Fatalf("manifest after remove: %v", err)
	}
}

func TestSameBytesSameCID(t *testing.T) {
	dir := t.TempDir()
	a, _ := randomFile(t, dir, "a name.mp3", BlockSize+5, 8)
	b, _ := randomFile(t, dir, "other", BlockSize+5, 8)
	fa, err := IndexFile(a)
	if err != nil {
		t.Fatal(err)
	}
	fb, err := IndexFile(b)
	if err != nil {
		t.Fatal(err)
	}
	if !fa.Root().Equals(fb.Root()) {
		t.Fatal("same bytes under different names gave different CIDs")
	}
	if err := CheckRoot(fa.Root()); err != nil {
		t.Fatal(err)
	}
	if fa.Manifest.BlockCID(0).Type() != 0x55 {
		t.Fatal("block CIDs must be raw")
	}
}

func TestFetchOverwriteAndDuplicateProviders(t *testing.T) {
	prov := newProvider(t, nil)
	client := newHost(t)
	dir := t.TempDir()
	src, data := randomFile(t, dir, "src", 3*BlockSize, 12)
	root := share(t, prov.src, src)
	out := filepath.Join(dir, "out")
	if err := os.WriteFile(out, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	opts := testOptions()
	opts.Overwrite = true
	var last Progress
	done := 0
	opts.Progress = func(p Progress) {
		if p.BytesDone < last.BytesDone {
			t.Errorf("progress went back: %d after %d", p.BytesDone, last.BytesDone)
		}
		last = p
		if p.Event == EventDone {
			done++
		}
	}
	provs := []peer.AddrInfo{addrInfo(prov.h), addrInfo(prov.h), addrInfo(client)}
	res, err := Fetch(fetchCtx(t), client, root, provs, out, opts)
	if err != nil {
		t.Fatal(err)
	}
	checkFile(t, out, data)
	if len(res.Peers) != 1 || done != 1 || last.BytesTotal != int64(len(data)) || last.BlocksDone != 3 {
		t.Fatalf("peers %v, done events %d, last %+v", res.Peers, done, last)
	}
}
