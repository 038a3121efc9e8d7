package main

import (
	"context"
	"fmt"
	"io"
	"math/rand"
	"os"
	"path/filepath"
	"runtime/pprof"
	"runtime/trace"
	"slices"
	"syscall"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"

	"kwsearch/blockxfer"
)

// rawProtocol: the server copies the file onto the stream and closes it.
const rawProtocol = protocol.ID("/kwsearch/bench/raw/1.0.0")

type env struct {
	dir       string
	seed      int64
	transport string
	rounds    int
	files     int
	// cpuprofile, if set, receives a CPU profile from startProfile to
	// stopProfile (the measured transfers, not file creation and indexing).
	cpuprofile string
	profile    *os.File
	// tracefile, if set, receives an execution trace over the same span.
	tracefile string
	trace     *os.File
	// only is "raw" or "blockxfer" to run one side of single (profiling).
	only string
	// fetchOpts and serverCfg are the defaults unless flags override them.
	fetchOpts blockxfer.FetchOptions
	serverCfg blockxfer.ServerConfig
}

func (e *env) startProfile() error {
	if e.cpuprofile != "" && e.profile == nil {
		f, err := startInto(e.cpuprofile, pprof.StartCPUProfile)
		if err != nil {
			return err
		}
		e.profile = f
	}
	if e.tracefile != "" && e.trace == nil {
		f, err := startInto(e.tracefile, trace.Start)
		if err != nil {
			return err
		}
		e.trace = f
	}
	return nil
}

// startInto creates path and starts a recorder (CPU profile or trace)
// writing into it.
func startInto(path string, start func(io.Writer) error) (*os.File, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := start(f); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

func (e *env) stopProfile() {
	if e.profile != nil {
		pprof.StopCPUProfile()
		_ = e.profile.Close()
		e.profile = nil
	}
	if e.trace != nil {
		trace.Stop()
		_ = e.trace.Close()
		e.trace = nil
	}
}

func (e *env) newHost() (host.Host, error) {
	addr := "/ip4/127.0.0.1/tcp/0"
	if e.transport == "quic" {
		addr = "/ip4/127.0.0.1/udp/0/quic-v1"
	}
	h, err := libp2p.New(libp2p.ListenAddrStrings(addr), libp2p.DisableRelay())
	if err != nil {
		return nil, fmt.Errorf("new host: %w", err)
	}
	return h, nil
}

func (e *env) writeFile(size int64) (string, error) {
	e.files++
	p := filepath.Join(e.dir, fmt.Sprintf("src-%d.bin", e.files))
	f, err := os.Create(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	if _, err := io.CopyN(f, rand.New(rand.NewSource(e.seed)), size); err != nil {
		return "", err
	}
	return p, f.Close()
}

func info(h host.Host) peer.AddrInfo { return peer.AddrInfo{ID: h.ID(), Addrs: h.Addrs()} }

// fetchOnce downloads root into a fresh path and removes it afterwards.
func (e *env) fetchOnce(ctx context.Context, client host.Host, root cid.Cid, provs []peer.AddrInfo) (time.Duration, blockxfer.Result, error) {
	out := filepath.Join(e.dir, "out.bin")
	_ = os.Remove(out)
	_ = blockxfer.RemovePartial(out)
	t0 := time.Now()
	res, err := blockxfer.Fetch(ctx, client, root, provs, out, e.fetchOpts)
	d := time.Since(t0)
	_ = os.Remove(out)
	return d, res, err
}

func serveRaw(path string) network.StreamHandler {
	return func(s network.Stream) {
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
}

// fetchRaw copies one raw stream into a file, as blockxfer's output is.
func (e *env) fetchRaw(ctx context.Context, h host.Host, p peer.ID, size int64) (time.Duration, error) {
	out := filepath.Join(e.dir, "raw.bin")
	f, err := os.Create(out)
	if err != nil {
		return 0, err
	}
	defer os.Remove(out)
	defer f.Close()
	t0 := time.Now()
	s, err := h.NewStream(ctx, p, rawProtocol)
	if err != nil {
		return 0, fmt.Errorf("raw stream: %w", err)
	}
	defer s.Close()
	_ = s.CloseWrite()
	n, err := io.Copy(f, s)
	if err != nil || n != size {
		return 0, fmt.Errorf("raw copy: %d bytes, %v", n, err)
	}
	if err := f.Sync(); err != nil {
		return 0, err
	}
	return time.Since(t0), nil
}

// cpuTime is the process's user+system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func mbps(size int64, d time.Duration) float64 { return float64(size) / 1e6 / d.Seconds() }

// summary returns best and median of MB/s figures.
func summary(xs []float64) (best, median float64) {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)-1], s[len(s)/2]
}
