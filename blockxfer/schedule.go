package blockxfer

import (
	"math"
	"sync"
	"time"
)

// scheduler decides which peer fetches which block. Blocks are handed out
// lowest index first to whichever peer has a free slot, so faster peers,
// which free slots sooner, take more blocks; each peer's number of slots
// (its window) follows its measured rate, so a slow peer never holds more
// than about queueTime of work, and near the end a busy peer leaves fresh
// blocks to faster ones (worthAsking). When no block is left unrequested
// (endgame), a peer with a free slot re-asks for a block queued at another
// peer if it expects to deliver it much sooner (see endgameBlock). It is
// safe for concurrent use; all peer state is guarded by mu.
type scheduler struct {
	mu        sync.Mutex
	cfg       schedConfig
	done      []bool
	holders   [][]*peerSched
	cursor    int   // blocks below it are done or were requested once
	returned  []int // blocks whose holders failed, to hand out again
	remaining int
	unasked   int // missing blocks not requested from anyone
	peers     []*peerSched
	changed   chan struct{} // closed and replaced on every state change
	finished  chan struct{} // closed when remaining reaches 0
	onDone    func(int) error
	stats     schedStats
}

type schedConfig struct {
	now                  func() time.Time
	minWindow, maxWindow int
	initialWindow        int
	queueTime            time.Duration
	blockLen             func(int) int
}

type schedStats struct {
	doneBytes, fetchedBytes, receivedBytes int64
	fetched, duplicates                    int
}

// peerSched is one provider's state in the scheduler.
type peerSched struct {
	queue    []queued // requested, in the order the peer answers
	taken    []queued // answered, being verified and written
	rate     float64  // bytes/s, moving average of measured samples
	lastRecv time.Time
	dead     bool
	joined   bool // in scheduler.peers
	blocks   int
	bytes    int64
}

type queued struct {
	index int
	id    uint64
	at    time.Time
}

// rateAlpha weighs each new sample in a peer's rate average.
const rateAlpha = 0.25

func newScheduler(n int, have []int, cfg schedConfig, onDone func(int) error) *scheduler {
	s := &scheduler{cfg: cfg, done: make([]bool, n), holders: make([][]*peerSched, n),
		remaining: n, changed: make(chan struct{}), finished: make(chan struct{}), onDone: onDone}
	for _, i := range have {
		if !s.done[i] {
			s.done[i] = true
			s.remaining--
			s.stats.doneBytes += int64(cfg.blockLen(i))
		}
	}
	s.unasked = s.remaining
	if s.remaining == 0 {
		close(s.finished)
	}
	return s
}

// notify wakes waiters; mu must be held.
func (s *scheduler) notify() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// waitChan returns a channel closed at the next state change.
func (s *scheduler) waitChan() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.changed
}

// window is how many requests p may have outstanding.
func (s *scheduler) window(p *peerSched) int {
	if p.rate <= 0 {
		return s.cfg.initialWindow
	}
	w := int(math.Ceil(p.rate * s.cfg.queueTime.Seconds() / BlockSize))
	return min(max(w, s.cfg.minWindow), s.cfg.maxWindow)
}

// refillDue reports whether p's window has room for a batch of requests:
// a quarter of the window (at least one). Asking in batches instead of one
// request per answer costs the provider far fewer wake-ups, while the
// three quarters still queued keep its pipe full.
func (s *scheduler) refillDue(p *peerSched) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	w := s.window(p)
	return len(p.queue) == 0 || w-len(p.queue) >= max(1, w/4)
}

// next gives p its next block to request, with request id id, or false if
// p's window is full or nothing is worth asking p for.
func (s *scheduler) next(p *peerSched, id uint64) (int, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p.dead || s.remaining == 0 || len(p.queue) >= s.window(p) {
		return 0, false
	}
	if !p.joined {
		p.joined = true
		s.peers = append(s.peers, p)
	}
	i, ok := 0, false
	if s.worthAsking(p) {
		i, ok = s.freshBlock()
	}
	if !ok && s.unasked == 0 {
		i, ok = s.endgameBlock(p)
	}
	if !ok {
		return 0, false
	}
	s.holders[i] = append(s.holders[i], p)
	p.queue = append(p.queue, queued{index: i, id: id, at: s.cfg.now()})
	return i, true
}

// freshBlock is a missing block nobody is fetching.
func (s *scheduler) freshBlock() (int, bool) {
	for len(s.returned) > 0 {
		i := s.returned[len(s.returned)-1]
		s.returned = s.returned[:len(s.returned)-1]
		if !s.done[i] && len(s.holders[i]) == 0 {
			s.unasked--
			return i, true
		}
	}
	for s.cursor < len(s.done) {
		i := s.cursor
		s.cursor++
		if !s.done[i] && len(s.holders[i]) == 0 {
			s.unasked--
			return i, true
		}
	}
	return 0, false
}

