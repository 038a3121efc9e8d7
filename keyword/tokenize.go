package keyword

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

// Bounds on what a name turns into. They cap the number of records one file
// costs the ring and the size of every record and query.
const (
	// MaxKeywords is the most keywords one file is published under
	// (name words and user keywords together, after deduplication).
	MaxKeywords = 32
	// MaxWordRunes is the longest keyword kept; longer words are cut to
	// this many runes, on publish and on search alike, so they still match.
	MaxWordRunes = 40
	// MaxQueryWords is the most words a search carries; more are ignored.
	MaxQueryWords = 8
	// MinWordRunes is the shortest word kept, except single CJK ideographs
	// and kana (see Keywords).
	MinWordRunes = 2
	// maxNameBytes bounds the input a tokenizer reads (names from the
	// network are bounded before this; this keeps Keywords linear in a
	// bounded input whatever the caller passes).
	maxNameBytes = 4096
)

// stopWords are skipped when publishing: words so common they would make
// a few ring nodes hold a record for nearly every file, and file
// extensions, which say nothing about the content a person looks for.
var stopWords = map[string]struct{}{
	"the": {}, "and": {}, "of": {}, "an": {}, "in": {}, "on": {}, "to": {},
	"for": {}, "with": {}, "by": {}, "at": {}, "is": {}, "from": {}, "or": {},
	"le": {}, "la": {}, "les": {}, "de": {}, "des": {}, "du": {}, "et": {},
	"und": {}, "el": {}, "los": {},
	// file extensions
	"mp3": {}, "mp4": {}, "m4a": {}, "m4v": {}, "aac": {}, "ogg": {}, "oga": {},
	"opus": {}, "flac": {}, "wav": {}, "wma": {}, "avi": {}, "mkv": {}, "mov": {},
	"wmv": {}, "webm": {}, "mpg": {}, "mpeg": {}, "srt": {},
	"jpg": {}, "jpeg": {}, "png": {}, "gif": {}, "bmp": {}, "tif": {}, "tiff": {},
	"webp": {}, "svg": {}, "heic": {}, "pdf": {}, "txt": {}, "doc": {}, "docx": {},
	"odt": {}, "rtf": {}, "epub": {}, "mobi": {}, "djvu": {}, "xls": {}, "xlsx": {},
	"ppt": {}, "pptx": {}, "htm": {}, "html": {}, "md": {}, "zip": {}, "rar": {},
	"7z": {}, "tar": {}, "gz": {}, "tgz": {}, "bz2": {}, "xz": {}, "iso": {},
	"exe": {}, "msi": {}, "dmg": {}, "deb": {}, "rpm": {}, "apk": {}, "tmp": {},
}

// IsStopWord reports whether a normalized word is skipped when publishing.
func IsStopWord(w string) bool {
	_, ok := stopWords[w]
	return ok
}

// Keywords turns a file name and user-supplied extra keywords into the
// keywords the file is published under: normalized (see Words), stop words
// dropped, deduplicated in order of first appearance (name words first),
// at most MaxKeywords.
func Keywords(name string, extra []string) []string {
	seen := make(map[string]struct{})
	var out []string
	add := func(words []string) {
		for _, w := range words {
			if len(out) == MaxKeywords {
				return
			}
			if _, dup := seen[w]; dup || IsStopWord(w) {
				continue
			}
			seen[w] = struct{}{}
			out = append(out, w)
		}
	}
	add(Words(name))
	for _, e := range extra {
		add(Words(e))
	}
	return out
}

// QueryWords normalizes what a user typed into search words, the same way
// names are (so that a query word equals a published keyword). Stop words
// are dropped unless nothing else is left; duplicates are removed; at most
// MaxQueryWords are kept.
func QueryWords(terms ...string) []string {
	seen := make(map[string]struct{})
	var all, kept []string
	for _, t := range terms {
		for _, w := range Words(t) {
			if _, dup := seen[w]; dup {
				continue
			}
			seen[w] = struct{}{}
			all = append(all, w)
			if !IsStopWord(w) {
				kept = append(kept, w)
			}
		}
	}
	if len(kept) == 0 {
		kept = all
	}
	if len(kept) > MaxQueryWords {
		kept = kept[:MaxQueryWords]
	}
	return kept
}

