package chordrouting

import (
	"errors"
	"fmt"
)

// Config sets a Node's protocol parameters. Timings count ticks (calls of
// Node.Tick); the caller picks the tick length. The reasons below are given
// at 100 ms ticks, the simulator's; the daemon ticks once a second (its
// config's "tick"), which makes every interval ten times longer and the
// maintenance traffic ten times smaller (request timeouts also follow the
// measured round trip, so slow links are not suspected at either length).
type Config struct {
	// SuccessorListLen is r, the length of the successor list. 8: the ring
	// survives any r-1 = 7 simultaneous failures of consecutive nodes, and
	// RING.md's invariant needs r >= 2.
	SuccessorListLen int
	// Replicas is R, how many nodes hold each key (the owner and the next
	// 3: two failures between repair rounds lose nothing; it must not
	// exceed r+1 because a node only knows r successors to push to.
	// EnableOneHop raises it to OneHopReplicas, whose copies one-hop reads
	// then race.
	Replicas int

	// StabilizeTicks is the interval between stabilize rounds. 1: a round
	// costs one small query and one notify, and fast stabilization is what
	// keeps lookups correct under churn.
	StabilizeTicks int
	// FixFingerTicks is the interval between finger refreshes, each
	// refreshing FingersPerFix fingers. 1 and 1: a node of a ring of N needs
	// about log2(N/r) fingers beyond its successor list, so a full refresh
	// takes a few seconds at 100 ms ticks.
	FixFingerTicks int
	FingersPerFix  int
	// RequestTimeoutTicks is how long a request waits for its reply before
	// the peer is presumed dead. 5: comfortably above a continental round
	// trip at 100 ms ticks, yet a dead successor is skipped within half a
	// second.
	RequestTimeoutTicks int
	// SuspectTicks is how long the head of the successor list may leave
	// a stabilize query unanswered before lookups stop naming it as an
	// owner; the query must also be overdue by twice the smoothed round
	// trip of these queries, so slow links are not suspected. (Only
	// lookup answers change; stabilization still waits for
	// RequestTimeoutTicks before it drops the head.) 1: a crashed owner is
	// skipped after one to two ticks instead of the five of the timeout,
	// which halves the failed lookups under heavy churn; a false suspicion
	// only names the next node, a replica, until the answer comes.
	SuspectTicks int
	// LookupTimeoutTicks bounds a whole lookup (all its hops and retries).
	// 100: ten seconds at 100 ms ticks, far above log2(N) round trips.
	LookupTimeoutTicks int
	// MaxLookupHops bounds the nodes one lookup queries. 64: four times
	// log2 of a million-node ring; a lookup beyond it is looping.
	MaxLookupHops int
	// LookupCandidates is how many closer nodes a non-final lookup reply
	// lists. 3: enough to route around a dead finger without another hop
	// back, small enough to keep replies small.
	LookupCandidates int
	// JoinAttempts is how many times Join tries (a lookup, then the
	// successor's state) before it gives up. 5: each attempt already tries
	// every entry point, and an attempt that meets a dead node costs one
	// request timeout.
	JoinAttempts int
	// RepairTicks is the interval between replica repair rounds. 50: five
	// seconds at 100 ms ticks; a round costs one digest per replica.
	RepairTicks int
	// RepairSettleTicks also runs a repair round this many ticks after the
	// node's replica neighbourhood (its predecessor and first R-1
	// successors) last changed, instead of waiting for the next periodic
	// round. 3: a burst of joins settles first and costs one round, and a
	// value stored while the ring was still forming (on a node that is not
	// its owner, or before the successors were known) reaches its R
	// replicas a few ticks after the ring settles, not RepairTicks later.
	// 0 turns it off.
	RepairSettleTicks int
	// HealTicks is the interval between partition checks (looking oneself
	// up through a known peer outside the successor list). 300: thirty
	// seconds at 100 ms ticks; partitions are rare and a check costs a
	// lookup. 0 turns the check off.
	HealTicks int
	// MaxKnownPeers caps the remembered peers used for partition checks
	// and rejoins. 8: a few independent ways back into the ring.
	MaxKnownPeers int

	// Validator checks every value before it is stored or forwarded and
	// filters Get answers. nil accepts any value up to MaxValueSize, with
	// the value itself as identity, version 0 and no expiry (tests and
	// tools only; the daemon sets the keyword validator).
	Validator Validator
	// AdmitFinger, if set, is asked before a peer becomes a finger, with
	// the fingers it would join; false passes it over for the next node
	// after it (diversity.go). The libp2p adapter limits fingers per IP
	// and subnet with it (p2p.Transport.AdmitFinger). nil admits every
	// peer (simulator, tests).
	AdmitFinger func(candidate Peer, fingers []Peer) bool
	// MaxValueSize caps one value in bytes. 8 KiB: a signed record is well
	// under 1 KiB; this leaves room without letting a peer fill memory.
	MaxValueSize int
	// MaxValuesPerKey caps the values one node keeps under one key; the
	// oldest (lowest Version) is evicted. 1000: a popular keyword keeps
	// its most recent providers.
	MaxValuesPerKey int
	// MaxValuesPerPublisher caps the values one publisher may have on one
	// node; beyond it new identities are refused. 10000: far above an
	// honest user's share, small enough to bound a flood.
	MaxValuesPerPublisher int
	// MaxItemsPerMessage caps the items of one store message (and the
	// digests of one digest message). 256: at most 2 MiB of values,
	// below the libp2p transport's 4 MiB frame.
	MaxItemsPerMessage int
	// MaxGetValues caps the values one Get reply carries. 100: a results
	// page; callers ask again with a narrower query.
	MaxGetValues int
	// MaxPending caps this node's outstanding requests; beyond it new
	// requests fail at once instead of growing memory. 4096. Operations
	// (lookups, reads and stores of Lookup, Get, Put and of forwards run
	// for clients) may hold three quarters of it; the last quarter is
	// ring maintenance's (rpc.go), and a request that could not be sent
	// never counts as a timeout of its target.
	MaxPending int
	// MaxOpsPerPeer caps the operations' requests (lookups, reads, stores,
	// forwards: not ring maintenance) in flight to one peer; as many more
	// wait for one of them to end, and beyond that a request is refused
	// as unsent (peerops.go). The receiving transport takes at most so
	// many streams from one peer at once and resets the rest, which looks
	// like silence (chordrouting/p2p: MaxInboundPerPeer, 48), so the
	// operations must leave room there for ring maintenance
	// (MaintenancePerPeer: 30 with OneHop, as the daemon runs) and for
	// headroom of as many again as this (8 + 30 + 8 = 46: chordrouting/
	// p2p's ValidateRing). 8: what a client keeps in
	// flight with one entry point (MaxForwardsPerClient), and at a
	// receiver's request rate (chordrouting/p2p: 50 a second) eight in
	// flight already keep up with round trips of 160 ms.
	MaxOpsPerPeer int

	// ClientForward makes a client (a node that is not a member, with
	// entry points) send its Gets and Puts to its entry points as
	// forwarded requests, which the entry runs with its own routing table
	// and answers on the same request (forward.go), instead of walking
	// the ring itself: a client behind NAT then talks to its entry points
	// only, two requests per search instead of a lookup's hops from both
	// entry points and a read at the owner, each a dial (or a relay)
	// away. true; false keeps the iterative path (for comparison).
	ClientForward bool
	// MemberForward lets a member whose transport reports its connections
	// (ConnState: chordrouting/p2p) send a one-hop read whose holders it
	// has no connection to, to a ring neighbour of the holders it is
	// connected to, which reads over its own open connections and answers
	// on the same request, while the transport opens connections to every
	// holder in the background (forward_member.go); only when the
	// transport measured a dial dearer than the forward: above (k+1)/2
	// round trips for k holders (2 for three; 4.5 for EnableOneHop's
	// eight, whose nearest holder is near enough that TCP's dial of three
	// round trips pays). true: with three holders over TCP a dial costs
	// about three round trips before the request, the forward one.
	// On a transport without ConnState (the simulator) it changes
	// nothing; false always reads directly (for comparison). Any value is
	// valid.
	MemberForward bool
	// ForwardTimeoutTicks is how long a client waits for the answer to a
	// forwarded request before it runs the operation itself. Not the
	// request timeout: the answer takes the round trip to the entry plus
	// the entry's own operation, and the adaptive request timeout
	// (timeouts.go) would presume the entry dead while it works. 10
	// (twice RequestTimeoutTicks): the entry's read is one round trip
	// with a fresh table, and one request timeout and a confirmed lookup
	// when the owner it names is dead. A client whose measured request
	// timeout is longer (slow round trips, or a larger
	// RequestTimeoutTicks) waits twice that, at most LookupTimeoutTicks,
	// and never past its transport's deadline for the exchange
	// (ForwardWaiter: 10 s on libp2p, chordrouting/p2p).
	ForwardTimeoutTicks int
	// ForwardBatchItems caps the items of one forwarded store: a client
	// sends its Put in batches of at most this many, and an entry refuses
	// a larger one. The entry groups a batch's keys by owner with lookups
	// (8 chains at once, route.go) and stores 8 owners' items at a time,
	// and must answer before the client's forward timeout: ten seconds at
	// the daemon's one-second tick, less the transport's margin
	// (chordrouting/p2p). 32: on a static ring of 1,000 members a full
	// batch takes the entry 10 round trips (1.5 s at 150 ms round trips;
	// 30 with one lookup after another), a batch of MaxItemsPerMessage
	// (256) 40 (6 s; 109, over 16 s, with one lookup after another), as
	// measured by `go test -run '^$' -bench ForwardedBatch -benchtime 4x
	// ./chordrouting/`; so a full batch still ends in time after one
	// request timeout (a dead owner's store: the entry makes no retry
	// round, the client stores what failed itself). On libp2p the
	// entry's stores also end by seven tenths of the transport's deadline
	// (7 s), so that its answer still reaches the client after a longer
	// request timeout (slow links).
	ForwardBatchItems int
	// MaxForwards caps the forwarded requests a member runs at once for
	// clients, and MaxForwardsPerClient those of one client; beyond them
	// a forwarded request is refused with MsgError at once (the client
	// runs the operation itself), not queued. Forwarding is work done for
	// untrusted peers: each forward holds one of this node's operations
	// (a read asks up to ReadFanout holders; a put batch looks its keys
	// up and stores at each owner) and, on libp2p, an incoming stream.
	// 256: a quarter of the transport's 1024 incoming streams. A forward
	// holds up to 8 stores and 8 lookups in flight (forward_serve.go), so
	// 256 forwards could hold 4,096 pending requests: not far below
	// MaxPending, and more than the operations' share of it (3,072); a
	// forward that would not fit in that share is refused at once, and
	// the last quarter is ring maintenance's whatever the forwards do.
	// 8 per client: a search runs one Get per keyword and a
	// publish keeps forwardWindow (4) batches in flight, so a search and
	// a publish fit together, under the transport's 48 streams per peer.
	MaxForwards          int
	MaxForwardsPerClient int

	// OneHop turns on the membership table and its dissemination (issue
	// 10): a lookup asks the key's owner as the table names it for its
	// state, one round trip when the entry is fresh; fingers and successor
	// lists stay the fallback, so correctness never depends on the table.
	// Off by default; see doc.go ("One-hop routing") for the measured
	// figures and what is missing.
	OneHop bool
	// ReadFanout is how many of a key's holders a one-hop read asks at
	// once: the owner the table names and the next ReadFanout-1 members,
	// which hold the key's replicas (onehop_get.go). The first answer that
	// has values ends the read; answers without values wait for the
	// owner's. 3 (= Replicas): a search waits for the nearest of the three
	// holders instead of the owner alone; at 1,000 hosts with round trips
	// spread evenly over 10-150 ms, 41 ms instead of 82 at the median and
	// 123 ms instead of 158 at p99 (BENCHMARKS.md), for two more small
	// messages per read. EnableOneHop raises it with Replicas to
	// OneHopReplicas. The price (doc.go): a replica may lag the owner,
	// and a holder that leaves values out hides them from the readers it
	// is nearest to. 1 asks the owner only; a value above Replicas asks
	// the Replicas holders.
	ReadFanout int
	// QuarantineTicks is how long a joiner must stay before its successor
	// announces it to the ring (its lookups and its keys work at once; only
	// the others' tables wait). 3: three seconds at the daemon's one-second
	// tick keeps the 4% of sessions that are shorter (Kad's Weibull, shape
	// 0.5, 1 h mean) out of everyone's table. A lookup for a key of a joiner
	// nobody's table names yet costs a second hop (stepping back from its
	// successor), so every tick of quarantine costs one-hop lookups: at
	// 3,000 nodes and 1 h sessions (kwnode sim --session 1h --one-hop, then
	// with three replicas, seed 1) 10 ticks gave 98.8% of lookups in one
	// hop and 1.49 kbit/s per node, 3 ticks 99.2% and 1.34 kbit/s (the 3%
	// more sessions announced cost less than the second hops they save).
	QuarantineTicks int
	// DisseminateTicks is the interval at which membership events are
	// batched and sent (EDRA's Theta). 2: an event reaches every member
	// within about log2(N) intervals (28 s at 10,000 nodes with one-second
	// ticks, 14 s on average), and a node sends at most log2(N) messages
	// per interval, about 1.5 per second at 10,000 nodes and 1 h sessions.
	DisseminateTicks int
	// AntiEntropyTicks is the interval between digest sweeps of the whole
	// table against a random member, ranges of 63 entries at a time, which
	// repair what dissemination missed (a forwarder that crashed with
	// events queued: a few dozen members miss each event at 10,000 nodes
	// and 1 h sessions; tables that disagreed while the ring formed). A
	// sweep that finds many differences is repeated soon. 3600: hourly at
	// the daemon's one-second tick; a sweep of agreeing tables costs two
	// messages of about 200 B per range, plus a page for each range with
	// an event in flight, about 0.3 kbit/s per node at 10,000 nodes.
	AntiEntropyTicks int
	// MaxTableSize caps the membership table's entries; above it the table
	// thins like Accordion (it keeps the members near this node and a
	// sample that thins with distance). 1<<17 (131,072): every member of
	// rings up to the 100,000 nodes the simulator measures, at about 150 B
	// per entry with libp2p peer IDs about 20 MB; joins are not
	// authenticated, so this is also what a flood of forged joins can make
	// a daemon hold (1<<20 would be 150 MB). Larger rings thin, which
	// costs a hop at most (the table's predecessor of the key is asked).
	MaxTableSize int
	// Directory, when set, is shared by the membership tables of several
	// nodes (a simulator running them on one goroutine), which then hold
	// each Peer once and share the chunks of entries in which they agree
	// (see Directory). nil: the node keeps its own.
	Directory *Directory
}

