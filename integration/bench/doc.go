// Command bench measures kwsearch against go-libp2p-kad-dht and raw libp2p
// streams, side by side in one run, on the same hosts.
//
// Run it as
//
//	go run ./integration/bench --json
//
// It builds three kinds of network:
//
//  1. A latency network: in-process libp2p hosts on go-libp2p's mocknet, with
//     a round-trip time per host pair drawn uniformly from --rtt-min..--rtt-max
//     (seeded). kad-dht runs in server mode with its defaults on every host; each
//     host dials a few random others, then every DHT bootstraps. The same hosts
//     then carry our ring (chordrouting/p2p) and keyword index. Both systems
//     publish the same files from the same host and answer the same searches
//     from the same random hosts.
//  2. Loopback: real hosts over TCP and QUIC on 127.0.0.1, to measure CPU time
//     and heap per host when dials, handshakes and encryption are real.
//  3. Transfer: a blockxfer download of one large file from one provider
//     against io.Copy over a plain libp2p stream between the same two hosts.
//
// mocknet rather than x/simlibp2p: x/simlibp2p charges for dials and
// handshakes, which is closer to the internet, but it only keeps up with
// many hosts in virtual time (testing/synctest), which a command cannot use;
// on the wall clock a thousand QUIC hosts doing real handshakes on two cores
// measure CPU queueing, not the protocols. mocknet charges latency on every
// write and nothing for a dial, which favours kad-dht (it contacts many fresh
// peers per lookup); the loopback run shows what dials cost for real.
//
// kad-dht publishes with Provide from a pool of parallel workers, the way
// Kubo's classic provider does (--kad-workers, 16 as in Kubo). Its sweeping
// provider (package provider) was tried in burst mode, wired as Kubo wires
// it: once online it accepted the keys and provided none of them (empty
// queues, no workers busy) on these small networks, so it is not the
// baseline here.
//
// With --kad-fullrt N the kad-dht side searches from N accelerated
// (fullrt) clients, each of which crawls the whole network before the
// searches, instead of from the server DHTs (fullrt.go); the hosts then
// get public addresses, since fullrt keeps no peer without one.
//
// Our side's JSON carries search_breakdown: searches by hops, whether the
// searcher had to dial the host that answered, the time over that host's
// own link RTT, and with --one-hop how complete the membership tables
// were when the searches started.
//
// The code is one package main so that the smoke test can drive the same
// functions in a tiny configuration.
package main
