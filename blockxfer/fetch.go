package blockxfer

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
)

// fetch is one download's shared state.
type fetch struct {
	h        host.Host
	root     cid.Cid
	opts     FetchOptions
	gate     chan struct{} // one manifest request at a time
	mu       sync.Mutex    // guards manifest and peers
	manifest *Manifest
	ready    chan struct{} // closed when manifest is set
	prepared chan struct{} // closed when part and sched are set
	part     *partial
	sched    *scheduler
	peers    []*PeerResult
	active   atomic.Int32
	emitMu   sync.Mutex
	start    time.Time
	resumed  int64
}

// Fetch downloads the file root from providers into outPath and returns
// when it is complete, verified and renamed into place, or fails. It asks
// every provider at once, verifies each block against the manifest before
// writing it, drops providers that send bad data or fail, and keeps its
// progress in outPath+PartSuffix and outPath+StateSuffix: calling Fetch
// again with the same root and outPath after an error, a cancel or a crash
// fetches only the blocks not yet verified. outPath must be a path the
// caller chose (see SafeOutputPath for names from the network).
//
// Streams are never opened over relayed (limited) connections: a provider
// reachable only through a relay is waited for (hole punching) up to
// OpenTimeout and then fails with ErrOnlyRelayed. When every provider has
// failed the error wraps ErrNoProviders and each provider's error.
func Fetch(ctx context.Context, h host.Host, root cid.Cid, providers []peer.AddrInfo, outPath string, opts FetchOptions) (Result, error) {
	if err := opts.Validate(); err != nil {
		return Result{}, err
	}
	if err := CheckRoot(root); err != nil {
		return Result{}, err
	}
	if !opts.Overwrite {
		if _, err := os.Lstat(outPath); err == nil {
			return Result{}, fmt.Errorf("blockxfer: %s: %w", filepath.Base(outPath), ErrOutputExists)
		}
	}
	f := &fetch{h: h, root: root, opts: opts, gate: make(chan struct{}, 1),
		ready: make(chan struct{}), prepared: make(chan struct{}), start: opts.Now()}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	allGone := f.startPeers(ctx, providers)
	res, err := f.run(ctx, allGone, outPath)
	cancel()
	<-allGone
	return f.result(res), err
}

// startPeers runs one goroutine per distinct provider, at most MaxPeers at
// a time, in the order given (a provider waits for a slot that a dropped
// one frees); the returned channel is closed when all have ended.
func (f *fetch) startPeers(ctx context.Context, providers []peer.AddrInfo) <-chan struct{} {
	var todo []peer.AddrInfo
	seen := make(map[peer.ID]bool)
	for _, p := range providers {
		if p.ID == f.h.ID() || seen[p.ID] || p.ID == "" {
			continue
		}
		seen[p.ID] = true
		todo = append(todo, p)
		f.peers = append(f.peers, &PeerResult{ID: p.ID})
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		var wg sync.WaitGroup
		defer wg.Wait()
		slots := make(chan struct{}, f.opts.MaxPeers)
		for i, p := range todo {
			select {
			case slots <- struct{}{}:
			case <-ctx.Done():
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() { <-slots }()
				f.runPeer(ctx, p, f.peers[i])
			}()
		}
	}()
	return done
}

// run waits for the manifest, prepares the partial file and waits for the
// blocks.
func (f *fetch) run(ctx context.Context, allGone <-chan struct{}, outPath string) (Result, error) {
	res := Result{Root: f.root}
	select {
	case <-f.ready:
	case <-allGone:
		return res, f.noProviders("getting manifest")
	case <-ctx.Done():
		return res, fmt.Errorf("blockxfer: getting manifest: %w", ctx.Err())
	}
	m := f.manifest
	res.Size, res.Blocks = m.Size(), m.NumBlocks()
	part, have, err := openPartial(outPath, f.root, m, !f.opts.SkipResumeCheck)
	if err != nil {
		return res, err
	}
	defer part.close()
	f.part = part
	f.sched = newScheduler(m.NumBlocks(), have, schedConfig{
		now: f.opts.Now, minWindow: f.opts.MinWindow, maxWindow: f.opts.MaxWindow,
		initialWindow: f.opts.InitialWindow, queueTime: f.opts.QueueTime,
		blockLen: func(i int) int { _, n := m.BlockRange(i); return n },
	}, part.markDone)
	res.Resumed = len(have)
	f.resumed = f.sched.snapshot().doneBytes
	close(f.prepared)
	f.emit(EventStart, nil)
	stopProgress := f.reportProgress()
	defer stopProgress()
	select {
	case <-f.sched.finished:
	case <-allGone:
		select {
		case <-f.sched.finished:
		default:
			return res, f.noProviders("fetching blocks")
		}
	case <-ctx.Done():
		return res, fmt.Errorf("blockxfer: fetching blocks: %w", ctx.Err())
	}
	if err := part.finish(outPath, f.opts.Overwrite); err != nil {
		return res, err
	}
	res.Path = outPath
	stopProgress()
	f.emit(EventDone, nil)
	return res, nil
}

// noProviders builds the error returned when every provider is gone.
func (f *fetch) noProviders(step string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	errs := []error{ErrNoProviders}
	for _, p := range f.peers {
		if p.Err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", p.ID, p.Err))
		}
	}
	if len(f.peers) == 0 {
		errs = append(errs, errors.New("no providers given"))
	}
	return fmt.Errorf("blockxfer: %s: %w", step, errors.Join(errs...))
}

// result completes res with the counters.
func (f *fetch) result(res Result) Result {
	res.Elapsed = f.opts.Now().Sub(f.start)
	if f.sched != nil {
		st := f.sched.snapshot()
		res.Fetched, res.Duplicates, res.BytesReceived = st.fetched, st.duplicates, st.receivedBytes
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, p := range f.peers {
		res.Peers = append(res.Peers, *p)
	}
	return res
}
