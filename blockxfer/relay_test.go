package blockxfer

import (
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/protocol/circuitv2/client"
	ma "github.com/multiformats/go-multiaddr"
)

// TestOnlyRelayedProvider: a provider reachable only through a relay is
// never sent blocks over the relay; the fetch fails with ErrOnlyRelayed.
func TestOnlyRelayedProvider(t *testing.T) {
	relay, err := libp2p.New(libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"),
		libp2p.EnableRelayService(), libp2p.ForceReachabilityPublic())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { relay.Close() })
	provHost, err := libp2p.New(libp2p.NoListenAddrs, libp2p.EnableRelay())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { provHost.Close() })
	fs := NewFileSource(nil)
	srv, err := NewServer(provHost, fs, DefaultServerConfig())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	dir := t.TempDir()
	src, _ := randomFile(t, dir, "src", 1000, 9)
	root := share(t, fs, src)

	ctx := fetchCtx(t)
	if err := provHost.Connect(ctx, addrInfo(relay)); err != nil {
		t.Fatal(err)
	}
	if _, err := client.Reserve(ctx, provHost, addrInfo(relay)); err != nil {
		t.Fatalf("reserve: %v", err)
	}
	circuit, err := ma.NewMultiaddr("/p2p/" + relay.ID().String() + "/p2p-circuit")
	if err != nil {
		t.Fatal(err)
	}
	viaRelay := peer.AddrInfo{ID: provHost.ID(), Addrs: []ma.Multiaddr{relay.Addrs()[0].Encapsulate(circuit)}}
	fetcher, err := libp2p.New(libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"), libp2p.EnableRelay())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fetcher.Close() })
	if err := fetcher.Connect(ctx, viaRelay); err != nil {
		t.Fatalf("connect through relay: %v", err)
	}
	if c := fetcher.Network().Connectedness(provHost.ID()); c != network.Limited {
		t.Fatalf("connectedness %v, want limited", c)
	}

	// The server refuses a stream that opts in to the limited connection.
	s, err := fetcher.NewStream(network.WithAllowLimitedConn(ctx, "test"), provHost.ID(), ProtocolID)
	if err != nil {
		t.Fatalf("opening a stream over the relay: %v", err)
	}
	if _, err := newClientConn(s, 5*time.Second).fetchManifest(root); err == nil {
		t.Fatal("provider served a manifest over a relayed connection")
	}
	s.Reset()

	opts := testOptions()
	opts.OpenTimeout = 500 * time.Millisecond
	_, err = Fetch(ctx, fetcher, root, []peer.AddrInfo{viaRelay}, filepath.Join(dir, "out"), opts)
	if !errors.Is(err, ErrOnlyRelayed) || !errors.Is(err, ErrNoProviders) {
		t.Fatalf("fetch through a relay only: %v, want ErrOnlyRelayed", err)
	}
	if srv.Stats().Blocks != 0 || srv.Stats().Manifests != 0 {
		t.Fatalf("server sent %+v over a relay", srv.Stats())
	}
}
