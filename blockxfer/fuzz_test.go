package blockxfer

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"io"
	"testing"
)

func FuzzDecodeRequest(f *testing.F) {
	root := mustManifest(f, 1).CID()
	f.Add(AppendRequest(nil, Request{ID: 1, Kind: KindManifest, Root: root}))
	f.Add(AppendRequest(nil, Request{ID: 7, Kind: KindBlock, Root: root, Index: 3}))
	f.Add([]byte{0x08, 0x01, 0x10, 0x09})
	f.Add([]byte{0x1a, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := DecodeRequest(b)
		if err != nil {
			return
		}
		if r.Kind != KindManifest && r.Kind != KindBlock || !r.Root.Defined() || r.Index >= MaxBlocks {
			t.Fatalf("accepted invalid request %+v", r)
		}
		again, err := DecodeRequest(AppendRequest(nil, r))
		if err != nil || again.ID != r.ID || again.Kind != r.Kind || !again.Root.Equals(r.Root) ||
			(r.Kind == KindBlock && again.Index != r.Index) {
			t.Fatalf("re-encoding %+v gave %+v, %v", r, again, err)
		}
	})
}

func FuzzDecodeResponse(f *testing.F) {
	f.Add(AppendResponse(nil, Response{ID: 1, Data: []byte("block")}))
	f.Add(AppendResponse(nil, Response{ID: 2, Status: StatusNotFound}))
	f.Add([]byte{0x08, 0x01, 0x10, 0x01, 0x1a, 0x01, 0x00})
	f.Add([]byte{0x1a, 0x80})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := DecodeResponse(b)
		if err != nil {
			return
		}
		if r.Status > StatusError || (r.Status != StatusOK && len(r.Data) > 0) {
			t.Fatalf("accepted invalid response %+v", r)
		}
		again, err := DecodeResponse(AppendResponse(nil, r))
		if err != nil || again.ID != r.ID || again.Status != r.Status || !bytes.Equal(again.Data, r.Data) {
			t.Fatalf("re-encoding %+v gave %+v, %v", r, again, err)
		}
	})
}

func FuzzDecodeManifest(f *testing.F) {
	f.Add(mustManifest(f, 0).Encode())
	f.Add(mustManifest(f, 1).Encode())
	f.Add(mustManifest(f, 2*BlockSize+1).Encode())
	f.Add([]byte{1, 0x80, 0x80, 0x10, 0x80, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := DecodeManifest(b)
		if err != nil {
			return
		}
		if !bytes.Equal(m.Encode(), b) || m.NumBlocks() != numBlocks(m.Size()) {
			t.Fatalf("accepted non-canonical manifest")
		}
		if _, err := VerifyManifest(m.CID(), b); err != nil {
			t.Fatalf("verify of own CID: %v", err)
		}
	})
}

func FuzzReadFrame(f *testing.F) {
	f.Add(appendFrame(nil, []byte("hello")))
	f.Add(binary.AppendUvarint(nil, 1<<40))
	f.Add([]byte{0x80})
	f.Fuzz(func(t *testing.T, b []byte) {
		br := bufio.NewReader(bytes.NewReader(b))
		for range 4 {
			frame, err := readFrame(br, make([]byte, 16), 64)
			if err != nil {
				return
			}
			if len(frame) > 64 {
				t.Fatalf("frame of %d bytes over the limit", len(frame))
			}
		}
	})
}

func FuzzUnmarshalFileIndex(f *testing.F) {
	fi := FileIndex{Path: "/x", Size: 1, Manifest: mustManifest(f, 1)}
	b, err := fi.Marshal()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	fi.Checksums = []uint32{0xdeadbeef}
	if b, err = fi.Marshal(); err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte(`{"path":"/x","size":5,"manifest":"AQ=="}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		fi, err := UnmarshalFileIndex(b)
		if err != nil {
			return
		}
		if fi.Manifest.Size() != fi.Size || fi.Path == "" {
			t.Fatalf("accepted inconsistent index %+v", fi)
		}
		if fi.Checksums != nil && len(fi.Checksums) != fi.Manifest.NumBlocks() {
			t.Fatalf("accepted %d checksums for %d blocks", len(fi.Checksums), fi.Manifest.NumBlocks())
		}
	})
}

// mustManifest is the manifest of size zero bytes.
func mustManifest(tb testing.TB, size int) *Manifest {
	tb.Helper()
	m, err := Chunk(bytes.NewReader(make([]byte, size)))
	if err != nil {
		tb.Fatal(err)
	}
	return m
}

func bufioReader(r io.Reader) *bufio.Reader { return bufio.NewReader(r) }
