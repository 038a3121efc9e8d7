package blockxfer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"net"
	"testing"
	"time"

	"github.com/ipfs/go-cid"
)

// memSource serves one file held in memory.
type memSource struct {
	data []byte
	m    *Manifest
}

func newMemSource(tb testing.TB, size int, seed int64) *memSource {
	tb.Helper()
	data := make([]byte, size)
	rand.New(rand.NewSource(seed)).Read(data)
	m, err := Chunk(bytes.NewReader(data))
	if err != nil {
		tb.Fatal(err)
	}
	return &memSource{data: data, m: m}
}

func (s *memSource) Manifest(root cid.Cid) ([]byte, error) {
	if !root.Equals(s.m.CID()) {
		return nil, ErrNotFound
	}
	return s.m.Encode(), nil
}

func (s *memSource) ReadBlock(root cid.Cid, i int, buf []byte) (int, error) {
	if !root.Equals(s.m.CID()) || i >= s.m.NumBlocks() {
		return 0, ErrNotFound
	}
	off, n := s.m.BlockRange(i)
	return copy(buf, s.data[off:off+int64(n)]), nil
}

// servePipe runs serve on one end of a pipe and returns the other end and
// serve's result.
func servePipe(t *testing.T, src Source, cfg ServerConfig) (net.Conn, <-chan error) {
	t.Helper()
	a, b := net.Pipe()
	done := make(chan error, 1)
	var ctr serverCounters
	go func() {
		done <- serve(context.Background(), a, src, cfg, &ctr)
		a.Close()
	}()
	t.Cleanup(func() { b.Close() })
	return b, done
}

func TestExchangePipelined(t *testing.T) {
	src := newMemSource(t, 10*BlockSize+99, 1)
	conn, done := servePipe(t, src, DefaultServerConfig())
	c := newClientConn(conn, 5*time.Second)
	root := src.m.CID()
	m, err := c.fetchManifest(root)
	if err != nil {
		t.Fatalf("manifest: %v", err)
	}
	ids := make([]uint64, m.NumBlocks())
	for i := range ids {
		ids[i] = c.queue(KindBlock, root, i)
	}
	// All requests go out before any answer is read (in a goroutine: a
	// pipe has no buffer, unlike a stream).
	sent := make(chan error, 1)
	go func() { sent <- c.flush() }()
	for i, id := range ids {
		r, err := c.recv(id, MaxBlockResponseSize, nil)
		if err != nil || r.Status != StatusOK {
			t.Fatalf("block %d: %v %v", i, r.Status, err)
		}
		off, n := m.BlockRange(i)
		if !bytes.Equal(r.Data, src.data[off:off+int64(n)]) {
			t.Fatalf("block %d differs", i)
		}
	}
	if err := <-sent; err != nil {
		t.Fatal(err)
	}
	// A missing block is an answer, not the end of the stream.
	id := c.queue(KindBlock, root, m.NumBlocks()+5)
	id2 := c.queue(KindBlock, root, 0)
	if err := c.flush(); err != nil {
		t.Fatal(err)
	}
	if r, err := c.recv(id, MaxBlockResponseSize, nil); err != nil || r.Status != StatusNotFound {
		t.Fatalf("missing block: %v %v", r.Status, err)
	}
	if r, err := c.recv(id2, MaxBlockResponseSize, nil); err != nil || r.Status != StatusOK {
		t.Fatalf("block after a missing one: %v %v", r.Status, err)
	}
	conn.Close()
	if err := <-done; err != nil && !errors.Is(err, io.ErrClosedPipe) {
		t.Fatalf("serve after client close: %v", err)
	}
}

func TestExchangeRejectsBadInput(t *testing.T) {
	src := newMemSource(t, 10, 1)
	root := src.m.CID()
	cases := map[string][]byte{
		"oversized frame":    appendUvarint(nil, MaxRequestSize+1),
		"garbled request":    appendFrame(nil, []byte{0xff, 0xff, 0xff}),
		"unknown kind":       appendFrame(nil, AppendRequest(nil, Request{ID: 1, Kind: 9, Root: root})),
		"missing root":       appendFrame(nil, []byte{0x08, 0x01, 0x10, 0x01}),
		"index too large":    appendFrame(nil, AppendRequest(nil, Request{ID: 1, Kind: KindBlock, Root: root, Index: MaxBlocks})),
		"truncated frame":    append(appendUvarint(nil, 20), 1, 2, 3),
		"truncated varint":   {0x80},
		"wire type mismatch": appendFrame(nil, []byte{0x0a, 0x00}),
	}
	for name, input := range cases {
		t.Run(name, func(t *testing.T) {
			var ctr serverCounters
			var out bytes.Buffer
			err := serve(context.Background(), rw{bytes.NewReader(input), &out}, src, DefaultServerConfig(), &ctr)
			if err == nil {
				t.Fatalf("serve accepted %x", input)
			}
			if out.Len() != 0 {
				t.Errorf("serve answered bad input with %d bytes", out.Len())
			}
		})
	}
}

