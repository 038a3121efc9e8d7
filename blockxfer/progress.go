package blockxfer

import (
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
)

// emit sends one event to the callback, serialized.
func (f *fetch) emit(kind EventKind, fill func(*Progress)) {
	if f.opts.Progress == nil {
		return
	}
	p := f.progress(kind)
	if fill != nil {
		fill(&p)
	}
	f.emitMu.Lock()
	defer f.emitMu.Unlock()
	f.opts.Progress(p)
}

func (f *fetch) emitPeer(id peer.ID, err error, bad bool) {
	f.emit(EventPeerDropped, func(p *Progress) { p.Peer, p.Err, p.Bad = id, err, bad })
}

// progress builds the counters part of an event.
func (f *fetch) progress(kind EventKind) Progress {
	p := Progress{Event: kind, Root: f.root, Peers: int(f.active.Load())}
	f.mu.Lock()
	m := f.manifest
	f.mu.Unlock()
	if m == nil {
		return p
	}
	p.BytesTotal, p.BlocksTotal = m.Size(), m.NumBlocks()
	select {
	case <-f.prepared:
	default:
		return p
	}
	st := f.sched.snapshot()
	p.BytesDone, p.Resumed = st.doneBytes, f.resumed
	p.BlocksDone = f.sched.blocksDone()
	return p
}

// reportProgress sends EventProgress every ProgressInterval, with the rate
// averaged over recent intervals, until the returned stop is called (it
// may be called more than once).
func (f *fetch) reportProgress() (stop func()) {
	if f.opts.Progress == nil {
		return func() {}
	}
	quit, finished := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(f.opts.ProgressInterval)
		defer t.Stop()
		last, lastAt, rate := int64(0), f.opts.Now(), 0.0
		for {
			select {
			case <-quit:
				return
			case <-t.C:
			}
			now, got := f.opts.Now(), f.sched.snapshot().receivedBytes
			if dt := now.Sub(lastAt).Seconds(); dt > 0 {
				rate += 0.5 * (float64(got-last)/dt - rate)
			}
			last, lastAt = got, now
			r := rate
			f.emit(EventProgress, func(p *Progress) { p.Rate = r })
		}
	}()
	var once bool
	return func() {
		if !once {
			once = true
			close(quit)
			<-finished
		}
	}
}
