// Package p2p carries the chordrouting ring protocol over libp2p streams:
// the wire codec, the Transport, and New, which wires a host, a Node and
// its Runner together.
//
// # Protocol
//
// Protocol ID "/kwsearch/chord/1.1.0" (ProtocolID; SPEC.md names 1.0.0,
// whose messages named their sender: 1.1.0 leaves the sender out and
// acknowledges MsgMembership, so the two cannot talk and are told apart
// by the ID, not by refused messages), resource-manager service
// "kwsearch.chord" (ServiceName). One stream carries one exchange: a
// request and its reply, or one one-way message (MsgNotify, MsgLeave).
// Each message is a frame: a uvarint length, then a protobuf-compatible
// Message (schema in codec.go), at most Config.MaxMessageSize bytes.
// The forward flag (field 15) was added within 1.1.0: a peer that
// predates it skips the field and answers a forwarded request as a direct
// one, which the client tells apart. Decoding refuses unknown message
// types, the forward flag on anything but a Get or a Store, IDs that are
// not 32 bytes, counts over the bounds (MaxPeers, MaxItems, MaxDigests,
// ...) and any peer whose ring ID is not the SHA-256 of its peer ID.
//
// The exchange itself is written as functions over an io.Reader/io.Writer
// (WriteMessage, ReadMessage, RoundTrip, Serve), tested over net.Pipe and
// fuzzed (FuzzDecodeMessage, FuzzReadMessage, FuzzServe); the Transport
// only adds streams.
//
// # Transport duties
//
//  1. Send never blocks: requests and one-way messages are sent from a
//     goroutine (at most Config.MaxOutbound at once, more are dropped);
//     a request's reply, if it comes within Config.RequestTimeout and is
//     from the peer asked, is handed to the Runner (Runner.Deliver).
//     Every failure is silent: the core times the request out. When the
//     core stops waiting for an operation's request (chordrouting.Canceler:
//     its timeout, an end its operation set; any request at Leave), the
//     exchange ends then,
//     its stream reset and its MaxOutbound slot free, not at
//     RequestTimeout. The core keeps at most MaxOpsPerPeer operations in
//     flight to one peer, under the peer's MaxInboundPerPeer with room
//     for ring maintenance (ValidateRing).
//  2. An incoming stream gets the service scope, counts against
//     MaxInbound, MaxInboundPerPeer and, by its connection's AddrGroup
//     (DefaultAddrGroup: the remote IP and its /24 or /48; loopback in no
//     group; injectable with SetAddrGrouper), MaxInboundPerIP and
//     MaxInboundPerSubnet (over any: Reset), so that Sybil identities from
//     one network cannot hold the whole cap. It reserves the frame's
//     memory before reading it, and has deadlines: the frame's length
//     within HeaderTimeout, its body at MinReadRate, everything within
//     RequestTimeout, so an idle stream gives its slot back soon. Its sender
//     is the stream's remote peer: the message does not name one (a
//     message that does is refused), and the transport sets Message.From
//     (Addr = remote peer ID, ID = NodeID(remote)); the sender's
//     addresses come from libp2p's identify, like any connected peer's,
//     and until identify has run, from the address it connected from.
//  3. An incoming request is delivered to the Runner and waits (at most
//     Config.ReplyTimeout) for the Node's reply, which the Node sends with
//     Transport.Send to the requester with the same request ID; it is
//     matched on (remote peer, request ID) and written on that stream. A
//     forwarded request (a client's Get or Store, or a member's Get, that
//     the node runs as its own operation: chordrouting's "Forwarding for
//     clients" and "Forwarding for members") waits until a tenth of
//     RequestTimeout before the stream's deadline instead: its reply
//     comes after the node's own requests, which may time out.
//     A request whose requester resets its stream (its core stopped
//     waiting) stops waiting for the reply then, and frees its slot.
//  4. Publish and search requests (non-replica MsgStore, MsgGet) are rate
//     limited per peer with a token bucket paced by the injected clock;
//     replica pushes (MsgStore with Replica) have their own, ten times
//     larger bucket, membership traffic its own, and the repair offers
//     whose answers scan a range of the store (MsgDigestSummary, MsgDigest
//     of a whole range) a small one (Config.RepairRate); a peer over its
//     rate gets MsgError "rate limited" at once.
//  5. Streams end with Close on success and Reset on any error. Ring
//     streams may use relayed (limited) connections: they opt in with
//     network.WithAllowLimitedConn, because clients behind NAT talk to the
//     ring through relays until hole punching gives a direct connection.
//  6. A peer with several connections gets ring streams on the one it
//     was last heard on (a reply, or a ring stream it opened) or that
//     opened last, not on libp2p's choice, the connection with the most
//     open streams: a peer killed with -9 leaves its QUIC connection open
//     here until the 30 s idle timeout, the requests stuck on it make it
//     the swarm's choice, and a restarted peer (same identity, new
//     connection) would get none of them. A connection on which a request
//     got nothing back within RequestTimeout while the peer was heard on
//     another is closed, for libp2p's other protocols (connpick.go).
//  7. The Transport tells the core which peers it holds a direct
//     connection to, what a dial costs in round trips, and opens
//     connections on request (chordrouting.ConnState, connstate.go), for
//     the core's forwarding for members: a member whose one-hop read
//     would dial every holder of a key, when a dial costs more than two
//     round trips, sends it to a member it is connected to that ring
//     maintenance keeps talking to the owner, and asks for connections
//     to the holders meanwhile. Connected is the host's Connectedness: a
//     relayed (limited) connection does not count, since a request over
//     it crosses the relay each way. DialRoundTrips is the smoothed
//     duration of the dials that opened an outbound direct connection (a
//     request's to a peer it had none to, and Prepare's; of this
//     transport's dials in flight to one peer only the first, from its
//     start: a second joins it and waits for its remainder only) over the
//     smoothed round trip of
//     requests over connections open before them (forwards left out: they
//     wait for the peer's own operation), each an eighth of each new
//     sample; on loopback between two and ten, as the handshakes' CPU
//     and the ring's load go (BenchmarkRingMemberColdRead: a cold read
//     through the owner's predecessor about 1.2 ms, dialing the holder
//     2.3-4.5 ms, on a loaded machine). Prepare dials in a goroutine,
//     within RequestTimeout, forcing a direct connection, and sends
//     nothing; it skips a peer already connected or being dialed, and
//     dials at most 16 peers at once (more are skipped: the read that
//     asked still has its forward, and the next direct request dials
//     anyway).
//
// # Addresses
//
// A ring Peer's Addr is the libp2p peer ID string, and dialing uses the
// host's peerstore. Lookups name peers the host has never met, so the
// adapter carries addresses beside the ring message without changing
// chordrouting.Message: every Peer on the wire has an optional list of
// multiaddrs (at most MaxPeerAddrs), filled from the sender's peerstore
// (its own listen and relay addresses for itself), and the receiver adds
// them to its peerstore for Config.AddrTTL. This is how Kademlia answers
// carry addresses too. Addresses are hints only: a dial checks the peer
// ID in the security handshake, so a false address costs a failed dial.
//
// # Wiring
//
// New(h, cfg, storage, Options) builds the Transport, the core Node (ring
// peer = PeerOf(h.ID())) and its chordrouting.Runner, and starts the
// stream handler; the returned Ring is not a member yet:
//
//	r, err := p2p.New(h, cfg, st, p2p.Options{Tick: 100 * time.Millisecond})
//	err = r.Create(ctx)                  // first node, or
//	err = r.JoinVia(ctx, bootstrapInfos) // server mode, or
//	err = r.SetEntryPoints(ctx, infos)   // client mode (never a lookup target)
//	r.Runner.Put / Get / Lookup / State  // the ring API
//	err = r.Close(true)                  // graceful leave, handoff drained
//
// New also sets the ring's Config.AdmitFinger, unless given, to
// Transport.AdmitFinger: at most MaxFingersPerIP fingers per IP and
// MaxFingersPerSubnet per /24 or /48 (the AddrGroup of the peer's
// connections, else of its known addresses), so that one operator's
// addresses cannot fill the finger table. Callers that build the Node
// themselves should set it the same way.
//
// JoinVia and SetEntryPoints add the given addresses to the peerstore.
// Callers that run their own loop can use NewTransport and Transport.Start
// (with their loop's Deliver) directly.
//
// # Differences from SPEC.md
//
// None in substance. The wire carries peer addresses in addition to what
// SPEC.md describes (see above), and rate limits apply to publish and
// search requests and, with a bucket ten times larger, to replica pushes:
// ring maintenance is bounded by the stream caps instead, and a neighbour's
// honest repair traffic stays far inside the replica bucket, while a peer
// that marks a flood as replica pushes still meets a limit.
package p2p
