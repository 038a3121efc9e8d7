package bootstrap

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"kwsearch/blockxfer"
)

// blockPeers are a provider running blockxfer's server with scfg and two
// fetchers connected to it, all built by New on 127.0.0.1.
type blockPeers struct {
	srv      *Host
	a, b     *Host
	provider peer.AddrInfo
}

func newBlockPeers(t *testing.T, scfg blockxfer.ServerConfig) blockPeers {
	t.Helper()
	p := blockPeers{srv: newTestHost(t, testConfig(t, ModeServer))}
	s, err := blockxfer.NewServer(p.srv, blockxfer.NewFileSource(nil), scfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	p.provider = peer.AddrInfo{ID: p.srv.ID(), Addrs: p.srv.Addrs()}
	p.a, p.b = newTestHost(t, testConfig(t, ModeServer)), newTestHost(t, testConfig(t, ModeServer))
	for _, h := range []*Host{p.a, p.b} {
		if err := h.Connect(context.Background(), p.provider); err != nil {
			t.Fatal(err)
		}
	}
	return p
}

// askManifest opens a block stream from h to the provider and asks for a
// manifest the provider does not have. It returns the stream, left open,
// if the provider answered (any status), or nil if the stream was refused.
func askManifest(t *testing.T, h *Host, provider peer.ID) network.Stream {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := h.NewStream(ctx, provider, blockxfer.ProtocolID)
	if err != nil {
		return nil // refused during protocol negotiation
	}
	_ = s.SetDeadline(time.Now().Add(10 * time.Second)) // only against a hang
	body, err := manifestExchange(s)
	if err != nil {
		// A refused stream is reset by the provider, but only our own
		// Reset gives its slot in our resource manager back.
		s.Reset()
		return nil
	}
	t.Cleanup(func() { s.Reset() })
	if r, err := blockxfer.DecodeResponse(body); err != nil || r.ID != 7 {
		t.Fatalf("answer %+v, %v", r, err)
	}
	return s
}

// manifestExchange writes a manifest request on s and reads the answer's
// frame.
func manifestExchange(s network.Stream) ([]byte, error) {
	req := blockxfer.AppendRequest(nil, blockxfer.Request{ID: 7, Kind: blockxfer.KindManifest, Root: blockxfer.BlockCID([]byte("absent"))})
	if _, err := s.Write(append(binary.AppendUvarint(nil, uint64(len(req))), req...)); err != nil {
		return nil, err
	}
	br := bufio.NewReader(s)
	n, err := binary.ReadUvarint(br)
	if err != nil {
		return nil, err
	}
	if n > 1024 {
		return nil, fmt.Errorf("answer of %d bytes to a manifest request for an absent file", n)
	}
	body := make([]byte, n)
	_, err = io.ReadFull(br, body)
	return body, err
}

// openBlockStreams asks n times from h, keeping answered streams open, and
// returns the answered ones.
func openBlockStreams(t *testing.T, h *Host, provider peer.ID, n int) []network.Stream {
	t.Helper()
	var open []network.Stream
	for range n {
		if s := askManifest(t, h, provider); s != nil {
			open = append(open, s)
		}
	}
	return open
}

// TestServiceLimitsRefuseStreams: a peer that opens more block streams at
// once than the per-peer limit is refused beyond it by the resource
// manager (the server's own cap is set higher, and one-block pipelines
// keep memory far from any limit), while another peer is still served
// and the first gets a stream again once it drops one.
func TestServiceLimitsRefuseStreams(t *testing.T) {
	limit := blockLimit().perPeer.StreamsInbound
	scfg := blockxfer.DefaultServerConfig()
	scfg.Pipeline, scfg.MaxStreamsPerPeer = 1, 2*limit
	p := newBlockPeers(t, scfg)

	open := openBlockStreams(t, p.a, p.provider.ID, 2*limit)
	if len(open) != limit {
		t.Fatalf("peer A opened %d block streams at once, answered: %d; want the per-peer limit %d", 2*limit, len(open), limit)
	}
	if got := len(openBlockStreams(t, p.b, p.provider.ID, 1)); got != 1 {
		t.Fatalf("peer B was refused while A holds its %d streams", limit)
	}
	open[0].Reset()
	deadline := time.Now().Add(5 * time.Second)
	for askManifest(t, p.a, p.provider.ID) == nil {
		if time.Now().After(deadline) {
			t.Fatal("peer A still refused 5 s after dropping one of its streams")
		}
	}
}

// TestServiceLimitsAdmitServerStreams: with the server's default
// configuration, each of two peers gets all MaxStreamsPerPeer streams
// (the per-peer memory limit holds their reservations), and the resource
// manager accounts each with the memory the limits were sized for.
func TestServiceLimitsAdmitServerStreams(t *testing.T) {
	scfg := blockxfer.DefaultServerConfig()
	p := newBlockPeers(t, scfg)
	for name, h := range map[string]*Host{"A": p.a, "B": p.b} {
		if got := len(openBlockStreams(t, h, p.provider.ID, scfg.MaxStreamsPerPeer)); got != scfg.MaxStreamsPerPeer {
			t.Fatalf("peer %s: %d of %d block streams answered", name, got, scfg.MaxStreamsPerPeer)
		}
	}
	served := int64(scfg.Pipeline*blockxfer.MaxBlockResponseSize + blockxfer.MaxRequestSize)
	want := 2 * int64(scfg.MaxStreamsPerPeer) * served
	err := p.srv.Network().ResourceManager().ViewService(blockService, func(s network.ServiceScope) error {
		if st := s.Stat(); st.Memory != want || st.NumStreamsInbound != 2*scfg.MaxStreamsPerPeer {
			t.Errorf("block service holds %d B in %d inbound streams; want %d B in %d", st.Memory, st.NumStreamsInbound, want, 2*scfg.MaxStreamsPerPeer)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
