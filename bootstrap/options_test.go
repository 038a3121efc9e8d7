package bootstrap

import (
	"testing"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/network"
	rcmgr "github.com/libp2p/go-libp2p/p2p/host/resource-manager"

	"kwsearch/blockxfer"
	"kwsearch/chordrouting/p2p"
)

// TestLimiterScales: more memory and descriptors in the config give the
// system scope larger limits; every setting yields a resource manager.
func TestLimiterScales(t *testing.T) {
	small, big := DefaultConfig(), DefaultConfig()
	small.MaxMemory, small.MaxFDs = 256<<20, 256
	big.MaxMemory, big.MaxFDs = 4<<30, 4096
	ls, lb := limiter(small).GetSystemLimits(), limiter(big).GetSystemLimits()
	if ls.GetMemoryLimit() >= lb.GetMemoryLimit() || ls.GetFDLimit() >= lb.GetFDLimit() {
		t.Errorf("limits do not scale: small %d B %d fds, big %d B %d fds",
			ls.GetMemoryLimit(), ls.GetFDLimit(), lb.GetMemoryLimit(), lb.GetFDLimit())
	}
	if got := lb.GetFDLimit(); got > big.MaxFDs {
		t.Errorf("FD limit %d above MaxFDs %d", got, big.MaxFDs)
	}
	for _, cfg := range []Config{DefaultConfig(), small, big} {
		rm, err := resourceManager(cfg)
		if err != nil {
			t.Fatal(err)
		}
		rm.Close()
	}
}

// TestServiceLimits: the limiter carries our services' limits, on the
// service scopes and on the protocol scopes alike; per-peer limits stay
// fixed and totals scale with the budget.
func TestServiceLimits(t *testing.T) {
	small, big := DefaultConfig(), DefaultConfig()
	small.MaxMemory, small.MaxFDs = 128<<20, 256 // libp2p's base budget
	big.MaxMemory, big.MaxFDs = 4<<30, 4096
	for _, sl := range serviceLimits() {
		for _, c := range []struct {
			name string
			cfg  Config
			gib  int // GiB of budget above which totals grow
		}{{"base", small, 0}, {"4GiB", big, 4}, {"auto", DefaultConfig(), -1}} {
			l := limiter(c.cfg)
			for scope, got := range map[string]rcmgr.Limit{
				"service peer":  l.GetServicePeerLimits(sl.service),
				"protocol peer": l.GetProtocolPeerLimits(sl.protocol),
			} {
				checkLimit(t, sl.service+" "+c.name+" "+scope, got, sl.perPeer)
			}
			want := sl.total
			if c.gib > 0 {
				want = rcmgr.BaseLimit{
					StreamsInbound:  sl.total.StreamsInbound + c.gib*sl.totalIncrease.StreamsInbound,
					StreamsOutbound: sl.total.StreamsOutbound + c.gib*sl.totalIncrease.StreamsOutbound,
					Streams:         sl.total.Streams + c.gib*sl.totalIncrease.Streams,
					Memory:          sl.total.Memory + int64(c.gib)*sl.totalIncrease.Memory,
				}
			}
			for scope, got := range map[string]rcmgr.Limit{
				"service":  l.GetServiceLimits(sl.service),
				"protocol": l.GetProtocolLimits(sl.protocol),
			} {
				if c.gib < 0 { // machine-dependent: at least the base
					if got.GetStreamLimit(network.DirInbound) < want.StreamsInbound || got.GetMemoryLimit() < want.Memory {
						t.Errorf("%s auto %s: %d inbound streams, %d B, below the base %d, %d B", sl.service, scope,
							got.GetStreamLimit(network.DirInbound), got.GetMemoryLimit(), want.StreamsInbound, want.Memory)
					}
					continue
				}
				checkLimit(t, sl.service+" "+c.name+" "+scope, got, want)
			}
		}
	}
}

func checkLimit(t *testing.T, what string, got rcmgr.Limit, want rcmgr.BaseLimit) {
	t.Helper()
	if got.GetStreamLimit(network.DirInbound) != want.StreamsInbound ||
		got.GetStreamLimit(network.DirOutbound) != want.StreamsOutbound ||
		got.GetStreamTotalLimit() != want.Streams || got.GetMemoryLimit() != want.Memory {
		t.Errorf("%s: streams in %d out %d total %d, memory %d B; want %d %d %d, %d B", what,
			got.GetStreamLimit(network.DirInbound), got.GetStreamLimit(network.DirOutbound),
			got.GetStreamTotalLimit(), got.GetMemoryLimit(),
			want.StreamsInbound, want.StreamsOutbound, want.Streams, want.Memory)
	}
}

// share is how much of limit a reservation at priority prio may bring a
// scope's use to (rcmgr's rule).
func share(limit int64, prio uint8) int64 { return limit * (1 + int64(prio)) / 256 }

