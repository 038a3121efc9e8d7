package blockxfer

import (
	"bytes"
	"context"
	"math/rand"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
)

// newHost starts a libp2p host on loopback TCP only.
func newHost(t testing.TB) host.Host {
	t.Helper()
	h, err := libp2p.New(
		libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"),
		libp2p.DisableRelay(),
	)
	if err != nil {
		t.Fatalf("new host: %v", err)
	}
	t.Cleanup(func() { _ = h.Close() })
	return h
}

func addrInfo(h host.Host) peer.AddrInfo { return peer.AddrInfo{ID: h.ID(), Addrs: h.Addrs()} }

// randomFile writes size seeded random bytes into dir and returns path and bytes.
func randomFile(t testing.TB, dir, name string, size int, seed int64) (string, []byte) {
	t.Helper()
	data := make([]byte, size)
	rand.New(rand.NewSource(seed)).Read(data)
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p, data
}

// provider is a host serving a source.
type provider struct {
	h   host.Host
	src *FileSource
	srv *Server
}

func newProvider(t testing.TB, wrap func(Source) Source) *provider {
	t.Helper()
	h := newHost(t)
	fs := NewFileSource(nil)
	var src Source = fs
	if wrap != nil {
		src = wrap(fs)
	}
	srv, err := NewServer(h, src, DefaultServerConfig())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	return &provider{h: h, src: fs, srv: srv}
}

func share(t testing.TB, fs *FileSource, path string) cid.Cid {
	t.Helper()
	fi, err := fs.AddFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Root()
}

func testOptions() FetchOptions {
	o := DefaultFetchOptions()
	o.OpenTimeout = 10 * time.Second
	o.BlockTimeout = 10 * time.Second
	o.ProgressInterval = 20 * time.Millisecond
	return o
}

func fetchCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func checkFile(t testing.TB, path string, want []byte) {
	t.Helper()
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading result: %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("result differs: %d bytes, want %d", len(got), len(want))
	}
	part, state := PartialPaths(path)
	for _, p := range []string{part, state} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s left behind (err %v)", filepath.Base(p), err)
		}
	}
}

// recordingSource counts the blocks it serves, by index.
type recordingSource struct {
	Source
	mu     sync.Mutex
	served map[int]int
}

func newRecording(s Source) *recordingSource {
	return &recordingSource{Source: s, served: make(map[int]int)}
}

func (r *recordingSource) ReadBlock(root cid.Cid, i int, buf []byte) (int, error) {
	n, err := r.Source.ReadBlock(root, i, buf)
	if err == nil {
		r.mu.Lock()
		r.served[i]++
		r.mu.Unlock()
	}
	return n, err
}

func (r *recordingSource) snapshot() map[int]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	m := make(map[int]int, len(r.served))
	for k, v := range r.served {
		m[k] = v
	}
	return m
}
