package blockxfer

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/peer"
)

// corruptSource flips one bit of every block it serves.
type corruptSource struct{ Source }

func (c corruptSource) ReadBlock(root cid.Cid, i int, buf []byte) (int, error) {
	n, err := c.Source.ReadBlock(root, i, buf)
	if err == nil && n > 0 {
		buf[n/2] ^= 0x10
	}
	return n, err
}

// dyingSource serves limit blocks, then kills its host.
type dyingSource struct {
	Source
	limit  int64
	served atomic.Int64
	die    func()
	once   sync.Once
}

func (d *dyingSource) ReadBlock(root cid.Cid, i int, buf []byte) (int, error) {
	if d.served.Add(1) > d.limit {
		d.once.Do(func() { go d.die() })
		return 0, errors.New("dying")
	}
	return d.Source.ReadBlock(root, i, buf)
}

func TestSeveralProvidersOneCorruptOneDying(t *testing.T) {
	dir := t.TempDir()
	src, data := randomFile(t, dir, "src", 6<<20+777, 7)
	// The good provider waits until the dying one has died, so that the
	// dying one surely serves blocks first.
	died := make(chan struct{})
	good := newProvider(t, func(s Source) Source {
		g := &gateSource{Source: s, free: make(chan struct{}), open: died}
		return g
	})
	bad := newProvider(t, func(s Source) Source { return corruptSource{s} })
	var dying *dyingSource
	dead := newProvider(t, func(s Source) Source {
		dying = &dyingSource{Source: s, limit: 3}
		return dying
	})
	dying.die = func() {
		_ = dead.h.Close()
		close(died)
	}
	root := share(t, good.src, src)
	share(t, bad.src, src)
	share(t, dead.src, src)
	client := newHost(t)
	var mu sync.Mutex
	dropped := map[peer.ID]Progress{}
	opts := testOptions()
	opts.Progress = func(p Progress) {
		if p.Event == EventPeerDropped {
			mu.Lock()
			dropped[p.Peer] = p
			mu.Unlock()
		}
	}
	out := filepath.Join(dir, "out")
	provs := []peer.AddrInfo{addrInfo(bad.h), addrInfo(dead.h), addrInfo(good.h)}
	res, err := Fetch(fetchCtx(t), client, root, provs, out, opts)
	if err != nil {
		t.Fatalf("fetch: %v", err)
	}
	checkFile(t, out, data)
	byID := map[peer.ID]PeerResult{}
	for _, p := range res.Peers {
		byID[p.ID] = p
	}
	if p := byID[bad.h.ID()]; !p.Bad || !errors.Is(p.Err, ErrBadBlock) || p.Blocks != 0 {
		t.Errorf("corrupting provider: %+v, want dropped as bad with no block used", p)
	}
	if p := byID[dead.h.ID()]; p.Err == nil || p.Bad {
		t.Errorf("dying provider: %+v, want dropped (not bad)", p)
	}
	if p := byID[good.h.ID()]; p.Err != nil || p.Blocks == 0 {
		t.Errorf("good provider: %+v", p)
	}
	// The good provider served nothing before the death, so the dying one
	// died with the file incomplete and requests outstanding.
	if n := dying.served.Load(); n <= dying.limit {
		t.Errorf("dying provider read %d blocks, want more than %d (it dies on the next)", n, dying.limit)
	}
	if !dropped[bad.h.ID()].Bad {
		t.Errorf("no EventPeerDropped with Bad for the corrupting provider: %+v", dropped)
	}
}

