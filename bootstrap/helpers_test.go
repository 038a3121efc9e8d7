package bootstrap

import (
	"crypto/rand"
	"testing"

	"github.com/libp2p/go-libp2p/core/crypto"
	ma "github.com/multiformats/go-multiaddr"
)

// loopbackListen are the only addresses test hosts listen on.
var loopbackListen = []string{"/ip4/127.0.0.1/tcp/0", "/ip4/127.0.0.1/udp/0/quic-v1"}

func newKey(t *testing.T) crypto.PrivKey {
	t.Helper()
	k, _, err := crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// testConfig is a loopback config: no port mapping (it would multicast on
// the machine's network), the given mode.
func testConfig(t *testing.T, mode Mode, listen ...string) Config {
	t.Helper()
	if len(listen) == 0 {
		listen = loopbackListen
	}
	cfg := DefaultConfig()
	cfg.Identity = newKey(t)
	cfg.Mode = mode
	cfg.PortMapping = false
	for _, s := range listen {
		cfg.Listen = append(cfg.Listen, ma.StringCast(s))
	}
	return cfg
}

func newTestHost(t *testing.T, cfg Config) *Host {
	t.Helper()
	h, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := h.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return h
}
