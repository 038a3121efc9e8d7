package node

import (
	"testing"

	"github.com/libp2p/go-libp2p"

	"kwsearch/chordrouting/p2p"
)

// TestRingConfigLimitsFingers: the daemon's ring gets the transport's
// finger diversity limit (without it one network could fill the fingers)
// and routes in one hop.
func TestRingConfigLimitsFingers(t *testing.T) {
	h, err := libp2p.New(libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"))
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	tr, err := p2p.NewTransport(h, p2p.DefaultConfig(), wallClock{})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	cfg, err := ringConfig(tr)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.AdmitFinger == nil || cfg.Validator == nil || !cfg.OneHop {
		t.Fatalf("ring config lacks the finger limit, the validator or one-hop routing: %+v", cfg)
	}
}