// DefaultConfig returns the values documented on Config's fields.
func DefaultConfig() Config {
	return Config{
		SuccessorListLen:      8,
		Replicas:              3,
		StabilizeTicks:        1,
		FixFingerTicks:        1,
		FingersPerFix:         1,
		RequestTimeoutTicks:   5,
		SuspectTicks:          1,
		LookupTimeoutTicks:    100,
		MaxLookupHops:         64,
		LookupCandidates:      3,
		JoinAttempts:          5,
		RepairTicks:           50,
		RepairSettleTicks:     3,
		HealTicks:             300,
		MaxKnownPeers:         8,
		MaxValueSize:          8 << 10,
		MaxValuesPerKey:       1000,
		MaxValuesPerPublisher: 10000,
		MaxItemsPerMessage:    256,
		MaxGetValues:          100,
		MaxPending:            4096,
		MaxOpsPerPeer:         8,
		ClientForward:         true,
		MemberForward:         true,
		ForwardTimeoutTicks:   10,
		ForwardBatchItems:     32,
		MaxForwards:           256,
		MaxForwardsPerClient:  8,
		OneHop:                false,
		ReadFanout:            3,
		QuarantineTicks:       3,
		DisseminateTicks:      2,
		AntiEntropyTicks:      3600,
		MaxTableSize:          1 << 17,
	}
}

