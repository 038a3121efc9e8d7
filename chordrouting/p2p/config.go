package p2p

import (
	"fmt"
	"time"

	cr "kwsearch/chordrouting"
)

// Protocol identifiers.
const (
	// ProtocolID is the ring protocol: one message, or one request and its
	// reply, per stream (1.1.0: see the package doc).
	ProtocolID = "/kwsearch/chord/1.1.0"
	// ServiceName names the protocol's resource-manager scope.
	ServiceName = "kwsearch.chord"
)

// Config tunes the transport.
type Config struct {
	// MaxMessageSize caps one frame, both ways. 4 MiB: a store of a whole
	// publish batch for one owner (1,000 files × a few keywords of ~600
	// byte records spread over the ring) or a handoff chunk fits, while a
	// peer cannot make us buffer more than that per stream.
	MaxMessageSize int
	// RequestTimeout bounds a whole outgoing exchange (dial, write, read
	// the reply) and an incoming stream. 10s: longer than any ring timeout
	// in ticks, so the core, not the transport, decides a node is dead; a
	// stalled peer still cannot hold a stream for long. A forwarded
	// request (a client's Get or Put run by an entry point) lives no
	// longer either: the entry answers by a tenth of it before the end
	// (replyWait), and the client's core stops waiting at it
	// (Transport.ForwardWait), whatever its forward timeout in ticks.
	RequestTimeout time.Duration
	// ReplyTimeout bounds how long an incoming request waits for the local
	// node's reply. 5s: the node answers at once unless its loop is
	// overloaded, and the requester gives up soon after anyway.
	ReplyTimeout time.Duration
	// MaxInboundPerPeer caps one peer's incoming streams at once. 48: a
	// client's parallel lookups and a neighbour's maintenance fit; a flood
	// is reset. An honest peer's ring core keeps at most MaxOpsPerPeer
	// (8) operations in flight to one peer, beside at most
	// MaintenancePerPeer (30 with OneHop) maintenance requests
	// (chordrouting.Config): 38, and the cap keeps MaxOpsPerPeer more
	// as headroom (ValidateRing requires it: 46), because the two sides do
	// not count the same streams at every moment: a request the core
	// cancels frees its slot here only once the reset has travelled, so
	// an operation held for that place and sent right after the cancel
	// briefly overlaps it (up to MaxOpsPerPeer of them); a maintenance
	// request that timed out is not cancelled (its late reply is a
	// round-trip sample) and holds a slot here up to ReplyTimeout while
	// its replacement is in flight; and the messages the core sends
	// without waiting come on top (a notify or leave until written; the
	// last values a leaving node hands on and a relayed membership copy
	// until this side acknowledges them: see MaxOutbound; replica
	// pushes, handoff and repair chunks are maintenance requests, one
	// at a time per peer). At 32 (then 8
	// + 24), no headroom, any of these while both shares were full had
	// a stream reset, a stabilize query among them, which looks like a
	// dead successor. A member at rest has about 3 requests in flight to
	// one neighbour.
	MaxInboundPerPeer int
	// MaxInbound caps incoming streams at once, all peers together. 1024:
	// each costs a goroutine and at most one frame of memory (reserved with
	// the resource manager first).
	MaxInbound int
	// MaxInboundPerIP and MaxInboundPerSubnet cap incoming streams at once
	// from one address group (AddrGroup: one IP; its /24 or /48), so that
	// peer IDs, which cost nothing, do not multiply a host's share of
	// MaxInbound. 64 per IP: two peers' worth (a few honest nodes behind
	// one NAT); 128 per subnet: the total cap then takes at least
	// 1024/128 = 8 subnets to fill.
	MaxInboundPerIP     int
	MaxInboundPerSubnet int
	// HeaderTimeout bounds the wait for an incoming stream's first frame
	// length (like net/http's ReadHeaderTimeout). 2s: an honest peer writes
	// its request as soon as the stream opens; a peer that opens streams
	// and sends nothing gives its slot back within 2 s, not RequestTimeout.
	HeaderTimeout time.Duration
	// MinReadRate is the slowest an incoming frame's body may arrive, in
	// bytes per second: the body's deadline is HeaderTimeout plus its
	// length at this rate after the length arrived (never beyond
	// RequestTimeout). 64 KiB/s: a slow link still fits the largest frame
	// in RequestTimeout, while a small request (most are under 1 KiB) that
	// trickles in is cut after about HeaderTimeout.
	MinReadRate int
	// MaxFingersPerIP and MaxFingersPerSubnet limit the ring's fingers
	// that share one IP, or one /24 (/48), through AdmitFinger: 1 and 2,
	// as aMule's Kad limits contacts per routing bin, so one operator's
	// addresses cannot fill the finger table and capture lookups.
	MaxFingersPerIP     int
	MaxFingersPerSubnet int
	// MaxOutbound caps outgoing exchanges in flight; beyond it TrySend
	// refuses (the core takes such a request as never sent, not as the
	// peer's timeout) and Send drops. 4096: the ring core's MaxPending
	// (chordrouting.Config, 4096), which bounds the requests it waits
	// for and keeps its last quarter for ring maintenance (stabilize,
	// pings, membership). At 1024, below the operations' three quarters
	// (3,072), a flood of Gets, Puts or forwards at slow owners filled the
	// transport first, and every maintenance request was refused until
	// the exchanges ended: stabilization paused. New (and the daemon)
	// refuse a pairing whose MaxOutbound is below the core's MaxPending
	// (ValidateRing). A cap here, not a reservation for maintenance: the
	// transport cannot tell an operation's lookup from a stabilize query
	// (both are MsgGetState or MsgFindSuccessor); the core can, and does.
	// Not more: each exchange is a goroutine and a stream, and the
	// resource manager's ring service allows as many (bootstrap). An
	// operation's request the core stops waiting for (its request
	// timeout, 5 s at the daemon's one-second tick) gives its exchange
	// back then (Cancel), not at RequestTimeout; a maintenance request
	// that timed out runs on for its late reply, a round-trip sample.
	//
	// The messages the core sends without waiting share this cap, outside
	// its table, and the cap has no headroom for them (MaxOutbound equals
	// MaxPending): while operations hold their 3,072, the maintenance
	// quarter's 1,024 slots are shared by maintenance requests and these
	// sends, and once these take what maintenance does not use, a
	// maintenance request is refused (as unsent: stabilization pauses,
	// no peer is taken for dead). They do not end once written: a notify
	// or leave holds its slot through the dial and the write, up to
	// RequestTimeout (10 s) for a dial to a dead peer; the last values a
	// leaving node hands on (MsgStore marked Replica, at most 4 messages)
	// and a relayed membership copy are request types, so their exchange
	// waits for the acknowledgement the core ignores, up to
	// RequestTimeout, and no Cancel ends it early (the core does not wait
	// for them). Replica pushes, handoff and repair chunks are no longer
	// among them: the core sends them as maintenance requests, one at a
	// time per peer (chordrouting: pushWindow), inside its table. At rest
	// maintenance uses a few slots per neighbour, so about a thousand
	// such sends fit beside a full operations share before maintenance is
	// refused.
	MaxOutbound int
	// RequestRate and RequestBurst bound publish and search requests (non-
	// replica stores and gets) per peer: RequestRate per second on average,
	// RequestBurst at once. 50/s and a burst of 200: a publish batch costs
	// one store per owner and a search one get, so honest peers stay far
	// below; a flooder is answered with an error instead of work.
	RequestRate  float64
	RequestBurst int
	// ReplicaRate and ReplicaBurst bound replica pushes (stores marked
	// Replica: an owner's push to its replicas, handoffs, repairs) per peer,
	// in their own bucket. 500/s and a burst of 2000: ten times the publish
	// budget, since a neighbour pushes on behalf of every publisher whose
	// records it owns; a peer that marks a flood as replica pushes still
	// meets a limit.
	ReplicaRate  float64
	ReplicaBurst int
	// MembershipRate and MembershipBurst bound one-hop membership traffic
	// (membership events and table pages and sweeps) per peer, in a bucket
	// of their own. 100/s and a burst of 1000: an honest member sends one
	// peer at most 8 event batches per dissemination interval, and a
	// joiner's table copy or a sweep is one request per 63 members (160 for
	// a ring of 10,000); a peer forging events meets a limit on the work
	// and the table churn it can cause.
	MembershipRate  float64
	MembershipBurst int
	// RepairRate and RepairBurst bound the repair offers whose answers
	// scan a range of the store (summaries, and digest offers of a whole
	// range, which ask for push back) per peer, in a bucket of their own:
	// answering one reads and hashes every value this node holds in the
	// range it names (about 100 ms for 100,000 values). 2/s and a burst of
	// 100: an honest owner sends a replica one summary per repair round
	// (50 s at the daemon's tick) and at most one whole-range offer after
	// it; a peer asking for wide ranges again and again meets a limit.
	// Other digest offers (a lookup per digest, 256 a message) are not
	// limited, so that an owner of many values offers them all.
	RepairRate  float64
	RepairBurst int
	// MaxRatePeers bounds the peers the rate limiter remembers. 4096.
	MaxRatePeers int
	// AddrTTL is how long addresses learned from ring messages stay in the
	// peerstore. 10m: long enough to dial a peer a lookup named; short
	// enough that false addresses fade.
	AddrTTL time.Duration
}

