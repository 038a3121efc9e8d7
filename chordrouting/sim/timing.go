package sim

import (
	"math/bits"
	"time"
)

// The experiment's waits, derived from the core's tick-denominated
// configuration so that they stay right when its defaults change.

// ticks converts a count of node ticks into virtual time.
func ticks(c Config, n int) time.Duration { return time.Duration(n) * c.Net.Tick }

// stabilizeInterval is the virtual time between two stabilize rounds of a
// node: the unit of Options.Churn.
func stabilizeInterval(c Config) time.Duration { return ticks(c, c.Node.StabilizeTicks) }

// fingerWarmup is how long after the last join Run lets fingers settle:
// long enough for a node to refresh 32 fingers (a node of a ring of 10^5
// needs about log2(10^5/r) = 14), counted from the last join, since the
// fingers are refreshed all the while the ring forms.
func fingerWarmup(c Config) time.Duration {
	per := max(1, c.Node.FingersPerFix)
	return ticks(c, 32*c.Node.FixFingerTicks/per)
}

// membershipWarmup is how long a join takes to reach every membership
// table of a ring of n nodes (one-hop mode): the quarantine, then one
// dissemination interval per EDRA level, and one more for the batching.
func membershipWarmup(c Config, n int) time.Duration {
	if !c.Node.OneHop {
		return 0
	}
	return ticks(c, c.Node.QuarantineTicks+(bits.Len(uint(n))+2)*c.Node.DisseminateTicks)
}

// settleTime lets puts, replica pushes and two rounds of replica repair
// finish.
func settleTime(c Config) time.Duration {
	return max(settleIntervals*stabilizeInterval(c), ticks(c, 2*c.Node.RepairTicks+c.Node.RequestTimeoutTicks))
}