// OneHopReplicas is Replicas and ReadFanout under EnableOneHop: the owner
// and the next seven members hold each key, and a one-hop read asks all
// eight at once, so a search waits for the nearest of eight holders.
// Where round trips differ, that nearest is what sets a search's latency:
// at 1,000 hosts with round trips spread evenly over 10-150 ms, eight
// copies gave 24 ms at the median and 72 ms at p99 where three gave 41 and
// 123 (kad-dht, which stores 20 copies and asks about ten peers at once,
// 66 and 168; BENCHMARKS.md). The order statistics say why fewer fall
// short: the p99 of the nearest of k links drawn from 10-150 ms is 150 -
// 140 * 0.01^(1/k) ms, 85 ms for six and 78 for seven, eight's 71; and
// eight leaves the owner one successor (r = 8) beyond its seven replicas,
// so that a replica's failure still leaves it seven to push to before
// stabilization refills its list (Validate allows r + 1 = 9). What it
// costs: a record is stored eight times (a keyword pointer is a few
// hundred bytes), a read sends eight small requests (kad-dht's search
// about 50) and gets up to eight answers, a cold read dials eight holders,
// and repair walks seven predecessors instead of two and keeps seven
// replicas in step: about 0.7 kbit/s more per node at the daemon's tick
// with one record per node (kwnode sim --session 1h --one-hop: 2.36
// instead of 1.68 kbit/s at 3,000 nodes). Repair's summaries keep the
// last independent of how much a node stores: a round to a replica in
// step is one summary and its reply, where every value's digest went to
// every replica before (at 1,000 nodes with 20,000 records, 1.79 kbit/s
// per node against 3.06; offer.go).
const OneHopReplicas = 8

