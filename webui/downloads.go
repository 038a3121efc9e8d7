package webui

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"time"

	"kwsearch/api"
)

// Download states shown by the page.
const (
	StateRunning = "running" // bytes are arriving
	StateWaiting = "waiting" // unfinished, recorded by the node, not running
	StateDone    = "done"
	StateFailed  = "failed"
)

// DownloadView is one row of the page's download list.
type DownloadView struct {
	CID   string  `json:"cid"`
	Name  string  `json:"name"`
	Path  string  `json:"path"`
	Bytes int64   `json:"bytes"`
	Total int64   `json:"total"`
	Peers int     `json:"peers"`
	Rate  float64 `json:"rate"` // bytes per second, smoothed
	State string  `json:"state"`
	Error string  `json:"error,omitempty"`
	// Started orders the list (newest first).
	Started time.Time `json:"started"`
}

// tracker keeps the downloads the page shows: the ones it started, with
// their progress events, and the node's unfinished ones (resumed after a
// restart), learned by polling. It is safe for concurrent use.
type tracker struct {
	backend api.Backend
	ctx     context.Context // ends the downloads it started
	now     func() time.Time
	log     *slog.Logger

	mu      sync.Mutex
	items   map[string]*trackedDownload
	changed chan struct{} // closed and replaced on every change
	wg      sync.WaitGroup
}

type trackedDownload struct {
	view      DownloadView
	followed  bool // progress events arrive from our own Get
	lastBytes int64
	lastAt    time.Time
}

func newTracker(ctx context.Context, b api.Backend, now func() time.Time, log *slog.Logger) *tracker {
	return &tracker{backend: b, ctx: ctx, now: now, log: log, items: map[string]*trackedDownload{}, changed: make(chan struct{})}
}

// maxFinished bounds the finished and failed downloads kept for the page
// (the oldest go first): enough for a long session, bounded for a daemon
// that runs for months.
const maxFinished = 200

// errBusy is returned when the page starts a download that is running.
var errBusy = &api.Error{Status: 409, Message: "webui: that file is already being downloaded"}

// start begins req in the background; it fails only if req's CID runs.
func (t *tracker) start(req api.GetRequest) error {
	t.mu.Lock()
	if d := t.items[req.CID]; d != nil && d.view.State == StateRunning {
		t.mu.Unlock()
		return errBusy
	}
	now := t.now()
	t.items[req.CID] = &trackedDownload{view: DownloadView{CID: req.CID, Path: req.Output, State: StateRunning, Started: now},
		followed: true, lastAt: now}
	t.notifyLocked()
	t.mu.Unlock()
	t.wg.Add(1)
	go func() {
		defer t.wg.Done()
		res, err := t.backend.Get(t.ctx, req, t.update)
		t.finish(req.CID, res, err)
	}()
	return nil
}

// update applies one progress event of a followed download.
func (t *tracker) update(e api.GetEvent) {
	t.mu.Lock()
	defer t.mu.Unlock()
	d := t.items[e.CID]
	if d == nil {
		return
	}
	if e.Name != "" {
		d.view.Name = e.Name
	}
	if e.Path != "" {
		d.view.Path = e.Path
	}
	d.view.Total, d.view.Peers = e.Total, e.Peers
	t.progressLocked(d, e.Bytes)
	t.notifyLocked()
}

// progressLocked records bytes and updates the smoothed rate.
func (t *tracker) progressLocked(d *trackedDownload, bytes int64) {
	now := t.now()
	if dt := now.Sub(d.lastAt).Seconds(); dt >= 0.2 && bytes >= d.lastBytes {
		inst := float64(bytes-d.lastBytes) / dt
		if d.view.Rate == 0 {
			d.view.Rate = inst
		} else {
			d.view.Rate = 0.5*d.view.Rate + 0.5*inst
		}
		d.lastBytes, d.lastAt = bytes, now
	}
	d.view.Bytes = bytes
}

func (t *tracker) finish(cid string, res api.GetEvent, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	d := t.items[cid]
	if d == nil {
		return
	}
	d.followed, d.view.Peers, d.view.Rate = false, 0, 0
	switch {
	case err != nil:
		d.view.State, d.view.Error = StateFailed, err.Error()
		var ae *api.Error
		if errors.As(err, &ae) {
			d.view.Error = ae.Message
		}
	default:
		d.view.State = StateDone
		d.view.Bytes, d.view.Total = res.Bytes, res.Total
		if res.Name != "" {
			d.view.Name = res.Name
		}
		if res.Path != "" {
			d.view.Path = res.Path
		}
	}
	t.pruneLocked()
	t.notifyLocked()
}

// pruneLocked drops the oldest finished downloads beyond maxFinished.
func (t *tracker) pruneLocked() {
	var ended []*trackedDownload
	for _, d := range t.items {
		if d.view.State == StateDone || d.view.State == StateFailed {
			ended = append(ended, d)
		}
	}
	if len(ended) <= maxFinished {
		return
	}
	slices.SortFunc(ended, func(a, b *trackedDownload) int { return a.view.Started.Compare(b.view.Started) })
	for _, d := range ended[:len(ended)-maxFinished] {
		delete(t.items, d.view.CID)
	}
}

// poll merges the node's download list (running and unfinished downloads,
// those resumed after a restart included) into the tracker.
func (t *tracker) poll(ctx context.Context) {
	list, err := t.backend.Downloads(ctx)
	if err != nil {
		t.log.Debug("webui: listing downloads", "err", err)
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	listed := map[string]bool{}
	for _, nd := range list {
		listed[nd.CID] = true
		d := t.items[nd.CID]
		if d == nil {
			d = &trackedDownload{view: DownloadView{CID: nd.CID, Started: t.now()}, lastBytes: nd.Bytes, lastAt: t.now()}
			t.items[nd.CID] = d
		}
		if d.followed {
			continue
		}
		d.view.Name, d.view.Path, d.view.Total, d.view.Error = nd.Name, nd.Path, nd.Total, ""
		d.view.State = StateWaiting
		if nd.Active {
			d.view.State = StateRunning
		} else {
			d.view.Rate = 0
		}
		t.progressLocked(d, nd.Bytes)
	}
	for cid, d := range t.items {
		// The node forgets a download when it completes.
		if !d.followed && !listed[cid] && (d.view.State == StateRunning || d.view.State == StateWaiting) {
			d.view.State, d.view.Bytes, d.view.Rate, d.view.Peers = StateDone, d.view.Total, 0, 0
		}
	}
	t.notifyLocked()
}

// notifyLocked wakes the event streams.
func (t *tracker) notifyLocked() {
	close(t.changed)
	t.changed = make(chan struct{})
}

// snapshot returns the list, newest first, and a channel closed on change.
func (t *tracker) snapshot() ([]DownloadView, <-chan struct{}) {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]DownloadView, 0, len(t.items))
	for _, d := range t.items {
		out = append(out, d.view)
	}
	slices.SortFunc(out, func(a, b DownloadView) int {
		if c := b.Started.Compare(a.Started); c != 0 {
			return c
		}
		return compareStrings(a.CID, b.CID)
	})
	return out, t.changed
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// wait waits for the downloads started here to return (after ctx ends).
func (t *tracker) wait() { t.wg.Wait() }
