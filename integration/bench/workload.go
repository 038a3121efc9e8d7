package main

import (
	"fmt"
	"math/rand"
	"sort"
	"strings"

	"github.com/ipfs/go-cid"
	mh "github.com/multiformats/go-multihash"

	"kwsearch/keyword"
)

// benchFile is one shared file of the workload.
type benchFile struct {
	Name     string
	Keywords []string
	CID      cid.Cid
	Size     int64
}

// search is one search of the workload: a word asked from a host.
type search struct {
	Host int
	Word string
}

// workload is what both systems publish and search, identical for both.
type workload struct {
	Publisher int
	Files     []benchFile
	Words     []string // distinct keywords, sorted
	Searches  []search
}

// newWorkload draws files and searches from rng. Searches come from hosts
// other than the publisher and ask for words that were published.
func newWorkload(rng *rand.Rand, hosts, files, kwPerFile, vocab, searches int) (*workload, error) {
	if hosts < 2 {
		return nil, fmt.Errorf("bench: workload needs 2 hosts, have %d", hosts)
	}
	words := vocabulary(rng, vocab)
	w := &workload{Publisher: rng.Intn(hosts)}
	used := make(map[string]bool)
	for i := 0; i < files; i++ {
		k := kwPerFile - 1 + rng.Intn(3) // mean kwPerFile
		k = max(1, min(k, vocab))
		name := strings.Join(pickDistinct(rng, words, k), " ")
		// The index's own tokenizer decides a name's keywords.
		kws := keyword.Keywords(name, nil)
		for _, kw := range kws {
			used[kw] = true
		}
		sum, err := mh.Sum([]byte(fmt.Sprintf("bench-file-%d-%d", i, rng.Int63())), mh.SHA2_256, -1)
		if err != nil {
			return nil, fmt.Errorf("bench: hashing file %d: %w", i, err)
		}
		w.Files = append(w.Files, benchFile{
			Name:     name,
			Keywords: kws,
			CID:      cid.NewCidV1(cid.Raw, sum),
			Size:     1<<20 + rng.Int63n(9<<20),
		})
	}
	for kw := range used {
		w.Words = append(w.Words, kw)
	}
	sort.Strings(w.Words)
	for i := 0; i < searches; i++ {
		h := rng.Intn(hosts - 1)
		if h >= w.Publisher {
			h++
		}
		w.Searches = append(w.Searches, search{Host: h, Word: w.Words[rng.Intn(len(w.Words))]})
	}
	return w, nil
}

// filesWith is the set of files (by CID key string) whose keywords
// include word.
func (w *workload) filesWith(word string) map[string]bool {
	out := make(map[string]bool)
	for _, f := range w.Files {
		for _, k := range f.Keywords {
			if k == word {
				out[f.CID.KeyString()] = true
			}
		}
	}
	return out
}

// keywordCount is the number of (file, keyword) pairs published.
func (w *workload) keywordCount() int {
	n := 0
	for _, f := range w.Files {
		n += len(f.Keywords)
	}
	return n
}

// vocabulary returns n distinct lowercase words of 4 to 9 letters.
func vocabulary(rng *rand.Rand, n int) []string {
	const cons, vows = "bcdfghjklmnprstvz", "aeiou"
	seen := make(map[string]bool, n)
	out := make([]string, 0, n)
	for len(out) < n {
		var b strings.Builder
		syl := 2 + rng.Intn(3)
		for j := 0; j < syl; j++ {
			b.WriteByte(cons[rng.Intn(len(cons))])
			b.WriteByte(vows[rng.Intn(len(vows))])
			if rng.Intn(3) == 0 {
				b.WriteByte(cons[rng.Intn(len(cons))])
			}
		}
		wd := b.String()
		if !seen[wd] && !keyword.IsStopWord(wd) {
			seen[wd] = true
			out = append(out, wd)
		}
	}
	return out
}

func pickDistinct(rng *rand.Rand, words []string, k int) []string {
	out := make([]string, 0, k)
	seen := make(map[int]bool, k)
	for len(out) < k {
		i := rng.Intn(len(words))
		if !seen[i] {
			seen[i] = true
			out = append(out, words[i])
		}
	}
	return out
}

// kadKeywordCID is the key kad-dht provides for a keyword: the same SHA-256
// of "kw/"+word that names the keyword on our ring, as a raw CIDv1.
func kadKeywordCID(word string) cid.Cid {
	sum, _ := mh.Sum([]byte("kw/"+word), mh.SHA2_256, -1) // SHA2_256 never fails
	return cid.NewCidV1(cid.Raw, sum)
}
