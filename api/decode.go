package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"github.com/ipfs/go-cid"
)

// Bounds on requests.
const (
	// MaxBodyBytes bounds a request body.
	MaxBodyBytes = 64 << 10
	// MaxPaths bounds the paths of one share request (a folder counts once).
	MaxPaths = 256
	// MaxPathBytes bounds one path.
	MaxPathBytes = 4096
	// MaxKeywords bounds user keywords (share) and words (search).
	MaxKeywords = 32
	// MaxWordBytes bounds one keyword or search word.
	MaxWordBytes = 256
	// maxCIDBytes bounds a CID string.
	maxCIDBytes = 256
)

// decodeJSON reads exactly one JSON object from r into v, refusing unknown
// fields and trailing data. r must already be size-limited.
func decodeJSON(r io.Reader, v any) error {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return &Error{Status: 413, Message: fmt.Sprintf("request body larger than %d bytes", MaxBodyBytes)}
		}
		if errors.Is(err, io.EOF) {
			return BadRequest("empty request body: want a JSON object")
		}
		return BadRequest("bad request body: %v", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return BadRequest("bad request body: data after the JSON object")
	}
	return nil
}

// DecodeShareRequest parses and checks a share request body.
func DecodeShareRequest(r io.Reader) (ShareRequest, error) {
	var req ShareRequest
	if err := decodeJSON(r, &req); err != nil {
		return ShareRequest{}, err
	}
	return req, req.Validate()
}

// Validate checks a share request's shape (not whether the paths exist).
func (req ShareRequest) Validate() error {
	if len(req.Paths) == 0 {
		return BadRequest("share: no paths given")
	}
	if len(req.Paths) > MaxPaths {
		return BadRequest("share: %d paths, at most %d per request", len(req.Paths), MaxPaths)
	}
	for _, p := range req.Paths {
		if err := checkAbs("share", p); err != nil {
			return err
		}
	}
	return checkWords("share: keyword", req.Keywords, 0)
}

// DecodeUnshareRequest parses and checks an unshare request body.
func DecodeUnshareRequest(r io.Reader) (UnshareRequest, error) {
	var req UnshareRequest
	if err := decodeJSON(r, &req); err != nil {
		return UnshareRequest{}, err
	}
	return req, CheckCID(req.CID)
}

// DecodeSearchRequest parses and checks a search request body.
func DecodeSearchRequest(r io.Reader) (SearchRequest, error) {
	var req SearchRequest
	if err := decodeJSON(r, &req); err != nil {
		return SearchRequest{}, err
	}
	return req, req.Validate()
}

// Validate checks a search request.
func (req SearchRequest) Validate() error {
	if req.Limit < 0 || req.Limit > MaxSearchLimit {
		return BadRequest("search: limit %d out of range 0..%d", req.Limit, MaxSearchLimit)
	}
	return checkWords("search: word", req.Words, 1)
}

// DecodeGetRequest parses and checks a get request body.
func DecodeGetRequest(r io.Reader) (GetRequest, error) {
	var req GetRequest
	if err := decodeJSON(r, &req); err != nil {
		return GetRequest{}, err
	}
	return req, req.Validate()
}

// Validate checks a get request.
func (req GetRequest) Validate() error {
	if err := CheckCID(req.CID); err != nil {
		return err
	}
	if req.Output == "" && req.Dir == "" {
		return BadRequest("get: give an output path or a folder")
	}
	if req.Output != "" {
		if err := checkAbs("get: output", req.Output); err != nil {
			return err
		}
	}
	if req.Dir != "" {
		return checkAbs("get: folder", req.Dir)
	}
	return nil
}

// CheckCID reports whether s is a valid CID, as a BadRequest error.
func CheckCID(s string) error {
	if s == "" {
		return BadRequest("no CID given")
	}
	if len(s) > maxCIDBytes {
		return BadRequest("CID of %d bytes is too long", len(s))
	}
	if _, err := cid.Decode(s); err != nil {
		return BadRequest("%q is not a valid CID: %v", s, err)
	}
	return nil
}

func checkAbs(what, p string) error {
	if len(p) > MaxPathBytes {
		return BadRequest("%s: path of %d bytes is too long", what, len(p))
	}
	if !utf8.ValidString(p) || strings.ContainsRune(p, 0) {
		return BadRequest("%s: path is not valid text", what)
	}
	if !filepath.IsAbs(p) {
		return BadRequest("%s: path %q is not absolute", what, p)
	}
	return nil
}

func checkWords(what string, words []string, min int) error {
	if len(words) < min {
		return BadRequest("%ss: none given", what)
	}
	if len(words) > MaxKeywords {
		return BadRequest("%ss: %d given, at most %d", what, len(words), MaxKeywords)
	}
	for _, w := range words {
		if len(w) > MaxWordBytes || !utf8.ValidString(w) || strings.TrimSpace(w) == "" {
			return BadRequest("%s %q: empty, too long or not valid text", what, truncate(w, 40))
		}
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return string(bytes.ToValidUTF8([]byte(s[:n]), nil)) + "…"
}
