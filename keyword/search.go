package keyword

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/peer"

	"kwsearch/chordrouting"
)

// ErrNoWords is returned for a search with no usable word.
var ErrNoWords = errors.New("keyword: search has no words")

// Result is one file found by a search: the records of every publisher of
// one CID, grouped.
type Result struct {
	CID  cid.Cid
	Name string // the name most providers give it (the latest on a tie)
	Size uint64
	// Keywords are those of the chosen name's record.
	Keywords []string
	// Providers are the distinct publishers with an unexpired record,
	// most recently published first, with the addresses they published.
	Providers []peer.AddrInfo
	// Published is the latest publish time among the providers.
	Published time.Time
	// Exact is false when the last search word matched only as a prefix.
	Exact bool
	Score float64
}

// SearchResult is one page of a search.
type SearchResult struct {
	Words   []string // the normalized search words
	Results []Result // this page, best first
	// Total counts the distinct files matching (over all pages), among
	// the FetchLimit records the owner returned.
	Total int
	// Word is the keyword whose owner answered; From that owner.
	Word string
	From chordrouting.Peer
	Hops int
	// Refused counts records dropped because they were forged, altered,
	// expired or did not match: a non-zero value means From misbehaves
	// (or clocks disagree).
	Refused int
}

// Search finds files whose keywords contain every search word (the last
// word may match as a prefix of a keyword, see Query.PrefixLast). words
// are what the user typed; they are normalized with QueryWords. One Get
// goes to the owner of the routing word (see routeOrder) and carries all
// words as the query; if it fails, the next word's owner is asked. The
// matching records are verified, grouped by CID, ranked (see rank) and
// the page [offset, offset+limit) is returned with the total count.
func (x *Index) Search(ctx context.Context, words []string, limit, offset int) (SearchResult, error) {
	qw := QueryWords(words...)
	res := SearchResult{Words: qw}
	if len(qw) == 0 {
		return res, ErrNoWords
	}
	if limit <= 0 {
		limit = x.cfg.DefaultPageSize
	}
	limit = min(limit, x.cfg.MaxPageSize)
	offset = max(offset, 0)
	q := Query{Kind: KindKeyword, Words: qw, PrefixLast: true}
	var errs []error
	for _, w := range routeOrder(qw) {
		key := chordrouting.KeywordKey(w)
		gr, err := x.ring.Get(ctx, key, q.Encode(), x.cfg.FetchLimit)
		if err == nil {
			err = gr.Err
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("owner of %q: %w", w, err))
			if ctx.Err() != nil {
				break
			}
			continue
		}
		res.Word, res.From, res.Hops = w, gr.From, gr.Hops
		groups := x.group(key, q, gr.Values, &res.Refused)
		res.Total = len(groups)
		if offset < len(groups) {
			res.Results = groups[offset:min(len(groups), offset+limit)]
		}
		return res, nil
	}
	return res, fmt.Errorf("keyword: search %q: %w", qw, errors.Join(errs...))
}

// routeOrder is the order in which the owners of the words are asked:
// longest first (a long word is rarer, so its owner holds fewer records
// and is less loaded, as eMule's Kad does), but the last word, which may
// match as a prefix, only after the others, since its own key holds only
// its exact matches.
func routeOrder(words []string) []string {
	order := slices.Clone(words)
	last := len(order) - 1
	head := order[:last]
	slices.SortStableFunc(head, func(a, b string) int {
		return cmp.Compare(utf8.RuneCountInString(b), utf8.RuneCountInString(a))
	})
	return order
}