// DefaultConfig returns the configuration for the public network.
func DefaultConfig() Config {
	return Config{
		MaxMessageSize:      4 << 20,
		RequestTimeout:      10 * time.Second,
		ReplyTimeout:        5 * time.Second,
		MaxInboundPerPeer:   48,
		MaxInbound:          1024,
		MaxInboundPerIP:     64,
		MaxInboundPerSubnet: 128,
		HeaderTimeout:       2 * time.Second,
		MinReadRate:         64 << 10,
		MaxFingersPerIP:     1,
		MaxFingersPerSubnet: 2,
		MaxOutbound:         4096,
		RequestRate:         50,
		RequestBurst:        200,
		ReplicaRate:         500,
		ReplicaBurst:        2000,
		MembershipRate:      100,
		MembershipBurst:     1000,
		RepairRate:          2,
		RepairBurst:         100,
		MaxRatePeers:        4096,
		AddrTTL:             10 * time.Minute,
	}
}

// Validate reports a configuration error, naming the fields involved.
func (c Config) Validate() error {
	switch {
	case c.MaxMessageSize < 1<<10:
		return fmt.Errorf("chordrouting/p2p: MaxMessageSize %d is below 1 KiB", c.MaxMessageSize)
	case c.RequestTimeout <= 0 || c.ReplyTimeout <= 0:
		return fmt.Errorf("chordrouting/p2p: RequestTimeout and ReplyTimeout must be positive")
	case c.ReplyTimeout > c.RequestTimeout:
		return fmt.Errorf("chordrouting/p2p: ReplyTimeout %v exceeds RequestTimeout %v (the stream's deadline)", c.ReplyTimeout, c.RequestTimeout)
	case c.MaxInboundPerPeer <= 0 || c.MaxInbound < c.MaxInboundPerPeer:
		return fmt.Errorf("chordrouting/p2p: need 0 < MaxInboundPerPeer (%d) <= MaxInbound (%d)", c.MaxInboundPerPeer, c.MaxInbound)
	case c.MaxInboundPerIP <= 0 || c.MaxInboundPerSubnet < c.MaxInboundPerIP:
		return fmt.Errorf("chordrouting/p2p: need 0 < MaxInboundPerIP (%d) <= MaxInboundPerSubnet (%d)", c.MaxInboundPerIP, c.MaxInboundPerSubnet)
	case c.HeaderTimeout <= 0 || c.HeaderTimeout > c.RequestTimeout || c.MinReadRate <= 0:
		return fmt.Errorf("chordrouting/p2p: need 0 < HeaderTimeout (%v) <= RequestTimeout (%v) and MinReadRate > 0", c.HeaderTimeout, c.RequestTimeout)
	case c.MaxFingersPerIP <= 0 || c.MaxFingersPerSubnet < c.MaxFingersPerIP:
		return fmt.Errorf("chordrouting/p2p: need 0 < MaxFingersPerIP (%d) <= MaxFingersPerSubnet (%d)", c.MaxFingersPerIP, c.MaxFingersPerSubnet)
	case c.MaxOutbound <= 0:
		return fmt.Errorf("chordrouting/p2p: MaxOutbound must be positive")
	case c.RequestRate <= 0 || c.RequestBurst < 1:
		return fmt.Errorf("chordrouting/p2p: RequestRate must be positive and RequestBurst at least 1")
	case c.ReplicaRate <= 0 || c.ReplicaBurst < 1:
		return fmt.Errorf("chordrouting/p2p: ReplicaRate must be positive and ReplicaBurst at least 1")
	case c.MembershipRate <= 0 || c.MembershipBurst < 1:
		return fmt.Errorf("chordrouting/p2p: MembershipRate must be positive and MembershipBurst at least 1")
	case c.RepairRate <= 0 || c.RepairBurst < 1:
		return fmt.Errorf("chordrouting/p2p: RepairRate must be positive and RepairBurst at least 1")
	case c.MaxRatePeers <= 0 || c.AddrTTL <= 0:
		return fmt.Errorf("chordrouting/p2p: MaxRatePeers and AddrTTL must be positive")
	}
	return nil
}

