package blockxfer

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/libp2p/go-libp2p/core/peer"
)

func TestRoundTripSizes(t *testing.T) {
	prov := newProvider(t, nil)
	client := newHost(t)
	sizes := map[string]int{
		"empty": 0, "one": 1, "block-1": BlockSize - 1, "block": BlockSize,
		"block+1": BlockSize + 1, "several-MiB": 5<<20 + 12345,
	}
	for name, size := range sizes {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			src, data := randomFile(t, dir, "src", size, int64(size))
			root := share(t, prov.src, src)
			var events []Progress
			opts := testOptions()
			opts.Progress = func(p Progress) { events = append(events, p) }
			out := filepath.Join(dir, "out")
			res, err := Fetch(fetchCtx(t), client, root, []peer.AddrInfo{addrInfo(prov.h)}, out, opts)
			if err != nil {
				t.Fatalf("fetch: %v", err)
			}
			checkFile(t, out, data)
			if fi, err := os.Stat(out); err != nil || fi.Mode().Perm() != finishedMode {
				t.Errorf("finished file mode: %v, %v; want %v", fi.Mode().Perm(), err, os.FileMode(finishedMode))
			}
			if res.Size != int64(size) || res.Fetched != numBlocks(int64(size)) || res.Path != out {
				t.Errorf("result %+v", res)
			}
			if len(events) == 0 || events[len(events)-1].Event != EventDone ||
				events[len(events)-1].BytesDone != int64(size) {
				t.Errorf("last event %+v", events[len(events)-1:])
			}
		})
	}
}

func TestFetchRefusesToOverwrite(t *testing.T) {
	prov := newProvider(t, nil)
	client := newHost(t)
	dir := t.TempDir()
	src, data := randomFile(t, dir, "src", 1000, 1)
	root := share(t, prov.src, src)
	_, err := Fetch(fetchCtx(t), client, root, []peer.AddrInfo{addrInfo(prov.h)}, src, testOptions())
	if !errors.Is(err, ErrOutputExists) {
		t.Fatalf("fetch onto existing file: %v, want ErrOutputExists", err)
	}
	checkFile(t, src, data)
}

func TestFetchNotFoundAndNoProviders(t *testing.T) {
	prov := newProvider(t, nil)
	client := newHost(t)
	m, _ := NewManifest(0, nil)
	bogus, _ := NewManifest(1, []Digest{{1}})
	_ = m
	out := filepath.Join(t.TempDir(), "out")
	_, err := Fetch(fetchCtx(t), client, bogus.CID(), []peer.AddrInfo{addrInfo(prov.h)}, out, testOptions())
	if !errors.Is(err, ErrNoProviders) || !errors.Is(err, ErrNotFound) {
		t.Fatalf("fetch of unknown root: %v", err)
	}
	_, err = Fetch(fetchCtx(t), client, bogus.CID(), nil, out, testOptions())
	if !errors.Is(err, ErrNoProviders) {
		t.Fatalf("fetch without providers: %v", err)
	}
	if _, err := Fetch(fetchCtx(t), client, BlockCID([]byte("x")), nil, out, testOptions()); !errors.Is(err, ErrNotManifestCID) {
		t.Fatalf("fetch of a raw block CID: %v", err)
	}
}

// With MaxPeers 1, a provider that fails is replaced by a waiting one.
func TestMaxPeersReplacesDroppedProvider(t *testing.T) {
	dir := t.TempDir()
	src, data := randomFile(t, dir, "src", 4*BlockSize, 13)
	bad := newProvider(t, func(s Source) Source { return corruptSource{s} })
	good := newProvider(t, nil)
	root := share(t, bad.src, src)
	share(t, good.src, src)
	client := newHost(t)
	opts := testOptions()
	opts.MaxPeers = 1
	out := filepath.Join(dir, "out")
	res, err := Fetch(fetchCtx(t), client, root, []peer.AddrInfo{addrInfo(bad.h), addrInfo(good.h)}, out, opts)
	if err != nil {
		t.Fatalf("fetch: %v", err)
	}
	checkFile(t, out, data)
	if len(res.Peers) != 2 || res.Peers[0].Bad != true || res.Peers[1].Blocks != 4 {
		t.Fatalf("peers %+v", res.Peers)
	}
}
