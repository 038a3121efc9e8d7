package node

import (
	"context"
	"fmt"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/peerstore"
	ma "github.com/multiformats/go-multiaddr"

	"kwsearch/api"
	"kwsearch/keyword"
)

// keywordIndex adapts *keyword.Index to recordIndex.
type keywordIndex struct {
	x       *keyword.Index
	nw      *network
	metrics *metrics
}

func newKeywordIndex(nw *network) (*keywordIndex, error) {
	cfg := keyword.DefaultConfig()
	cfg.TTL = nw.n.cfg.RecordTTL.D()
	cfg.RepublishInterval = nw.n.cfg.Republish.D()
	x, err := keyword.New(nw.ring.runner, nw.n.opt.Repo.Key, nw.publishAddrs, wallClock{}, cfg)
	if err != nil {
		return nil, fmt.Errorf("node: %w", err)
	}
	return &keywordIndex{x: x, nw: nw, metrics: nw.n.metrics}, nil
}

// publishAddrs are the addresses put in records: the host's current ones,
// relay addresses included.
func (nw *network) publishAddrs() []ma.Multiaddr { return nw.host.Addrs() }

func entries(files []pubFile) ([]keyword.FileEntry, error) {
	out := make([]keyword.FileEntry, 0, len(files))
	for _, f := range files {
		c, err := cid.Decode(f.CID)
		if err != nil {
			return nil, fmt.Errorf("node: stored share has a bad CID %q: %w", f.CID, err)
		}
		out = append(out, keyword.FileEntry{CID: c, Name: f.Name, Size: uint64(max(f.Size, 0)), Keywords: f.Keywords})
	}
	return out, nil
}

func (k *keywordIndex) Publish(ctx context.Context, files []pubFile) error {
	es, err := entries(files)
	if err != nil {
		return err
	}
	start := time.Now()
	_, err = k.x.Publish(ctx, es)
	k.metrics.observe("publish", start, -1, err)
	return err
}

func (k *keywordIndex) Withdraw(ctx context.Context, f pubFile) error {
	es, err := entries([]pubFile{f})
	if err != nil {
		return err
	}
	start := time.Now()
	_, err = k.x.Unshare(ctx, es)
	k.metrics.observe("unshare", start, -1, err)
	return err
}

func (k *keywordIndex) Search(ctx context.Context, words []string, limit int) ([]api.SearchHit, error) {
	start := time.Now()
	res, err := k.x.Search(ctx, words, limit, 0)
	k.metrics.observe("search_ring", start, res.Hops, err)
	if err != nil {
		return nil, err
	}
	hits := make([]api.SearchHit, 0, len(res.Results))
	for _, r := range res.Results {
		h := api.SearchHit{CID: r.CID.String(), Name: r.Name, Size: int64(r.Size), Score: r.Score, Providers: []string{}}
		for _, p := range r.Providers {
			h.Providers = append(h.Providers, p.ID.String())
			k.learn(p)
		}
		hits = append(hits, h)
	}
	return hits, nil
}

// learn keeps a provider's published addresses for a later download.
func (k *keywordIndex) learn(p peer.AddrInfo) {
	if p.ID != k.nw.host.ID() && len(p.Addrs) > 0 {
		k.nw.host.Peerstore().AddAddrs(p.ID, p.Addrs, peerstore.TempAddrTTL)
	}
}

func (k *keywordIndex) Providers(ctx context.Context, c string) ([]peer.AddrInfo, string, int64, error) {
	id, err := cid.Decode(c)
	if err != nil {
		return nil, "", 0, api.BadRequest("%q is not a valid CID: %v", c, err)
	}
	start := time.Now()
	ps, err := k.x.Providers(ctx, id)
	k.metrics.observe("providers", start, -1, err)
	if err != nil {
		return nil, "", 0, err
	}
	var (
		out  []peer.AddrInfo
		name string
		size int64
	)
	for _, p := range ps {
		if name == "" && p.Name != "" {
			name, size = p.Name, int64(p.Size)
		}
		k.learn(p.AddrInfo)
		out = append(out, p.AddrInfo)
	}
	return out, name, size, nil
}
