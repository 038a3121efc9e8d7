package p2p

import (
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
)

// inboundCounts counts the incoming streams open at once: in all, per
// peer, per IP and per subnet (AddrGroup). Guarded by Transport.mu.
type inboundCounts struct {
	total    int
	perPeer  map[peer.ID]int
	perGroup map[string]int // IP and subnet keys, prefixed to keep them apart
}

func newInboundCounts() inboundCounts {
	return inboundCounts{perPeer: map[peer.ID]int{}, perGroup: map[string]int{}}
}

// inboundSlot is what one incoming stream holds.
type inboundSlot struct {
	peer       peer.ID
	ip, subnet string // keys in perGroup, "" for none
}

func slotOf(p peer.ID, g AddrGroup) inboundSlot {
	s := inboundSlot{peer: p}
	if g.IP != "" {
		s.ip = "ip " + g.IP
	}
	if g.Subnet != "" {
		s.subnet = "net " + g.Subnet
	}
	return s
}

// take counts s if every cap allows it.
func (c *inboundCounts) take(s inboundSlot, cfg Config) bool {
	if c.total >= cfg.MaxInbound || c.perPeer[s.peer] >= cfg.MaxInboundPerPeer ||
		(s.ip != "" && c.perGroup[s.ip] >= cfg.MaxInboundPerIP) ||
		(s.subnet != "" && c.perGroup[s.subnet] >= cfg.MaxInboundPerSubnet) {
		return false
	}
	c.total++
	c.perPeer[s.peer]++
	for _, k := range []string{s.ip, s.subnet} {
		if k != "" {
			c.perGroup[k]++
		}
	}
	return true
}

// give uncounts s.
func (c *inboundCounts) give(s inboundSlot) {
	c.total--
	if c.perPeer[s.peer]--; c.perPeer[s.peer] <= 0 {
		delete(c.perPeer, s.peer)
	}
	for _, k := range []string{s.ip, s.subnet} {
		if k == "" {
			continue
		}
		if c.perGroup[k]--; c.perGroup[k] <= 0 {
			delete(c.perGroup, k)
		}
	}
}

// streamDeadlines paces an incoming stream's reads: the frame length must
// arrive within HeaderTimeout of the stream's start, the body at
// MinReadRate after that; the whole exchange (reply included) ends by
// RequestTimeout.
type streamDeadlines struct {
	s     network.Stream
	cfg   Config
	start time.Time
}

func newStreamDeadlines(s network.Stream, cfg Config, now time.Time) streamDeadlines {
	d := streamDeadlines{s: s, cfg: cfg, start: now}
	_ = s.SetDeadline(now.Add(cfg.RequestTimeout))
	_ = s.SetReadDeadline(now.Add(cfg.HeaderTimeout))
	return d
}

// bodyDeadline is when a body of n bytes, whose length was read at now,
// must have arrived.
func (d streamDeadlines) bodyDeadline(n int, now time.Time) time.Time {
	dl := now.Add(d.cfg.HeaderTimeout + time.Duration(n)*time.Second/time.Duration(d.cfg.MinReadRate))
	if end := d.start.Add(d.cfg.RequestTimeout); dl.After(end) {
		return end
	}
	return dl
}

// frameStarted is called once the frame's length (n bytes) is known.
func (d streamDeadlines) frameStarted(n int) {
	_ = d.s.SetReadDeadline(d.bodyDeadline(n, time.Now()))
}
