package node

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"kwsearch/api"
	"kwsearch/blockxfer"
	"kwsearch/keyword"
	"kwsearch/storage"
)

// shareManager indexes files in parallel, publishes them in batches,
// republishes on schedule and after a restart, and re-checks shared files
// for changes.
type shareManager struct {
	db      *storage.DB
	files   fileIndexer
	index   recordIndex
	log     *slog.Logger
	metrics *metrics
	workers int
	batch   int
	now     func() time.Time

	republishEvery, recheckEvery time.Duration
	// recheckNow is signalled when the transfer layer finds a shared file
	// changed on disk.
	recheckNow <-chan struct{}
	// republishNow is signalled when this node's addresses change.
	republishNow <-chan struct{}

	mu  sync.Mutex // serializes share, unshare, republish and recheck
	ctx context.Context
	wg  sync.WaitGroup
}

func newShareManager(n *Node) *shareManager {
	var changed <-chan struct{}
	if n.net.transfer != nil {
		changed = n.net.transfer.changed
	}
	return &shareManager{recheckNow: changed, republishNow: n.net.addrsChanged,
		db: n.db, files: n.net.files, index: n.net.index, log: n.log.With("part", "shares"),
		metrics: n.metrics, workers: n.cfg.IndexWorkers, batch: n.cfg.PublishBatch, now: time.Now,
		republishEvery: n.cfg.Republish.D(), recheckEvery: n.cfg.Recheck.D(), ctx: n.ctx,
	}
}

// start serves every stored share and starts the republish and re-check
// loops; the first republish runs at once (records may have expired while
// the node was down).
func (m *shareManager) start() {
	shares, err := m.db.Shares()
	if err != nil {
		m.log.Error("listing shares", "err", err)
	}
	for _, s := range shares {
		if err := m.files.Serve(s); err != nil {
			m.log.Warn("serving shared file", "path", s.Path, "err", err)
		}
	}
	m.wg.Add(1)
	go m.loop()
}

func (m *shareManager) wait() { m.wg.Wait() }

func (m *shareManager) loop() {
	defer m.wg.Done()
	m.republish(m.ctx)
	rep := time.NewTicker(m.republishEvery)
	defer rep.Stop()
	chk := time.NewTicker(m.recheckEvery)
	defer chk.Stop()
	for {
		select {
		case <-m.ctx.Done():
			return
		case <-rep.C:
			m.republish(m.ctx)
		case <-chk.C:
			m.recheck(m.ctx)
		case <-m.recheckNow:
			m.recheck(m.ctx)
		case <-m.republishNow:
			m.log.Info("relay addresses changed: republishing shares")
			m.republish(m.ctx)
		}
	}
}

// shareJob is one file found under the requested paths.
type shareJob struct {
	path string
	info fs.FileInfo
}

// share indexes and publishes every file under req.Paths.
func (m *shareManager) share(ctx context.Context, req api.ShareRequest, emit func(api.ShareEvent)) (api.ShareEvent, error) {
	extra := keyword.QueryWords(req.Keywords...)
	jobs, failed := expandPaths(req.Paths, func(path string, err error) {
		emit(api.ShareEvent{Type: api.EventFailed, Path: path, Error: describeFSError(err)})
	})
	var total int64
	for _, j := range jobs {
		total += j.info.Size()
	}
	p := &shareProgress{emit: emit, filesTotal: len(jobs) + failed, bytesTotal: total, failed: failed}
	p.report()
	m.mu.Lock()
	defer m.mu.Unlock()
	indexed := m.indexAll(ctx, jobs, extra, m.knownByPath(), p)
	for start := 0; start < len(indexed); start += m.batch {
		if err := ctx.Err(); err != nil {
			return api.ShareEvent{}, err
		}
		m.publishBatch(ctx, indexed[start:min(start+m.batch, len(indexed))], p)
	}
	return p.done(), nil
}

// expandPaths lists the regular files under paths (directories
// recursively, symbolic links not followed), reporting each path that
// cannot be read. It returns the jobs and the number of failures.
func expandPaths(paths []string, fail func(string, error)) ([]shareJob, int) {
	var jobs []shareJob
	failed := 0
	seen := map[string]bool{}
	add := func(path string, info fs.FileInfo) {
		if !seen[path] {
			seen[path] = true
			jobs = append(jobs, shareJob{path, info})
		}
	}
	for _, root := range paths {
		root = filepath.Clean(root)
		info, err := os.Stat(root)
		if err != nil {
			fail(root, err)
			failed++
			continue
		}
		if info.Mode().IsRegular() {
			add(root, info)
			continue
		}
		if !info.IsDir() {
			fail(root, errors.New("not a regular file or folder"))
			failed++
			continue
		}
		filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				fail(path, err)
				failed++
				return nil
			}
			if !d.Type().IsRegular() || isPartial(path) {
				return nil
			}
			info, err := d.Info()
			if err != nil {
				fail(path, err)
				failed++
				return nil
			}
			add(path, info)
			return nil
		})
	}
	return jobs, failed
}

