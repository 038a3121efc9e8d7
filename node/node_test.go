package node

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"kwsearch/api"
	"kwsearch/repo"
)

// startTestNode starts a node on loopback with a fresh repository.
func startTestNode(t *testing.T, mode string, bootstrap ...string) *Node {
	t.Helper()
	r, err := repo.Init(filepath.Join(t.TempDir(), "repo"), repo.DefaultConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg := r.Config
	cfg.Listen = []string{"/ip4/127.0.0.1/tcp/0"}
	cfg.API = "127.0.0.1:0"
	cfg.Mode = mode
	cfg.Bootstrap = bootstrap
	cfg.PortMapping = false
	cfg.Tick = repo.Duration(100 * time.Millisecond)
	log := slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	n, err := Start(ctx, Options{Repo: r, Config: cfg, Log: log, Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	return n
}

func waitFor(t *testing.T, what string, timeout time.Duration, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %v", what, err)
		}
		<-tick.C
	}
}

// TestNodesShareSearchGet runs three server nodes and a client in one
// process, over real libp2p on loopback, through the API backend.
func TestNodesShareSearchGet(t *testing.T) {
	if testing.Short() {
		t.Skip("starts four libp2p nodes")
	}
	a := startTestNode(t, "server")
	boot := a.Addrs()[0]
	b := startTestNode(t, "server", boot)
	c := startTestNode(t, "server", boot)
	cl := startTestNode(t, "client", boot)
	ctx := context.Background()

	waitFor(t, "ring of three", 30*time.Second, func() error {
		for _, n := range []*Node{a, b, c} {
			st, _ := (backend{n}).Status(ctx)
			if st.Ring.Successor == "" || st.Ring.Successor == st.PeerID || st.Ring.Predecessor == "" {
				return fmt.Errorf("%s: ring %+v", st.PeerID, st.Ring)
			}
		}
		return nil
	})
	st, _ := (backend{cl}).Status(ctx)
	if st.Mode != "client" || st.Ring.ID != "" {
		t.Fatalf("client status %+v", st)
	}

	dir := t.TempDir()
	content := []byte("kind of blue, a record of modal jazz")
	os.WriteFile(filepath.Join(dir, "Kind of Blue.flac"), content, 0o644)
	var files []api.ShareEvent
	done, err := (backend{b}).Share(ctx, api.ShareRequest{Paths: []string{dir}}, func(e api.ShareEvent) {
		if e.Type == api.EventFile {
			files = append(files, e)
		}
	})
	if err != nil || len(files) != 1 || done.Failed != 0 {
		t.Fatalf("share: %v %+v %+v", err, files, done)
	}
	cid := files[0].CID

	var hits []api.SearchHit
	waitFor(t, "client finds the file", 20*time.Second, func() error {
		hits, err = (backend{cl}).Search(ctx, api.SearchRequest{Words: []string{"Kind", "blue"}})
		if err != nil {
			return err
		}
		if len(hits) != 1 || hits[0].CID != cid {
			return fmt.Errorf("hits %+v", hits)
		}
		return nil
	})
	if hits[0].Providers[0] != b.opt.Repo.ID.String() {
		t.Fatalf("providers %v, want b", hits[0].Providers)
	}
	out := t.TempDir()
	got, err := (backend{cl}).Get(ctx, api.GetRequest{CID: cid, Dir: out}, func(api.GetEvent) {})
	if err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(filepath.Join(out, "Kind of Blue.flac"))
	if string(data) != string(content) || got.Bytes != int64(len(content)) {
		t.Fatalf("downloaded %q (%+v)", data, got)
	}
	peers, _ := (backend{cl}).Peers(ctx)
	if len(peers) == 0 || !peers[0].Direct {
		t.Fatalf("client peers %+v", peers)
	}
	if _, err := (backend{b}).Unshare(ctx, api.UnshareRequest{CID: cid}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "unshared file disappears", 20*time.Second, func() error {
		hits, err := (backend{a}).Search(ctx, api.SearchRequest{Words: []string{"kind", "blue"}})
		if err != nil || len(hits) != 0 {
			return fmt.Errorf("hits %+v %v", hits, err)
		}
		return nil
	})
}

func TestStartRefusesSecondDaemonOnRepo(t *testing.T) {
	a := startTestNode(t, "server")
	cfg := a.cfg
	_, err := Start(context.Background(), Options{Repo: a.opt.Repo, Config: cfg})
	if err == nil {
		t.Fatal("a second node started on the same repository")
	}
	// The first node's API address file is untouched.
	if addr, err := repo.ReadAPI(a.opt.Repo.Path); err != nil || addr != a.APIAddr() {
		t.Fatalf("REPO/api = %q, %v; want %s", addr, err, a.APIAddr())
	}
}

// TestRestartRejoinsThroughRememberedPeers stops a node and starts it
// again with no bootstrap peer: it finds the ring through the peers it
// remembered, with the same identity.
func TestRestartRejoinsThroughRememberedPeers(t *testing.T) {
	a := startTestNode(t, "server")
	b := startTestNode(t, "server", a.Addrs()[0])
	ctx := context.Background()
	id := b.opt.Repo.ID
	cfg := b.cfg
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	cfg.Bootstrap = nil
	r, err := repo.Open(b.opt.Repo.Path)
	if err != nil {
		t.Fatal(err)
	}
	if r.ID != id {
		t.Fatalf("identity changed: %s, was %s", r.ID, id)
	}
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var logs lockedLog
	b2, err := Start(sctx, Options{Repo: r, Config: cfg, Log: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer b2.Close()
	t.Log(logs.String())
	if !strings.Contains(logs.String(), "joined the ring") || strings.Contains(logs.String(), "ring of one") {
		t.Fatal("restarted b did not join through its remembered peer")
	}
	waitFor(t, "ring of two again", 20*time.Second, func() error {
		st, _ := (backend{b2}).Status(ctx)
		if st.Ring.Successor != a.opt.Repo.ID.String() {
			return fmt.Errorf("b's successor %q, want a", st.Ring.Successor)
		}
		return nil
	})
}

type lockedLog struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
