// Package bootstrap joins a kwsearch node to the network: it builds the
// libp2p host (identity, TCP and QUIC listeners, resource and connection
// managers, port mapping, AutoNAT v1 and v2, circuit relay v2 client and
// service, hole punching), decides whether the node is a ring member (server)
// or a client of the ring, and keeps the node connected to bootstrap and
// remembered peers.
//
// The resource manager scales libp2p's default limits to the machine and
// adds limits of its own for the ring's and the block protocol's services
// and protocols (options.go serviceLimits): per peer they mirror the ring
// transport's and the block server's per-peer caps and the memory their
// streams reserve; in all, their memory (and the number of block streams)
// grows with the memory budget, and the system scope gets room for their
// streams on top of libp2p's defaults, so that their own limits, not the
// system's, refuse a ring stream first (a refusal the ring core would
// take for a dead peer, where the transport's own cap is reported as a
// request never sent). The services'
// names repeat chordrouting/p2p's and blockxfer's (this package imports
// neither); a test keeps them, and the caps, equal.
//
// # Caller's duties
//
//  1. Apply --public-cidr with UsePublicCIDRs (ParsePublicCIDRs, then
//     TreatAsPublic) once at daemon start, before any host exists.
//     go-libp2p v0.51 decides "public" with manet.IsPublicAddr and
//     manet.IsPrivateAddr, which read go-multiaddr's process-wide tables,
//     in: AutoNAT v1's address function and its server's dial policy,
//     AutoNAT v2's address tracker, the hole-punching service's start gate
//     (it runs only once the host has a public address) and its filter on
//     the remote's addresses, the basic host's hole-punch addresses,
//     identify's choice of addresses sent to a public peer, autorelay's
//     clean-up of a relay's addresses, the relay's reservation voucher,
//     and the swarm's dial ranker and black-hole detector. Only the relay's
//     voucher filter can be replaced by an option (hole punching's
//     WithAddrFilter only narrows what the public filter left); the rest
//     have none, so there is no per-host way to make 198.18.0.0/15 count
//     as public.
//  2. Build the host with New(cfg). Feed ring members you learn about to
//     Host.AddRelayCandidates: they are the dynamic relay source for autorelay
//     in client mode (static relays and bootstrap peers are fed automatically).
//  3. Read Host.Changes() (or poll Host.Status()): in mode auto the effective
//     mode flips between server and client when AutoNAT's verdict changes, and
//     the node must join or leave the ring accordingly.
//  4. Run a Bootstrapper (NewBootstrapper(...).Run(ctx)) for the node's whole
//     life; wait for its first answer with WaitAnswered and join the ring
//     through the peers it reports.
//  5. Before a block transfer with a peer that may be behind NAT, get a
//     direct connection with DirectConnect: relayed connections carry only
//     128 KiB / 2 min (the relay's limits), so the transfer must wait for
//     the hole-punched connection; DirectConnect retries the punch and
//     fails with an error wrapping ErrNoDirect (show it to the user)
//     instead of leaving the download hanging on a relayed connection.
//  6. Show Host.Status() in `kwnode status` and IsRelayed(conn) in
//     `kwnode peers`.
//  7. Close the Host last.
//
// # Differences from SPEC.md
//
// SPEC §2 says "Mode is auto (AutoNAT decides)". AutoNAT v1 gives one verdict
// per host and AutoNAT v2 one per address; this package combines them:
// public when v1 says public or v2 confirmed at least one address; private
// when v1 says private, or v2 refuted addresses and confirmed none; unknown
// otherwise. An unknown node acts as a client: it must not take ring
// responsibility it may be unable to serve.
//
// AutoNAT v1 waits 15 s after start before its first probe (a libp2p
// constant with no option) and needs another public node that runs the
// AutoNAT service, so in mode auto a node settles in about 17 s in the NAT
// lab, and a network's very first node, having nobody to ask, should run in
// mode server.
//
// Autorelay's defaults (three-minute boot delay, four candidates before the
// first reservation, an hour of back-off after a failed relay) suit the
// public IPFS network with thousands of relays; our relays are the few ring
// nodes a client knows, so Config shortens all three.
package bootstrap