// ValidateRing reports whether c can carry the ring core configured by
// core: MaxOutbound must be at least the core's MaxPending, because the
// core keeps the last quarter of its pending table for ring maintenance,
// and a smaller cap lets operations fill the transport and refuse
// stabilize queries, pings and membership requests (see MaxOutbound).
// And MaxInboundPerPeer must take the core's operations in flight to one
// peer (MaxOpsPerPeer), what its ring maintenance may have in flight to
// that peer beside them (MaintenancePerPeer), and headroom of
// MaxOpsPerPeer more (see MaxInboundPerPeer: cancelled requests whose
// reset is still travelling, timed-out maintenance, one-way messages),
// assuming the peers run this configuration too: a peer's streams beyond
// the cap are reset, and a reset stabilize query looks to the core like
// a dead successor. The messages the core sends without waiting
// (notifies, leaves, a leaving node's last values, relayed membership
// copies) share MaxOutbound on top, with no headroom reserved there
// (MaxOutbound).
func (c Config) ValidateRing(core cr.Config) error {
	if c.MaxOutbound < core.MaxPending {
		return fmt.Errorf("chordrouting/p2p: MaxOutbound (%d) is below the ring's MaxPending (%d): operations could fill the transport and refuse ring maintenance; raise MaxOutbound or lower MaxPending", c.MaxOutbound, core.MaxPending)
	}
	if need := InboundPerPeerFor(core); c.MaxInboundPerPeer < need {
		return fmt.Errorf("chordrouting/p2p: MaxInboundPerPeer (%d) is below %d: the ring's MaxOpsPerPeer (%d) plus its maintenance per peer (%d) plus MaxOpsPerPeer of headroom: a peer's operations could take every stream its receiver allows and have its stabilize queries reset; raise MaxInboundPerPeer or lower MaxOpsPerPeer", c.MaxInboundPerPeer, need, core.MaxOpsPerPeer, core.MaintenancePerPeer())
	}
	return nil
}

// InboundPerPeerFor is the smallest MaxInboundPerPeer that ValidateRing
// accepts with core: its operations and maintenance per peer, and
// MaxOpsPerPeer of headroom.
func InboundPerPeerFor(core cr.Config) int {
	return 2*core.MaxOpsPerPeer + core.MaintenancePerPeer()
}