// isPartial reports whether path is an unfinished download's data or state
// file, which a shared folder may hold while a download into it runs.
func isPartial(path string) bool {
	return strings.HasSuffix(path, blockxfer.PartSuffix) || strings.HasSuffix(path, blockxfer.StateSuffix)
}

func describeFSError(err error) string {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "no such file or folder"
	case errors.Is(err, fs.ErrPermission):
		return "permission denied"
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// indexAll hashes jobs with m.workers in parallel, reusing the stored index
// of a file that has not changed. Files that fail are reported and left out.
func (m *shareManager) indexAll(ctx context.Context, jobs []shareJob, extra []string, known map[string]storage.Share, p *shareProgress) []storage.Share {
	out := make([]*storage.Share, len(jobs))
	next := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < min(m.workers, len(jobs)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				s, err := m.indexOne(ctx, jobs[i], extra, known, p)
				if err != nil {
					p.fail(jobs[i].path, err.Error())
					continue
				}
				out[i] = &s
			}
		}()
	}
	for i := range jobs {
		if ctx.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	var shares []storage.Share
	for _, s := range out {
		if s != nil {
			shares = append(shares, *s)
		}
	}
	return shares
}

func (m *shareManager) indexOne(ctx context.Context, j shareJob, extra []string, known map[string]storage.Share, p *shareProgress) (storage.Share, error) {
	name := filepath.Base(j.path)
	s := storage.Share{Path: j.path, Name: name, Size: j.info.Size(), ModTime: j.info.ModTime().UTC(),
		Keywords: keyword.Keywords(name, extra), Extra: extra, SharedAt: m.now().UTC()}
	if old, ok := known[j.path]; ok && unchanged(old, j.info) {
		s.CID, s.Index, s.SharedAt = old.CID, old.Index, old.SharedAt
		p.addBytes(s.Size)
		return s, nil
	}
	var last int64
	ix, err := m.files.IndexFile(ctx, j.path, func(n int64) { p.addBytes(n - last); last = n })
	if err != nil {
		return s, fmt.Errorf("indexing: %w", err)
	}
	p.addBytes(j.info.Size() - last)
	s.CID, s.Index, s.Size = ix.CID, ix.Index, ix.Size
	return s, nil
}

// knownByPath returns the stored shares by path.
func (m *shareManager) knownByPath() map[string]storage.Share {
	shares, err := m.db.Shares()
	if err != nil {
		m.log.Warn("listing shares", "err", err)
	}
	out := make(map[string]storage.Share, len(shares))
	for _, s := range shares {
		out[s.Path] = s
	}
	return out
}

// unchanged reports whether a stored share still describes the file.
func unchanged(s storage.Share, info fs.FileInfo) bool {
	return s.CID != "" && s.Size == info.Size() && s.ModTime.Equal(info.ModTime())
}

// publishBatch stores and serves the batch's files, then publishes them.
// A file whose records could not be published stays shared (it is served
// and will be republished) but is reported as failed.
func (m *shareManager) publishBatch(ctx context.Context, batch []storage.Share, p *shareProgress) {
	var ok []storage.Share
	for _, s := range batch {
		if err := m.db.PutShare(s); err != nil {
			p.fail(s.Path, err.Error())
			continue
		}
		if err := m.files.Serve(s); err != nil {
			p.fail(s.Path, "serving: "+err.Error())
			continue
		}
		ok = append(ok, s)
	}
	if len(ok) == 0 {
		return
	}
	err := m.index.Publish(ctx, pubFiles(ok))
	if err != nil {
		m.log.Warn("publishing", "files", len(ok), "err", err)
		for _, s := range ok {
			p.fail(s.Path, fmt.Sprintf("indexed as %s but publishing failed (will retry): %v", s.CID, err))
		}
		return
	}
	m.metrics.published.Add(float64(len(ok)))
	now := m.now().UTC()
	for _, s := range ok {
		s.PublishedAt = now
		if err := m.db.PutShare(s); err != nil {
			m.log.Warn("recording publish time", "path", s.Path, "err", err)
		}
		p.file(s)
	}
}

func pubFiles(shares []storage.Share) []pubFile {
	out := make([]pubFile, len(shares))
	for i, s := range shares {
		out[i] = pubFile{CID: s.CID, Name: s.Name, Size: s.Size, Keywords: s.Keywords}
	}
	return out
}

// unshare withdraws a file's records and forgets it.
func (m *shareManager) unshare(ctx context.Context, cid string) (api.UnshareResult, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok, err := m.db.Share(cid)
	if err != nil {
		return api.UnshareResult{}, err
	}
	if !ok {
		return api.UnshareResult{}, api.NotFound("%s is not shared by this node", cid)
	}
	if err := m.withdraw(ctx, s); err != nil {
		return api.UnshareResult{}, fmt.Errorf("withdrawing the records of %s: %w", cid, err)
	}
	return api.UnshareResult{CID: cid, Path: s.Path}, nil
}

