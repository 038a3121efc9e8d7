package node

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/peer"
	mh "github.com/multiformats/go-multihash"

	"kwsearch/api"
	"kwsearch/blockxfer"
	"kwsearch/storage"
)

// fakeLayers stands in for the transfer and keyword layers.
type fakeLayers struct {
	mu         sync.Mutex
	indexed    int
	served     map[string]string
	published  map[string]pubFile
	withdrawn  []string
	batches    []int
	publishErr error
	failPath   string
	// gate, when set, holds every Fetch until it is closed.
	gate     chan struct{}
	fetching chan string
}

func newFakeLayers() *fakeLayers {
	return &fakeLayers{served: map[string]string{}, published: map[string]pubFile{}}
}

func fileCID(b []byte) string {
	sum := sha256.Sum256(b)
	d, _ := mh.Encode(sum[:], mh.SHA2_256)
	return cid.NewCidV1(cid.Raw, d).String()
}

func (f *fakeLayers) IndexFile(_ context.Context, path string, progress func(int64)) (indexedFile, error) {
	if f.failPath != "" && path == f.failPath {
		return indexedFile{}, errors.New("disk on fire")
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return indexedFile{}, err
	}
	progress(int64(len(b)))
	f.mu.Lock()
	f.indexed++
	f.mu.Unlock()
	return indexedFile{CID: fileCID(b), Size: int64(len(b)), Index: []byte(hex.EncodeToString(b[:min(4, len(b))]))}, nil
}

func (f *fakeLayers) Serve(s storage.Share) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.served[s.CID] = s.Path
	return nil
}

func (f *fakeLayers) Unserve(c string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.served, c)
}

func (f *fakeLayers) Publish(_ context.Context, files []pubFile) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.publishErr != nil {
		return f.publishErr
	}
	f.batches = append(f.batches, len(files))
	for _, p := range files {
		f.published[p.CID] = p
	}
	return nil
}

func (f *fakeLayers) Withdraw(_ context.Context, p pubFile) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.published, p.CID)
	f.withdrawn = append(f.withdrawn, p.CID)
	return nil
}

func (f *fakeLayers) Search(context.Context, []string, int) ([]api.SearchHit, error) { return nil, nil }

func (f *fakeLayers) Providers(_ context.Context, c string) ([]peer.AddrInfo, string, int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p, ok := f.published[c]
	if !ok {
		return nil, "", 0, nil
	}
	return []peer.AddrInfo{{ID: "provider"}}, p.Name, p.Size, nil
}

func (f *fakeLayers) Fetch(_ context.Context, c string, _ []peer.AddrInfo, out string, _ bool, progress func(fetchProgress)) (int64, error) {
	f.mu.Lock()
	src, ok := f.served[c]
	gate, fetching := f.gate, f.fetching
	f.mu.Unlock()
	if !ok {
		return 0, errors.New("no provider answered")
	}
	if fetching != nil {
		fetching <- out
	}
	if gate != nil {
		<-gate
	}
	in, err := os.Open(src)
	if err != nil {
		return 0, err
	}
	defer in.Close()
	o, err := os.Create(out)
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(o, in)
	o.Close()
	progress(fetchProgress{Bytes: n, Total: n, Peers: 1})
	return 0, err
}