func TestExchangeIdleTimeout(t *testing.T) {
	cfg := DefaultServerConfig()
	cfg.IdleTimeout = 20 * time.Millisecond
	_, done := servePipe(t, newMemSource(t, 10, 1), cfg)
	select {
	case err := <-done:
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() {
			t.Fatalf("idle stream ended with %v, want a timeout", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("idle stream never timed out")
	}
}

func TestClientRejectsBadResponses(t *testing.T) {
	src := newMemSource(t, BlockSize+1, 2)
	root := src.m.CID()
	other := newMemSource(t, 5, 3)
	cases := map[string]struct {
		resp []byte
		want error
	}{
		"wrong id":        {appendFrame(nil, AppendResponse(nil, Response{ID: 9})), ErrProtocol},
		"oversized":       {appendUvarint(nil, MaxManifestResponseSize+1), ErrProtocol},
		"other manifest":  {appendFrame(nil, AppendResponse(nil, Response{ID: 1, Data: other.m.Encode()})), ErrBadManifest},
		"data with error": {appendFrame(nil, []byte{0x08, 0x01, 0x10, 0x01, 0x1a, 0x01, 0x00}), ErrProtocol},
		"not found":       {appendFrame(nil, AppendResponse(nil, Response{ID: 1, Status: StatusNotFound})), ErrNotFound},
		"truncated":       {appendUvarint(nil, 100), io.ErrUnexpectedEOF},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			c := newClientConn(rw{bytes.NewReader(tc.resp), io.Discard}, time.Second)
			_, err := c.fetchManifest(root)
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}

func FuzzServe(f *testing.F) {
	src := newMemSource(f, BlockSize+1, 1)
	root := src.m.CID()
	valid := appendFrame(nil, AppendRequest(nil, Request{ID: 1, Kind: KindManifest, Root: root}))
	valid = appendFrame(valid, AppendRequest(nil, Request{ID: 2, Kind: KindBlock, Root: root, Index: 1}))
	f.Add(valid)
	f.Add(appendUvarint(nil, 1<<30))
	f.Fuzz(func(t *testing.T, b []byte) {
		var ctr serverCounters
		var out bytes.Buffer
		_ = serve(context.Background(), rw{bytes.NewReader(b), &out}, src, DefaultServerConfig(), &ctr)
		// Whatever the input, the output is a sequence of valid responses.
		br := bufioReader(&out)
		for {
			frame, err := readFrame(br, nil, MaxManifestResponseSize)
			if errors.Is(err, io.EOF) {
				return
			}
			if err != nil {
				t.Fatalf("server wrote a bad frame: %v", err)
			}
			if _, err := DecodeResponse(frame); err != nil {
				t.Fatalf("server wrote a bad response: %v", err)
			}
		}
	})
}

// rw joins a reader and a writer.
type rw struct {
	io.Reader
	io.Writer
}

func appendUvarint(b []byte, v uint64) []byte { return append(b, uvarintBytes(v)...) }

func uvarintBytes(v uint64) []byte {
	var out []byte
	for v >= 0x80 {
		out = append(out, byte(v)|0x80)
		v >>= 7
	}
	return append(out, byte(v))
}

func TestStatusStrings(t *testing.T) {
	for s := StatusOK; s <= StatusError+1; s++ {
		if s.String() == "" {
			t.Errorf("status %d has no name", s)
		}
	}
	_ = fmt.Sprint(Status(200))
}

// A peer that sends requests but never reads answers is dropped after
// WriteTimeout, and serve returns without waiting for the idle timeout.
func TestExchangeStuckReader(t *testing.T) {
	cfg := DefaultServerConfig()
	cfg.WriteTimeout = 50 * time.Millisecond
	src := newMemSource(t, 2*BlockSize, 1)
	conn, done := servePipe(t, src, cfg)
	c := newClientConn(conn, 5*time.Second)
	for range 3 {
		c.queue(KindBlock, src.m.CID(), 0)
	}
	if err := c.flush(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() {
			t.Fatalf("serve ended with %v, want a write timeout", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serve still waiting on a peer that does not read")
	}
}
