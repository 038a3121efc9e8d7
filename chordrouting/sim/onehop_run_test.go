package sim

import (
	"math"
	"testing"
	"time"
)

// TestRunOneHopSessions runs the issue-10 experiment small: a one-hop
// ring under Weibull sessions at the daemon's tick, built by joins and
// started settled. Lookups stay correct and mostly one hop, and the
// maintenance figure is measured under churn and broken down by message
// type.
func TestRunOneHopSessions(t *testing.T) {
	for _, opt := range []Options{
		{Nodes: 150, Lookups: 1000, Session: 20 * time.Minute, OneHop: true, Seed: 3},
		{Nodes: 300, Lookups: 1000, Session: 20 * time.Minute, OneHop: true, Seed: 3, Build: BuildFormed},
	} {
		t.Logf("seed %d, build %q", opt.Seed, opt.Build)
		rep, err := Run(opt)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%+v", rep)
		formed := opt.Build == BuildFormed
		switch {
		case rep.TickS != DaemonTick.Seconds():
			t.Fatalf("session run at tick %v s, want the daemon's %v", rep.TickS, DaemonTick.Seconds())
		case rep.FailedLookups > 0 || rep.RecordsLost > 0 || !rep.RingCorrect:
			t.Fatalf("%d failed lookups, %d records lost, ring correct %v", rep.FailedLookups, rep.RecordsLost, rep.RingCorrect)
		case rep.OneHopFraction < 0.95:
			t.Fatalf("one-hop fraction %.3f, want >= 0.95", rep.OneHopFraction)
		case rep.JoinedNodes == 0:
			t.Fatal("no churn happened")
		case rep.MaintKbpsPerNode <= 0 || rep.MaintKbpsByType["membership"] <= 0 || rep.MaintQuietKbpsPerNode <= 0:
			t.Fatalf("maintenance not measured under churn: %v kbit/s, by type %v, quiet %v", rep.MaintKbpsPerNode, rep.MaintKbpsByType, rep.MaintQuietKbpsPerNode)
		case rep.TableComplete < tablesComplete:
			t.Fatalf("tables %.3f complete after the wait", rep.TableComplete)
		case formed && (rep.TableComplete != 1 || rep.FormS != 0 || rep.Build != BuildFormed):
			t.Fatalf("formed ring: tables %.4f complete after %v s (build %q), want 1 at once", rep.TableComplete, rep.FormS, rep.Build)
		}
	}
}

// TestResidualSessions: the sessions of the nodes present at the start
// are the residuals of a steady state, whose mean for a Weibull of shape
// 0.5 is three times the session mean (E[L²]/2E[L]).
func TestResidualSessions(t *testing.T) {
	s, err := New(DefaultConfig(), 5)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("seed 5")
	e := &experiment{s: s}
	const n = 40000
	sum := 0.0
	for range n {
		sum += e.residualSession(time.Hour).Hours()
	}
	if mean := sum / n; math.Abs(mean-3) > 0.15 {
		t.Fatalf("mean residual session %.3f h, want 3 h", mean)
	}
	fresh := 0.0
	for range n {
		fresh += e.weibull(time.Hour).Hours()
	}
	if mean := fresh / n; math.Abs(mean-1) > 0.05 {
		t.Fatalf("mean fresh session %.3f h, want 1 h", mean)
	}
}
