package sim

import "time"

// The experiment's waits, derived from the core's tick-denominated
// configuration so that they stay right when its defaults change.

// ticks converts a count of node ticks into virtual time.
func ticks(c Config, n int) time.Duration { return time.Duration(n) * c.Net.Tick }

// stabilizeInterval is the virtual time between two stabilize rounds of a
// node: the unit of Options.Churn.
func stabilizeInterval(c Config) time.Duration { return ticks(c, c.Node.StabilizeTicks) }

// fingerWarmup is how long Run lets fingers settle once the ring is correct:
// long enough for every node to refresh 64 fingers (log2 of a ring far
// larger than any we simulate) twice.
func fingerWarmup(c Config) time.Duration {
	per := max(1, c.Node.FingersPerFix)
	return max(30*stabilizeInterval(c), ticks(c, 2*64*c.Node.FixFingerTicks/per))
}

// settleTime lets puts, replica pushes and two rounds of replica repair
// finish.
func settleTime(c Config) time.Duration {
	return max(settleIntervals*stabilizeInterval(c), ticks(c, 2*c.Node.RepairTicks+c.Node.RequestTimeoutTicks))
}
