package node

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/peer"

	"kwsearch/blockxfer"
	"kwsearch/bootstrap"
)

// extraProviderWait is how long a download waits for more providers'
// direct connections once one provider is connected.
const extraProviderWait = 2 * time.Second

// Fetch downloads c through blockxfer after getting direct connections to
// the providers (hole punching through their relays when needed: relayed
// connections cannot carry file data).
func (t *transfer) Fetch(ctx context.Context, c string, providers []peer.AddrInfo, out string, overwrite bool, progress func(fetchProgress)) (int64, error) {
	root, err := cid.Decode(c)
	if err != nil {
		return 0, err
	}
	direct, err := t.connectProviders(ctx, providers)
	if err != nil {
		return 0, err
	}
	opts := blockxfer.DefaultFetchOptions()
	opts.Overwrite = overwrite
	opts.Progress = func(p blockxfer.Progress) {
		switch p.Event {
		case blockxfer.EventPeerDropped:
			t.nw.n.log.Info("download: provider dropped", "cid", c, "peer", p.Peer, "bad_data", p.Bad, "err", p.Err)
		default:
			progress(fetchProgress{Bytes: p.BytesDone, Total: p.BytesTotal, Peers: p.Peers})
		}
	}
	res, err := blockxfer.Fetch(ctx, t.nw.host, root, direct, out, opts)
	if err != nil {
		return 0, err
	}
	return int64(res.Resumed) * blockxfer.BlockSize, nil
}

// connectProviders returns the providers this node has a direct connection
// to, trying all in parallel. Once one is connected the others get
// extraProviderWait more.
func (t *transfer) connectProviders(ctx context.Context, providers []peer.AddrInfo) ([]peer.AddrInfo, error) {
	self := t.nw.host.ID()
	type result struct {
		info peer.AddrInfo
		err  error
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	results := make(chan result, len(providers))
	n := 0
	for _, p := range providers {
		if p.ID == self {
			continue
		}
		n++
		go func() {
			_, err := bootstrap.DirectConnect(ctx, t.nw.host, p, bootstrap.DefaultDirectConfig())
			results <- result{p, err}
		}()
	}
	if n == 0 {
		return nil, errors.New("this node is the only provider of the file")
	}
	var (
		ok   []peer.AddrInfo
		errs []string
		wait <-chan time.Time
	)
	noDirect := 0
	for i := 0; i < n; i++ {
		select {
		case r := <-results:
			if r.err == nil {
				ok = append(ok, r.info)
				if wait == nil {
					wait = time.After(extraProviderWait)
				}
				continue
			}
			if errors.Is(r.err, bootstrap.ErrNoDirect) {
				noDirect++
			}
			errs = append(errs, fmt.Sprintf("%s: %v", shortID(r.info.ID), r.err))
		case <-wait:
			return ok, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if len(ok) > 0 {
		return ok, nil
	}
	if noDirect > 0 {
		return nil, fmt.Errorf("no direct connection to any of %d providers: hole punching failed, and relayed connections cannot carry file data; try again later (%s)",
			n, strings.Join(errs, "; "))
	}
	return nil, fmt.Errorf("no provider could be reached (%s)", strings.Join(errs, "; "))
}

func shortID(id peer.ID) string {
	s := id.String()
	if len(s) > 12 {
		return "…" + s[len(s)-8:]
	}
	return s
}
