package main

import (
	"context"
	"fmt"
	"runtime"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"kwsearch/blockxfer"
)

// single compares one provider's blockxfer download with io.Copy over a
// raw stream between the same two hosts, alternating rounds.
func (e *env) single(ctx context.Context, size int64) error {
	src, err := e.writeFile(size)
	if err != nil {
		return err
	}
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
	if err := client.Connect(ctx, info(server)); err != nil {
		return err
	}
	fs := blockxfer.NewFileSource(nil)
	fi, err := fs.AddFile(src)
	if err != nil {
		return err
	}
	srv, err := blockxfer.NewServer(server, fs, e.serverCfg)
	if err != nil {
		return err
	}
	defer srv.Close()
	server.SetStreamHandler(rawProtocol, serveRaw(src))
	if e.only != "" && e.only != "raw" && e.only != "blockxfer" {
		return fmt.Errorf("-only %q: want raw or blockxfer", e.only)
	}
	if err := e.startProfile(); err != nil {
		return err
	}
	var raw, ours, ratios []float64
	var rawCPU, oursCPU time.Duration
	for r := range e.rounds {
		if e.only != "blockxfer" {
			c0 := cpuTime()
			d, err := e.fetchRaw(ctx, client, server.ID(), size)
			if err != nil {
				return err
			}
			c := cpuTime() - c0
			rawCPU += c
			raw = append(raw, mbps(size, d))
			fmt.Printf("round %d: raw %.0f MB/s (cpu %.2fs)\n", r+1, raw[r], c.Seconds())
		}
		if e.only != "raw" {
			c0 := cpuTime()
			d, _, err := e.fetchOnce(ctx, client, fi.Root(), []peer.AddrInfo{info(server)})
			if err != nil {
				return err
			}
			c := cpuTime() - c0
			oursCPU += c
			ours = append(ours, mbps(size, d))
			fmt.Printf("round %d: blockxfer %.0f MB/s (cpu %.2fs)\n", r+1, ours[r], c.Seconds())
		}
		if e.only == "" {
			ratios = append(ratios, ours[r]/raw[r])
		}
	}
	e.stopProfile()
	fmt.Printf("single provider, %d MiB, %s loopback, GOMAXPROCS=%d\n", size>>20, e.transport, runtime.GOMAXPROCS(0))
	perGB := func(c time.Duration) float64 { return c.Seconds() / (float64(size) * float64(e.rounds) / 1e9) }
	if e.only != "" {
		xs, c := raw, rawCPU
		if e.only == "blockxfer" {
			xs, c = ours, oursCPU
		}
		b, m := summary(xs)
		fmt.Printf("  %s only: best %.0f MB/s  median %.0f MB/s  CPU %.2fs per GB\n", e.only, b, m, perGB(c))
		return nil
	}
	rb, rm := summary(raw)
	ob, om := summary(ours)
	fmt.Printf("single provider, %d MiB, %s loopback, GOMAXPROCS=%d\n", size>>20, e.transport, runtime.GOMAXPROCS(0))
	fmt.Printf("  raw io.Copy  best %.0f MB/s  median %.0f MB/s\n", rb, rm)
	fmt.Printf("  blockxfer    best %.0f MB/s  median %.0f MB/s\n", ob, om)
	_, pm := summary(ratios)
	fmt.Printf("  ratio        best/best %.2f  median/median %.2f  median of paired rounds %.2f  (target >= 0.9)\n",
		ob/rb, om/rm, pm)
	fmt.Printf("  CPU per GB   raw %.2fs  blockxfer %.2fs (both hosts; includes hashing on both sides)\n",
		perGB(rawCPU), perGB(oursCPU))
	return nil
}