// worthAsking reports whether p should take a fresh block: an idle or
// unmeasured peer always should; a busy one only if it would deliver the
// block before the swarm, at its measured total rate, is expected to
// finish everything outstanding. Near the end this leaves the last blocks
// to fast peers instead of queueing them behind a slow one.
func (s *scheduler) worthAsking(p *peerSched) bool {
	if len(p.queue) == 0 || p.rate <= 0 {
		return true
	}
	var total float64
	outstanding := s.unasked
	for _, h := range s.peers {
		if !h.dead && h.rate > 0 {
			total += h.rate
			outstanding += len(h.queue)
		}
	}
	mine := float64(len(p.queue)+1) / p.rate
	return mine <= float64(outstanding)/total
}

// endgameBlock picks a block queued at exactly one other peer that p would
// deliver in well under the time that peer is expected to take (a slow or
// stalled peer's last blocks), the one expected latest first.
func (s *scheduler) endgameBlock(p *peerSched) (int, bool) {
	now := s.cfg.now()
	mine := s.expected(p, len(p.queue), now)
	best, bestT := -1, 0.0
	for i, hs := range s.holders {
		if s.done[i] || len(hs) != 1 || hs[0] == p {
			continue
		}
		h := hs[0]
		pos := h.position(i)
		if pos < 0 {
			continue // answered already, being verified
		}
		t := s.expected(h, pos, now)
		if t > 2*mine && t > bestT {
			best, bestT = i, t
		}
	}
	return best, best >= 0
}

// expected estimates the seconds until peer h delivers the block at queue
// position pos. A peer silent for longer than its rate explains is slowed
// down accordingly, so a stalled peer's blocks move elsewhere.
func (s *scheduler) expected(h *peerSched, pos int, now time.Time) float64 {
	rate := h.rate
	var silent float64
	if len(h.queue) > 0 {
		since := h.lastRecv
		if since.Before(h.queue[0].at) {
			since = h.queue[0].at
		}
		silent = now.Sub(since).Seconds()
	}
	if rate <= 0 {
		// Unmeasured: assume it is as fast as it has been silent allows.
		if silent <= 0 {
			return 0
		}
		rate = BlockSize / silent
	} else if silent > 0 && BlockSize/silent < rate {
		rate = BlockSize / silent
	}
	return float64(pos+1) * BlockSize / rate
}

func (h *peerSched) position(i int) int {
	for k, q := range h.queue {
		if q.index == i {
			return k
		}
	}
	return -1
}

// head is the request p must answer next.
func (s *scheduler) head(p *peerSched) (queued, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(p.queue) == 0 {
		return queued{}, false
	}
	return p.queue[0], true
}

// isDone reports whether block i is already verified (a duplicate answer
// need not be written).
func (s *scheduler) isDone(i int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.done[i]
}

// received pops p's head request when its answer has arrived (n bytes)
// and updates p's measured rate. The block stays p's until complete.
func (s *scheduler) received(p *peerSched, n int) queued {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := p.queue[0]
	p.queue = p.queue[1:]
	p.taken = append(p.taken, q)
	now := s.cfg.now()
	start := q.at
	if p.lastRecv.After(start) {
		start = p.lastRecv
	}
	if d := now.Sub(start).Seconds(); d > 0 {
		sample := float64(n) / d
		if p.rate <= 0 {
			p.rate = sample
		} else {
			p.rate += rateAlpha * (sample - p.rate)
		}
	}
	p.lastRecv = now
	s.stats.receivedBytes += int64(n)
	return q
}

// complete records that the caller verified (and, if wrote, wrote) block
// q that p delivered; n is its length. It fails only if recording fails.
func (s *scheduler) complete(p *peerSched, q queued, n int, wrote bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k := range p.taken {
		if p.taken[k].id == q.id {
			p.taken = append(p.taken[:k:k], p.taken[k+1:]...)
			break
		}
	}
	s.dropHolder(q.index, p)
	if s.done[q.index] || !wrote {
		s.stats.duplicates++
		return nil
	}
	if err := s.onDone(q.index); err != nil {
		return err
	}
	s.done[q.index] = true
	p.blocks++
	p.bytes += int64(n)
	s.stats.fetched++
	s.stats.fetchedBytes += int64(n)
	s.stats.doneBytes += int64(n)
	s.remaining--
	if s.remaining == 0 {
		close(s.finished)
	}
	s.notify()
	return nil
}

// fail removes p: its queued blocks go back to the pool. It reports
// whether p had unanswered requests.
func (s *scheduler) fail(p *peerSched) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	p.dead = true
	unanswered := len(p.queue) > 0
	for _, q := range append(p.queue, p.taken...) {
		s.dropHolder(q.index, p)
		if !s.done[q.index] && len(s.holders[q.index]) == 0 {
			s.returned = append(s.returned, q.index)
			s.unasked++
		}
	}
	p.queue, p.taken = nil, nil
	s.notify()
	return unanswered
}

func (s *scheduler) dropHolder(i int, p *peerSched) {
	hs := s.holders[i]
	for k, h := range hs {
		if h == p {
			s.holders[i] = append(hs[:k:k], hs[k+1:]...)
			return
		}
	}
}

func (s *scheduler) snapshot() schedStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

func (s *scheduler) peerStats(p *peerSched) (blocks int, bytes int64, rate float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return p.blocks, p.bytes, p.rate
}

// blocksDone counts verified blocks.
func (s *scheduler) blocksDone() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.done) - s.remaining
}