// Words splits s into normalized words, keeping stop words and duplicates:
//
//   - NFKC, then Unicode case folding, then NFKC again (folding can leave a
//     string un-normalized), so "Ｂｅａｔｌｅｓ", "BEATLES" and "beatles" agree
//     (and "Ꮎ" and "ꮎ", see foldCherokee);
//   - a word is a run of letters, digits and combining marks (marks are
//     part of words in scripts such as Devanagari); anything else splits;
//   - runs of Han ideographs and kana (scripts written without spaces) are
//     cut into overlapping bigrams, as CJK search engines do: "東京タワー"
//     gives 東京, 京タ, タワ, ワー, and a query for 東京 finds it. A run of
//     a single ideograph or kana is kept as a word of one rune, since one
//     ideograph is often a whole word (猫, 愛);
//   - other words shorter than MinWordRunes are dropped; words longer than
//     MaxWordRunes are cut;
//   - a Latin, Greek or Cyrillic word with diacritics also yields its bare
//     form ("beyoncé" → "beyoncé", "beyonce"), so a search typed without
//     accents finds it; the accented form is kept for exact searches.
func Words(s string) []string {
	if len(s) > maxNameBytes {
		s = truncateUTF8(s, maxNameBytes)
	}
	s = norm.NFKC.String(strings.Map(foldCherokee, cases.Fold().String(norm.NFKC.String(s))))
	var out []string
	var run []rune
	flush := func() {
		out = appendRun(out, run)
		run = run[:0]
	}
	for _, r := range s {
		if !isWordRune(r) || (len(run) > 0 && isCJK(r) != isCJK(run[len(run)-1])) {
			flush()
		}
		if isWordRune(r) {
			run = append(run, r)
		}
	}
	flush()
	return out
}

// foldCherokee maps Cherokee letters to their capitals, which is where
// Unicode case folding takes both cases. x/text's cases.Fold swaps the two
// cases instead, so folding was not idempotent ("Ꮍ" and "ꮍ" never agreed,
// found by FuzzKeywords); Cherokee is the only script where it differs.
func foldCherokee(r rune) rune {
	if unicode.Is(unicode.Cherokee, r) {
		return unicode.ToUpper(r)
	}
	return r
}

// appendRun adds the words one run of word runes gives.
func appendRun(out []string, run []rune) []string {
	if len(run) == 0 {
		return out
	}
	if isCJK(run[0]) {
		if len(run) == 1 {
			return append(out, string(run))
		}
		for i := 0; i+1 < len(run); i++ {
			out = append(out, string(run[i:i+2]))
		}
		return out
	}
	if len(run) < MinWordRunes {
		return out
	}
	if len(run) > MaxWordRunes {
		run = run[:MaxWordRunes]
	}
	w := string(run)
	out = append(out, w)
	if bare, ok := stripMarks(w); ok {
		out = append(out, bare)
	}
	return out
}

func isWordRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r)
}

// isCJK reports runes of scripts written without spaces between words:
// Han, Hiragana, Katakana and the kana prolonged sound mark. Hangul is
// written with spaces and is treated like Latin.
func isCJK(r rune) bool {
	return unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana) || r == 'ー'
}

// stripMarks returns w without its combining marks when w is written in
// Latin, Greek or Cyrillic letters (and digits) and has at least one mark.
func stripMarks(w string) (string, bool) {
	d := norm.NFD.String(w)
	var b strings.Builder
	marks := false
	for _, r := range d {
		switch {
		case unicode.IsMark(r):
			marks = true
		case unicode.IsDigit(r) || unicode.In(r, unicode.Latin, unicode.Greek, unicode.Cyrillic):
			b.WriteRune(r)
		default:
			return "", false
		}
	}
	if !marks {
		return "", false
	}
	bare := norm.NFC.String(b.String())
	if utf8.RuneCountInString(bare) < MinWordRunes {
		return "", false
	}
	return bare, true
}

// truncateUTF8 cuts s to at most n bytes without splitting a rune.
func truncateUTF8(s string, n int) string {
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