// EnableOneHop turns on one-hop routing (OneHop) with the replication its
// reads race: Replicas and ReadFanout become OneHopReplicas, and
// MaxValuesPerPublisher grows with Replicas (a node holds the values of
// the keys it owns and of those it copies: with eight copies 8/3 as many
// of a publisher's as with three, all of them in a ring of eight nodes or
// fewer), so the cap bounds the same share per copy. The daemon, the
// benchmark and the simulator's --one-hop all run this configuration.
func (c *Config) EnableOneHop() {
	c.OneHop = true
	if c.Replicas > 0 && c.Replicas < OneHopReplicas {
		c.MaxValuesPerPublisher = c.MaxValuesPerPublisher * OneHopReplicas / c.Replicas
	}
	c.Replicas = OneHopReplicas
	c.ReadFanout = OneHopReplicas
}

// Validate reports the first broken rule, naming the fields involved.
func (c Config) Validate() error {
	pos := []struct {
		name string
		v    int
	}{
		{"StabilizeTicks", c.StabilizeTicks}, {"FixFingerTicks", c.FixFingerTicks},
		{"FingersPerFix", c.FingersPerFix}, {"RequestTimeoutTicks", c.RequestTimeoutTicks},
		{"LookupTimeoutTicks", c.LookupTimeoutTicks}, {"MaxLookupHops", c.MaxLookupHops},
		{"LookupCandidates", c.LookupCandidates}, {"JoinAttempts", c.JoinAttempts},
		{"RepairTicks", c.RepairTicks}, {"MaxKnownPeers", c.MaxKnownPeers},
		{"MaxValueSize", c.MaxValueSize}, {"MaxValuesPerKey", c.MaxValuesPerKey},
		{"MaxValuesPerPublisher", c.MaxValuesPerPublisher}, {"MaxItemsPerMessage", c.MaxItemsPerMessage},
		{"MaxGetValues", c.MaxGetValues}, {"MaxPending", c.MaxPending}, {"MaxOpsPerPeer", c.MaxOpsPerPeer},
		{"QuarantineTicks", c.QuarantineTicks}, {"DisseminateTicks", c.DisseminateTicks},
		{"MaxTableSize", c.MaxTableSize}, {"AntiEntropyTicks", c.AntiEntropyTicks},
		{"ReadFanout", c.ReadFanout}, {"ForwardTimeoutTicks", c.ForwardTimeoutTicks}, {"ForwardBatchItems", c.ForwardBatchItems},
		{"MaxForwards", c.MaxForwards}, {"MaxForwardsPerClient", c.MaxForwardsPerClient},
	}
	for _, f := range pos {
		if f.v <= 0 {
			return fmt.Errorf("chordrouting: config: %s must be positive, got %d", f.name, f.v)
		}
	}
	switch {
	case c.SuccessorListLen < 2:
		return fmt.Errorf("chordrouting: config: SuccessorListLen (r) must be at least 2, got %d", c.SuccessorListLen)
	case c.SuccessorListLen > 64:
		return fmt.Errorf("chordrouting: config: SuccessorListLen (r) must be at most 64, got %d", c.SuccessorListLen)
	case c.Replicas < 1 || c.Replicas > c.SuccessorListLen+1:
		return fmt.Errorf("chordrouting: config: Replicas (%d) must be in 1..SuccessorListLen+1 (%d)", c.Replicas, c.SuccessorListLen+1)
	case c.SuspectTicks <= 0 || c.SuspectTicks > c.RequestTimeoutTicks:
		return fmt.Errorf("chordrouting: config: SuspectTicks (%d) must be in 1..RequestTimeoutTicks (%d)", c.SuspectTicks, c.RequestTimeoutTicks)
	case c.HealTicks < 0:
		return fmt.Errorf("chordrouting: config: HealTicks must not be negative, got %d", c.HealTicks)
	case c.RepairSettleTicks < 0:
		return fmt.Errorf("chordrouting: config: RepairSettleTicks must not be negative, got %d", c.RepairSettleTicks)
	case c.LookupTimeoutTicks < c.RequestTimeoutTicks:
		return fmt.Errorf("chordrouting: config: LookupTimeoutTicks (%d) must be at least RequestTimeoutTicks (%d)", c.LookupTimeoutTicks, c.RequestTimeoutTicks)
	case c.ForwardBatchItems > c.MaxItemsPerMessage:
		return fmt.Errorf("chordrouting: config: ForwardBatchItems (%d) must not exceed MaxItemsPerMessage (%d)", c.ForwardBatchItems, c.MaxItemsPerMessage)
	case c.MaxForwardsPerClient > c.MaxForwards:
		return fmt.Errorf("chordrouting: config: MaxForwardsPerClient (%d) must not exceed MaxForwards (%d)", c.MaxForwardsPerClient, c.MaxForwards)
	case c.RepairTicks <= c.RequestTimeoutTicks:
		return fmt.Errorf("chordrouting: config: RepairTicks (%d) must exceed RequestTimeoutTicks (%d)", c.RepairTicks, c.RequestTimeoutTicks)
	case c.MaxPending-c.MaxPending/4 < forwardRoom:
		return fmt.Errorf("chordrouting: config: MaxPending (%d) leaves operations (three quarters) no room for one forward (%d requests)", c.MaxPending, forwardRoom)
	}
	return nil
}