// withdraw stops serving s, deletes it and publishes removals.
func (m *shareManager) withdraw(ctx context.Context, s storage.Share) error {
	m.files.Unserve(s.CID)
	if _, err := m.db.DeleteShare(s.CID); err != nil {
		return err
	}
	return m.index.Withdraw(ctx, pubFiles([]storage.Share{s})[0])
}

// list returns the shares for the API.
func (m *shareManager) list() ([]api.ShareInfo, error) {
	shares, err := m.db.Shares()
	if err != nil {
		return nil, err
	}
	out := make([]api.ShareInfo, 0, len(shares))
	for _, s := range shares {
		out = append(out, api.ShareInfo{CID: s.CID, Path: s.Path, Name: s.Name, Size: s.Size,
			Keywords: slices.Clone(s.Keywords), SharedAt: s.SharedAt, PublishedAt: s.PublishedAt})
	}
	return out, nil
}

// republish re-checks and then publishes every share again, in batches.
func (m *shareManager) republish(ctx context.Context) {
	m.recheck(ctx)
	m.mu.Lock()
	defer m.mu.Unlock()
	shares, err := m.db.Shares()
	if err != nil || len(shares) == 0 {
		return
	}
	p := &shareProgress{emit: func(api.ShareEvent) {}}
	for start := 0; start < len(shares); start += m.batch {
		if ctx.Err() != nil {
			return
		}
		m.publishBatch(ctx, shares[start:min(start+m.batch, len(shares))], p)
	}
	m.log.Info("republished shares", "files", p.filesDone, "failed", p.failed)
}

// recheck withdraws shares whose file is gone and re-indexes changed ones.
func (m *shareManager) recheck(ctx context.Context) {
	m.mu.Lock()
	defer m.mu.Unlock()
	shares, err := m.db.Shares()
	if err != nil {
		return
	}
	for _, s := range shares {
		if ctx.Err() != nil {
			return
		}
		info, err := os.Stat(s.Path)
		switch {
		case err != nil || !info.Mode().IsRegular():
			m.log.Info("shared file is gone; withdrawing it", "path", s.Path, "cid", s.CID)
			if err := m.withdraw(ctx, s); err != nil {
				m.log.Warn("withdrawing", "cid", s.CID, "err", err)
			}
		case !unchanged(s, info):
			m.log.Info("shared file changed; indexing it again", "path", s.Path)
			m.reindex(ctx, s, info)
		}
	}
}

func (m *shareManager) reindex(ctx context.Context, old storage.Share, info fs.FileInfo) {
	p := &shareProgress{emit: func(api.ShareEvent) {}}
	s, err := m.indexOne(ctx, shareJob{old.Path, info}, old.Extra, nil, p)
	if err != nil {
		m.log.Warn("indexing changed file; withdrawing it", "path", old.Path, "err", err)
		m.withdraw(ctx, old)
		return
	}
	if s.CID != old.CID {
		if err := m.withdraw(ctx, old); err != nil {
			m.log.Warn("withdrawing old version", "cid", old.CID, "err", err)
		}
	}
	m.publishBatch(ctx, []storage.Share{s}, p)
}

// shareProgress counts and reports a share operation; safe for concurrent use.
type shareProgress struct {
	mu                    sync.Mutex
	emit                  func(api.ShareEvent)
	filesDone, filesTotal int
	failed                int
	bytesDone, bytesTotal int64
	lastReport            time.Time
}

func (p *shareProgress) addBytes(n int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.bytesDone += n
	if time.Since(p.lastReport) > 200*time.Millisecond {
		p.reportLocked()
	}
}

func (p *shareProgress) file(s storage.Share) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.filesDone++
	p.emit(api.ShareEvent{Type: api.EventFile, CID: s.CID, Path: s.Path, Keywords: s.Keywords})
}

func (p *shareProgress) fail(path, msg string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.failed++
	p.emit(api.ShareEvent{Type: api.EventFailed, Path: path, Error: msg})
}

func (p *shareProgress) report() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.reportLocked()
}

func (p *shareProgress) reportLocked() {
	p.lastReport = time.Now()
	p.emit(api.ShareEvent{Type: api.EventProgress, FilesDone: p.filesDone, FilesTotal: p.filesTotal,
		BytesDone: p.bytesDone, BytesTotal: p.bytesTotal, Failed: p.failed})
}

func (p *shareProgress) done() api.ShareEvent {
	p.mu.Lock()
	defer p.mu.Unlock()
	return api.ShareEvent{Type: api.EventDone, FilesDone: p.filesDone, FilesTotal: p.filesTotal,
		BytesDone: p.bytesDone, BytesTotal: p.bytesTotal, Failed: p.failed}
}
