package blockxfer

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/peerstore"
)

// errBad marks errors for which a peer is dropped as a sender of bad data.
type badPeerError struct{ err error }

func (e badPeerError) Error() string { return e.err.Error() }
func (e badPeerError) Unwrap() error { return e.err }

// runPeer fetches from one provider until the file is complete, the fetch
// ends, or the provider fails.
func (f *fetch) runPeer(ctx context.Context, info peer.AddrInfo, pr *PeerResult) {
	s, err := f.open(ctx, info)
	if err != nil {
		if ctx.Err() == nil {
			f.dropPeer(pr, nil, err)
		}
		return
	}
	stop := context.AfterFunc(ctx, func() { _ = s.Reset() })
	defer stop()
	if err := reserve(s); err != nil {
		_ = s.Reset()
		f.dropPeer(pr, nil, err)
		return
	}
	defer s.Scope().ReleaseMemory(FetchStreamMemory)
	ps := &peerSched{}
	err = f.exchange(ctx, newClientConn(s, f.opts.BlockTimeout), ps)
	unanswered := false
	select {
	case <-f.prepared:
		unanswered = f.sched.fail(ps) // gives back whatever it still holds
		blocks, bytes, rate := f.sched.peerStats(ps)
		f.mu.Lock()
		pr.Blocks, pr.Bytes, pr.Rate = blocks, bytes, rate
		f.mu.Unlock()
	default:
	}
	if err != nil || unanswered {
		_ = s.Reset()
	} else {
		_ = s.Close()
	}
	if err != nil && ctx.Err() == nil {
		f.dropPeer(pr, ps, err)
	}
}

// FetchStreamMemory is what a fetching stream reserves with the resource
// manager, at high priority: the buffers queued for or held by its sink
// workers and the one being filled (1.25 MiB).
const FetchStreamMemory = sinkBuffers * MaxBlockResponseSize

// reserve attaches a fetching stream to the service and reserves its
// buffers with the resource manager.
func reserve(s network.Stream) error {
	if err := s.Scope().SetService(ServiceName); err != nil {
		return fmt.Errorf("blockxfer: attaching stream to service: %w", err)
	}
	if err := s.Scope().ReserveMemory(FetchStreamMemory, network.ReservationPriorityHigh); err != nil {
		return fmt.Errorf("blockxfer: reserving stream memory: %w", err)
	}
	return nil
}

// open connects to the provider and opens a block stream, never over a
// relayed connection.
func (f *fetch) open(ctx context.Context, info peer.AddrInfo) (network.Stream, error) {
	if len(info.Addrs) > 0 {
		f.h.Peerstore().AddAddrs(info.ID, info.Addrs, peerstore.TempAddrTTL)
	}
	octx, cancel := context.WithTimeout(ctx, f.opts.OpenTimeout)
	defer cancel()
	s, err := f.h.NewStream(octx, info.ID, ProtocolID)
	if err != nil {
		if errors.Is(err, network.ErrLimitedConn) || f.h.Network().Connectedness(info.ID) == network.Limited {
			return nil, fmt.Errorf("%w (%s): %v", ErrOnlyRelayed, info.ID, err)
		}
		return nil, fmt.Errorf("blockxfer: opening stream to %s: %w", info.ID, err)
	}
	return s, nil
}

// exchange is the whole conversation with one provider over conn.
func (f *fetch) exchange(ctx context.Context, conn *clientConn, ps *peerSched) error {
	if err := f.getManifest(ctx, conn); err != nil {
		return err
	}
	select {
	case <-f.prepared:
	case <-ctx.Done():
		return nil
	}
	f.active.Add(1)
	defer f.active.Add(-1)
	return f.fetchBlocks(ctx, conn, ps)
}

// getManifest fetches the manifest from this provider unless another one
// already delivered it; one provider is asked at a time.
func (f *fetch) getManifest(ctx context.Context, conn *clientConn) error {
	select {
	case f.gate <- struct{}{}:
	case <-f.ready:
		return nil
	case <-ctx.Done():
		return nil
	}
	defer func() { <-f.gate }()
	select {
	case <-f.ready:
		return nil
	default:
	}
	m, err := conn.fetchManifest(f.root)
	if err != nil {
		if errors.Is(err, ErrBadManifest) {
			return badPeerError{err}
		}
		return err
	}
	f.mu.Lock()
	f.manifest = m
	f.mu.Unlock()
	close(f.ready)
	return nil
}

// recheckInterval is how often an idle provider re-evaluates the endgame
// when nothing else happens, so a stalled provider's blocks move before
// its BlockTimeout.
const recheckInterval = 200 * time.Millisecond

// sinkWorkers goroutines per provider verify (SHA-256) and write its
// blocks while the receive loop reads the next ones, so the hash, the
// largest cost a download adds to the stream (about 0.6 s of CPU per GB
// with SHA-NI), overlaps the network instead of following it. Measured
// with blockxfer/bench -mode single -size 1024 -rounds 5 on two quiet
// cores, the paired ratio to a raw stream: hashing in the receive loop
// 0.66-0.78, in one worker 0.74-0.87, in two a median of 0.85 over five
// runs, in three 0.88 over seven (0.86-0.98: the machine is noisy).
const sinkWorkers = 3

