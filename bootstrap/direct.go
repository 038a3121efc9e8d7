package bootstrap

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/libp2p/go-libp2p/p2p/net/swarm"
	"github.com/libp2p/go-libp2p/p2p/protocol/ping"
	msmux "github.com/multiformats/go-multistream"
)

// ErrNoDirect means no direct connection to a peer could be made: it is
// reachable only through a relay, and hole punching failed.
var ErrNoDirect = errors.New("bootstrap: no direct connection")

// DirectConfig bounds DirectConnect.
type DirectConfig struct {
	// Attempts is how many relayed dials (each one starting a hole punch
	// on the far side) are tried.
	Attempts int
	// PerAttempt is how long one attempt waits for the direct connection.
	PerAttempt time.Duration
	// Pause is the wait between attempts.
	Pause time.Duration
	// Liveness, when positive, bounds a ping over each existing direct
	// connection, on that connection, before one is returned: one that
	// echoed is returned, those that do not answer in time are closed,
	// and if every one was closed a fresh one is made. A ping that could
	// not be run (its stream refused here by a resource limit, reset, or
	// refused by the peer) proves nothing: such a connection is neither
	// closed nor returned while one that echoed exists. 0 returns an
	// existing connection unchecked.
	Liveness time.Duration
}

// DefaultDirectConfig returns the settings a download uses.
func DefaultDirectConfig() DirectConfig {
	return DirectConfig{
		// libp2p measured 97.6% of successful punches on the first attempt
		// (Trautwein et al., 2025); three give the rest a chance.
		Attempts: 3,
		// One DCUtR round takes an RTT plus up to three punch tries; 10 s
		// covers slow paths. Punches in our lab take 15-230 ms.
		PerAttempt: 10 * time.Second,
		// A short pause lets a NAT mapping that was just refused expire.
		Pause: 2 * time.Second,
		// A provider that restarted (or moved networks) leaves a QUIC
		// connection behind that looks open until its idle timeout
		// (30 s); a download over it stalls for its block timeout (a
		// minute). One round trip proves the connection; 5 s is far
		// above any round trip a download could use.
		Liveness: 5 * time.Second,
	}
}

// Validate reports the first inconsistent field.
func (c DirectConfig) Validate() error {
	if c.Attempts < 1 || c.PerAttempt <= 0 || c.Pause < 0 || c.Liveness < 0 {
		return fmt.Errorf("bootstrap: direct config: Attempts %d must be at least 1, PerAttempt %v positive, Pause %v and Liveness %v not negative", c.Attempts, c.PerAttempt, c.Pause, c.Liveness)
	}
	return nil
}

// DirectConnect returns a direct (not relayed) connection to the peer,
// making one if needed. A peer with a public address is dialed directly;
// a peer known only by relay addresses is dialed through its relay, which
// makes the peer start a hole punch (DCUtR) towards us; if no direct
// connection appears within cfg.PerAttempt, the relayed connection is
// closed (so the next dial starts a fresh punch) and the attempt repeated.
// After cfg.Attempts it fails with an error wrapping ErrNoDirect.
func DirectConnect(ctx context.Context, h host.Host, info peer.AddrInfo, cfg DirectConfig) (network.Conn, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	direct := make(chan network.Conn, 1)
	nb := &network.NotifyBundle{ConnectedF: func(_ network.Network, c network.Conn) {
		if c.RemotePeer() == info.ID && !IsRelayed(c) {
			select {
			case direct <- c:
			default:
			}
		}
	}}
	h.Network().Notify(nb)
	defer h.Network().StopNotify(nb)

	var lastErr error
	for attempt := 1; attempt <= cfg.Attempts; attempt++ {
		c, closed := liveDirect(ctx, h, info.ID, cfg.Liveness)
		if ctx.Err() != nil {
			return nil, fmt.Errorf("bootstrap: connecting directly to %s: %w", info.ID, ctx.Err())
		}
		if c != nil {
			return c, nil
		}
		if closed {
			// Every direct connection was silent. Dial afresh below, with
			// every connection to the peer closed: a relayed one left
			// open would be reused by the dial, and no new hole punch
			// would start.
			_ = h.Network().ClosePeer(info.ID)
			clearDialBackoff(h, info.ID)
		}
		c, err := directAttempt(ctx, h, info, cfg.PerAttempt, direct)
		if c != nil {
			return c, nil
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("bootstrap: connecting directly to %s: %w", info.ID, ctx.Err())
		}
		lastErr = err
		closeRelayed(h, info.ID)
		clearDialBackoff(h, info.ID)
		if attempt < cfg.Attempts {
			select {
			case <-ctx.Done():
				return nil, fmt.Errorf("bootstrap: connecting directly to %s: %w", info.ID, ctx.Err())
			case <-time.After(cfg.Pause):
			}
		}
	}
	return nil, fmt.Errorf("%w to %s after %d hole-punching attempts (%v); the peer is reachable only through a relay, likely both sides are behind NATs that change ports (symmetric NAT): %v",
		ErrNoDirect, info.ID, cfg.Attempts, cfg.PerAttempt, lastErr)
}

// directAttempt dials (maybe through a relay) and waits for a direct
// connection.
func directAttempt(ctx context.Context, h host.Host, info peer.AddrInfo, wait time.Duration, direct <-chan network.Conn) (network.Conn, error) {
	actx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	if err := h.Connect(actx, info); err != nil {
		return nil, fmt.Errorf("dial: %w", err)
	}
	if c := directConn(h, info.ID); c != nil {
		return c, nil
	}
	select {
	case c := <-direct:
		return c, nil
	case <-actx.Done():
		return nil, errors.New("only a relayed connection")
	}
}

