package keyword

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"

	"kwsearch/chordrouting"
)

// Ring is what the index needs from the ring; *chordrouting.Runner (and
// so the p2p Ring's Runner) provides it.
type Ring interface {
	Put(ctx context.Context, items []chordrouting.Item) (chordrouting.PutResult, error)
	Get(ctx context.Context, key chordrouting.ID, query []byte, limit int) (chordrouting.GetResult, error)
}

// Config tunes publishing and searching.
type Config struct {
	// TTL is how long a published record lives. 24h (SPEC §3): a
	// publisher that vanishes stops being found within a day.
	TTL time.Duration
	// RepublishInterval is how often the daemon should call Republish.
	// 12h: half the TTL, so one missed republish loses nothing.
	RepublishInterval time.Duration
	// FetchLimit is how many matching records a search or provider lookup
	// asks the owner for. 100: the ring's own cap on one Get reply
	// (chordrouting.Config.MaxGetValues) is 100, and a multi-word query is
	// filtered at the owner, so 100 matching records are a full page of
	// distinct files in the usual case. Raise both together.
	FetchLimit int
	// DefaultPageSize is the page size when Search is given limit 0. 50.
	DefaultPageSize int
	// MaxPageSize caps the page size a caller may ask for. 500.
	MaxPageSize int
	// PutBatchBytes caps the record bytes of one Runner.Put call. 3 MiB:
	// the core groups a Put into one store message per owner, and even if
	// every record of a call fell on one owner its message stays under
	// the transport's 4 MiB frame cap. A batch of 1,000 files of ~5
	// keywords (about 2 MB) is one call.
	PutBatchBytes int
	// Validator bounds the records a search accepts (the same bounds ring
	// nodes apply when storing).
	Validator ValidatorConfig
}

// DefaultConfig returns the configuration for the public network.
func DefaultConfig() Config {
	return Config{
		TTL:               24 * time.Hour,
		RepublishInterval: 12 * time.Hour,
		FetchLimit:        100,
		DefaultPageSize:   50,
		MaxPageSize:       500,
		PutBatchBytes:     3 << 20,
		Validator:         DefaultValidatorConfig(),
	}
}

// Validate reports a configuration error.
func (c Config) Validate() error {
	if err := c.Validator.Validate(); err != nil {
		return err
	}
	switch {
	case c.TTL <= 0 || c.TTL > c.Validator.MaxTTL:
		return fmt.Errorf("keyword: TTL %v must be in (0, Validator.MaxTTL %v]", c.TTL, c.Validator.MaxTTL)
	case c.RepublishInterval <= 0 || c.RepublishInterval >= c.TTL:
		return fmt.Errorf("keyword: RepublishInterval %v must be in (0, TTL %v)", c.RepublishInterval, c.TTL)
	case c.FetchLimit <= 0 || c.DefaultPageSize <= 0 || c.MaxPageSize < c.DefaultPageSize:
		return errors.New("keyword: need FetchLimit > 0 and 0 < DefaultPageSize <= MaxPageSize")
	case c.PutBatchBytes < MaxRecordSize:
		return fmt.Errorf("keyword: PutBatchBytes %d is below one record (%d)", c.PutBatchBytes, MaxRecordSize)
	}
	return nil
}

// Index publishes this node's files to the ring and searches it. It is
// safe for concurrent use (each call is independent).
type Index struct {
	ring  Ring
	key   crypto.PrivKey
	self  peer.ID
	addrs func() []ma.Multiaddr
	clock chordrouting.Clock
	cfg   Config
	val   *Validator
}

// New returns an index that signs with key (the host's identity),
// advertises the addresses addrs returns at publish time (the host's
// current addresses, relay addresses included), and reads time from clock.
func New(ring Ring, key crypto.PrivKey, addrs func() []ma.Multiaddr, clock chordrouting.Clock, cfg Config) (*Index, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	self, err := peer.IDFromPrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("keyword: identity: %w", err)
	}
	val, err := NewValidator(cfg.Validator)
	if err != nil {
		return nil, err
	}
	return &Index{ring: ring, key: key, self: self, addrs: addrs, clock: clock, cfg: cfg, val: val}, nil
}

// Validator returns the validator ring nodes of this network use; the
// daemon puts it in chordrouting.Config.Validator.
func (x *Index) Validator() *Validator { return x.val }

// Config returns the index's configuration (RepublishInterval is the
// daemon's republish period).
func (x *Index) Config() Config { return x.cfg }

// FileEntry is one shared file.
type FileEntry struct {
	CID  cid.Cid
	Name string
	Size uint64
	// Keywords are extra keywords from the user, as typed; they are
	// normalized like names.
	Keywords []string
}

// Keywords returns the keywords f is published under.
func (f FileEntry) keywords() []string { return Keywords(f.Name, f.Keywords) }

// PublishResult reports what a Publish, Republish or Unshare did.
type PublishResult struct {
	Files   int
	Records int // records built and sent
	Stored  int // records owners acknowledged
	RPCs    int // store requests sent (one per owner per Put call)
	Lookups int
	Calls   int // Runner.Put calls (batches)
	// Keywords holds each file's keywords, in the order of the files.
	Keywords [][]string
}