func TestResumeDoesNotRefetchVerifiedBlocks(t *testing.T) {
	dir := t.TempDir()
	src, data := randomFile(t, dir, "src", 40*BlockSize+5, 11)
	// The provider serves 10 blocks, then holds reads until the first
	// fetch has been cancelled.
	const freeBlocks = 10
	gate := &gateSource{free: make(chan struct{}, freeBlocks), open: make(chan struct{})}
	for range freeBlocks {
		gate.free <- struct{}{}
	}
	var rec *recordingSource
	prov := newProvider(t, func(s Source) Source {
		gate.Source = s
		rec = newRecording(gate)
		return rec
	})
	root := share(t, prov.src, src)
	client := newHost(t)
	out := filepath.Join(dir, "out")

	ctx, cancel := context.WithCancel(fetchCtx(t))
	opts := testOptions()
	var atCancel atomic.Int64
	opts.Progress = func(p Progress) {
		if p.BlocksDone >= freeBlocks && atCancel.Load() == 0 {
			atCancel.Store(int64(p.BlocksDone))
			cancel()
		}
	}
	_, err := Fetch(ctx, client, root, []peer.AddrInfo{addrInfo(prov.h)}, out, opts)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("first fetch: %v, want context.Canceled", err)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Fatalf("incomplete download visible at the output path (err %v)", err)
	}
	verified := verifiedBlocks(t, root, src, out)
	if len(verified) < int(atCancel.Load()) || len(verified) == numBlocks(int64(len(data))) {
		t.Fatalf("after cancel %d blocks verified, progress said %d", len(verified), atCancel.Load())
	}
	before := rec.snapshot()
	close(gate.open)

	opts = testOptions()
	res, err := Fetch(fetchCtx(t), client, root, []peer.AddrInfo{addrInfo(prov.h)}, out, opts)
	if err != nil {
		t.Fatalf("resumed fetch: %v", err)
	}
	checkFile(t, out, data)
	after := rec.snapshot()
	for i := range verified {
		if after[i] != before[i] {
			t.Errorf("verified block %d fetched again", i)
		}
	}
	if res.Resumed != len(verified) || res.Resumed+res.Fetched != res.Blocks {
		t.Errorf("result %+v, %d verified before", res, len(verified))
	}
}

// verifiedBlocks opens the partial download as a resume would.
func verifiedBlocks(t *testing.T, root cid.Cid, src, out string) map[int]bool {
	t.Helper()
	fi, err := IndexFile(src)
	if err != nil {
		t.Fatal(err)
	}
	p, have, err := openPartial(out, root, fi.Manifest, true)
	if err != nil {
		t.Fatal(err)
	}
	p.close()
	m := map[int]bool{}
	for _, i := range have {
		m[i] = true
	}
	return m
}

func TestResumeRefetchesCorruptedPartialBlocks(t *testing.T) {
	dir := t.TempDir()
	src, data := randomFile(t, dir, "src", 3*BlockSize, 3)
	fi, err := IndexFile(src)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	p, _, err := openPartial(out, fi.Root(), fi.Manifest, true)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if err := p.writeBlock(i, data[i*BlockSize:(i+1)*BlockSize]); err != nil {
			t.Fatal(err)
		}
		if err := p.markDone(i); err != nil {
			t.Fatal(err)
		}
	}
	p.close()
	part, _ := PartialPaths(out)
	f, err := os.OpenFile(part, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte("garbage"), BlockSize+10); err != nil {
		t.Fatal(err)
	}
	f.Close()
	got := verifiedBlocks(t, fi.Root(), src, out)
	if len(got) != 2 || got[1] {
		t.Fatalf("verified after tampering: %v, want blocks 0 and 2", got)
	}
}