// sinkBuffers bounds a provider's memory: one buffer being filled, one
// held by each sink worker, and one queued, so reading seldom waits for a
// worker that is briefly descheduled.
const sinkBuffers = sinkWorkers + 2

// answer is a received block on its way to its check and the partial file.
type answer struct {
	q    queued
	buf  []byte
	data []byte
}

// fetchBlocks keeps the provider's window of requests full and hands each
// answer to the sink workers, which verify and write it.
func (f *fetch) fetchBlocks(ctx context.Context, conn *clientConn, ps *peerSched) error {
	k := &sinkState{free: make(chan []byte, sinkBuffers), answers: make(chan answer, sinkBuffers-1),
		failed: make(chan struct{})}
	for range sinkBuffers {
		k.free <- make([]byte, MaxBlockResponseSize)
	}
	k.wg.Add(sinkWorkers)
	for range sinkWorkers {
		go f.sink(ctx, ps, k)
	}
	err := f.receiveLoop(ctx, conn, ps, k)
	close(k.answers)
	k.wg.Wait()
	if k.err != nil {
		return k.err
	}
	return err
}

// sinkState connects a provider's receive loop and its sink workers.
type sinkState struct {
	free    chan []byte
	answers chan answer
	wg      sync.WaitGroup // the workers
	mu      sync.Mutex     // guards err
	failed  chan struct{}  // closed when a worker failed; err is set
	err     error
}

// fail records the first error and tells the receive loop to stop.
func (k *sinkState) fail(err error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.err == nil {
		k.err = err
		close(k.failed)
	}
}

func (k *sinkState) failing() bool {
	select {
	case <-k.failed:
		return true
	default:
		return false
	}
}

func (f *fetch) receiveLoop(ctx context.Context, conn *clientConn, ps *peerSched, k *sinkState) error {
	sc := f.sched
	for {
		wake := sc.waitChan()
		for ok := sc.refillDue(ps); ok; {
			var i int
			if i, ok = sc.next(ps, conn.nextID); ok {
				conn.queue(KindBlock, f.root, i)
			}
		}
		if err := conn.flush(); err != nil {
			return err
		}
		q, ok := sc.head(ps)
		if !ok {
			select {
			case <-sc.finished:
				return nil
			case <-ctx.Done():
				return nil
			case <-k.failed:
				return nil
			case <-wake:
				continue
			case <-time.After(recheckInterval):
				continue // a holder may have stalled since: endgame may apply now
			}
		}
		var buf []byte
		select {
		case buf = <-k.free:
		case <-k.failed:
			return nil
		case <-ctx.Done():
			return nil
		}
		r, err := conn.recv(q.id, MaxBlockResponseSize, buf)
		if err != nil {
			return err
		}
		if err := statusErr(r.Status); err != nil {
			return fmt.Errorf("blockxfer: block %d: %w", q.index, err)
		}
		if _, n := f.manifest.BlockRange(q.index); len(r.Data) != n {
			return badPeerError{fmt.Errorf("%w: block %d is %d bytes, want %d", ErrBadBlock, q.index, len(r.Data), n)}
		}
		q = sc.received(ps, len(r.Data))
		k.answers <- answer{q: q, buf: buf, data: r.Data} // the sink always drains
		select {
		case <-sc.finished:
			return nil
		default:
		}
	}
}

// sink writes answers until answers is closed. After a failed write (by
// any worker) it only returns buffers.
func (f *fetch) sink(ctx context.Context, ps *peerSched, k *sinkState) {
	defer k.wg.Done()
	for a := range k.answers {
		if !k.failing() && ctx.Err() == nil {
			if err := f.store(ps, a); err != nil {
				k.fail(err)
			}
		}
		k.free <- a.buf
	}
}

// store verifies one block against the manifest and writes it, unless
// another provider's copy of it was written first (endgame), and records
// it. A bad block fails the provider (badPeerError).
func (f *fetch) store(ps *peerSched, a answer) error {
	if sha256.Sum256(a.data) != f.manifest.BlockDigest(a.q.index) {
		return badPeerError{fmt.Errorf("%w: block %d", ErrBadBlock, a.q.index)}
	}
	wrote := false
	if !f.sched.isDone(a.q.index) {
		if err := f.part.writeBlock(a.q.index, a.data); err != nil {
			return err
		}
		wrote = true
	}
	return f.sched.complete(ps, a.q, len(a.data), wrote)
}

// dropPeer records why a provider left and tells the progress callback.
func (f *fetch) dropPeer(pr *PeerResult, ps *peerSched, err error) {
	var bad badPeerError
	isBad := errors.As(err, &bad)
	f.mu.Lock()
	pr.Err, pr.Bad = err, isBad
	f.mu.Unlock()
	f.emitPeer(pr.ID, err, isBad)
}
