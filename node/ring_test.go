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

// TestRingConfigPairsWithTransport: the daemon's transport carries what
// its ring core's pending table admits (startRing refuses a pairing that
// does not: operations could fill the transport and refuse ring
// maintenance), and the check does refuse a smaller cap.
func TestRingConfigPairsWithTransport(t *testing.T) {
	h, err := libp2p.New(libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"))
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	tcfg := p2p.DefaultConfig()
	tr, err := p2p.NewTransport(h, tcfg, wallClock{})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	cfg, err := ringConfig(tr)
	if err != nil {
		t.Fatal(err)
	}
	if err := tcfg.ValidateRing(cfg); err != nil {
		t.Fatalf("the daemon's transport (MaxOutbound %d) and ring (MaxPending %d): %v", tcfg.MaxOutbound, cfg.MaxPending, err)
	}
	tcfg.MaxOutbound = cfg.MaxPending - 1
	if err := tcfg.ValidateRing(cfg); err == nil {
		t.Fatalf("MaxOutbound %d under MaxPending %d accepted", tcfg.MaxOutbound, cfg.MaxPending)
	}
}