func testManagers(t *testing.T, batch int) (*shareManager, *downloadManager, *fakeLayers, *storage.DB) {
	t.Helper()
	db, err := storage.Open(filepath.Join(t.TempDir(), "db"), storage.Options{LockTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	f := newFakeLayers()
	log := slog.New(slog.NewTextHandler(tWriter{t}, nil))
	m := &shareManager{db: db, files: f, index: f, log: log, metrics: newMetrics(), workers: 3, batch: batch,
		now: time.Now, republishEvery: time.Hour, recheckEvery: time.Hour, ctx: context.Background()}
	d := &downloadManager{db: db, index: f, fetch: f, log: log, metrics: m.metrics, now: time.Now,
		active: map[string]*activeDownload{}, ctx: context.Background()}
	return m, d, f, db
}

type tWriter struct{ t *testing.T }

func (w tWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(b)))
	return len(b), nil
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

type events struct {
	mu  sync.Mutex
	all []api.ShareEvent
}

func (e *events) emit(ev api.ShareEvent) { e.mu.Lock(); e.all = append(e.all, ev); e.mu.Unlock() }

func (e *events) of(typ string) []api.ShareEvent {
	var out []api.ShareEvent
	for _, ev := range e.all {
		if ev.Type == typ {
			out = append(out, ev)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

func TestShareFolderWithFailures(t *testing.T) {
	m, _, f, db := testManagers(t, 2)
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "Blue Song.ogg"), "blue")
	writeFile(t, filepath.Join(dir, "a/Red Song.mp3"), "red")
	writeFile(t, filepath.Join(dir, "a/b/green.txt"), "green")
	writeFile(t, filepath.Join(dir, "broken.bin"), "boom")
	writeFile(t, filepath.Join(dir, "coming.ogg"+blockxfer.PartSuffix), "half")
	writeFile(t, filepath.Join(dir, "coming.ogg"+blockxfer.StateSuffix), "state")
	os.Symlink(filepath.Join(dir, "Blue Song.ogg"), filepath.Join(dir, "link.ogg"))
	f.failPath = filepath.Join(dir, "broken.bin")
	var ev events
	done, err := m.share(context.Background(), api.ShareRequest{
		Paths:    []string{dir, filepath.Join(dir, "missing.txt"), filepath.Join(dir, "a/Red Song.mp3")},
		Keywords: []string{"Extra"},
	}, ev.emit)
	if err != nil {
		t.Fatal(err)
	}
	files := ev.of(api.EventFile)
	if len(files) != 3 {
		t.Fatalf("shared %d files, want 3 (the symlink skipped, the duplicate once): %+v", len(files), files)
	}
	if files[0].Path != filepath.Join(dir, "Blue Song.ogg") || !slices.Equal(files[0].Keywords, []string{"blue", "song", "extra"}) {
		t.Fatalf("first file %+v", files[0])
	}
	failed := ev.of(api.EventFailed)
	if len(failed) != 2 || !strings.Contains(failed[0].Error, "disk on fire") || !strings.Contains(failed[1].Error, "no such file") {
		t.Fatalf("failures %+v", failed)
	}
	if done.FilesDone != 3 || done.Failed != 2 {
		t.Fatalf("done %+v", done)
	}
	if !slices.Equal(f.batches, []int{2, 1}) {
		t.Fatalf("publish batches %v, want [2 1]", f.batches)
	}
	shares, _ := db.Shares()
	if len(shares) != 3 || len(f.served) != 3 || len(f.published) != 3 {
		t.Fatalf("stored %d served %d published %d", len(shares), len(f.served), len(f.published))
	}
	for _, s := range shares {
		if s.PublishedAt.IsZero() {
			t.Errorf("%s has no publish time", s.Path)
		}
	}
	// Sharing again does not hash unchanged files again.
	before := f.indexed
	if _, err := m.share(context.Background(), api.ShareRequest{Paths: []string{filepath.Join(dir, "a")}}, func(api.ShareEvent) {}); err != nil {
		t.Fatal(err)
	}
	if f.indexed != before {
		t.Fatalf("re-share hashed %d files again", f.indexed-before)
	}
}

func TestSharePublishFailureKeepsShare(t *testing.T) {
	m, _, f, db := testManagers(t, 10)
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "x.txt"), "x")
	f.publishErr = errors.New("no ring node answered")
	var ev events
	done, err := m.share(context.Background(), api.ShareRequest{Paths: []string{dir}}, ev.emit)
	if err != nil {
		t.Fatal(err)
	}
	if done.Failed != 1 || len(ev.of(api.EventFailed)) != 1 || !strings.Contains(ev.of(api.EventFailed)[0].Error, "will retry") {
		t.Fatalf("done %+v events %+v", done, ev.all)
	}
	shares, _ := db.Shares()
	if len(shares) != 1 || !shares[0].PublishedAt.IsZero() {
		t.Fatalf("shares %+v: want one, unpublished", shares)
	}
	// The republish round publishes it once the ring answers.
	f.publishErr = nil
	m.republish(context.Background())
	if len(f.published) != 1 {
		t.Fatalf("republish published %d", len(f.published))
	}
}

