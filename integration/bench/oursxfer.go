package main

import (
	"context"
	"fmt"
	"time"

	"kwsearch/blockxfer"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
)

// oursFetch shares the file at path on server with blockxfer (indexed in
// place, as the daemon shares) and downloads it to out on client with
// blockxfer.Fetch from that one provider. Only the download is timed: it
// includes opening the stream, fetching and verifying the manifest, every
// block's verification, the writes and the final rename.
func oursFetch(ctx context.Context, server, client host.Host, path string, size int64, out string) (time.Duration, error) {
	src := blockxfer.NewFileSource(nil)
	fi, err := src.AddFile(path)
	if err != nil {
		return 0, fmt.Errorf("bench: blockxfer index: %w", err)
	}
	srv, err := blockxfer.NewServer(server, src, blockxfer.DefaultServerConfig())
	if err != nil {
		return 0, fmt.Errorf("bench: blockxfer server: %w", err)
	}
	defer srv.Close()
	providers := []peer.AddrInfo{{ID: server.ID(), Addrs: server.Addrs()}}
	t0 := time.Now()
	res, err := blockxfer.Fetch(ctx, client, fi.Root(), providers, out, blockxfer.DefaultFetchOptions())
	if err != nil {
		return 0, fmt.Errorf("bench: blockxfer fetch: %w", err)
	}
	d := time.Since(t0)
	if res.Size != size {
		return 0, fmt.Errorf("bench: blockxfer fetched %d bytes, want %d", res.Size, size)
	}
	return d, nil
}