// directConns returns the open direct connections to p, oldest first.
func directConns(h host.Host, p peer.ID) []network.Conn {
	var out []network.Conn
	for _, c := range h.Network().ConnsToPeer(p) {
		if !IsRelayed(c) && !c.IsClosed() {
			out = append(out, c)
		}
	}
	return out
}

// directConn returns an open direct connection to p, or nil.
func directConn(h host.Host, p peer.ID) network.Conn {
	if cs := directConns(h, p); len(cs) > 0 {
		return cs[0]
	}
	return nil
}

// liveDirect returns a direct connection to p that is not known dead, or
// nil: one that echoed a ping within d if any did, else one whose ping
// could not tell (unknown: refused here, reset; as unchecked as with
// d <= 0), never one that stayed silent; closed reports whether it closed
// silent ones (judge). d <= 0 returns an open direct connection
// unchecked.
func liveDirect(ctx context.Context, h host.Host, p peer.ID, d time.Duration) (live network.Conn, closed bool) {
	conns := directConns(h, p)
	if d <= 0 || len(conns) == 0 {
		return directConn(h, p), false
	}
	return judge(ctx, conns, d, probe)
}

// verdict is what one ping over a connection showed.
type verdict int

const (
	// unknown: neither an echo nor a timeout. A ping stream refused here
	// (NewStream, SetProtocol, SetService: libp2p's resource manager
	// allows 3 outbound ping streams per peer, and two downloads from one
	// provider ping its connections at once), a reset, a refusal of the
	// protocol, a ping ctx cut short: none proves the connection either
	// way.
	unknown verdict = iota
	// echoed: the peer echoed the ping over this connection.
	echoed
	// silent: no answer within the bound, or the connection closed.
	silent
)

// judge pings each connection (oldest first) at once, each on a stream of
// its own: the host's ping would go over the connection the swarm picks,
// which is not necessarily the one returned when a provider that
// restarted left a dead connection beside its new one. At once, not one
// at a time: a dead connection costs d once, and a per-peer turn would not
// keep out the other users of the ping service's per-peer limit anyway;
// a ping that limit refuses is unknown. It returns the newest connection
// that echoed, else the newest unknown one (as unchecked as with d <= 0:
// nothing better exists), else nil. Silent ones are closed, so that no
// later stream (blockxfer opens its streams through the host) lands on
// them; echoed and unknown ones are left alone.
func judge(ctx context.Context, conns []network.Conn, d time.Duration, ping func(context.Context, network.Conn, time.Duration) verdict) (live network.Conn, closed bool) {
	verdicts := make([]verdict, len(conns))
	var wg sync.WaitGroup
	for i, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			verdicts[i] = ping(ctx, c, d)
		}()
	}
	wg.Wait()
	var unsure network.Conn
	for i, c := range conns {
		switch verdicts[i] {
		case silent:
			_ = c.Close()
			closed = true
		case echoed:
			live = c
		default:
			unsure = c
		}
	}
	if live == nil {
		live = unsure
	}
	return live, closed
}

// probe pings over c within d. Only a ping that ran out of d (ctx still
// running) or a connection that closed meanwhile is silent; only the
// peer's echo is echoed.
func probe(ctx context.Context, c network.Conn, d time.Duration) verdict {
	pctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	err := pingOn(pctx, c)
	switch {
	case err == nil:
		return echoed
	case c.IsClosed(), ctx.Err() == nil && pctx.Err() != nil:
		return silent
	}
	return unknown
}

// pingOn runs libp2p's ping protocol (ping.ID: the peer echoes 32 random
// bytes) once, on a new stream of connection c, within ctx.
func pingOn(ctx context.Context, c network.Conn) error {
	s, err := c.NewStream(ctx)
	if err != nil {
		return err
	}
	defer s.Reset() // one round trip per stream; nothing to close gracefully
	// ctx's end resets the stream (no stream deadline: one could fire
	// before ctx reports its end, and the ping not count as timed out).
	stop := context.AfterFunc(ctx, func() { s.Reset() })
	defer stop()
	if err := s.SetProtocol(ping.ID); err != nil {
		return err
	}
	if err := s.Scope().SetService(ping.ServiceName); err != nil {
		return err
	}
	if err := msmux.SelectProtoOrFail(protocol.ID(ping.ID), s); err != nil {
		return err
	}
	out := make([]byte, ping.PingSize)
	if _, err := rand.Read(out); err != nil {
		return err
	}
	if _, err := s.Write(out); err != nil {
		return err
	}
	in := make([]byte, ping.PingSize)
	if _, err := io.ReadFull(s, in); err != nil {
		return err
	}
	if !bytes.Equal(in, out) {
		return errors.New("bootstrap: ping answered with other bytes")
	}
	return nil
}

// closeRelayed closes the relayed connections to p.
func closeRelayed(h host.Host, p peer.ID) {
	for _, c := range h.Network().ConnsToPeer(p) {
		if IsRelayed(c) {
			c.Close()
		}
	}
}

// clearDialBackoff forgets the swarm's failed dials to p: DirectConnect
// paces its own attempts, and the swarm's back-off would fail them at once.
func clearDialBackoff(h host.Host, p peer.ID) {
	if s, ok := h.Network().(*swarm.Swarm); ok {
		s.Backoff().Clear(p)
	}
}
