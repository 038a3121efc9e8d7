package main

import (
	"context"
	"fmt"
	"io"
	"math/rand"
	"os"
	"path/filepath"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	ma "github.com/multiformats/go-multiaddr"
)

// rawProtocol is the benchmark's own stream protocol: the server copies the
// file onto the stream and closes it.
const rawProtocol = protocol.ID("/kwsearch/bench/raw/1.0.0")

// xferResult compares a blockxfer download with io.Copy over one stream.
type xferResult struct {
	MiB       int
	Transport string
	RawMBs    float64
	OursMBs   float64
	OursErr   error
}

// runXfer starts two real hosts connected over TCP on 127.0.0.1, writes a
// file of cfg.XferMiB random MiB and downloads it both ways, twice each,
// keeping each side's best round.
func runXfer(ctx context.Context, cfg Config) (*xferResult, error) {
	dir, err := os.MkdirTemp("", "kwbench-xfer-")
	if err != nil {
		return nil, fmt.Errorf("bench: xfer temp dir: %w", err)
	}
	defer os.RemoveAll(dir)
	src := filepath.Join(dir, "source.bin")
	size := int64(cfg.XferMiB) << 20
	if err := writeRandomFile(seededRand(cfg.Seed, "xfer-data"), src, size); err != nil {
		return nil, err
	}
	hosts, err := newLoopbackHosts(seededRand(cfg.Seed, "xfer-keys"), 2)
	if err != nil {
		return nil, err
	}
	defer closeHosts(hosts)
	server, client := hosts[0], hosts[1]
	if err := connectVia(ctx, client, server, ma.P_TCP); err != nil {
		return nil, err
	}
	server.SetStreamHandler(rawProtocol, func(s network.Stream) { serveRaw(s, src) })
	res := &xferResult{MiB: cfg.XferMiB, Transport: "tcp"}
	for round := 0; round < 2; round++ {
		d, err := fetchRaw(ctx, client, server.ID(), filepath.Join(dir, "raw.out"), size)
		if err != nil {
			return nil, err
		}
		res.RawMBs = max(res.RawMBs, mbps(size, d))
		cfg.logf("xfer: raw io.Copy %d MiB in %.2fs (%.0f MB/s)", cfg.XferMiB, d.Seconds(), mbps(size, d))
		d, err = oursFetch(ctx, server, client, src, size, filepath.Join(dir, fmt.Sprintf("ours-%d.out", round)))
		if err != nil {
			res.OursErr = err
			continue
		}
		res.OursMBs = max(res.OursMBs, mbps(size, d))
		cfg.logf("xfer: blockxfer %d MiB in %.2fs (%.0f MB/s)", cfg.XferMiB, d.Seconds(), mbps(size, d))
	}
	if res.OursMBs > 0 {
		res.OursErr = nil
	}
	return res, nil
}

func mbps(size int64, d time.Duration) float64 { return float64(size) / 1e6 / d.Seconds() }

func writeRandomFile(rng *rand.Rand, path string, size int64) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("bench: creating %s: %w", filepath.Base(path), err)
	}
	if _, err := io.CopyN(f, rng, size); err != nil {
		f.Close()
		return fmt.Errorf("bench: writing %s: %w", filepath.Base(path), err)
	}
	return f.Close()
}

// connectVia connects a to b using only b's addresses of one transport.
func connectVia(ctx context.Context, a, b host.Host, code int) error {
	var addrs []ma.Multiaddr
	for _, addr := range b.Addrs() {
		if _, err := addr.ValueForProtocol(code); err == nil {
			if _, err := addr.ValueForProtocol(ma.P_QUIC_V1); (err == nil) == (code == ma.P_UDP) {
				addrs = append(addrs, addr)
			}
		}
	}
	if len(addrs) == 0 {
		return fmt.Errorf("bench: host %s has no address for protocol %d", b.ID(), code)
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := a.Connect(cctx, peer.AddrInfo{ID: b.ID(), Addrs: addrs}); err != nil {
		return fmt.Errorf("bench: connecting for transfer: %w", err)
	}
	return nil
}

func serveRaw(s network.Stream, path string) {
	f, err := os.Open(path)
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
}

// fetchRaw opens a raw stream and copies it into a file, timing the whole
// exchange including the stream's negotiation.
func fetchRaw(ctx context.Context, h host.Host, p peer.ID, out string, size int64) (time.Duration, error) {
	f, err := os.Create(out)
	if err != nil {
		return 0, fmt.Errorf("bench: raw output: %w", err)
	}
	defer f.Close()
	t0 := time.Now()
	s, err := h.NewStream(ctx, p, rawProtocol)
	if err != nil {
		return 0, fmt.Errorf("bench: raw stream: %w", err)
	}
	defer s.Close()
	_ = s.CloseWrite()
	n, err := io.Copy(f, s)
	if err != nil {
		return 0, fmt.Errorf("bench: raw copy: %w", err)
	}
	if n != size {
		return 0, fmt.Errorf("bench: raw copy: got %d bytes, want %d", n, size)
	}
	return time.Since(t0), nil
}
