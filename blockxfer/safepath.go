package blockxfer

import (
	"fmt"
	"path/filepath"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxNameBytes bounds a sanitized name, leaving room under the usual
// 255-byte file name limit for PartSuffix and StateSuffix.
const MaxNameBytes = 200

// SafeName turns a file name received from the network into one plain
// file name: path separators, NUL and other control characters become
// "_", invalid UTF-8 is replaced, leading dots and surrounding spaces are
// removed (no hidden files such as ".bashrc", no "." or ".."), and the
// result is cut to MaxNameBytes on a character boundary, keeping a short
// extension. It fails with ErrBadName if nothing usable is left.
func SafeName(name string) (string, error) {
	var b strings.Builder
	for _, r := range strings.ToValidUTF8(name, "\uFFFD") {
		switch {
		case r == '/' || r == '\\':
			b.WriteRune('_')
		case r == 0 || unicode.IsControl(r) || r == utf8.RuneError:
			b.WriteRune('_')
		default:
			b.WriteRune(r)
		}
	}
	s := strings.TrimSpace(b.String())
	s = strings.TrimLeft(s, ". ")
	s = strings.TrimRight(s, " ")
	s = truncateName(s, MaxNameBytes)
	if s == "" || strings.Trim(s, "_.") == "" {
		return "", fmt.Errorf("blockxfer: name %q: %w", name, ErrBadName)
	}
	return s, nil
}

// truncateName cuts s to at most max bytes on a rune boundary, keeping an
// extension of up to 16 bytes.
func truncateName(s string, max int) string {
	if len(s) <= max {
		return s
	}
	ext := filepath.Ext(s)
	if len(ext) > 16 || len(ext) >= max {
		ext = ""
	}
	stem := s[:len(s)-len(ext)]
	limit := max - len(ext)
	for limit > 0 && !utf8.RuneStart(stem[limit]) {
		limit--
	}
	return strings.TrimRight(stem[:limit], " ") + ext
}

// SafeOutputPath returns the path in dir for a file name received from
// the network (see SafeName). The result is always directly inside dir.
func SafeOutputPath(dir, name string) (string, error) {
	clean, err := SafeName(name)
	if err != nil {
		return "", err
	}
	if dir == "" {
		dir = "."
	}
	p := filepath.Join(dir, clean)
	if filepath.Dir(p) != filepath.Clean(dir) || filepath.Base(p) != clean {
		return "", fmt.Errorf("blockxfer: name %q escapes %s: %w", name, dir, ErrBadName)
	}
	return p, nil
}