// group verifies the records, groups them by CID and ranks the groups.
func (x *Index) group(key chordrouting.ID, q Query, values [][]byte, refused *int) []Result {
	now := x.clock.Now()
	byCID := make(map[string][]*Record)
	var order []string
	for _, v := range values {
		r, err := x.verify(key, q, v, now)
		if err != nil {
			*refused++
			continue
		}
		k := string(r.CID.Bytes())
		if _, ok := byCID[k]; !ok {
			order = append(order, k)
		}
		byCID[k] = append(byCID[k], r)
	}
	results := make([]Result, 0, len(order))
	for _, k := range order {
		results = append(results, x.result(q, byCID[k], now))
	}
	slices.SortStableFunc(results, func(a, b Result) int {
		if c := cmp.Compare(b.Score, a.Score); c != 0 {
			return c
		}
		if c := cmp.Compare(a.Name, b.Name); c != 0 {
			return c
		}
		return cmp.Compare(a.CID.KeyString(), b.CID.KeyString())
	})
	return results
}

// result builds one file's entry from its records (one CID, any number of
// publishers, possibly several records of one publisher from replicas in
// different versions: the latest wins).
func (x *Index) result(q Query, recs []*Record, now time.Time) Result {
	slices.SortStableFunc(recs, func(a, b *Record) int { return b.Published.Compare(a.Published) })
	res := Result{CID: recs[0].CID, Published: recs[0].Published}
	seen := make(map[peer.ID]bool)
	names := make(map[string]int)
	var best *Record
	for _, r := range recs {
		if seen[r.Publisher] {
			continue
		}
		seen[r.Publisher] = true
		res.Providers = append(res.Providers, r.AddrInfo())
		names[r.Name]++
		if best == nil || names[r.Name] > names[best.Name] {
			best = r
		}
	}
	res.Name, res.Size, res.Keywords = best.Name, best.Size, best.Keywords
	res.Exact = exactMatch(q, best.Keywords)
	res.Score = x.rank(res, now)
	return res
}

func exactMatch(q Query, keywords []string) bool {
	for _, w := range q.Words {
		if !hasKeyword(keywords, w, false) {
			return false
		}
	}
	return true
}

// rank scores a result; higher is better. Every result contains all the
// words (the AND filter), so the score orders by, in decreasing weight:
// whether every word matched exactly (not only the last as a prefix): +2;
// the number of distinct providers with a live (unexpired) record,
// log-scaled so that popularity helps without drowning everything else:
// log2(1+providers); and recency of the latest publish, from 1 (now) to 0
// (a TTL ago): a file republished recently is more likely online.
func (x *Index) rank(r Result, now time.Time) float64 {
	score := math.Log2(1 + float64(len(r.Providers)))
	if r.Exact {
		score += 2
	}
	age := now.Sub(r.Published)
	score += max(0, 1-float64(age)/float64(x.cfg.TTL))
	return score
}

// Provider is one publisher of a file, from its provider record.
type Provider struct {
	peer.AddrInfo
	Name      string // optional in provider records
	Size      uint64
	Published time.Time
	Expires   time.Time
}

// Providers returns every publisher of c with an unexpired provider
// record (one entry per publisher, the latest record), most recently
// published first.
func (x *Index) Providers(ctx context.Context, c cid.Cid) ([]Provider, error) {
	key := chordrouting.ContentKey(c.Bytes())
	q := Query{Kind: KindProvider}
	gr, err := x.ring.Get(ctx, key, q.Encode(), x.cfg.FetchLimit)
	if err == nil {
		err = gr.Err
	}
	if err != nil {
		return nil, fmt.Errorf("keyword: providers of %s: %w", c, err)
	}
	now := x.clock.Now()
	var recs []*Record
	for _, v := range gr.Values {
		if r, err := x.verify(key, q, v, now); err == nil && r.CID.Equals(c) {
			recs = append(recs, r)
		}
	}
	slices.SortStableFunc(recs, func(a, b *Record) int { return b.Published.Compare(a.Published) })
	seen := make(map[peer.ID]bool)
	var out []Provider
	for _, r := range recs {
		if !seen[r.Publisher] {
			seen[r.Publisher] = true
			out = append(out, Provider{AddrInfo: r.AddrInfo(), Name: r.Name, Size: r.Size,
				Published: r.Published, Expires: r.Expires})
		}
	}
	return out, nil
}
