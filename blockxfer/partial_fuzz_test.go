package blockxfer

import (
	"bytes"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// FuzzOpenPartial: the state file of an unfinished download (and the data
// file beside it) may be truncated, stale or tampered with by any local
// process. Whatever they hold, openPartial must not panic, must report as
// done only blocks the data file holds (with recheck: exactly the right
// bytes), and must leave a state file whose header names this download and
// whose bitmap marks exactly the blocks it reported.
func FuzzOpenPartial(f *testing.F) {
	content := make([]byte, 2*BlockSize+1000)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range content {
		content[i] = byte(rng.Uint32())
	}
	m, err := Chunk(bytes.NewReader(content))
	if err != nil {
		f.Fatal(err)
	}
	root := m.CID()
	header := encodeStateHeader(root, m.Size())
	other := encodeStateHeader(mustManifest(f, 1).CID(), m.Size())
	size := uint32(len(content))
	for _, s := range []struct {
		state         []byte
		dataLen, flip uint32
	}{
		{slices.Concat(header, []byte{0x07}), size, size},          // all done, intact
		{slices.Concat(header, []byte{0x07}), size, BlockSize + 5}, // block 1 altered
		{slices.Concat(header, []byte{0x07}), BlockSize + 1, size}, // data file cut short
		{slices.Concat(header, []byte{0xff}), size + 3, size},      // data file too long, padding bits set
		{header, size, size},                                              // no bitmap
		{slices.Concat(other, []byte{0x07}), size, size},                  // another download's state
		{slices.Concat(header[:len(header)-1], []byte{0x07}), size, size}, // header cut
		{[]byte("KWXP"), 0, 0},
		{nil, 0, 0},
	} {
		f.Add(s.state, s.dataLen, s.flip, true)
		f.Add(s.state, s.dataLen, s.flip, false)
	}
	f.Fuzz(func(t *testing.T, state []byte, dataLen, flip uint32, recheck bool) {
		dataLen %= size + 11
		data := make([]byte, dataLen)
		copy(data, content)
		if flip < dataLen {
			data[flip] ^= 1
		}
		out := filepath.Join(t.TempDir(), "out")
		part, statePath := PartialPaths(out)
		if err := os.WriteFile(statePath, state, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(part, data, 0o600); err != nil {
			t.Fatal(err)
		}
		p, done, err := openPartial(out, root, m, recheck)
		if err != nil {
			t.Fatalf("openPartial: %v", err)
		}
		p.close()
		if !slices.IsSorted(done) || len(slices.Compact(slices.Clone(done))) != len(done) {
			t.Fatalf("done blocks %v not sorted and distinct", done)
		}
		for _, i := range done {
			if i < 0 || i >= m.NumBlocks() {
				t.Fatalf("done block %d of %d", i, m.NumBlocks())
			}
			off, n := m.BlockRange(i)
			if off+int64(n) > int64(dataLen) {
				t.Fatalf("block %d [%d, %d) done, data file has %d bytes", i, off, off+int64(n), dataLen)
			}
			if recheck && !bytes.Equal(data[off:off+int64(n)], content[off:off+int64(n)]) {
				t.Fatalf("block %d done with wrong bytes (recheck)", i)
			}
		}
		got, err := os.ReadFile(statePath)
		if err != nil {
			t.Fatal(err)
		}
		bitmapLen := (m.NumBlocks() + 7) / 8
		if len(got) < len(header)+bitmapLen || !bytes.HasPrefix(got, header) {
			t.Fatalf("state file after open: %x, want header %x and %d bitmap bytes", got, header, bitmapLen)
		}
		bitmap := got[len(header):]
		for i := range m.NumBlocks() {
			if marked := bitmap[i/8]&(1<<(i%8)) != 0; marked != slices.Contains(done, i) {
				t.Fatalf("block %d: marked %v, done %v", i, marked, done)
			}
		}
		if info, err := os.Stat(part); err != nil || info.Size() > m.Size() {
			t.Fatalf("partial file after open: %v, %v", info, err)
		}
	})
}
