package bootstrap

import (
	"testing"

	"github.com/libp2p/go-libp2p/core/event"
	"github.com/libp2p/go-libp2p/core/network"
	ma "github.com/multiformats/go-multiaddr"
)

func TestCombineReachability(t *testing.T) {
	addr := []ma.Multiaddr{ma.StringCast("/ip4/198.18.0.10/tcp/4001")}
	cases := []struct {
		name string
		v1   network.Reachability
		v2   event.EvtHostReachableAddrsChanged
		want Reachability
	}{
		{"nothing known", network.ReachabilityUnknown, event.EvtHostReachableAddrsChanged{}, ReachabilityUnknown},
		{"v1 public", network.ReachabilityPublic, event.EvtHostReachableAddrsChanged{}, ReachabilityPublic},
		{"v1 private", network.ReachabilityPrivate, event.EvtHostReachableAddrsChanged{}, ReachabilityPrivate},
		{"v2 confirms an address", network.ReachabilityPrivate, event.EvtHostReachableAddrsChanged{Reachable: addr}, ReachabilityPublic},
		{"v2 refutes only", network.ReachabilityUnknown, event.EvtHostReachableAddrsChanged{Unreachable: addr}, ReachabilityPrivate},
		{"v2 unsure", network.ReachabilityUnknown, event.EvtHostReachableAddrsChanged{Unknown: addr}, ReachabilityUnknown},
	}
	for _, c := range cases {
		if got := combineReachability(c.v1, c.v2); got != c.want {
			t.Errorf("%s: %s, want %s", c.name, got, c.want)
		}
	}
}

// TestAutoModeFollowsReachability feeds AutoNAT verdicts into an auto-mode
// host's event bus and watches the mode flip at run time, with the relay
// service following the server mode.
func TestAutoModeFollowsReachability(t *testing.T) {
	cfg := testConfig(t, ModeAuto)
	h := newTestHost(t, cfg)
	em, err := h.EventBus().Emitter(new(event.EvtLocalReachabilityChanged))
	if err != nil {
		t.Fatal(err)
	}
	defer em.Close()
	steps := []struct {
		v1    network.Reachability
		mode  Mode
		reach Reachability
	}{
		{network.ReachabilityPublic, ModeServer, ReachabilityPublic},
		{network.ReachabilityPrivate, ModeClient, ReachabilityPrivate},
		{network.ReachabilityPublic, ModeServer, ReachabilityPublic},
	}
	for _, s := range steps {
		if err := em.Emit(event.EvtLocalReachabilityChanged{Reachability: s.v1}); err != nil {
			t.Fatal(err)
		}
		st := waitStatus(t, h, func(st Status) bool { return st.Reachability == s.reach })
		if st.Mode != s.mode || st.Configured != ModeAuto || st.RelayService != (s.mode == ModeServer) {
			t.Fatalf("after %v: %+v, want mode %s", s.v1, st, s.mode)
		}
	}
}
