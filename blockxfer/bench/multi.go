package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"

	"kwsearch/blockxfer"
)

// limitedSource serves blocks at most at rate bytes/s on average: a token
// bucket holding up to burst seconds of tokens, so that a sleep that
// overshoots (timer slack on a loaded host) is made up by the next block
// instead of lowering the rate.
type limitedSource struct {
	blockxfer.Source
	rate  float64
	mu    sync.Mutex
	burst time.Duration
	next  time.Time
}

func (l *limitedSource) ReadBlock(root cid.Cid, i int, buf []byte) (int, error) {
	n, err := l.Source.ReadBlock(root, i, buf)
	if err != nil {
		return n, err
	}
	l.mu.Lock()
	now := time.Now()
	if earliest := now.Add(-l.burst); l.next.Before(earliest) {
		l.next = earliest
	}
	l.next = l.next.Add(time.Duration(float64(n) / l.rate * float64(time.Second)))
	wait := l.next.Sub(now)
	l.mu.Unlock()
	time.Sleep(wait)
	return n, nil
}

// multi downloads from one, then four providers each limited to rate.
func (e *env) multi(ctx context.Context, size int64, rate float64) error {
	src, err := e.writeFile(size)
	if err != nil {
		return err
	}
	client, err := e.newHost()
	if err != nil {
		return err
	}
	defer client.Close()
	var provs []peer.AddrInfo
	var root cid.Cid
	for range 4 {
		h, fi, closeFn, err := e.limitedProvider(src, rate)
		if err != nil {
			return err
		}
		defer closeFn()
		provs = append(provs, info(h))
		root = fi.Root()
	}
	if err := e.startProfile(); err != nil {
		return err
	}
	for _, n := range []int{1, 4} {
		var rates []float64
		for range e.rounds {
			d, res, err := e.fetchOnce(ctx, client, root, provs[:n])
			if err != nil {
				return err
			}
			rates = append(rates, mbps(size, d))
			fmt.Printf("%d provider(s): %.1f MB/s, duplicates %d, blocks per provider:", n, rates[len(rates)-1], res.Duplicates)
			for _, p := range res.Peers {
				fmt.Printf(" %d", p.Blocks)
			}
			fmt.Println()
		}
		best, median := summary(rates)
		fmt.Printf("%d provider(s) each limited to X = %.1f MB/s, %d MiB: best %.1f MB/s (%.2f X), median %.1f MB/s (%.2f X)\n",
			n, rate/1e6, size>>20, best, best*1e6/rate, median, median*1e6/rate)
	}
	fmt.Println("target: four providers >= 3.5 X")
	return nil
}

func (e *env) limitedProvider(src string, rate float64) (host.Host, blockxfer.FileIndex, func(), error) {
	h, err := e.newHost()
	if err != nil {
		return nil, blockxfer.FileIndex{}, nil, err
	}
	fs := blockxfer.NewFileSource(nil)
	fi, err := fs.AddFile(src)
	if err != nil {
		h.Close()
		return nil, blockxfer.FileIndex{}, nil, err
	}
	srv, err := blockxfer.NewServer(h, &limitedSource{Source: fs, rate: rate, burst: 100 * time.Millisecond}, e.serverCfg)
	if err != nil {
		h.Close()
		return nil, blockxfer.FileIndex{}, nil, err
	}
	return h, fi, func() { srv.Close(); h.Close() }, nil
}

// mixed downloads from providers limited to different rates: the result
// should approach the sum, each provider's share its rate.
func (e *env) mixed(ctx context.Context, size int64, list string) error {
	src, err := e.writeFile(size)
	if err != nil {
		return err
	}
	client, err := e.newHost()
	if err != nil {
		return err
	}
	defer client.Close()
	var provs []peer.AddrInfo
	var root cid.Cid
	var sum float64
	var rates []float64
	for _, f := range strings.Split(list, ",") {
		r, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
		if err != nil || r <= 0 {
			return fmt.Errorf("bad -rates entry %q", f)
		}
		h, fi, closeFn, err := e.limitedProvider(src, r*1e6)
		if err != nil {
			return err
		}
		defer closeFn()
		provs, root, sum, rates = append(provs, info(h)), fi.Root(), sum+r, append(rates, r)
	}
	for range e.rounds {
		d, res, err := e.fetchOnce(ctx, client, root, provs)
		if err != nil {
			return err
		}
		fmt.Printf("providers limited to %v MB/s (sum %.0f): %.1f MB/s = %.2f of the sum, duplicates %d\n",
			rates, sum, mbps(size, d), mbps(size, d)/sum, res.Duplicates)
		for i, p := range res.Peers {
			fmt.Printf("  provider %d (%.1f MB/s): %d blocks (%.0f%%, rate share %.0f%%)\n",
				i, rates[i], p.Blocks, 100*float64(p.Blocks)/float64(res.Blocks), 100*rates[i]/sum)
		}
	}
	return nil
}
