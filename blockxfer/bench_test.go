package blockxfer

import (
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
)

// benchSize is small so `go test -bench .` stays quick; blockxfer/bench
// runs the large, rate-limited and memory measurements.
const benchSize = 32 << 20

// BenchmarkFetch: one provider, loopback TCP, a 32 MiB file per iteration.
func BenchmarkFetch(b *testing.B) {
	dir := b.TempDir()
	src, _ := randomFile(b, dir, "src", benchSize, 1)
	prov := newProvider(b, nil)
	root := share(b, prov.src, src)
	client := newHost(b)
	out := filepath.Join(dir, "out")
	b.SetBytes(benchSize)
	for b.Loop() {
		_ = os.Remove(out)
		if _, err := Fetch(fetchCtx(b), client, root, []peer.AddrInfo{addrInfo(prov.h)}, out, DefaultFetchOptions()); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRawStream is BenchmarkFetch's baseline: io.Copy of the same file
// over one stream between two hosts of the same kind, into a file.
func BenchmarkRawStream(b *testing.B) {
	dir := b.TempDir()
	src, _ := randomFile(b, dir, "src", benchSize, 1)
	server, client := newHost(b), newHost(b)
	server.SetStreamHandler("/bench/raw", func(s network.Stream) {
		f, err := os.Open(src)
		if err != nil {
			_ = s.Reset()
			return
		}
		defer f.Close()
		if _, err := io.Copy(s, f); err != nil {
			_ = s.Reset()
			return
		}
		_ = s.Close()
	})
	ctx := fetchCtx(b)
	if err := client.Connect(ctx, addrInfo(server)); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(benchSize)
	for b.Loop() {
		f, err := os.Create(filepath.Join(dir, "out"))
		if err != nil {
			b.Fatal(err)
		}
		s, err := client.NewStream(ctx, server.ID(), "/bench/raw")
		if err != nil {
			b.Fatal(err)
		}
		if n, err := io.Copy(f, s); err != nil || n != benchSize {
			b.Fatalf("copied %d bytes: %v", n, err)
		}
		_ = s.Close()
		if err := f.Sync(); err != nil {
			b.Fatal(err)
		}
		f.Close()
	}
}
