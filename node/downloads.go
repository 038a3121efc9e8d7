package node

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"kwsearch/api"
	"kwsearch/blockxfer"
	"kwsearch/storage"
)

// downloadManager runs downloads for the API: it finds providers, names
// the output safely, records each download in the database until it is
// complete, and reports progress. A download recorded by an earlier run is
// resumed in the background at start; a get of a CID that is already being
// downloaded to the same place follows it instead of starting another.
type downloadManager struct {
	db      *storage.DB
	index   recordIndex
	fetch   fetcher
	log     *slog.Logger
	metrics *metrics
	now     func() time.Time

	mu     sync.Mutex
	active map[string]*activeDownload // by CID
	ctx    context.Context
	wg     sync.WaitGroup
}

// activeDownload is a running download and the API requests following it.
type activeDownload struct {
	info    api.Download // guarded by downloadManager.mu
	subs    map[int]func(api.GetEvent)
	nextSub int
	done    chan struct{}
	res     api.GetEvent // set before done is closed
	err     error
}

func newDownloadManager(n *Node) *downloadManager {
	return &downloadManager{db: n.db, index: n.net.index, fetch: n.net.fetch, log: n.log.With("part", "downloads"),
		metrics: n.metrics, now: time.Now, active: map[string]*activeDownload{}, ctx: n.ctx}
}

// start resumes the downloads an earlier run left unfinished.
func (m *downloadManager) start() {
	stored, err := m.db.Downloads()
	if err != nil {
		m.log.Warn("listing unfinished downloads", "err", err)
		return
	}
	for _, d := range stored {
		if _, err := os.Lstat(d.Output); err == nil {
			m.db.DeleteDownload(d.CID) // finished just before a crash
			continue
		}
		m.wg.Add(1)
		go func() {
			defer m.wg.Done()
			m.resume(d)
		}()
	}
}

func (m *downloadManager) wait() { m.wg.Wait() }

// progressEvery bounds how often progress events are sent.
const progressEvery = 250 * time.Millisecond

// resumeAttempts and resumeBackoff bound how a resumed download waits for
// the ring to know a provider after a restart.
const (
	resumeAttempts = 3
	resumeBackoff  = 10 * time.Second
)

