package sim

import (
	"fmt"
	"time"
)

// Options are the parameters of one experiment; kwnode sim's flags map onto
// them one to one.
type Options struct {
	// Nodes is the ring size built before the measurements.
	Nodes int
	// Lookups is how many lookups are measured.
	Lookups int
	// Fail is the fraction of nodes that crash at once after the ring has
	// formed and the records are stored.
	Fail float64
	// Churn is R: R joins and R crashes per stabilization interval on
	// average (two Poisson processes), while the lookups run.
	Churn float64
	// Session, when positive, replaces Churn by session-driven churn: each
	// node lives for a Weibull-distributed time (shape SessionShape) with
	// this mean, then crashes and a fresh node joins in its place.
	Session time.Duration
	// OneHop turns on the core's one-hop membership table for every node,
	// with the daemon's replication (chordrouting.Config.EnableOneHop,
	// which sets Config's Replicas and ReadFanout; a caller that wants
	// others sets Config.Node.OneHop itself and leaves this false).
	OneHop bool
	// Tick is the nodes' tick, the unit of the core's timings; 0 means the
	// network's default (100 ms), or DaemonTick (1 s, the daemon's) when
	// Session is set, since session runs model deployed nodes.
	Tick time.Duration
	// Seed drives every random choice of the run.
	Seed int64
	// Records is how many records are published before failures and churn;
	// 0 means one per node.
	Records int
	// ChurnIntervals is how many stabilization intervals churn lasts while
	// the lookups run, spread over that time; with Session, also the
	// length of the maintenance window under churn before them. 0 means
	// 100.
	ChurnIntervals int
	// RingLimit bounds each wait for a correct ring (after forming, after
	// the mass failure, after churn); 0 means 2000 stabilization intervals.
	// A ring still incorrect then is reported, not an error.
	RingLimit time.Duration
	// Build is how the ring is built: BuildJoins (also "") through real
	// joins, or BuildFormed started settled at once (Sim.FormRing), to
	// measure a steady state whose formation by joins would cost too much
	// (one-hop rings of 100,000 nodes).
	Build string
	// Config is the simulation configuration; nil means DefaultConfig().
	Config *Config
	// Log, when set, receives one line per phase.
	Log func(string)
	// Stop, when closed, ends the run early: Run returns ErrInterrupted
	// and an empty Report, whichever phase was running. nil: the run goes
	// to its end.
	Stop <-chan struct{}
}

// The ways to build the ring (Options.Build).
const (
	BuildJoins  = "joins"
	BuildFormed = "formed"
)

// SessionShape is the Weibull shape of session lengths: about 0.5 was
// measured in the Kad network (Steiner et al., 2007), i.e. many short
// sessions and a long tail.
const SessionShape = 0.5

// Bounds that keep one run within memory and time a laptop can give.
const (
	maxNodes   = 200_000
	maxLookups = 10_000_000
)

// DefaultOptions returns the options kwnode sim uses when no flag is given:
// 1,000 nodes and 10,000 lookups finish in seconds.
func DefaultOptions() Options {
	return Options{Nodes: 1000, Lookups: 10000, Seed: 1}
}

// Validate reports the first bad option.
func (o Options) Validate() error {
	switch {
	case o.Nodes < 1 || o.Nodes > maxNodes:
		return fmt.Errorf("sim: nodes must be in 1..%d, got %d", maxNodes, o.Nodes)
	case o.Lookups < 0 || o.Lookups > maxLookups:
		return fmt.Errorf("sim: lookups must be in 0..%d, got %d", maxLookups, o.Lookups)
	case !(o.Fail >= 0 && o.Fail < 1):
		return fmt.Errorf("sim: fail fraction must be in [0, 1), got %v", o.Fail)
	case !(o.Churn >= 0 && o.Churn <= float64(o.Nodes)):
		return fmt.Errorf("sim: churn must be in [0, nodes], got %v", o.Churn)
	case o.Session < 0:
		return fmt.Errorf("sim: session must not be negative, got %v", o.Session)
	case o.Session > 0 && o.Churn > 0:
		return fmt.Errorf("sim: churn and session are two ways to set churn: give one")
	case o.Records < 0 || o.Records > maxLookups:
		return fmt.Errorf("sim: records must be in 0..%d, got %d", maxLookups, o.Records)
	case o.Tick < 0 || o.Tick > time.Minute:
		return fmt.Errorf("sim: tick must be in 0..1m, got %v", o.Tick)
	case o.RingLimit < 0:
		return fmt.Errorf("sim: ring limit must not be negative, got %v", o.RingLimit)
	case o.Build != "" && o.Build != BuildJoins && o.Build != BuildFormed:
		return fmt.Errorf("sim: build must be %q or %q, got %q", BuildJoins, BuildFormed, o.Build)
	case o.ChurnIntervals < 0:
		return fmt.Errorf("sim: churn intervals must not be negative, got %d", o.ChurnIntervals)
	}
	if o.Config != nil {
		return o.Config.Validate()
	}
	return nil
}
