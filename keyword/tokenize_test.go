package keyword

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func TestKeywords(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		extra []string
		want  []string
	}{
		{"latin with extension", "The Beatles - Let It Be.mp3", nil, []string{"beatles", "let", "it", "be"}},
		{"case and punctuation", "HELLO_world...(Live)[2009]", nil, []string{"hello", "world", "live", "2009"}},
		{"accents keep both forms", "Beyoncé Café", nil, []string{"beyoncé", "beyonce", "café", "cafe"}},
		{"decomposed accents normalize", "Beyonce\u0301", nil, []string{"beyoncé", "beyonce"}},
		{"fullwidth via NFKC", "Ｂｅａｔｌｅｓ　ＬＩＶＥ", nil, []string{"beatles", "live"}},
		{"ligature via NFKC", "ﬁnal oﬃce", nil, []string{"final", "office"}},
		{"german sharp s folds", "STRASSE Straße", nil, []string{"strasse"}},
		{"cyrillic", "Кино — Группа крови.flac", nil, []string{"кино", "группа", "крови"}},
		{"cyrillic yo also bare", "Ёлка", nil, []string{"ёлка", "елка"}},
		{"greek final sigma folds", "ΟΔΥΣΣΕΥΣ Οδυσσευς", nil, []string{"οδυσσευσ"}},
		{"cjk bigrams", "東京タワー.jpg", nil, []string{"東京", "京タ", "タワ", "ワー"}},
		{"single ideograph kept", "猫 と dog", nil, []string{"猫", "と", "dog"}},
		{"cjk next to latin splits", "ABC東京2020", nil, []string{"abc", "東京", "2020"}},
		{"hangul like latin", "안녕하세요 세계", nil, []string{"안녕하세요", "세계"}},
		{"devanagari marks kept", "नमस्ते दुनिया", nil, []string{"नमस्ते", "दुनिया"}},
		{"digits and mixed", "x264 1080p 7 a", nil, []string{"x264", "1080p"}},
		{"dedupe", "go go GO Go", nil, []string{"go"}},
		{"only stop words", "the.mp3", nil, nil},
		{"extras merged and normalized", "song.ogg", []string{"Live", "CONCERT, tour", "song"}, []string{"song", "live", "concert", "tour"}},
		{"empty", "", nil, nil},
		{"only punctuation", "--- ... !!!", nil, nil},
		{"invalid utf8", "ab\xffcd", nil, []string{"ab", "cd"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Keywords(tc.in, tc.extra)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Keywords(%q, %q) = %q, want %q", tc.in, tc.extra, got, tc.want)
			}
		})
	}
}

func TestKeywordsBounds(t *testing.T) {
	long := strings.Repeat("x", 500)
	got := Keywords(long, nil)
	if len(got) != 1 || utf8.RuneCountInString(got[0]) != MaxWordRunes {
		t.Fatalf("long word: got %q", got)
	}
	// A long query word is cut the same way, so it still matches.
	if q := QueryWords(long); !reflect.DeepEqual(q, got) {
		t.Fatalf("QueryWords(long) = %q, want %q", q, got)
	}
	var b strings.Builder
	for i := 0; i < 200; i++ {
		fmt.Fprintf(&b, "w%d ", i)
	}
	if n := len(Keywords(b.String(), []string{"extra"})); n != MaxKeywords {
		t.Fatalf("got %d keywords, want cap %d", n, MaxKeywords)
	}
}

func TestQueryWords(t *testing.T) {
	tests := []struct {
		name string
		in   []string
		want []string
	}{
		{"stop words dropped", []string{"the", "Beatles"}, []string{"beatles"}},
		{"stop words kept when alone", []string{"The", "Of"}, []string{"the", "of"}},
		{"one string many words", []string{"let it BE"}, []string{"let", "it", "be"}},
		{"dedupe", []string{"a b", "bb", "BB"}, []string{"bb"}},
		{"cjk", []string{"東京"}, []string{"東京"}},
		{"capped", []string{"aa bb cc dd ee ff gg hh ii jj"}, []string{"aa", "bb", "cc", "dd", "ee", "ff", "gg", "hh"}},
		{"nothing", []string{"", "!"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := QueryWords(tc.in...); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("QueryWords(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

// A query for a word or substring of a published name is made of keywords
// the name was published under.
func TestQueryMatchesPublished(t *testing.T) {
	cases := []struct{ name, query string }{
		{"Beyoncé - Halo.mp3", "beyonce halo"},
		{"東京タワーの夜景.png", "東京タワー"},
		{"Группа Крови.flac", "группа"},
		{"ＦＵＬＬ width", "full"},
	}
	for _, c := range cases {
		kw := map[string]bool{}
		for _, w := range Keywords(c.name, nil) {
			kw[w] = true
		}
		for _, q := range QueryWords(c.query) {
			if !kw[q] {
				t.Errorf("query %q word %q not among keywords of %q: %v", c.query, q, c.name, kw)
			}
		}
	}
}

func FuzzKeywords(f *testing.F) {
	f.Add("The Beatles - Let It Be.mp3", "live")
	f.Add("東京タワー.jpg", "")
	f.Add("Beyonce\u0301", "Ｂ")
	f.Add("ab\xffcd", "\x00")
	f.Fuzz(func(t *testing.T, name, extra string) {
		kws := Keywords(name, []string{extra})
		if len(kws) > MaxKeywords {
			t.Fatalf("%d keywords", len(kws))
		}
		seen := map[string]bool{}
		for _, w := range kws {
			if seen[w] {
				t.Fatalf("duplicate %q", w)
			}
			seen[w] = true
			if !utf8.ValidString(w) || w == "" || utf8.RuneCountInString(w) > MaxWordRunes {
				t.Fatalf("bad keyword %q", w)
			}
			// Normalizing a keyword again is a fixed point.
			if again := Words(w); len(again) == 0 || again[0] != w {
				t.Fatalf("Words(%q) = %q, not a fixed point", w, again)
			}
		}
		if q := QueryWords(name); len(q) > MaxQueryWords {
			t.Fatalf("%d query words", len(q))
		}
	})
}

// TestWordsFoldIsIdempotent: normalizing is a fixed point for every rune
// (after FuzzKeywords found Cherokee, whose two cases x/text swapped), and
// the two cases of a Cherokee letter give the same keyword.
func TestWordsFoldIsIdempotent(t *testing.T) {
	for r := rune(0); r <= unicode.MaxRune; r++ {
		if !isWordRune(r) || (r >= 0xD800 && r <= 0xDFFF) {
			continue
		}
		for _, w := range Words("00" + string(r)) {
			if again := Words(w); len(again) == 0 || again[0] != w {
				t.Fatalf("%U: Words(%q) = %q, not a fixed point", r, w, again)
			}
		}
	}
	if a, b := Words("ᏍᏆᏂ"), Words("ꮝꮖꮒ"); len(a) != 1 || len(b) != 1 || a[0] != b[0] {
		t.Fatalf("Cherokee capitals %q and small letters %q differ", a, b)
	}
}
