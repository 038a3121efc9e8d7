package node

import (
	"context"
	"encoding/hex"
	"slices"
	"time"

	"kwsearch/api"
	"kwsearch/bootstrap"
	cr "kwsearch/chordrouting"
	"kwsearch/keyword"
)

// backend implements api.Backend for a Node.
type backend struct{ n *Node }

var _ api.Backend = backend{}

// Status reports identity, addresses, mode, reachability and ring state.
func (b backend) Status(context.Context) (api.Status, error) {
	nw := b.n.net
	hs := nw.host.Status()
	st := api.Status{
		PeerID:       nw.host.ID().String(),
		Addrs:        nw.fullAddrs(),
		Mode:         string(hs.Mode),
		Reachability: string(hs.Reachability),
		Peers:        len(nw.host.Network().Peers()),
		Relays:       []string{},
		Version:      b.n.opt.Version,
	}
	if st.Addrs == nil {
		st.Addrs = []string{}
	}
	for _, a := range hs.RelayAddrs {
		st.Relays = append(st.Relays, a.String())
	}
	if hs.Mode == bootstrap.ModeServer {
		st.Ring = ringStatus(nw.ring.state())
	}
	return st, nil
}

func ringStatus(s cr.NodeState) api.Ring {
	r := api.Ring{Records: s.Records}
	if !s.Member {
		return r
	}
	r.ID = hex.EncodeToString(s.Self.ID[:])
	if len(s.Successors) > 0 {
		r.Successor = s.Successors[0].Addr
	}
	if s.Predecessor != nil {
		r.Predecessor = s.Predecessor.Addr
	}
	for _, p := range s.Successors {
		r.Successors = append(r.Successors, api.RingPeer{ID: hex.EncodeToString(p.ID[:]), PeerID: p.Addr})
	}
	for _, p := range s.Fingers {
		r.Fingers = append(r.Fingers, api.RingPeer{ID: hex.EncodeToString(p.ID[:]), PeerID: p.Addr})
	}
	return r
}

// Peers lists connected peers, one entry per peer (its best connection:
// direct before relayed).
func (b backend) Peers(context.Context) ([]api.Peer, error) {
	h := b.n.net.host
	var out []api.Peer
	for _, id := range h.Network().Peers() {
		conns := h.Network().ConnsToPeer(id)
		if len(conns) == 0 {
			continue
		}
		p := api.Peer{PeerID: id.String(), Addr: conns[0].RemoteMultiaddr().String()}
		for _, c := range conns {
			if !bootstrap.IsRelayed(c) {
				p.Addr, p.Direct = c.RemoteMultiaddr().String(), true
				break
			}
		}
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b api.Peer) int {
		if a.PeerID < b.PeerID {
			return -1
		}
		if a.PeerID > b.PeerID {
			return 1
		}
		return 0
	})
	return out, nil
}

func (b backend) Shares(context.Context) ([]api.ShareInfo, error) { return b.n.shares.list() }

func (b backend) Share(ctx context.Context, req api.ShareRequest, emit func(api.ShareEvent)) (api.ShareEvent, error) {
	return b.n.shares.share(ctx, req, emit)
}

func (b backend) Unshare(ctx context.Context, req api.UnshareRequest) (api.UnshareResult, error) {
	return b.n.shares.unshare(ctx, req.CID)
}

// defaultSearchLimit is the number of results when the request names none.
const defaultSearchLimit = 50

func (b backend) Search(ctx context.Context, req api.SearchRequest) ([]api.SearchHit, error) {
	words := keyword.QueryWords(req.Words...)
	if len(words) == 0 {
		return nil, api.BadRequest("no searchable word in %q (words need at least 2 letters or digits)", req.Words)
	}
	limit := req.Limit
	if limit == 0 {
		limit = defaultSearchLimit
	}
	b.n.metrics.searches.Inc()
	start := time.Now()
	hits, err := b.n.net.index.Search(ctx, words, limit)
	b.n.metrics.observe("search", start, -1, err)
	if err != nil {
		return nil, api.Unavailable("searching: %v", err)
	}
	if len(hits) > limit {
		hits = hits[:limit]
	}
	return hits, nil
}

func (b backend) Get(ctx context.Context, req api.GetRequest, emit func(api.GetEvent)) (api.GetEvent, error) {
	return b.n.gets.get(ctx, req, emit)
}

func (b backend) Downloads(context.Context) ([]api.Download, error) { return b.n.gets.list() }
