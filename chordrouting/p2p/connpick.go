package p2p

import (
	"context"
	"io"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	msmux "github.com/multiformats/go-multistream"
)

// This file chooses the connection a ring stream goes on.
//
// libp2p's swarm gives a new stream to the peer's connection with the
// most open streams. A peer that dies without closing its connections
// (kill -9 or a crash under QUIC, which then sends no CONNECTION_CLOSE; a
// pulled cable) leaves them open at this end until the transport's idle
// timeout (30 s for QUIC). When it comes back with the same identity and
// connects again, from a new port, the dead connection still holds the
// requests that were sent into it, so it has the most streams, every new
// request goes there too and gets stuck, and the restarted peer is
// unreachable although it is connected. So, when a peer has more than one
// connection, the transport opens ring streams on the one the peer was
// last heard on: a reply came on it or the peer opened a ring stream on
// it (the connection's handshake proved the peer ID), or it was opened
// after that. And a connection on which a request got nothing back,
// neither a reply nor a reset, within RequestTimeout while the peer was
// heard on another connection since is closed: it is dead, and libp2p's
// other protocols (block transfer, identify) would keep choosing it too.

// connLife remembers when each connection last carried a sign of life.
type connLife struct {
	mu      sync.Mutex
	heard   map[network.Conn]time.Time
	sweepAt int // size at which closed connections are swept out
}

// minSweep is the map size below which closed connections are not swept.
const minSweep = 64

func newConnLife() *connLife {
	return &connLife{heard: make(map[network.Conn]time.Time), sweepAt: minSweep}
}

// heardOn records that the peer showed it is alive on c at now, and
// reports whether c was new to it.
func (l *connLife) heardOn(c network.Conn, now time.Time) (first bool) {
	if c == nil {
		return false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	_, seen := l.heard[c]
	if now.After(l.heard[c]) {
		l.heard[c] = now
	}
	if len(l.heard) >= l.sweepAt {
		for k := range l.heard {
			if k.IsClosed() {
				delete(l.heard, k)
			}
		}
		l.sweepAt = max(minSweep, 2*len(l.heard))
	}
	return !seen
}

// lastSign is when c last showed that its peer lives: heard on it, or
// opened. The caller holds l.mu.
func (l *connLife) lastSign(c network.Conn) time.Time {
	at := c.Stat().Opened
	if h := l.heard[c]; h.After(at) {
		at = h
	}
	return at
}

// pick returns the connection of conns (one peer's) a ring stream should
// go on: a direct one before a relayed (limited) one, then the one with
// the latest sign of life. It returns nil when fewer than two are open,
// and the swarm's own choice (or its dial) applies.
func (l *connLife) pick(conns []network.Conn) network.Conn {
	l.mu.Lock()
	defer l.mu.Unlock()
	var best network.Conn
	var bestAt time.Time
	open := 0
	for _, c := range conns {
		if c.IsClosed() {
			continue
		}
		open++
		at := l.lastSign(c)
		switch {
		case best == nil:
		case c.Stat().Limited != best.Stat().Limited:
			if c.Stat().Limited {
				continue
			}
		case !at.After(bestAt):
			continue
		}
		best, bestAt = c, at
	}
	if open < 2 {
		return nil
	}
	return best
}

// silentSince reports whether c, one of conns (its peer's), has shown no
// sign of life since t while another of them has: then c is dead.
func (l *connLife) silentSince(c network.Conn, conns []network.Conn, t time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.lastSign(c).After(t) {
		return false
	}
	for _, o := range conns {
		if o != c && !o.IsClosed() && l.lastSign(o).After(t) {
			return true
		}
	}
	return false
}

// newStream opens a ring stream to the peer of conns on the connection
// pick chooses, negotiating the protocol lazily (with the first write,
// as the host's NewStream does for a protocol the peer is known to
// speak); nil when pick chooses none or the stream cannot be opened.
func (l *connLife) newStream(ctx context.Context, conns []network.Conn) network.Stream {
	c := l.pick(conns)
	if c == nil {
		return nil
	}
	return streamOn(ctx, c)
}

// streamOn opens a ring stream on c, negotiating the protocol lazily; nil
// when the stream cannot be opened.
func streamOn(ctx context.Context, c network.Conn) network.Stream {
	s, err := c.NewStream(ctx)
	if err != nil {
		return nil
	}
	if err := s.SetProtocol(ProtocolID); err != nil {
		s.Reset()
		return nil
	}
	return &lazyStream{Stream: s, rw: msmux.NewMSSelect(s, ProtocolID)}
}

// lazyStream is a stream whose protocol negotiation rides on its first
// write and read (go-libp2p's host wraps its streams the same way).
type lazyStream struct {
	network.Stream
	rw io.ReadWriteCloser
}

func (s *lazyStream) Read(b []byte) (int, error)  { return s.rw.Read(b) }
func (s *lazyStream) Write(b []byte) (int, error) { return s.rw.Write(b) }

// negotiationWait bounds how long Close waits for the peer's answer to the
// protocol negotiation (a silent peer must not hold Close).
const negotiationWait = 10 * time.Second

func (s *lazyStream) Close() error {
	_ = s.Stream.SetReadDeadline(time.Now().Add(negotiationWait))
	return s.rw.Close()
}

func (s *lazyStream) CloseWrite() error {
	if f, ok := s.rw.(interface{ Flush() error }); ok {
		_ = f.Flush()
	}
	return s.Stream.CloseWrite()
}
