package main

import (
	"context"
	"fmt"
	"runtime"
	"runtime/metrics"
	"sync/atomic"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"kwsearch/blockxfer"
)

// memory serves and fetches files of each size in one process and reports
// the peak heap in use above the level before the transfer.
func (e *env) memory(ctx context.Context, sizes []int64) error {
	server, err := e.newHost()
	if err != nil {
		return err
	}
	defer server.Close()
	client, err := e.newHost()
	if err != nil {
		return err
	}
	defer client.Close()
	fs := blockxfer.NewFileSource(nil)
	srv, err := blockxfer.NewServer(server, fs, e.serverCfg)
	if err != nil {
		return err
	}
	defer srv.Close()
	if err := e.startProfile(); err != nil {
		return err
	}
	for _, size := range sizes {
		src, err := e.writeFile(size)
		if err != nil {
			return err
		}
		fi, err := fs.AddFile(src)
		if err != nil {
			return err
		}
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		base := ms.HeapInuse
		var peak, peakLive atomic.Uint64
		live := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
		stop := make(chan struct{})
		sampled := make(chan struct{})
		go func() {
			defer close(sampled)
			t := time.NewTicker(5 * time.Millisecond)
			defer t.Stop()
			for {
				select {
				case <-stop:
					return
				case <-t.C:
				}
				var m runtime.MemStats
				runtime.ReadMemStats(&m)
				if m.HeapInuse > peak.Load() {
					peak.Store(m.HeapInuse)
				}
				metrics.Read(live)
				if v := live[0].Value.Uint64(); v > peakLive.Load() {
					peakLive.Store(v)
				}
			}
		}()
		d, _, err := e.fetchOnce(ctx, client, fi.Root(), []peer.AddrInfo{info(server)})
		close(stop)
		<-sampled
		if err != nil {
			return err
		}
		fmt.Printf("%5d MiB: %.0f MB/s, peak heap in use %.1f MiB above %.1f MiB before; peak live heap %.1f MiB (server and client in one process)\n",
			size>>20, mbps(size, d), float64(peak.Load()-min(base, peak.Load()))/(1<<20), float64(base)/(1<<20),
			float64(peakLive.Load())/(1<<20))
		fs.Remove(fi.Root())
	}
	return nil
}
