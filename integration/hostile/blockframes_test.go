package hostile

import (
	"bufio"
	crand "crypto/rand"
	"encoding/binary"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/network"
	mh "github.com/multiformats/go-multihash"

	"kwsearch/blockxfer"
)

// TestBlockxferBadFrames sends garbage, truncated, oversized, endless and
// nonsensical requests on /kwsearch/blockxfer/1.0.0, and a reader that
// never reads. Each stream must end within the server's deadlines, well-
// formed requests for unknown data get a refusal, and honest downloads and
// searches keep working.
func TestBlockxferBadFrames(t *testing.T) {
	t.Parallel()
	o := defaultOpts(t)
	o.server.IdleTimeout = 2 * time.Second
	o.server.WriteTimeout = 2 * time.Second
	v := startVictim(t, o)
	root := v.share(t, "honest blockxfer frames clip.mkv", 900<<10)
	cl := startClient(t, infoOf(v.h))
	var hc honest
	hc.round(t, cl, v)
	before := v.snapshot(t)

	a := newAttacker(t)
	limit := o.server.IdleTimeout + o.server.WriteTimeout + 3*time.Second
	garbage := make([]byte, 300)
	crand.Read(garbage)
	unknown := cid.NewCidV1(cid.Raw, mustHash(t, []byte("nobody shares this")))
	manifestReq := blockFrame(blockxfer.Request{ID: 1, Kind: blockxfer.KindManifest, Root: root})
	cases := []struct {
		name   string
		send   func(s network.Stream)
		status int // expected status of a first answer, -1 for none
	}{
		{"garbage", func(s network.Stream) { s.Write(garbage) }, -1},
		{"oversized length", func(s network.Stream) { s.Write(binary.AppendUvarint(nil, 1<<40)) }, -1},
		{"just over the request cap", func(s network.Stream) {
			s.Write(append(binary.AppendUvarint(nil, blockxfer.MaxRequestSize+1), make([]byte, blockxfer.MaxRequestSize+1)...))
		}, -1},
		{"truncated", func(s network.Stream) { s.Write(manifestReq[:len(manifestReq)-3]); s.CloseWrite() }, -1},
		{"idle after opening", func(s network.Stream) {}, -1},
		{"unknown root", func(s network.Stream) {
			s.Write(blockFrame(blockxfer.Request{ID: 2, Kind: blockxfer.KindManifest, Root: unknown}))
		}, int(blockxfer.StatusNotFound)},
		// Refused, or answered with a refusal and ended at the idle deadline.
		{"block index 2^40", func(s network.Stream) {
			s.Write(blockFrame(blockxfer.Request{ID: 3, Kind: blockxfer.KindBlock, Root: root, Index: 1 << 40}))
		}, -1},
		{"block index past the end", func(s network.Stream) {
			s.Write(blockFrame(blockxfer.Request{ID: 3, Kind: blockxfer.KindBlock, Root: root, Index: 1000}))
		}, -1},
		{"unknown kind", func(s network.Stream) {
			s.Write(blockFrame(blockxfer.Request{ID: 4, Kind: blockxfer.Kind(9), Root: root}))
		}, -1},
	}
	for _, c := range cases {
		s := a.mustOpen(v.h, blockxfer.ProtocolID)
		start := time.Now()
		c.send(s)
		var first = -1
		if c.status >= 0 {
			_ = s.SetReadDeadline(time.Now().Add(limit))
			r, err := readBlockResponse(bufio.NewReader(s), blockxfer.MaxManifestResponseSize)
			if err != nil {
				t.Errorf("%s: no answer: %v", c.name, err)
			} else {
				first = int(r.Status)
			}
			if first != c.status {
				t.Errorf("%s: status %d, want %d", c.name, first, c.status)
			}
			s.Reset()
			t.Logf("%-28s answered status %d", c.name, first)
			continue
		}
		_, n, err := streamEnd(s, limit)
		took := time.Since(start)
		t.Logf("%-28s ended after %v, %d bytes back (%v)", c.name, took.Round(time.Millisecond), n, err)
		if took >= limit {
			t.Errorf("%s: the server left the stream open for %v", c.name, took)
		}
		s.Reset()
	}

	// A fetcher that asks for the same manifest forever and never reads:
	// the server must stop at its write deadline and not buffer the answers.
	s := a.mustOpen(v.h, blockxfer.ProtocolID)
	var sent atomic.Int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 0, 64*len(manifestReq))
		for i := 0; i < 64; i++ {
			buf = append(buf, manifestReq...)
		}
		_ = s.SetWriteDeadline(time.Now().Add(limit))
		for {
			n, err := s.Write(buf)
			sent.Add(int64(n))
			if err != nil {
				return
			}
		}
	}()
	select {
	case <-done:
	case <-time.After(limit + 2*time.Second):
		t.Error("never-reading fetcher: the server kept the stream")
	}
	s.Reset()
	t.Logf("never-reading fetcher: %d request bytes sent before the server cut it", sent.Load())

	hc.round(t, cl, v)
	requireKept(t, before, v.snapshot(t))
	hc.requireAllOK(t)
}

func mustHash(t testing.TB, b []byte) mh.Multihash {
	t.Helper()
	h, err := mh.Sum(b, mh.SHA2_256, -1)
	if err != nil {
		t.Fatal(err)
	}
	return h
}