// TestServiceLimitsMatchCaps: the limits name the services and protocols
// that chordrouting/p2p and blockxfer use, mirror their default caps, and
// leave room for what their streams reserve.
func TestServiceLimitsMatchCaps(t *testing.T) {
	if ringService != p2p.ServiceName || ringProtocol != p2p.ProtocolID ||
		blockService != blockxfer.ServiceName || blockProtocol != blockxfer.ProtocolID {
		t.Fatalf("names %q %q %q %q differ from the protocols' own", ringService, ringProtocol, blockService, blockProtocol)
	}
	pc, ring := p2p.DefaultConfig(), ringLimit()
	if ring.perPeer.StreamsInbound != pc.MaxInboundPerPeer || ring.total.StreamsInbound != pc.MaxInbound ||
		ring.total.StreamsOutbound != pc.MaxOutbound || ring.perPeer.StreamsOutbound < pc.MaxInboundPerPeer {
		t.Errorf("ring streams %+v / %+v do not mirror the transport's caps %+v", ring.total, ring.perPeer, pc)
	}
	frame := int64(pc.MaxMessageSize)
	if share(ring.perPeer.Memory, network.ReservationPriorityMedium) < 2*frame ||
		share(ring.total.Memory, network.ReservationPriorityMedium) < 8*frame {
		t.Errorf("ring memory %d / %d B per peer: no room for large frames of %d B", ring.total.Memory, ring.perPeer.Memory, frame)
	}

	sc, blk := blockxfer.DefaultServerConfig(), blockLimit()
	served := int64(sc.Pipeline*blockxfer.MaxBlockResponseSize + blockxfer.MaxRequestSize) // blockxfer/server.go
	fetching := int64(blockxfer.FetchStreamMemory)
	if blk.perPeer.StreamsInbound != sc.MaxStreamsPerPeer || blk.perPeer.StreamsOutbound < sc.MaxStreamsPerPeer {
		t.Errorf("block streams per peer %+v do not mirror MaxStreamsPerPeer %d", blk.perPeer, sc.MaxStreamsPerPeer)
	}
	in, out := int64(blk.perPeer.StreamsInbound), int64(blk.perPeer.StreamsOutbound)
	// Two nodes fetching from each other: all served streams at medium
	// priority while the remote's cap of fetching streams is in use, and
	// all fetching streams at high priority besides the served ones.
	if got, need := share(blk.perPeer.Memory, network.ReservationPriorityMedium), in*(served+fetching); got < need {
		t.Errorf("block memory per peer: medium share %d B < %d B (%d served and fetching streams)", got, need, in)
	}
	if got, need := share(blk.perPeer.Memory, network.ReservationPriorityHigh), in*served+out*fetching; got < need {
		t.Errorf("block memory per peer: high share %d B < %d B", got, need)
	}
	if got, need := share(blk.total.Memory, network.ReservationPriorityMedium), int64(blk.total.StreamsInbound)*served; got < need {
		t.Errorf("block memory: medium share %d B < %d served streams (%d B)", got, blk.total.StreamsInbound, need)
	}
	if got, need := share(blk.totalIncrease.Memory, network.ReservationPriorityMedium), int64(blk.totalIncrease.StreamsInbound)*served; got < need {
		t.Errorf("block memory per GiB: medium share %d B < %d served streams (%d B)", got, blk.totalIncrease.StreamsInbound, need)
	}
}

// TestServiceLimitsFitSystem: the system scope has room for all of our
// services' streams on top of libp2p's defaults for everything else, at
// the smallest budget and at the machine's: the ring's streams are
// refused by the ring's own limits (which mirror the transport's caps),
// never first by the system's (a refusal the ring core would take for a
// dead peer).
func TestServiceLimitsFitSystem(t *testing.T) {
	small := DefaultConfig()
	small.MaxMemory, small.MaxFDs = 128<<20, 256
	for _, c := range []struct {
		name string
		cfg  Config
	}{{"base", small}, {"auto", DefaultConfig()}} {
		def := rcmgr.DefaultLimits
		libp2p.SetDefaultServiceLimits(&def)
		var base rcmgr.ConcreteLimitConfig
		if c.cfg.MaxMemory == 0 {
			base = def.AutoScale()
		} else {
			base = def.Scale(c.cfg.MaxMemory, c.cfg.MaxFDs)
		}
		libp2pSys := base.ToPartialLimitConfig().System
		got := limiter(c.cfg).(interface{ GetSystemLimits() rcmgr.Limit }).GetSystemLimits()
		in, out, all := int(libp2pSys.StreamsInbound), int(libp2pSys.StreamsOutbound), int(libp2pSys.Streams)
		for _, l := range serviceLimits() {
			in, out, all = in+l.total.StreamsInbound, out+l.total.StreamsOutbound, all+l.total.Streams
		}
		if got.GetStreamLimit(network.DirInbound) < in || got.GetStreamLimit(network.DirOutbound) < out || got.GetStreamTotalLimit() < all {
			t.Errorf("%s: system streams in %d out %d total %d; want at least libp2p's %v plus our services': %d %d %d", c.name,
				got.GetStreamLimit(network.DirInbound), got.GetStreamLimit(network.DirOutbound), got.GetStreamTotalLimit(),
				libp2pSys, in, out, all)
		}
	}
}