func TestModifiedShareIsNeverServedStale(t *testing.T) {
	for _, keepMtime := range []bool{false, true} {
		name := map[bool]string{false: "new-mtime", true: "same-size-and-mtime"}[keepMtime]
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			src, _ := randomFile(t, dir, "src", 3*BlockSize, 5)
			changed := make(chan Changed, 1)
			h := newHost(t)
			fs := NewFileSource(func(c Changed) { changed <- c })
			srv, err := NewServer(h, fs, DefaultServerConfig())
			if err != nil {
				t.Fatal(err)
			}
			defer srv.Close()
			root := share(t, fs, src)
			st, _ := os.Stat(src)
			_, newData := randomFile(t, dir, "src", 3*BlockSize, 6)
			if keepMtime {
				if err := os.Chtimes(src, st.ModTime(), st.ModTime()); err != nil {
					t.Fatal(err)
				}
			}
			client := newHost(t)
			out := filepath.Join(dir, "out")
			_, err = Fetch(fetchCtx(t), client, root, []peer.AddrInfo{addrInfo(h)}, out, testOptions())
			if !errors.Is(err, ErrNotFound) {
				t.Fatalf("fetch of a changed share: %v, want ErrNotFound", err)
			}
			if srv.Stats().Blocks != 0 {
				t.Errorf("server sent %d blocks of a changed file", srv.Stats().Blocks)
			}
			select {
			case c := <-changed:
				if c.Root != root || c.Path != src || !errors.Is(c.Err, ErrChanged) {
					t.Errorf("changed report %+v", c)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("no change reported")
			}
			if len(fs.Files()) != 0 {
				t.Errorf("stale file still listed")
			}
			// Re-indexing serves the new bytes.
			root2 := share(t, fs, src)
			if _, err := Fetch(fetchCtx(t), client, root2, []peer.AddrInfo{addrInfo(h)}, out, testOptions()); err != nil {
				t.Fatalf("fetch after re-index: %v", err)
			}
			checkFile(t, out, newData)
		})
	}
}

// Even without re-hashing, a marked block beyond the end of a truncated
// (or deleted) partial file is not trusted.
func TestResumeWithoutRecheckDistrustsShortFile(t *testing.T) {
	dir := t.TempDir()
	src, data := randomFile(t, dir, "src", 3*BlockSize, 3)
	fi, err := IndexFile(src)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	p, _, err := openPartial(out, fi.Root(), fi.Manifest, false)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if err := p.writeBlock(i, data[i*BlockSize:(i+1)*BlockSize]); err != nil {
			t.Fatal(err)
		}
		if err := p.markDone(i); err != nil {
			t.Fatal(err)
		}
	}
	p.close()
	part, _ := PartialPaths(out)
	if err := os.Truncate(part, BlockSize+1); err != nil {
		t.Fatal(err)
	}
	p, have, err := openPartial(out, fi.Root(), fi.Manifest, false)
	if err != nil {
		t.Fatal(err)
	}
	p.close()
	if len(have) != 1 || have[0] != 0 {
		t.Fatalf("trusted blocks %v of a file cut after block 0", have)
	}
}

// A provider that stops answering (without closing) loses its blocks to
// another provider through the endgame, long before BlockTimeout.
func TestStalledProviderBlocksMoveElsewhere(t *testing.T) {
	dir := t.TempDir()
	src, data := randomFile(t, dir, "src", 12*BlockSize, 17)
	stall := &gateSource{free: make(chan struct{}, 2), open: make(chan struct{})}
	stall.free <- struct{}{}
	stall.free <- struct{}{}
	stalled := newProvider(t, func(s Source) Source { stall.Source = s; return stall })
	t.Cleanup(func() { close(stall.open) }) // before the server's Close waits for its reads
	good := newProvider(t, nil)
	root := share(t, stalled.src, src)
	share(t, good.src, src)
	client := newHost(t)
	opts := testOptions()
	opts.BlockTimeout = 10 * time.Minute // far beyond the test's deadline
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out := filepath.Join(dir, "out")
	res, err := Fetch(ctx, client, root, []peer.AddrInfo{addrInfo(stalled.h), addrInfo(good.h)}, out, opts)
	if err != nil {
		t.Fatalf("fetch with a stalled provider: %v", err)
	}
	checkFile(t, out, data)
	if res.Peers[1].Blocks < 10 {
		t.Fatalf("good provider delivered %d blocks, want at least 10: %+v", res.Peers[1].Blocks, res.Peers)
	}
}