// Publish signs and stores, for every file, one keyword record per
// keyword and one provider record, all in as few Runner.Put calls as
// PutBatchBytes allows (one for a batch of 1,000 ordinary files); the
// core sends one store RPC per owner node per call.
func (x *Index) Publish(ctx context.Context, files []FileEntry) (PublishResult, error) {
	now := x.clock.Now()
	res := PublishResult{Files: len(files)}
	var items []chordrouting.Item
	for _, f := range files {
		if !f.CID.Defined() || f.Name == "" {
			return res, fmt.Errorf("keyword: publishing %q: a file needs a CID and a name", f.Name)
		}
		kws := f.keywords()
		res.Keywords = append(res.Keywords, kws)
		recs := x.fileRecords(f, kws, now)
		for _, r := range recs {
			it, err := x.seal(r)
			if err != nil {
				return res, fmt.Errorf("keyword: publishing %q: %w", f.Name, err)
			}
			items = append(items, it)
		}
	}
	return x.put(ctx, items, res)
}

// Republish publishes the files again with a new publish time, replacing
// the records everywhere and pushing their expiry forward. The daemon
// calls it every Config.RepublishInterval with all its shared files.
func (x *Index) Republish(ctx context.Context, files []FileEntry) (PublishResult, error) {
	return x.Publish(ctx, files)
}

// Unshare withdraws files early: a signed removal replaces each of the
// file's keyword records and its provider record (the removal lives for a
// TTL, so stale replicas cannot bring a record back).
func (x *Index) Unshare(ctx context.Context, files []FileEntry) (PublishResult, error) {
	now := x.clock.Now()
	res := PublishResult{Files: len(files)}
	var items []chordrouting.Item
	for _, f := range files {
		kws := f.keywords()
		res.Keywords = append(res.Keywords, kws)
		for _, k := range append(kws, "") {
			it, err := x.seal(&Record{Kind: KindRemoval, Publisher: x.self, CID: f.CID, Keyword: k,
				Published: now, Expires: now.Add(x.cfg.TTL)})
			if err != nil {
				return res, fmt.Errorf("keyword: unsharing %s: %w", f.CID, err)
			}
			items = append(items, it)
		}
	}
	return x.put(ctx, items, res)
}

// fileRecords builds a file's keyword and provider records.
func (x *Index) fileRecords(f FileEntry, kws []string, now time.Time) []*Record {
	addrs := x.publishAddrs()
	name := strings.ToValidUTF8(f.Name, "\uFFFD")
	if len(name) > MaxNameBytes {
		name = truncateUTF8(name, MaxNameBytes)
	}
	base := Record{Publisher: x.self, CID: f.CID, Name: name, Size: f.Size, Addrs: addrs,
		Published: now, Expires: now.Add(x.cfg.TTL)}
	recs := make([]*Record, 0, len(kws)+1)
	for _, k := range kws {
		r := base
		r.Kind, r.Keyword, r.Keywords = KindKeyword, k, kws
		recs = append(recs, &r)
	}
	p := base
	p.Kind = KindProvider
	return append(recs, &p)
}

// publishAddrs returns the addresses to put in records, within bounds.
func (x *Index) publishAddrs() []ma.Multiaddr {
	if x.addrs == nil {
		return nil
	}
	var out []ma.Multiaddr
	for _, a := range x.addrs() {
		if len(out) < MaxAddrs && len(a.Bytes()) <= MaxAddrBytes {
			out = append(out, a)
		}
	}
	return out
}

func (x *Index) seal(r *Record) (chordrouting.Item, error) {
	b, err := Seal(r, x.key)
	if err != nil {
		return chordrouting.Item{}, err
	}
	return chordrouting.Item{Key: r.Key(), Value: b}, nil
}

// put stores items in Put calls of at most PutBatchBytes.
func (x *Index) put(ctx context.Context, items []chordrouting.Item, res PublishResult) (PublishResult, error) {
	res.Records = len(items)
	for len(items) > 0 {
		n, size := 0, 0
		for n < len(items) && (n == 0 || size+len(items[n].Value) <= x.cfg.PutBatchBytes) {
			size += len(items[n].Value)
			n++
		}
		pr, err := x.ring.Put(ctx, items[:n])
		res.Calls++
		res.Stored += pr.Stored
		res.RPCs += pr.RPCs
		res.Lookups += pr.Lookups
		if err == nil {
			err = pr.Err
		}
		if err != nil {
			return res, fmt.Errorf("keyword: storing %d records: %w", n, err)
		}
		items = items[n:]
	}
	return res, nil
}

// verify opens a value from the ring and checks it answers q under key;
// forged, altered, expired and non-matching values are refused.
func (x *Index) verify(key chordrouting.ID, q Query, value []byte, now time.Time) (*Record, error) {
	r, err := x.val.open(key, value, now)
	if err != nil {
		return nil, err
	}
	if !q.Match(r) {
		return nil, errors.New("keyword: record does not match the query")
	}
	return r, nil
}
