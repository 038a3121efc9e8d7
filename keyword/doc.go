// Package keyword turns file names into keywords, signs keyword and
// provider records, and publishes and searches them on the chordrouting
// ring.
//
// # Keywords (tokenize.go)
//
// A name becomes keywords by NFKC, Unicode case folding and NFKC again,
// splitting on anything that is not a letter, digit or combining mark,
// dropping words under 2 runes, cutting words at MaxWordRunes, dropping
// stop words (the, and, of, ... and common file extensions such as mp3,
// mkv, pdf) and deduplicating, at most MaxKeywords per file (name words
// first, then the user's extra keywords, normalized the same way). A
// query is normalized the same way, but its stop words are kept when they
// are all the user typed.
//
// Choices beyond SPEC.md §3, and why:
//
//   - Han and kana runs (no spaces between words) are cut into overlapping
//     bigrams, as CJK search engines index them; a query's CJK run is cut
//     the same way, so a search for a CJK word found inside a name
//     matches. A run of one ideograph or kana is kept as a one-rune word,
//     since one ideograph is often a word. Hangul is written with spaces
//     and is split like Latin.
//   - A Latin, Greek or Cyrillic word with diacritics is also published
//     without them ("beyoncé" and "beyonce"), so a query typed without
//     accents finds it.
//
// # Records (record.go, validate.go, query.go)
//
// Records are libp2p signed envelopes (domain RecordDomain, payload type
// "/kwsearch/record/1", payload schema in record.go) signed with the
// publisher's host key. A keyword record lives under KeywordKey(keyword)
// and carries the file's CID, name, size, all its keywords, the
// publisher's peer ID and addresses (relay addresses included), publish
// time and expiry. A provider record lives under ContentKey(CID). A
// removal (KindRemoval) is a signed withdrawal of one of those.
//
// Validator is the ring's chordrouting.Validator. It accepts a value only
// if it is at most MaxRecordSize bytes, the envelope's signature verifies,
// its signer is the publisher the record names, the record is well formed
// (known kind, normalized keywords, the key's keyword among them, bounded
// fields), it belongs under the key it is stored under, it has not
// expired, it is not dated more than MaxClockSkew ahead, and it lives at
// most MaxTTL. Identity is publisher/CID, so a republish (a later publish
// time, the Version) replaces a record and a removal deletes it; an older
// replayed record is ignored by the store. Because replicas and handoffs
// carry the envelope unchanged, no node that holds a record can forge or
// alter it, and the searcher checks every record again.
//
// Match applies a Query: a keyword record answers only if its keywords
// contain every query word; the last word may match as a prefix of a
// keyword (search as you type). Removals never answer.
//
// # Publish and search (index.go, search.go)
//
// Index.Publish signs one keyword record per keyword and one provider
// record per file, and stores the whole batch with one Runner.Put (split
// only above Config.PutBatchBytes), which the ring sends as one store RPC
// per owner node. Republish is Publish with a new time (the daemon calls
// it every Config.RepublishInterval); Unshare stores signed removals.
//
// Index.Search normalizes the words and sends one Get, carrying all words
// as the query, to the owner of the longest word (the rarest), falling back
// to the next word's owner if that one cannot answer. The searcher
// verifies every returned record, groups them by CID, ranks the groups
// (every word exact, then distinct unexpired providers, then recency; see
// rank) and returns one page with the total count.
//
// Differences from SPEC.md and the issue: grouping, ranking and paging
// happen at the searcher, not at the owner. The ring's Get returns values
// that Match accepts (the owner filters by every word), but
// chordrouting.Validator has no hook to reshape a reply; the owner's cap
// (FetchLimit and the ring's MaxGetValues, 100 each) bounds the reply, so
// the total count is the count among those records. The searcher has to
// verify every signature anyway, so it loses nothing by ranking too.
// "Live" providers are those with an unexpired (so recently republished)
// record: the index does not dial providers.
//
// Callers' duties:
//
//  1. Put a Validator (NewValidator or Index.Validator) in the ring's
//     chordrouting.Config on every node.
//  2. Keep the list of shared files; call Republish with all of them every
//     Config.RepublishInterval, and Unshare with the same FileEntry
//     (name and extra keywords) used to publish.
package keyword