// resume continues a download recorded by an earlier run.
func (m *downloadManager) resume(d storage.Download) {
	for attempt := 1; ; attempt++ {
		providers, _, _, err := m.index.Providers(m.ctx, d.CID)
		if err == nil && len(providers) > 0 {
			a, attached, err := m.acquire(d.CID, d.Name, d.Output, d.Size)
			if err != nil || attached {
				return
			}
			m.log.Info("resuming download", "cid", d.CID, "path", d.Output)
			m.run(m.ctx, a, providers, false)
			if a.err != nil {
				m.log.Warn("resumed download failed; it stays listed", "cid", d.CID, "err", a.err)
			}
			return
		}
		if attempt == resumeAttempts {
			m.log.Warn("no provider for an unfinished download; it stays listed", "cid", d.CID, "err", err)
			return
		}
		t := time.NewTimer(resumeBackoff)
		select {
		case <-m.ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// get downloads req.CID and reports progress through emit.
func (m *downloadManager) get(ctx context.Context, req api.GetRequest, emit func(api.GetEvent)) (api.GetEvent, error) {
	m.wg.Add(1)
	defer m.wg.Done()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(m.ctx, cancel) // the node is closing
	defer stop()

	providers, name, size, err := m.index.Providers(ctx, req.CID)
	if err != nil {
		m.metrics.downloads.WithLabelValues("no_providers").Inc()
		return api.GetEvent{}, api.Unavailable("finding providers of %s: %v", req.CID, err)
	}
	if len(providers) == 0 {
		m.metrics.downloads.WithLabelValues("no_providers").Inc()
		return api.GetEvent{}, api.NotFound("no provider of %s was found", req.CID)
	}
	out, err := outputPath(req, name)
	if err != nil {
		return api.GetEvent{}, err
	}
	a, attached, err := m.acquire(req.CID, name, out, size)
	if err != nil {
		return api.GetEvent{}, err
	}
	unsub := m.subscribe(a, emit)
	defer unsub()
	if attached {
		select {
		case <-a.done:
		case <-ctx.Done():
			return api.GetEvent{}, ctx.Err()
		}
	} else {
		m.broadcast(a, api.GetEvent{Type: api.EventProgress, CID: req.CID, Name: a.info.Name, Path: out, Total: size, Peers: len(providers)})
		m.run(ctx, a, providers, req.Output != "")
	}
	return a.res, a.err
}

// run fetches a's file, tells its followers, and ends it.
func (m *downloadManager) run(ctx context.Context, a *activeDownload, providers []peer.AddrInfo, overwrite bool) {
	c, out := a.info.CID, a.info.Path
	defer m.end(a)
	var last time.Time
	resumed, err := m.fetch.Fetch(ctx, c, providers, out, overwrite, func(p fetchProgress) {
		m.mu.Lock()
		a.info.Bytes, a.info.Total = p.Bytes, p.Total
		m.mu.Unlock()
		if now := time.Now(); now.Sub(last) >= progressEvery || p.Bytes == p.Total {
			last = now
			m.broadcast(a, api.GetEvent{Type: api.EventProgress, CID: c, Name: a.info.Name, Path: out,
				Bytes: p.Bytes, Total: p.Total, Peers: p.Peers})
		}
	})
	if err != nil {
		m.metrics.downloads.WithLabelValues("failed").Inc()
		a.err = fmt.Errorf("downloading %s: %w", c, err)
		return
	}
	m.metrics.downloads.WithLabelValues("ok").Inc()
	if err := m.db.DeleteDownload(c); err != nil {
		m.log.Warn("forgetting finished download", "cid", c, "err", err)
	}
	st, err := os.Stat(out)
	if err != nil {
		a.err = fmt.Errorf("downloaded %s but cannot see %s: %w", c, out, err)
		return
	}
	m.metrics.bytesFetched.Add(float64(st.Size() - resumed))
	a.res = api.GetEvent{CID: c, Name: a.info.Name, Path: out, Bytes: st.Size(), Total: st.Size(), Resumed: resumed}
}

// outputPath is req.Output, or the published name inside req.Dir: a name
// from the network never leads outside Dir (blockxfer.SafeOutputPath), and
// a name with nothing usable left becomes the CID.
func outputPath(req api.GetRequest, name string) (string, error) {
	if req.Output != "" {
		if st, err := os.Stat(req.Output); err != nil || !st.IsDir() {
			return filepath.Clean(req.Output), nil
		}
		req.Dir = req.Output // -o names a folder: the file goes inside it
	}
	out, err := blockxfer.SafeOutputPath(req.Dir, name)
	if err != nil {
		if out, err = blockxfer.SafeOutputPath(req.Dir, req.CID); err != nil {
			return "", api.BadRequest("no safe file name for %s in %s: %v", req.CID, req.Dir, err)
		}
	}
	if _, err := os.Lstat(out); err == nil {
		return "", &api.Error{Status: 409, Message: fmt.Sprintf("%s already exists (choose another name with -o)", out)}
	}
	return out, nil
}

// acquire returns the running download of cid to follow (attached), or
// registers a new one, recorded in the database until it completes. A
// download of the same CID to another path is refused.
func (m *downloadManager) acquire(cid, name, out string, size int64) (*activeDownload, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if a, busy := m.active[cid]; busy {
		if a.info.Path == out {
			return a, true, nil
		}
		return nil, false, &api.Error{Status: 409, Message: fmt.Sprintf("%s is already being downloaded to %s", cid, a.info.Path)}
	}
	if name == "" {
		name = filepath.Base(out)
	}
	err := m.db.PutDownload(storage.Download{CID: cid, Name: name, Size: size, Output: out, Started: m.now().UTC()})
	if err != nil {
		return nil, false, err
	}
	a := &activeDownload{info: api.Download{CID: cid, Name: name, Path: out, Total: size, Active: true},
		subs: map[int]func(api.GetEvent){}, done: make(chan struct{})}
	m.active[cid] = a
	return a, false, nil
}

// subscribe adds a follower of a's progress; the returned func removes it.
func (m *downloadManager) subscribe(a *activeDownload, emit func(api.GetEvent)) func() {
	m.mu.Lock()
	defer m.mu.Unlock()
	id := a.nextSub
	a.nextSub++
	a.subs[id] = emit
	return func() {
		m.mu.Lock()
		defer m.mu.Unlock()
		delete(a.subs, id)
	}
}

func (m *downloadManager) broadcast(a *activeDownload, e api.GetEvent) {
	m.mu.Lock()
	subs := make([]func(api.GetEvent), 0, len(a.subs))
	for _, f := range a.subs {
		subs = append(subs, f)
	}
	m.mu.Unlock()
	for _, f := range subs {
		f(e)
	}
}

// end removes a from the running downloads and wakes its followers.
func (m *downloadManager) end(a *activeDownload) {
	m.mu.Lock()
	delete(m.active, a.info.CID)
	m.mu.Unlock()
	close(a.done)
}

// list returns running downloads and unfinished ones from earlier runs.
func (m *downloadManager) list() ([]api.Download, error) {
	stored, err := m.db.Downloads()
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []api.Download
	for _, s := range stored {
		if a := m.active[s.CID]; a != nil {
			out = append(out, a.info)
			continue
		}
		out = append(out, api.Download{CID: s.CID, Name: s.Name, Path: s.Output, Total: s.Size})
	}
	return out, nil
}
