package node

import (
	"strings"
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

// TestRingConfigPairsWithTransport: ringParts, which builds the daemon's
// ring for startRing, pairs the daemon's transport with its core, and
// refuses a transport that cannot carry the core: a MaxOutbound below the
// core's MaxPending (operations could fill the transport and refuse ring
// maintenance) or a MaxInboundPerPeer below a peer's operations and
// maintenance (its stabilize queries could be reset).
func TestRingConfigPairsWithTransport(t *testing.T) {
	h, err := libp2p.New(libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"))
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	tr, cfg, err := ringParts(h, p2p.DefaultConfig())
	if err != nil {
		t.Fatalf("the daemon's transport and ring: %v", err)
	}
	tr.Close()

	small := p2p.DefaultConfig()
	small.MaxOutbound = cfg.MaxPending - 1
	if tr, _, err := ringParts(h, small); err == nil || !strings.Contains(err.Error(), "MaxOutbound") {
		if tr != nil {
			tr.Close()
		}
		t.Fatalf("MaxOutbound %d under MaxPending %d: err %v, want a refusal naming MaxOutbound", small.MaxOutbound, cfg.MaxPending, err)
	}
	small = p2p.DefaultConfig()
	small.MaxInboundPerPeer = cfg.MaxOpsPerPeer + cfg.MaintenancePerPeer() - 1
	if tr, _, err := ringParts(h, small); err == nil || !strings.Contains(err.Error(), "MaxInboundPerPeer") {
		if tr != nil {
			tr.Close()
		}
		t.Fatalf("MaxInboundPerPeer %d under %d + %d: err %v, want a refusal naming MaxInboundPerPeer", small.MaxInboundPerPeer, cfg.MaxOpsPerPeer, cfg.MaintenancePerPeer(), err)
	}
}
