package sim

import (
	"math"
	"sort"
	"time"

	"kwsearch/chordrouting"
)

// This file is what Run adds for one-hop routing and session churn
// (issue 10): the node tick that models a deployment, a shared membership
// directory, sessions in steady state, and maintenance measured under
// churn.

// DaemonTick is the ring tick of the kwsearch daemon (repo config "tick").
// Session experiments model deployed nodes, so they run at this tick
// unless Options.Tick says otherwise: a stabilize round every second, not
// every 100 ms.
const DaemonTick = time.Second

// configure applies the options that change the simulation's
// configuration: the node tick, one-hop mode and its shared directory.
func (o Options) configure(cfg Config) Config {
	switch {
	case o.Tick > 0:
		cfg.Net.Tick = o.Tick
	case o.Session > 0:
		cfg.Net.Tick = DaemonTick
	}
	if o.OneHop {
		cfg.Node.EnableOneHop() // as the daemon runs it
	}
	return cfg
}

// shareDirectory gives one-hop nodes one membership directory: tables that
// agree then share their chunks (see chordrouting.Directory).
func shareDirectory(cfg *Config) {
	if cfg.Node.OneHop && cfg.Node.Directory == nil {
		cfg.Node.Directory = chordrouting.NewDirectory()
	}
}

// residualSession draws how much is left of the session of a node that is
// up at a random instant of a steady state: the session that instant falls
// in is length-biased (for a Weibull of shape k and scale λ, its length is
// λ·G^(1/k) with G ~ Gamma(1+1/k); for k = 0.5, G is the sum of three unit
// exponentials), and the instant is uniform within it. Drawing fresh
// sessions for the nodes present at the start instead would crash 17% of
// the ring in the first minute of a 1 h mean.
func (e *experiment) residualSession(mean time.Duration) time.Duration {
	scale := float64(mean) / math.Gamma(1+1/SessionShape)
	g := e.s.rng.ExpFloat64() + e.s.rng.ExpFloat64() + e.s.rng.ExpFloat64()
	length := scale * math.Pow(g, 1/SessionShape) // shape 0.5: g²
	return time.Duration(e.s.rng.Float64() * length)
}

// Waiting for the membership tables after the ring formed.
const (
	// tablesComplete is the mean fraction of the live members the sampled
	// tables must hold.
	tablesComplete = 0.995
	// tablesLimit bounds the wait; tables still short then are reported
	// (table_complete), not an error.
	tablesLimit = 30 * time.Minute
	// tablesEvery is how often the wait samples the tables.
	tablesEvery = 10 * time.Second
)

// waitTables runs until the membership tables hold nearly every live
// member: a ring that forms in a minute announces its joins while the
// tables that route the announcements are still filling, and
// anti-entropy then completes them, which a deployment that grows
// gradually never needs. The measurements start from the steady state.
func (e *experiment) waitTables() {
	t0 := e.s.net.Elapsed()
	checks := 0
	_ = e.s.net.RunUntilEvery(func() bool {
		m, c := e.tableStats()
		if checks++; checks%6 == 0 {
			e.logf("membership tables: %.1f entries on average, %.2f%% of the live members", m, 100*c)
		}
		return c >= tablesComplete
	}, tablesEvery, tablesLimit)
	e.rep.TablesS = (e.s.net.Elapsed() - t0).Seconds()
}

// measureChurnMaintenance measures the traffic per node while session
// churn runs and no lookups do: stabilization, fingers, repair, and in
// one-hop mode dissemination, joiners' table copies and anti-entropy, over
// a window of length d.
func (e *experiment) measureChurnMaintenance(d time.Duration) {
	e.rep.MaintQuietKbpsPerNode = e.rep.MaintKbpsPerNode
	if e.rep.Build == BuildFormed {
		// A ring started settled has no membership events in flight: let
		// churn fill the pipeline first, for as long as a join takes to
		// reach every table.
		w := membershipWarmup(e.s.cfg, e.s.LiveCount())
		e.logf("churn warming up for %v before the maintenance window", w)
		if err := e.s.RunFor(w); err != nil {
			return
		}
	}
	before := e.s.net.Stats()
	nodes := 0.0
	steps := 10
	for k := 0; k < steps; k++ {
		nodes += float64(e.s.LiveCount()) / float64(steps)
		if err := e.s.RunFor(d / time.Duration(steps)); err != nil {
			return
		}
		e.logf("maintenance window %d/%d", k+1, steps)
	}
	e.setMaint(before, e.s.net.Stats(), d, nodes)
	e.logf("maintenance under churn: %.2f kbit/s per node", e.rep.MaintKbpsPerNode)
	if e.s.cfg.Node.OneHop {
		m, c := e.tableStats()
		e.logf("membership tables: %.1f entries on average, %.2f%% of the live members", m, 100*c)
	}
}

// setMaint fills the maintenance figures from the counters before and
// after a window of length d with `nodes` live nodes on average.
func (e *experiment) setMaint(before, after Stats, d time.Duration, nodes float64) {
	per := func(b uint64) float64 { return float64(b) * 8 / 1000 / d.Seconds() / math.Max(1, nodes) }
	e.rep.MaintKbpsPerNode = per(after.Bytes - before.Bytes)
	e.rep.MaintKbpsByType = map[string]float64{}
	for t := range after.BytesByType {
		if b := after.BytesByType[t] - before.BytesByType[t]; b > 0 {
			e.rep.MaintKbpsByType[msgTypeName(chordrouting.MsgType(t))] = math.Round(per(b)*1000) / 1000
		}
	}
}

// msgTypeName names a message type for the report.
func msgTypeName(t chordrouting.MsgType) string {
	names := map[chordrouting.MsgType]string{
		chordrouting.MsgPing: "ping", chordrouting.MsgPong: "pong",
		chordrouting.MsgGetState: "get_state", chordrouting.MsgState: "state",
		chordrouting.MsgNotify: "notify", chordrouting.MsgFindSuccessor: "find_successor",
		chordrouting.MsgFindSuccessorReply: "find_successor_reply", chordrouting.MsgStore: "store",
		chordrouting.MsgStoreAck: "store_ack", chordrouting.MsgGet: "get", chordrouting.MsgGetReply: "get_reply",
		chordrouting.MsgDigest: "digest", chordrouting.MsgDigestReply: "digest_reply",
		chordrouting.MsgLeave: "leave", chordrouting.MsgError: "error",
		chordrouting.MsgMembership: "membership", chordrouting.MsgGetMembers: "get_members",
		chordrouting.MsgMembers: "members", chordrouting.MsgDigestSummary: "digest_summary",
		chordrouting.MsgDigestSummaryReply: "digest_summary_reply",
	}
	if s, ok := names[t]; ok {
		return s
	}
	return "other"
}

// tableStats returns the mean size of the live members' membership tables
// and the mean fraction of live members they hold.
func (e *experiment) tableStats() (mean, complete float64) {
	live := e.s.Live()
	if len(live) == 0 {
		return 0, 0
	}
	ids := make([]chordrouting.ID, 0, len(live))
	for _, i := range live {
		ids = append(ids, e.s.Peer(i).ID)
	}
	sort.Slice(ids, func(a, b int) bool { return ids[a].Less(ids[b]) })
	sum, hit := 0, 0
	for k, i := range live {
		if k%max(1, len(live)/200) != 0 {
			continue // a sample of 200 tables is enough
		}
		n := e.s.Node(i)
		sum += n.MembershipSize()
		hit++
		complete += float64(n.MembershipLive(ids)) / float64(max(1, len(ids)-1))
	}
	return float64(sum) / float64(hit), complete / float64(hit)
}