// MaintenancePerPeer is how many requests ring maintenance may have in
// flight to one peer at once, at most, with c's timings, item by item: a
// stabilize query (step 1 or 2) 1, the predecessor's ping 1, a joined
// hint's state query 1, a finger refresh's hop 1, a partition check's hop
// 1, repair's walk back and then its grouping of misplaced keys by owner
// 2 (one after the other under repairBusy; the grouping runs
// repairGroupWindow lookups at once, each one hop at a time), repair's
// digests 2 (one offer chain per replica target, offerWindow at a time,
// however close the rounds come; and an offer of misplaced values to
// their owner, which may be a replica target too), replica stores 4
// (pushWindow: an owner's pushes, a handoff, what a digest reply names or
// a push back, all in one queue per peer): 13; with OneHop also a
// successor's confirming ping 1, membership event batches 8
// (maxBatchesPerInterval, each acknowledged; a level's retries go to
// other members) and a joiner's table copy from its successor 8
// (pullSlices; a sweep, one range and up to 4 pings, excludes it): 30. A
// member at rest sends one peer about 3 at once. Not counted: one-way
// messages (notifies, leaves, Leave's last values, relayed membership
// copies), which the headroom takes.
// chordrouting/p2p refuses a transport whose MaxInboundPerPeer is below
// MaxOpsPerPeer plus this plus MaxOpsPerPeer of headroom (ValidateRing).
func (c Config) MaintenancePerPeer() int {
	if c.OneHop {
		return 30
	}
	return 13
}

// Errors a Node reports through its callbacks.
var (
	ErrNotMember      = errors.New("chordrouting: node is not a ring member")
	ErrLeft           = errors.New("chordrouting: node has left the ring")
	ErrNoPeers        = errors.New("chordrouting: no live peer to ask")
	ErrTimeout        = errors.New("chordrouting: timed out")
	ErrTooManyHops    = errors.New("chordrouting: lookup exceeded its hop limit")
	ErrBusy           = errors.New("chordrouting: too many requests in flight")
	ErrNotResponsible = errors.New("chordrouting: node is not responsible for the key")
)
