package bootstrap

import (
	"context"
	"slices"
	"sync"

	"github.com/libp2p/go-libp2p/core/peer"
)

// maxRelayCandidates bounds the dynamic relay candidates kept in memory.
const maxRelayCandidates = 64

// candidates is autorelay's peer source: static relays first, then
// bootstrap peers, then ring nodes fed at run time (newest first).
type candidates struct {
	self   peer.ID
	fixed  []peer.AddrInfo
	mu     sync.Mutex
	learnt []peer.AddrInfo // newest first, at most maxRelayCandidates
}

func newCandidates(cfg Config) *candidates {
	fixed := append(slices.Clone(cfg.StaticRelays), cfg.BootstrapPeers...)
	return &candidates{fixed: fixed}
}

// add records ring nodes as relay candidates; a peer seen again moves to
// the front with its new addresses.
func (c *candidates) add(ps []peer.AddrInfo) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, p := range ps {
		if p.ID == "" || p.ID == c.self || len(p.Addrs) == 0 {
			continue
		}
		c.learnt = slices.DeleteFunc(c.learnt, func(q peer.AddrInfo) bool { return q.ID == p.ID })
		c.learnt = slices.Insert(c.learnt, 0, peer.AddrInfo{ID: p.ID, Addrs: slices.Clone(p.Addrs)})
		if len(c.learnt) > maxRelayCandidates {
			c.learnt = c.learnt[:maxRelayCandidates]
		}
	}
}

// list returns up to num distinct candidates other than self.
func (c *candidates) list(num int) []peer.AddrInfo {
	c.mu.Lock()
	all := append(slices.Clone(c.fixed), c.learnt...)
	c.mu.Unlock()
	seen := make(map[peer.ID]bool, len(all))
	out := make([]peer.AddrInfo, 0, min(num, len(all)))
	for _, p := range all {
		if len(out) >= num {
			break
		}
		if p.ID == c.self || seen[p.ID] {
			continue
		}
		seen[p.ID] = true
		out = append(out, p)
	}
	return out
}

// source implements autorelay.PeerSource.
func (c *candidates) source(ctx context.Context, num int) <-chan peer.AddrInfo {
	ps := c.list(num)
	ch := make(chan peer.AddrInfo, len(ps))
	for _, p := range ps {
		ch <- p
	}
	close(ch)
	return ch
}
