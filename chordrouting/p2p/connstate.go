package p2p

import (
	"context"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	cr "kwsearch/chordrouting"
)

// This file is the Transport's side of chordrouting.ConnState: the core
// asks whether a direct connection to a peer is open before a one-hop
// read, and when none is open to any of the key's holders, and a dial
// costs more than a forward (chordrouting's forwardDialRTTs), it sends the read to a ring neighbour
// it is connected to and asks for connections to every holder meanwhile
// (chordrouting's "Forwarding for members"). What a dial costs, in round
// trips over an open connection, is measured here: over TCP the
// handshake, the security negotiation and the multiplexer, about three;
// over QUIC one; on an in-memory network (the benchmarks' mocknet) none.

// maxPrepares caps the connections Prepare opens at once: a member
// forwards a read, and prepares a connection, for each owner it has none
// to, and a burst of reads into many ranges must not become a burst of
// dials (a read that finds no connection prepared still works: the
// forward answers it, or the direct read dials).
const maxPrepares = 16

// Connected implements chordrouting.ConnState: a direct connection to p is
// open. A relayed (limited) one does not count: a request over it takes
// the relay's path each way, and Prepare would open a direct one.
func (t *Transport) Connected(p cr.Peer) bool {
	pid, err := PeerID(p)
	if err != nil {
		return false
	}
	return t.h.Network().Connectedness(pid) == network.Connected
}

// Prepare implements chordrouting.ConnState: it dials p in a goroutine,
// within RequestTimeout and forcing a direct connection (not a relayed
// one), unless a direct connection is open, a dial to p is already under
// way here, maxPrepares are, or the transport is closed. It sends nothing;
// the next request to p finds the connection (openStream).
func (t *Transport) Prepare(p cr.Peer) {
	pid, err := PeerID(p)
	if err != nil || pid == t.h.ID() || t.Connected(p) {
		return
	}
	t.mu.Lock()
	if t.closed || t.preparing[pid] || len(t.preparing) >= maxPrepares {
		t.mu.Unlock()
		return
	}
	if t.preparing == nil {
		t.preparing = make(map[peer.ID]bool)
	}
	t.preparing[pid] = true
	t.wg.Add(1)
	t.mu.Unlock()
	began, first := t.beginDial(pid) // before any request's dial it may meet
	go func() {
		defer func() {
			t.mu.Lock()
			delete(t.preparing, pid)
			t.mu.Unlock()
			t.wg.Done()
		}()
		ctx, cancel := context.WithTimeout(t.ctx, t.cfg.RequestTimeout)
		defer cancel()
		ctx = network.WithForceDirectDial(ctx, ServiceName+": prepare")
		c, _ := t.h.Network().DialPeer(ctx, pid) // failures are silent: the next request dials again
		t.endDial(pid, c, began, first)
	}()
}

// DialRoundTrips implements chordrouting.ConnState: the smoothed duration
// of this transport's dials that opened a connection (the first of its
// dials in flight to a peer, from its start: endDial) over the smoothed
// round trip of its requests over connections that were open already
// (each an eighth of each new sample, as TCP smooths round trips); 0
// until both have been measured.
func (t *Transport) DialRoundTrips() float64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.dialCost == 0 || t.openRTT == 0 {
		return 0
	}
	return float64(t.dialCost) / float64(t.openRTT)
}

// beginDial records that this transport begins a dial of p now, and
// reports whether it is the only one in flight to p: a second one (a
// request's while Prepare dials, or the other way) joins the first in
// the swarm and returns when it does, having waited for its remainder
// only, so only the first is measured.
func (t *Transport) beginDial(p peer.ID) (time.Time, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.dialing == nil {
		t.dialing = make(map[peer.ID]int)
	}
	t.dialing[p]++
	return time.Now(), t.dialing[p] == 1
}

// endDial records the end of a dial of p begun at began that returned c
// (nil: failed), and folds its duration into the dial cost if measure
// (the first of its dials in flight, begun with no connection to p) and c
// is an outbound direct connection opened since began: not one that was
// open already, one p opened to this node, or a relayed one. (A dial by
// another service on the same host that this one joins is not seen, and
// is measured short; the ring's dials are most of a member's.)
func (t *Transport) endDial(p peer.ID, c network.Conn, began time.Time, measure bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.dialing[p]--; t.dialing[p] <= 0 {
		delete(t.dialing, p)
	}
	if !measure || c == nil {
		return
	}
	if st := c.Stat(); st.Opened.Before(began) || st.Limited || st.Direction != network.DirOutbound {
		return
	}
	smooth(&t.dialCost, time.Since(began))
	t.dials++
}

// answered folds the exchange of request m on c, begun at began, into the
// round trip over open connections, if c was open before it began and m
// is answered at once (not a forward, which waits for the peer's own
// operation).
func (t *Transport) answered(m *cr.Message, c network.Conn, began time.Time) {
	if m.Forward || c == nil || !c.Stat().Opened.Before(began) || c.Stat().Limited {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	smooth(&t.openRTT, time.Since(began))
}

// smooth folds sample d into the smoothed *v: the first sample, then an
// eighth of each.
func smooth(v *time.Duration, d time.Duration) {
	if *v == 0 {
		*v = d
		return
	}
	*v += (d - *v) / 8
}