func TestUnshareAndRecheck(t *testing.T) {
	m, _, f, db := testManagers(t, 10)
	dir := t.TempDir()
	gone, changed, kept := filepath.Join(dir, "gone.txt"), filepath.Join(dir, "changed.txt"), filepath.Join(dir, "kept.txt")
	writeFile(t, gone, "gone")
	writeFile(t, changed, "before")
	writeFile(t, kept, "kept")
	var ev events
	if _, err := m.share(context.Background(), api.ShareRequest{Paths: []string{dir}}, ev.emit); err != nil {
		t.Fatal(err)
	}
	if _, err := m.unshare(context.Background(), fileCID([]byte("nope"))); !api.IsStatus(err, 404) {
		t.Fatalf("unshare of unknown CID: %v", err)
	}
	os.Remove(gone)
	writeFile(t, changed, "after, longer")
	m.recheck(context.Background())
	shares, _ := db.Shares()
	var paths []string
	for _, s := range shares {
		paths = append(paths, s.Path)
	}
	sort.Strings(paths)
	if !slices.Equal(paths, []string{changed, kept}) {
		t.Fatalf("after recheck shares %v", paths)
	}
	if _, ok := f.published[fileCID([]byte("after, longer"))]; !ok {
		t.Fatal("changed file's new version not published")
	}
	for _, c := range []string{fileCID([]byte("gone")), fileCID([]byte("before"))} {
		if _, ok := f.published[c]; ok || f.served[c] != "" {
			t.Fatalf("%s still published or served", c)
		}
	}
	res, err := m.unshare(context.Background(), fileCID([]byte("kept")))
	if err != nil || res.Path != kept {
		t.Fatalf("unshare: %+v %v", res, err)
	}
	if n, _ := db.Shares(); len(n) != 1 {
		t.Fatalf("%d shares left, want 1", len(n))
	}
}

func TestGetDownloadsAndNamesSafely(t *testing.T) {
	m, d, _, db := testManagers(t, 10)
	src := t.TempDir()
	writeFile(t, filepath.Join(src, "song.ogg"), "music")
	if _, err := m.share(context.Background(), api.ShareRequest{Paths: []string{src}}, func(api.ShareEvent) {}); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	c := fileCID([]byte("music"))
	var progress int
	done, err := d.get(context.Background(), api.GetRequest{CID: c, Dir: out}, func(api.GetEvent) { progress++ })
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(out, "song.ogg"))
	if err != nil || string(b) != "music" || done.Path != filepath.Join(out, "song.ogg") || done.Bytes != 5 || progress == 0 {
		t.Fatalf("done %+v, file %q %v, %d progress events", done, b, err, progress)
	}
	if dl, _ := db.Downloads(); len(dl) != 0 {
		t.Fatalf("finished download still recorded: %+v", dl)
	}
	// Again into the same folder: refused, never overwritten.
	if _, err := d.get(context.Background(), api.GetRequest{CID: c, Dir: out}, func(api.GetEvent) {}); !api.IsStatus(err, 409) {
		t.Fatalf("second get into the same folder: %v, want 409", err)
	}
	// Unknown CID: no providers.
	if _, err := d.get(context.Background(), api.GetRequest{CID: fileCID([]byte("x")), Dir: out}, func(api.GetEvent) {}); !api.IsStatus(err, 404) {
		t.Fatalf("get of unknown CID: %v, want 404", err)
	}
}

