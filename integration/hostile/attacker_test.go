package hostile

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"

	"kwsearch/blockxfer"
	cr "kwsearch/chordrouting"
	"kwsearch/chordrouting/p2p"
)

// attacker is a libp2p host that speaks our protocols badly on purpose.
type attacker struct {
	t    testing.TB
	h    host.Host
	self cr.Peer
}

func newAttacker(t testing.TB) *attacker {
	h := newHost(t, nil)
	return &attacker{t: t, h: h, self: p2p.PeerOf(h.ID())}
}

// open opens a raw stream on proto to target.
func (a *attacker) open(target host.Host, proto protocol.ID) (network.Stream, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	a.h.Peerstore().AddAddrs(target.ID(), target.Addrs(), time.Hour)
	return a.h.NewStream(ctx, target.ID(), proto)
}

func (a *attacker) mustOpen(target host.Host, proto protocol.ID) network.Stream {
	a.t.Helper()
	s, err := a.open(target, proto)
	if err != nil {
		a.t.Fatalf("opening %s stream: %v", proto, err)
	}
	return s
}

// frame encodes m as one ring frame.
func frame(m *cr.Message) []byte {
	body := p2p.Encode(m, nil)
	return append(binary.AppendUvarint(nil, uint64(len(body))), body...)
}

// ringRequest sends m on a fresh ring stream and reads one reply.
func (a *attacker) ringRequest(target host.Host, m *cr.Message) (*cr.Message, error) {
	s, err := a.open(target, p2p.ProtocolID)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	_ = s.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := s.Write(frame(m)); err != nil {
		s.Reset()
		return nil, err
	}
	reply, _, err := p2p.ReadMessage(s, 8<<20, nil)
	if err != nil {
		s.Reset()
		return nil, err
	}
	return reply, nil
}

// streamEnd waits until the peer ends s (reset, or close after an answer)
// and returns how long that took and what the stream carried back.
func streamEnd(s network.Stream, limit time.Duration) (time.Duration, int, error) {
	start := time.Now()
	_ = s.SetReadDeadline(start.Add(limit))
	n, err := io.Copy(io.Discard, s)
	if err == nil {
		err = io.EOF
	}
	return time.Since(start), int(n), err
}

// blockFrame encodes a blockxfer request as one frame.
func blockFrame(r blockxfer.Request) []byte {
	body := blockxfer.AppendRequest(nil, r)
	return append(binary.AppendUvarint(nil, uint64(len(body))), body...)
}

// readBlockResponse reads one framed blockxfer response.
func readBlockResponse(r *bufio.Reader, max int) (blockxfer.Response, error) {
	n, err := binary.ReadUvarint(r)
	if err != nil {
		return blockxfer.Response{}, err
	}
	if n > uint64(max) {
		return blockxfer.Response{}, fmt.Errorf("response of %d bytes", n)
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(r, body); err != nil {
		return blockxfer.Response{}, err
	}
	return blockxfer.DecodeResponse(body)
}

// writeBlockResponse writes one framed blockxfer response.
func writeBlockResponse(w io.Writer, r blockxfer.Response) error {
	body := blockxfer.AppendResponse(nil, r)
	_, err := w.Write(append(binary.AppendUvarint(nil, uint64(len(body))), body...))
	return err
}

// randomPeer is a ring peer with a fresh identity and no known address.
func randomPeer(t testing.TB) cr.Peer {
	t.Helper()
	id, err := peer.IDFromPrivateKey(newKey(t))
	if err != nil {
		t.Fatal(err)
	}
	return p2p.PeerOf(id)
}

// readFrameBytes reads one uvarint-length-prefixed frame of at most max
// bytes.
func readFrameBytes(r *bufio.Reader, max int) ([]byte, error) {
	n, err := binary.ReadUvarint(r)
	if err != nil {
		return nil, err
	}
	if n > uint64(max) {
		return nil, fmt.Errorf("frame of %d bytes", n)
	}
	b := make([]byte, n)
	_, err = io.ReadFull(r, b)
	return b, err
}
