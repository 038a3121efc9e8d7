package node

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"kwsearch/repo"
)

// BenchmarkFirstStart measures a first run: create the repository (key,
// token, config), open the database, start the host, create a ring of one,
// serve the API, write REPO/api. Target: under 2 s (issue 5); `kwnode
// daemon` adds process start-up only.
func BenchmarkFirstStart(b *testing.B) {
	dir := b.TempDir()
	for i := 0; b.Loop(); i++ {
		r, err := repo.Init(filepath.Join(dir, fmt.Sprint(i)), repo.DefaultConfig(), nil)
		if err != nil {
			b.Fatal(err)
		}
		cfg := r.Config
		cfg.Listen = []string{"/ip4/127.0.0.1/tcp/0", "/ip4/127.0.0.1/udp/0/quic-v1"}
		cfg.API = "127.0.0.1:0"
		cfg.Mode = repo.ModeServer
		cfg.PortMapping = false
		n, err := Start(context.Background(), Options{Repo: r, Config: cfg})
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		n.Close()
		b.StartTimer()
	}
}
