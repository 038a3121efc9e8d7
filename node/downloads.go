package node

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"kwsearch/api"
	"kwsearch/blockxfer"
	"kwsearch/storage"
)

// downloadManager runs downloads for the API: it finds providers, names
// the output safely, records the download so that it can resume after a
// restart, and reports progress.
type downloadManager struct {
	db      *storage.DB
	index   recordIndex
	fetch   fetcher
	log     *slog.Logger
	metrics *metrics
	now     func() time.Time

	mu     sync.Mutex
	active map[string]*api.Download // by CID
	ctx    context.Context
	wg     sync.WaitGroup
}

func newDownloadManager(n *Node) *downloadManager {
	return &downloadManager{db: n.db, index: n.net.index, fetch: n.net.fetch, log: n.log.With("part", "downloads"),
		metrics: n.metrics, now: time.Now, active: map[string]*api.Download{}, ctx: n.ctx}
}

func (m *downloadManager) start() {}

func (m *downloadManager) wait() { m.wg.Wait() }

// progressEvery bounds how often progress events are sent.
const progressEvery = 250 * time.Millisecond

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
	d, err := m.begin(req.CID, name, out, size)
	if err != nil {
		return api.GetEvent{}, err
	}
	defer m.end(req.CID)
	emit(api.GetEvent{Type: api.EventProgress, CID: req.CID, Name: d.Name, Path: out, Total: size, Peers: len(providers)})
	var last time.Time
	resumed, err := m.fetch.Fetch(ctx, req.CID, providers, out, req.Output != "", func(p fetchProgress) {
		m.update(req.CID, p)
		if now := time.Now(); now.Sub(last) >= progressEvery || p.Bytes == p.Total {
			last = now
			emit(api.GetEvent{Type: api.EventProgress, CID: req.CID, Name: d.Name, Path: out,
				Bytes: p.Bytes, Total: p.Total, Peers: p.Peers})
		}
	})
	if err != nil {
		m.metrics.downloads.WithLabelValues("failed").Inc()
		return api.GetEvent{}, fmt.Errorf("downloading %s: %w", req.CID, err)
	}
	m.metrics.downloads.WithLabelValues("ok").Inc()
	if err := m.db.DeleteDownload(req.CID); err != nil {
		m.log.Warn("forgetting finished download", "cid", req.CID, "err", err)
	}
	st, err := os.Stat(out)
	if err != nil {
		return api.GetEvent{}, fmt.Errorf("downloaded %s but cannot see %s: %w", req.CID, out, err)
	}
	m.metrics.bytesFetched.Add(float64(st.Size() - resumed))
	return api.GetEvent{CID: req.CID, Name: d.Name, Path: out, Bytes: st.Size(), Total: st.Size(), Resumed: resumed}, nil
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

// begin records a download as active and in the database.
func (m *downloadManager) begin(cid, name, out string, size int64) (*api.Download, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, busy := m.active[cid]; busy {
		return nil, &api.Error{Status: 409, Message: fmt.Sprintf("%s is already being downloaded", cid)}
	}
	if name == "" {
		name = filepath.Base(out)
	}
	d := &api.Download{CID: cid, Name: name, Path: out, Total: size, Active: true}
	m.active[cid] = d
	err := m.db.PutDownload(storage.Download{CID: cid, Name: name, Size: size, Output: out, Started: m.now().UTC()})
	if err != nil {
		delete(m.active, cid)
		return nil, err
	}
	return d, nil
}

func (m *downloadManager) update(cid string, p fetchProgress) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if d := m.active[cid]; d != nil {
		d.Bytes, d.Total = p.Bytes, p.Total
	}
}

func (m *downloadManager) end(cid string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.active, cid)
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
		if d := m.active[s.CID]; d != nil {
			out = append(out, *d)
			continue
		}
		out = append(out, api.Download{CID: s.CID, Name: s.Name, Path: s.Output, Total: s.Size})
	}
	return out, nil
}