func TestOutputPathStaysInDir(t *testing.T) {
	dir := t.TempDir()
	for _, in := range []string{"song.ogg", "../../etc/passwd", "/abs/path/x", `..\..\win.ini`, "..", ".", "", "a/", "bell\x07name\n.txt", ".bashrc"} {
		out, err := outputPath(api.GetRequest{CID: "bafyfallback", Dir: dir}, in)
		if err != nil {
			t.Errorf("outputPath(%q): %v", in, err)
			continue
		}
		if filepath.Dir(out) != dir || strings.HasPrefix(filepath.Base(out), ".") {
			t.Errorf("outputPath(%q) = %q: not a plain name inside %q", in, out, dir)
		}
	}
	if out, _ := outputPath(api.GetRequest{CID: "c", Dir: dir}, "song.ogg"); out != filepath.Join(dir, "song.ogg") {
		t.Errorf("plain name changed: %q", out)
	}
	if out, _ := outputPath(api.GetRequest{CID: "c", Output: dir}, "song.ogg"); out != filepath.Join(dir, "song.ogg") {
		t.Errorf("-o FOLDER: %q", out)
	}
}

func TestGetFollowsRunningDownload(t *testing.T) {
	m, d, f, _ := testManagers(t, 10)
	src := t.TempDir()
	writeFile(t, filepath.Join(src, "tune.ogg"), "la la la")
	if _, err := m.share(context.Background(), api.ShareRequest{Paths: []string{src}}, func(api.ShareEvent) {}); err != nil {
		t.Fatal(err)
	}
	c := fileCID([]byte("la la la"))
	f.gate, f.fetching = make(chan struct{}), make(chan string, 1)
	out := t.TempDir()
	type result struct {
		ev  api.GetEvent
		err error
	}
	first := make(chan result, 1)
	go func() {
		ev, err := d.get(context.Background(), api.GetRequest{CID: c, Dir: out}, func(api.GetEvent) {})
		first <- result{ev, err}
	}()
	<-f.fetching // the first get is downloading
	if _, err := d.get(context.Background(), api.GetRequest{CID: c, Output: filepath.Join(out, "other.ogg")}, func(api.GetEvent) {}); !api.IsStatus(err, 409) {
		t.Fatalf("get of the same CID elsewhere: %v, want 409", err)
	}
	second := make(chan result, 1)
	go func() {
		ev, err := d.get(context.Background(), api.GetRequest{CID: c, Dir: out}, func(api.GetEvent) {})
		second <- result{ev, err}
	}()
	waitFor(t, "second get follows", 5*time.Second, func() error {
		d.mu.Lock()
		defer d.mu.Unlock()
		if a := d.active[c]; a == nil || len(a.subs) != 2 {
			return errors.New("not following yet")
		}
		return nil
	})
	close(f.gate)
	r1, r2 := <-first, <-second
	if r1.err != nil || r2.err != nil || r1.ev.Path != r2.ev.Path || r1.ev.Bytes != 8 {
		t.Fatalf("first %+v, second %+v", r1, r2)
	}
}

func TestUnfinishedDownloadResumesAtStart(t *testing.T) {
	m, d, _, db := testManagers(t, 10)
	src := t.TempDir()
	writeFile(t, filepath.Join(src, "left.ogg"), "half done")
	if _, err := m.share(context.Background(), api.ShareRequest{Paths: []string{src}}, func(api.ShareEvent) {}); err != nil {
		t.Fatal(err)
	}
	c := fileCID([]byte("half done"))
	out := filepath.Join(t.TempDir(), "left.ogg")
	done := filepath.Join(t.TempDir(), "done.ogg")
	writeFile(t, done, "x")
	db.PutDownload(storage.Download{CID: c, Name: "left.ogg", Size: 9, Output: out})
	db.PutDownload(storage.Download{CID: fileCID([]byte("x")), Name: "done.ogg", Size: 1, Output: done})
	d.start()
	d.wait()
	if b, err := os.ReadFile(out); err != nil || string(b) != "half done" {
		t.Fatalf("resumed download: %q %v", b, err)
	}
	if left, _ := db.Downloads(); len(left) != 0 {
		t.Fatalf("downloads still recorded: %+v", left)
	}
}
