package hostile

import (
	"bufio"
	"testing"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/network"

	"kwsearch/blockxfer"
)

// evilProvider serves the right manifest of files it holds but then
// misbehaves on block requests according to mode.
type evilProvider struct {
	a    *attacker
	src  *blockxfer.FileSource
	mode string // "wrong": flipped bytes; "short": truncated; "stall": never answers
}

func (e *evilProvider) handle(s network.Stream) {
	defer s.Reset()
	r := bufio.NewReader(s)
	buf := make([]byte, blockxfer.BlockSize)
	for {
		req, err := readRequest(r)
		if err != nil {
			return
		}
		switch req.Kind {
		case blockxfer.KindManifest:
			m, err := e.src.Manifest(req.Root)
			if err != nil {
				writeBlockResponse(s, blockxfer.Response{ID: req.ID, Status: blockxfer.StatusNotFound})
				continue
			}
			writeBlockResponse(s, blockxfer.Response{ID: req.ID, Data: m})
		case blockxfer.KindBlock:
			n, err := e.src.ReadBlock(req.Root, int(req.Index), buf)
			if err != nil {
				return
			}
			switch e.mode {
			case "stall":
				continue // read on, answer nothing
			case "short":
				n /= 2
			case "wrong":
				buf[n/2] ^= 0xff
			}
			if writeBlockResponse(s, blockxfer.Response{ID: req.ID, Data: buf[:n]}) != nil {
				return
			}
		}
	}
}

func readRequest(r *bufio.Reader) (blockxfer.Request, error) {
	b, err := readFrameBytes(r, blockxfer.MaxRequestSize)
	if err != nil {
		return blockxfer.Request{}, err
	}
	return blockxfer.DecodeRequest(b)
}

// TestBadProviders: a provider that sends wrong blocks, truncated blocks,
// or stalls after the manifest is listed first; the download must still
// end with exactly the right bytes from the honest provider, and the bad
// one must be dropped (as bad when it sent bad data).
func TestBadProviders(t *testing.T) {
	t.Parallel()
	v := startVictim(t, defaultOpts(t))
	root := v.share(t, "honest provider test movie.mkv", 5*blockxfer.BlockSize+1234)
	cl := startClient(t, infoOf(v.h))
	var hc honest
	hc.round(t, cl, v)
	for _, mode := range []string{"wrong", "short", "stall"} {
		a := newAttacker(t)
		e := &evilProvider{a: a, src: blockxfer.NewFileSource(nil), mode: mode}
		fi, err := blockxfer.IndexFile(sharedPath(t, v, root))
		if err != nil {
			t.Fatal(err)
		}
		e.src.Add(fi)
		a.h.SetStreamHandler(blockxfer.ProtocolID, e.handle)
		res, ok := hc.download(t, cl, root, v.data[root], infoOf(a.h), infoOf(v.h))
		var evil *blockxfer.PeerResult
		for i := range res.Peers {
			if res.Peers[i].ID == a.h.ID() {
				evil = &res.Peers[i]
			}
		}
		switch {
		case !ok:
			t.Errorf("%s provider: honest download failed: %v", mode, hc.lastDLE)
		case evil == nil:
			t.Logf("%s provider: not used", mode)
		default:
			t.Logf("%s provider: dropped=%v bad=%v blocks=%d (err %v); download took %v", mode, evil.Err != nil, evil.Bad, evil.Blocks, evil.Err, res.Elapsed)
			// Its bad block is caught when read; when the honest provider
			// finished first it may never be read, so only a block
			// credited to it would be wrong.
			if evil.Blocks > 0 {
				t.Errorf("%s provider credited with %d blocks", mode, evil.Blocks)
			}
			if evil.Err != nil && !evil.Bad && mode != "stall" {
				t.Errorf("%s provider dropped but not marked bad: %v", mode, evil.Err)
			}
		}
	}
	hc.round(t, cl, v)
	hc.requireAllOK(t)
}

// sharedPath finds the path of a file the victim shares.
func sharedPath(t testing.TB, v *node, root cid.Cid) string {
	t.Helper()
	for _, fi := range v.src.Files() {
		if fi.Root() == root {
			return fi.Path
		}
	}
	t.Fatalf("%s is not shared", root)
	return ""
}
