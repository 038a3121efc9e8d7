package blockxfer

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestSafeOutputPath(t *testing.T) {
	dir := filepath.Join("some", "dir")
	long := strings.Repeat("é", 300) + ".flac"
	cases := []struct {
		name, in, want string
		bad            bool
	}{
		{"plain", "song.mp3", "song.mp3", false},
		{"unicode", "Ünïcødé 曲.ogg", "Ünïcødé 曲.ogg", false},
		{"dotdot", "..", "", true},
		{"dot", ".", "", true},
		{"empty", "", "", true},
		{"only spaces", "   ", "", true},
		{"only slashes", "///", "", true},
		{"parent path", "../../etc/passwd", "_.._etc_passwd", false},
		{"absolute", "/etc/passwd", "_etc_passwd", false},
		{"windows", `..\..\boot.ini`, `_.._boot.ini`, false},
		{"nested", "a/b/c.txt", "a_b_c.txt", false},
		{"hidden", ".bashrc", "bashrc", false},
		{"nul", "a\x00b", "a_b", false},
		{"control", "a\nb\tc\x1b", "a_b_c_", false},
		{"invalid utf8", "a\xffb", "a_b", false},
		{"trailing dots kept", "name...", "name...", false},
		{"long", long, strings.Repeat("é", 97) + ".flac", false},
		{"long no ext", strings.Repeat("x", 1000), strings.Repeat("x", MaxNameBytes), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := SafeOutputPath(dir, tc.in)
			if tc.bad {
				if !errors.Is(err, ErrBadName) {
					t.Fatalf("SafeOutputPath(%q) = %q, %v; want ErrBadName", tc.in, got, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("SafeOutputPath(%q): %v", tc.in, err)
			}
			if want := filepath.Join(dir, tc.want); got != want {
				t.Fatalf("SafeOutputPath(%q) = %q, want %q", tc.in, got, want)
			}
			checkInside(t, dir, got)
		})
	}
}

// checkInside asserts p is a direct child of dir with a sane name.
func checkInside(t *testing.T, dir, p string) {
	t.Helper()
	base := filepath.Base(p)
	if filepath.Dir(p) != filepath.Clean(dir) || base == "." || base == ".." ||
		strings.HasPrefix(base, ".") || len(base) > MaxNameBytes || !utf8.ValidString(base) ||
		strings.ContainsAny(base, "/\\\x00") {
		t.Fatalf("%q escapes or is unsafe in %q", p, dir)
	}
}

func FuzzSafeOutputPath(f *testing.F) {
	for _, s := range []string{"..", "a/../../b", "/abs", "\x00", "ok.txt", ".hidden"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		p, err := SafeOutputPath("out", name)
		if err != nil {
			return
		}
		checkInside(t, "out", p)
	})
}
