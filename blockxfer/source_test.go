package blockxfer

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
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
	if !back.Root().Equals(fi.Root()) || back.Path != fi.Path || !back.ModTime.Equal(fi.ModTime) ||
		len(fi.Checksums) != 3 || !slices.Equal(back.Checksums, fi.Checksums) {
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

// TestReadBlockRechecksEachBlock flips one byte of a shared file, keeping
// its size and mtime, and checks that the block is refused both with the
// index's CRC-32C checksums and, for an index without them, with SHA-256.
func TestReadBlockRechecksEachBlock(t *testing.T) {
	for _, withCRC := range []bool{true, false} {
		t.Run(map[bool]string{true: "crc32c", false: "sha256"}[withCRC], func(t *testing.T) {
			dir := t.TempDir()
			src, data := randomFile(t, dir, "src", 3*BlockSize, 21)
			fi, err := IndexFile(src)
			if err != nil {
				t.Fatal(err)
			}
			if len(fi.Checksums) != 3 {
				t.Fatalf("index has %d checksums, want 3", len(fi.Checksums))
			}
			if !withCRC {
				fi.Checksums = nil
			}
			var reports []Changed
			fs := NewFileSource(func(c Changed) { reports = append(reports, c) })
			root := fs.Add(fi)
			buf := make([]byte, BlockSize)
			if n, err := fs.ReadBlock(root, 1, buf); err != nil || string(buf[:n]) != string(data[BlockSize:2*BlockSize]) {
				t.Fatalf("intact block: %d bytes, %v", n, err)
			}
			st, err := os.Stat(src)
			if err != nil {
				t.Fatal(err)
			}
			data[2*BlockSize+100] ^= 1
			if err := os.WriteFile(src, data, 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Chtimes(src, st.ModTime(), st.ModTime()); err != nil {
				t.Fatal(err)
			}
			if _, err := fs.ReadBlock(root, 0, buf); err != nil {
				t.Fatalf("unchanged block 0: %v", err)
			}
			if _, err := fs.ReadBlock(root, 2, buf); !errors.Is(err, ErrChanged) {
				t.Fatalf("changed block 2: %v, want ErrChanged", err)
			}
			if _, err := fs.ReadBlock(root, 0, buf); !errors.Is(err, ErrChanged) {
				t.Fatalf("block 0 of a stale file: %v, want ErrChanged", err)
			}
			if len(reports) != 1 || reports[0].Root != root {
				t.Fatalf("reports %+v, want one for %s", reports, root)
			}
		})
	}
}

// TestFileIndexWithoutChecksums restores an index stored before checksums
// existed: it has none and is served with the SHA-256 re-check.
func TestFileIndexWithoutChecksums(t *testing.T) {
	dir := t.TempDir()
	src, data := randomFile(t, dir, "src", BlockSize+9, 22)
	fi, err := IndexFile(src)
	if err != nil {
		t.Fatal(err)
	}
	fi.Checksums = nil
	stored, err := fi.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(stored), "crc32c") {
		t.Fatalf("index without checksums stored them: %s", stored)
	}
	back, err := UnmarshalFileIndex(stored)
	if err != nil || back.Checksums != nil {
		t.Fatalf("restored %+v, %v; want no checksums", back.Checksums, err)
	}
	fs := NewFileSource(nil)
	buf := make([]byte, BlockSize)
	if n, err := fs.ReadBlock(fs.Add(back), 1, buf); err != nil || string(buf[:n]) != string(data[BlockSize:]) {
		t.Fatalf("block 1: %d bytes, %v", n, err)
	}
}
