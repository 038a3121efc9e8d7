// Package chordrouting is kwsearch's ring: a Chord ring maintained by
// Pamela Zave's corrected protocol, with an iterative lookup and a
// replicated key → value-set store on top. It knows nothing of keywords
// or files, and nothing of the network: it is a state machine.
//
// # Driving a Node
//
// A Node has no goroutines, no clock and no sockets. Its owner (the
// simulator in chordrouting/sim, or Runner for real use, like etcd raft's
// node.go around raft.go) must:
//
//  1. Serialize every call: a Node is not safe for concurrent use.
//  2. Call Tick at a steady interval (the unit of every timing in Config;
//     100 ms in the simulator, one second in the daemon and in the
//     simulator's session runs).
//  3. Hand every incoming message to Step. The Transport's Send must not
//     block and must not call back into the Node; replies arrive later
//     through Step. A request with no reply within RequestTimeoutTicks
//     means the peer is dead: losing messages is allowed, and the protocol
//     treats a lost reply like a dead peer.
//  4. Start the node with exactly one of Create (first node), Join (through
//     members) or SetEntryPoints (client mode: not a member, its lookups
//     start at the entry points and its puts and gets are forwarded to
//     them, it is never an owner).
//  5. Expect done callbacks (Join, Lookup, Put, Get) to run exactly once,
//     on the owner's goroutine: inside a later Step or Tick, or before the
//     call returns when the node can answer from its own state (a key in
//     its own or its successor's range, an empty Put, an error).
//  6. Give it a Storage (MemStorage, or a persistent one) and a Validator;
//     every value from the network is validated before it is stored or
//     forwarded.
//
// # The ring
//
// Each member keeps a successor list of r entries (fewer in a ring of at
// most r nodes, where it holds every other node once), a predecessor, and
// a finger table of distinct entries beyond the successor list. The
// operations are RING.md's: stabilize step 1 asks the head of the list,
// in one query, for its predecessor and list, drops it and goes on with
// the next entry if it does not answer, and goes to step 2 when the
// head's predecessor lies between; step 2 adopts that node's list;
// rectify replaces notified and flush (the predecessor is never cleared;
// a notifier that is not closer is adopted only if the current
// predecessor does not answer a ping). A join takes the successor s of
// the member whose interval holds the joiner and sets its list to s
// followed by s's list. Because messages are asynchronous, every reply is
// applied to the node's current state: an answer from a node that is no
// longer the head, or a step-2 candidate that no longer lies between, is
// ignored; this is how the implementation keeps RING.md's "queries are
// atomic".
//
// The invariant (RING.md): every member has a live entry in its successor
// list, and at least r+1 members are principals. It implies one ordered
// ring with ordered, duplicate-free successor lists. It holds as long as
// failures never take all r successors of a live member before repair and
// the ring keeps r+1 principals; chordrouting/sim checks it after every
// event of its randomized runs.
//
// # Lookups and the store
//
// Lookups are iterative: the asking node queries the known node closest
// before the key, follows the closer nodes each reply lists (only nodes
// strictly between the answering node and the key, so every hop makes
// progress, and a node is never asked twice), routes around nodes that
// time out, and stops when a node whose successor list spans the key
// answers with the owner it names and the nodes after it. The lookup then
// confirms the owner (confirm.go): it asks that node for its state; a
// candidate that does not answer is skipped for the next one, one that
// names a predecessor between the key and itself (a joiner it has been
// notified of) is stepped back to, and one that has joined but is not yet
// linked in is skipped; the answer is the confirmed owner followed by its
// own successor list. A key in the asker's own range is answered locally
// with 0 hops; one in its successor list's span costs the confirmation
// only.
//
// A key's values live on its owner and the next R-1 nodes. Put sorts the
// keys and uses that one lookup answer names r consecutive ranges (the
// answering node to the owner, the owner to its successor, …), so keys
// that fall in known ranges need no new lookup; each owner then gets one
// store request with all its items. The owner validates, stores and
// pushes to its R-1 successors. Versions, removals, expiry and caps
// follow ValueInfo and Config.
//
// # Where this differs from SPEC.md and RING.md, and why
//
//   - Joins and stabilization go faster than the model without changing
//     what is adopted: a joiner steps back through its successor's
//     predecessor while that lies between (so concurrent joiners line up
//     at once), step 2 chains through further predecessors that lie
//     between (up to r per round). A member that no node has stabilized
//     onto yet refuses to answer lookups (the asker routes around it),
//     because its successor may be far off while the ring grows fast.
//     (Letting such a member look its place up through the ring, instead
//     of walking back, formed large rings about 15% faster but adopted
//     lists that skip members, breaking the invariant in randomized runs;
//     it was removed.)
//   - Lookup answers come from a node's whole successor list, not only
//     from the key's predecessor, and are confirmed by the owner itself
//     (one more round trip, but the hop to the predecessor is saved when a
//     node earlier on the path already lists the owner). Under churn (500
//     nodes, 3 joins and 3 crashes per stabilization interval) this took
//     failed lookups from 0.7% to under 0.1%: unconfirmed answers named
//     crashed owners, missed joiners, and lookups whose key's predecessor
//     was dead or not yet linked in wandered back through every node that
//     named it until the hop limit.
//   - Join attempts are a tick apart more each time (1, 2, 3, ... ticks):
//     while a ring forms an entry point may refuse at once (its own
//     neighbours are not yet linked in), and immediate retries used up
//     every attempt within a few round trips.
//   - A joiner's Join reports success once it is linked in (it has a
//     predecessor), not when it has adopted its successor list; the joiner
//     sends its successor's predecessor a joined hint (MsgNotify with
//     Done), which runs stabilize step 2 with it at once, so the link
//     takes a few round trips instead of the next stabilize round. A node
//     whose stabilize query to its head timed out names the dead head in
//     its notify to the new head (Peers), which then adopts it as
//     predecessor at once if the dead node was its predecessor, instead of
//     pinging it for another timeout.
//   - Request timeouts are RequestTimeoutTicks or, when the measured round
//     trips need more, a TCP retransmission timeout (smoothed round trip
//     plus four deviations, RFC 6298) in measured ticks plus one, at most
//     four times RequestTimeoutTicks; replies that arrive after their
//     timeout still count as samples (timeouts.go). A tick is no unit of network time: with 100 ms ticks
//     and round trips above 500 ms every peer was presumed dead and no
//     ring formed. Lookups suspect a head only once a round trip has been
//     measured.
//   - Lookup answers leave out a head whose stabilize query is overdue
//     (SuspectTicks, and twice the smoothed round trip), so that a crashed
//     owner stops being named before stabilization's timeout confirms the
//     crash; the successor list itself changes only as RING.md says.
//   - A join that steps back to a predecessor that does not answer starts
//     over (rectify keeps a dead predecessor until a live node notifies,
//     so the step back is skipped next time).
//   - A stabilize round skips the notify when the head already names this
//     node as its predecessor (rectify would change nothing).
//   - Graceful leave (on top of the model) pushes the owned values to the
//     successor and sends MsgLeave to both neighbours. The predecessor
//     only drops the leaver from its list and stabilizes at once; it does
//     not adopt the leaver's list, which may be staler than its own and
//     could skip members (lowering the principal count). Correctness never
//     depends on the leave: without it, timeouts do the same work.
//   - Partitions (RING.md "beyond the model"): every HealTicks a member
//     looks itself up through a known peer outside its successor list
//     (join entry points, or AddKnownPeers). If the answer names another
//     owner, two rings exist: the node merges that owner and its list into
//     its own list by distance, and stabilization splices the rings. A
//     member that loses every successor does the same at once.
//   - Repair: each RepairTicks an owner sends digests (key, identity,
//     version) of its values to its R-1 successors, which name what they
//     lack; only that is pushed. When the digests of the owner's range fit
//     in one message it marks them complete (Done, with the range start in
//     Pred) and the replica pushes back what the owner lacks, so an owner
//     that took over a range gets values from the replicas too. Values a
//     node holds outside the ranges of itself and its R-1 predecessors
//     (found by walking predecessors) are offered to their owner the same
//     way and dropped one round later.
//   - Before its digests, the owner sends each successor a summary of them
//     (MsgDigestSummary: their count and the sum of their SHA-256 hashes
//     salted afresh each round, order-independent); the successor computes
//     the same over its values in the owner's range (pred, owner] and
//     answers whether they agree. Agreed, the round ends there for that
//     successor; any difference (a value missing or older there, or one
//     the owner lacks, so push back still runs) or no usable answer (an
//     older peer, which refuses the unknown type; an error; a timeout,
//     which makes the peer no suspect) brings the full offer as before.
//     A round to replicas in sync cost every digest every round (about
//     160 bytes a value a replica: with eight copies, an owner of 1,000
//     values sent 7 x 1,000 digests every 50 s, about 180 kbit/s, and the
//     replicas their empty replies); it now costs one request of about 60
//     bytes and a reply of about 10 per replica, whatever the number of
//     values (offer.go). In the simulator (kwnode sim --nodes 1000
//     --session 1h --one-hop --lookups 2000 --records 20000 --seed 1, 20
//     values owned per node) maintenance fell from 3.06 to 1.79 kbit/s per
//     node: digests and their replies from 1.47 and 0.05 to 0.06 and 0.03
//     (the rounds after churn changed a replica set), for 0.09 and 0.02 of
//     summaries and replies; no record lost either way (one-hop lookups
//     99.4% and 98.8%, over seeds 1-5 99.3% and 99.1%: within what the
//     salt's draw from the nodes' random source alone moves them, 98.5 to
//     99.7%). The summary is one of the offer chain's messages: never two
//     in flight to one replica, which Config.MaintenancePerPeer already
//     counts.
//   - Get asks the owner; if it does not answer, the next replicas are asked
//     with Replica set, meaning "answer from your copies" (a node not
//     responsible for a key otherwise answers with closer nodes), at most
//     three one after another (maxSequentialReads).
//   - SPEC.md's R = 3 is the core's default, but the daemon keeps eight
//     copies (Config.EnableOneHop, with one-hop routing): its one-hop read
//     asks every holder at once, so a search waits for the nearest of
//     them, and on links of 10-150 ms the nearest of three left the p99 at
//     0.73 times kad-dht's where eight give 0.43 (OneHopReplicas says what
//     it costs).
//   - In a ring of at most r nodes a lookup answer lists every node, the
//     answering node last, so the replica set is complete.
//   - The routing table is the finger table plus the successor list behind
//     closestPreceding; a larger table (learned peers, one-hop membership)
//     can replace it without touching ring maintenance (SPEC.md §2).
//
// # One-hop routing (Config.OneHop, issue 10)
//
// With OneHop each member keeps a membership table: every member it knows,
// sorted by ID. An entry is a 4-byte handle into a Directory that holds
// each distinct Peer once, and the table is split into ranges of the ID
// space (8-64 members each), each range's entries one chunk the Directory
// interns by content (table_split.go). A node's own Directory costs about
// 220 B per member with a libp2p address; a simulator shares one among
// all its nodes, whose tables then share the chunks in which they agree:
// 8 bytes per range per table (16 KB at 100,000 members) plus the chunks
// that differ, where one sorted array of handles per table cost 4·N²
// bytes (40 GB at 100,000). The table is fed by what the node
// learns anyway (successor lists, lookup and state answers, notifies) and
// by dissemination after D1HT's EDRA:
//
//   - The successor of a joiner announces it QuarantineTicks after the
//     joiner notified it (if it is still in its table), the predecessor
//     of a departed node (a timed-out head, or MsgLeave) announces the
//     departure. Every DisseminateTicks a node sends its batched events in
//     one MsgMembership per level l < rho (rho = ceil(log2) of its table
//     size) to the member 2^l places clockwise in its own table, with TTL
//     l and the events whose TTL exceeds l: joins as Peers (the codec's
//     compact form, 55 B), departures as 8-byte ID prefixes. An event
//     goes only to targets strictly between the forwarder and its
//     subject, unless the forwarder detected it, so it goes once round
//     the ring and stops, whatever the table sizes; with agreeing tables
//     each member receives each event exactly once (tested). A burst
//     larger than one message goes out in up to 8 batches per interval.
//     The receiver acknowledges a message (MsgPong); a target that does
//     not answer is dropped from the table and the member after it, still
//     short of the next level's target, gets the events instead (up to 3
//     tries), so a dead entry cannot swallow the events for its part of
//     the ring (tested).
//   - A joiner copies its successor's table page by page (MsgGetMembers,
//     63 entries a page), in 8 slices of the ID space at once; meanwhile, and until the ring's tables name the
//     joiner, the successor copies every event it sees to it (a relay).
//     Once its own announcement has spread, the joiner sweeps its table
//     against its successor's.
//   - A sweep compares the whole table range by range (63 of the asker's
//     entries each): the asker sends the range's end and a digest (count
//     and sum of the IDs' first 8 bytes); an agreeing responder answers
//     with one flag, a differing one lists its entries there; the asker
//     adds what it lacks and pings (at most 4 per range) what the
//     responder lacks, so a dead entry goes when its ping times out. Each
//     member sweeps against a random member every AntiEntropyTicks, and
//     again soon while sweeps find more differences than the events in
//     flight explain or its table grew by an eighth (tables routed
//     announcements while they were still filling: a ring formed in a
//     minute; a forwarder crashed with events queued).
//   - A request that times out removes its target from the table; a
//     successor that misses one is pinged again (decided once that ping
//     is overdue by twice the round trip) before its departure is
//     announced, so one lost reply does not drop a live node ring-wide.
//   - A member passes a join on only if it changed its table or matches
//     a change it made on its own shortly before (membership_recent.go,
//     once), and a departure unless it passed here lately (a tombstone
//     kept as long as an event takes to spread): EDRA hands each event to
//     each member once, so honest events lose nothing, and a replay dies
//     at its first hop. A departure this table does not list is passed
//     on too: the table may have missed the join, and the members after
//     it in EDRA's tree hear of it only through it (dropping it left dead
//     entries in their tables until a sweep, and sweeps copied them on:
//     99.24% of lookups in one hop at 10,000 nodes, 99.56% with it).
//     A tombstone also keeps second-hand news (a lookup answer, a table
//     page, a sweep) from a member the event has not reached from putting
//     the departed node back.
//   - A sweep's digest probe walks at most 4·63 of the responder's
//     entries (a larger range is answered "differs" and compared by
//     prefixes, which is bounded); a prefix comparison sends at most 64
//     prefixes and covers the range up to the last one sent.
//   - Above MaxTableSize the table thins like Accordion: a newcomer
//     replaces a random entry farther from this node (either way round),
//     else it is refused; the table keeps every member near its own ID
//     and a sample that thins with distance.
//
// A member's lookup of a key beyond its successor list then confirms the
// owner the table names (the first entry at or after the key, with the
// next two as fallbacks and the table's predecessor of the key as the
// range start) with a state query (confirm.go): one round trip when the
// entry is fresh. A dead entry is routed around (the next one is asked);
// a node that joined before it and is not yet in the table is stepped back
// to (a second hop), at most r times, after which the key is looked up
// again from the range start, so a table that lacks many nodes costs hops,
// never a wrong owner; when the table's gap before the owner it named
// spans more than 8 mean gaps (a joiner's table still being copied), the
// first step back goes to that lookup at once (14 hops to 6 at 10,000
// nodes). A thinned table whose gap around the key is wider
// than 8 mean gaps asks the table's predecessor of the key first (the
// iterative lookup). Finger refreshes take their owners from the table
// without a message. When every owner candidate the table named and the
// range start fail, the lookup goes on from this node's fingers and
// successor list (confirm.go), as without a table.
//
// Membership events are not authenticated (SPEC.md's ring has no
// certified IDs). What bad membership input can do: a forged message
// adds made-up members (up to 63 a message), and these new joins go round
// the ring like honest ones, to every table; it removes listed members by
// 8-byte prefix, and those departures go on too (each once; so does a
// made-up prefix nobody lists, 8 bytes to every member); the table's
// memory is capped by MaxTableSize (1<<17, about 20 MB); lookups of keys
// near made-up members spend a timeout per dead candidate (up to three,
// and the range start) before the finger path answers; finger refreshes
// (which take the table's owner unconfirmed) may point at a dead entry
// until its request times out, which removes it there. What it cannot
// do: make an event travel twice (a replay within the tombstones' window
// dies at its first hop; the TTL is capped at the receiver's
// level count), make a lookup name a made-up member that does not
// answer (every answer is confirmed with the owner's own state; a live
// Sybil that answers is the ring's general Sybil problem, with or without
// a table), end a lookup with no answer while the fingers can reach the
// owner, or make a member walk more than a few hundred entries per
// request. A dead-predecessor notice changes nothing until the
// predecessor fails a ping (rectify.go).
//
// A read (Get) skips the confirmation: it goes straight to the owner the
// table names, or for a key in the range of its successor list the owner
// that list names (onehop_get.go), whose own range check (it answers only for
// a key in (pred, self]) is the check a confirming query would make, so a
// fresh entry answers a search in one round trip. The next ReadFanout-1
// members, which hold the key's replicas, are asked at the same moment:
// the first answer with values ends the read, so a search waits for the
// nearest holder, not for the owner (with round trips spread over
// 10-150 ms, the nearest of three is about 40 ms away at the median, the
// owner 80). The daemon keeps eight copies and reads them all
// (Config.EnableOneHop, OneHopReplicas): the nearest of eight is about
// 24 ms away at the median and 72 at p99, where three gave 123 and
// kad-dht, which stores twenty, 168. An answer without values counts
// only from the owner, because a replica may lack the latest push, and a
// node that joined less than a repair round ago (RepairTicks +
// RepairSettleTicks) answers no replica read, because it may hold only
// the values stored since it joined. When
// no holder gives a usable answer (the owner refused or timed out), the
// read falls back to the confirmed lookup above, the refused read counted
// as a hop. What this trades: a replica answers with the values it holds,
// which lag the owner's by the push of a store (one message) or, for a
// value a push missed, up to a repair round; and a holder that leaves
// values out (a malicious node) hides them from the readers it is the
// nearest holder to, where before only a malicious owner could
// (from every reader). A client that forwards through two entry points
// merges two reads, usually from different nearest holders. ReadFanout 1
// reads the owner alone.
//
// A write (Put) groups its keys by owner from its lookups' answers
// (route.go): a key's own lookup names its confirmed owner, and a key in
// the range of another owner that answer lists goes to that owner
// unconfirmed, except a node the lookup found dead (its range is the next
// owner's) and, in the put's one retry, an owner whose store just failed
// (the retry looks that key up on its own). A member that restarted with
// the same identity is reached on its new connection, not on the dead
// one the old process left behind (chordrouting/p2p, connpick.go). The
// daemon runs with OneHop on (node/ring.go).
//
// Stabilization is cheap when nothing changed: the query carries a 31-bit
// digest of the head's state as last answered, and a head whose state
// still has that digest answers "unchanged" (Done) without its list, so a
// ring at rest exchanges two messages of about 120 B per round instead of
// a list of r peers (about 1 KB). This holds in both modes.
//
// Measured with `kwnode sim --nodes N --session 1h --one-hop --lookups L
// --json` (one-second ticks as in the daemon, Weibull sessions in steady
// state, message sizes as the libp2p codec writes them; see
// chordrouting/sim), seed 1:
//
//   - 100,000 nodes, started settled (--build formed, eighth session;
//     30-interval churn windows, --churn-intervals 30), 398e412: 99.16% in
//     one hop (target 99%), mean 1.0182, p99 1, max 11, 0 failed, 0
//     records lost, ring correct; 30.0 kbit/s per node under churn
//     (target 40): membership events 15.5, joiners' table copies 12.3,
//     stabilization and repair 0.9; 2,185 s CPU, 8.2 GB peak RSS. Of the
//     84 lookups that took more hops, 35 met an entry of a node crashed in
//     the last 10 intervals, 30 lacked an owner that had just joined, 17
//     came from askers that had just joined (a table of 100,000 is 1,587
//     pages to copy), 2 met entries dead for longer.
//   - 10,000 nodes started settled, 100-interval windows, 398e412: 99.42%
//     in one hop, mean 1.0068, max 7, 4.48 kbit/s, 0 failed, 0 lost, 89 s
//     CPU. Before the departures' tombstones (membership_recent.go) the
//     same run gave 99.24% (and 99.48% with 30-interval windows: a
//     settled start's tables wore toward dead entries that dropped
//     departures left behind), with them 99.56% (99.64%).
//   - 10,000 nodes, 10,000 lookups: 99.31% in one hop (target 99%), mean
//     1.010 hops (target 1.05), p99 1, 0 failed, 0 records lost; 3.76
//     kbit/s of maintenance per node under churn (target 5): membership
//     events 1.48 and their acknowledgements 0.18, joiners' table copies
//     1.70, stabilization with replica repair's state queries 0.30, sweeps
//     0.05, the rest 0.05; 628 s CPU, 2.8 GiB peak RSS (1.5 GiB heap). Of
//     the 69 lookups that took more hops (multi_hop_causes): 35 met a table
//     entry of a node that had crashed in the last minute (not yet
//     detected and spread), 17 a table that lacked an owner that had
//     joined in the last minute, 12 an entry of a node dead for longer, 3
//     came from askers that had just joined.
//   - The same at commit 96c9fdc, after the per-peer flow control (replica
//     stores four messages at a time per peer, one repair offer chain per
//     replica): 99.19% in one hop, mean 1.0105, 3.77 kbit/s, 0 failed, 0
//     lost, 569 s CPU; 81 lookups took more hops (40 crashed entries, 22
//     lacking a recent joiner, 12 dead for longer). Replica stores one
//     message at a time cost more (5,000 nodes: 99.07% against 99.28%).
//   - With eight holders per key (Config.EnableOneHop, which sim
//     --one-hop runs since commit e2c421d) and repair's summaries (commit
//     d8e1891): 99.15% in one hop, mean 1.0089, p99 1, max 4, 4.27
//     kbit/s, 0 failed, 0 lost, 639 s CPU, 3.0 GiB peak RSS; of the 85
//     lookups that took more hops, 46 met an entry of a node crashed in
//     the last minute, 22 lacked a recent joiner, 14 an entry dead for
//     longer. Repair walking seven predecessors' states instead of two
//     added 0.45 kbit/s (state messages 0.30 to 0.75), replica stores to
//     seven successors little with one record per node. Eight holders
//     without the summaries gave 99.05% and 4.54 kbit/s; at 3,000 nodes
//     four seeds gave 99.0-99.47% with eight holders and 99.0-99.33% with
//     three, so the one-hop fraction does not depend on the holders.
//   - The same run before this session's changes (the sender on the wire,
//     10 ticks of quarantine, unacknowledged events, one page at a time):
//     98.8% in one hop, 1.03 hops, 6.9 kbit/s, 937 s CPU. Leaving the
//     sender out (the transport takes it from the stream) cut
//     stabilization from 1.3 kbit/s to 0.3 and every message by about 100
//     bytes; 3 ticks of quarantine gave 0.4 points of one-hop lookups at
//     3,000 nodes; acknowledged events another 0.4-0.9 points (1,000
//     nodes: 98.6% to 99.5%, dead entries met fell from 22 to 1 of 5,000
//     lookups).
//   - 3,000 nodes (before acknowledged events): 99.2% in one hop, 1.4
//     kbit/s; 1,000 nodes: 99.65%, 1.0 kbit/s.
//
// Per node, membership events and table copies grow with N (every member
// hears of every join and departure; a joiner copies N entries, 55 B
// each), the rest does not. The floor of 2.8 kbit/s at 10,000
// nodes counts 64 B per event and nothing else; here a join costs 55 B
// and a departure 8 B, joiners copy 550 KB, and stabilization at the
// daemon's one-second tick costs about 0.3 kbit/s. One-hop misses are
// lookups of keys whose owner joined less than the quarantine plus the
// spread (about 10 s) ago, or whose table entry is a node that crashed in
// the last ~15 s: each costs a second hop (or a timeout), never a wrong
// answer from the table.
//
// # Forwarding for clients (Config.ClientForward, issue 10)
//
// A client (not a member: behind NAT, started with SetEntryPoints) sends
// each Get, and each Put batch of up to ForwardBatchItems (32) items, to its
// entry points as one forwarded request (MsgGet or MsgStore with
// Forward): the entry, a member, runs the operation itself with its own
// routing (a one-hop read: usually one round trip to the key's holders)
// and answers the client's request once it ends, on the same stream. A
// search costs the client one request per entry point it asks instead of
// a cross-checked lookup's hops and the read at the owner, each of them a
// dial (or a relay) away behind NAT. On a static ring of 1,000 members
// with complete tables and fingers (BenchmarkClientGet), a client's search
// costs it 2 requests to 2 peers forwarded, 11.5 requests to 9.3 distinct
// peers iterative; the whole network sends 16 messages per search instead
// of 23 (each entry reads from ReadFanout holders: with the daemon's eight,
// EnableOneHop, 36 messages, more than the iterative search's, for the
// nearest of eight holders' latency). The entry's transport
// counts a forward as one request against the client's rate, but it buys
// the entry's whole operation: with fresh tables up to 64 requests for a
// store batch of 32 items, ReadFanout to ReadFanout + 4 for a search
// (forward_serve.go gives the bounds).
//
//   - Trust (forward.go): records are signed by their publishers, so an
//     entry can leave values out or drop a store, never forge one. As
//     lookups are cross-checked (crosscheck.go), a client with two or more
//     entry points sends each forwarded request to the first two at once:
//     it merges the two Get answers (validated and matched here, one value
//     per identity at its highest version, alternating between the answers
//     up to the limit, so that neither fills it alone) and counts a Put
//     batch stored when either entry acknowledges it. Two entries that
//     agree to hide a record still hide it; one can still answer with a
//     withdrawn record's older version. A liar's fast answer also
//     shortens the wait for the honest entry when it is full (records of
//     its own that match, or a store acknowledged for every item): the
//     honest entry then has one request timeout more, and when its read
//     needs a fallback (a dead holder) its answer comes too late and the
//     liar's stands alone; an empty answer shortens nothing (forward.go).
//     With one entry nothing is checked.
//   - Failure: an entry that refuses (MsgError), does not answer within
//     ForwardTimeoutTicks, or predates the flag (it answers a direct Get
//     or Store, without Done) leaves the client to run the operation the
//     iterative way, as before. Once one entry has answered in full (a
//     read with a valid value, a store acknowledged for every item), the
//     other gets one request timeout more; an empty read or a partial
//     store shortens nothing. An entry that refused, predates the flag or
//     did not answer within its own wait moves behind the other entry
//     points; one whose wait was shortened does only if a ping then
//     times out too (a crashed entry, not a slow one).
//   - Timeouts: a forwarded request's answer takes the client's round trip
//     plus the entry's own requests, so it waits ForwardTimeoutTicks (at
//     least twice the measured request timeout), and neither its duration
//     nor its timeout feeds the round-trip estimate or the failure
//     detector (rpc.go). On a transport whose exchanges have a deadline
//     of their own (ForwardWaiter: chordrouting/p2p's streams live
//     RequestTimeout, 10 s) it waits no longer than that, at the first
//     tick after it: twice a long request timeout (up to 40 ticks, 40 s
//     at the daemon's tick) would wait on a stream that is gone.
//   - Bounds on the entry (forward_serve.go): only members run forwards;
//     a forward's fields are checked like a direct request's (query size,
//     item count, limit) and every value is validated before it goes on;
//     at most MaxForwards run at once and MaxForwardsPerClient for one
//     client, and more are refused at once, not queued; the entry runs
//     the operation as its own, which never forwards again (a node that
//     is not a member refuses a forward, even with entry points of its
//     own). A forwarded store has at most ForwardBatchItems items (a
//     larger one is refused), keeps at most 8 stores in flight and makes
//     no retry round, and a forward is refused while the operations'
//     share of the pending table is nearly full (below).
//   - Batch time: the entry must answer a forwarded store before the
//     client's forward timeout. It groups the batch's keys with one
//     lookup and then up to 8 chains of lookups at once (route.go; a
//     Put of any node does), then stores 8 owners' items at a time: a
//     full batch of 32 items at 1,000 members takes it about 10 round
//     trips, 1.5 s at 150 ms (a batch of 256: 40 round trips; 109 with
//     one lookup after another, 16 s, past the client's 10 s;
//     BenchmarkForwardedBatch). It makes no retry round (the client
//     stores what failed itself), and on a transport with a deadline of
//     its own (ForwardWaiter) its stores, and the lookups that group
//     them, end by seven tenths of it, so the answer, with what was
//     stored, still comes in time; a request so cut short makes its
//     target no suspect.
//   - The pending table (rpc.go): operations (lookups, reads, stores,
//     forwards) may hold three quarters of MaxPending, the rest is kept
//     for ring maintenance (stabilize, pings, fingers, membership,
//     repair), so no load of operations can fill the pending table for
//     a stabilize query (the libp2p transport carries what the table
//     admits: its MaxOutbound, 4096, is MaxPending, and New refuses a
//     smaller one); and a request that could not be sent (the table full, or
//     the transport refusing it at once: TrySender, which the libp2p
//     transport implements for its MaxOutbound exchanges in flight) gets
//     a stand-in answer, never taken for a timeout: it drops no head,
//     replaces no predecessor and announces no departure. (Before, forwarded stores
//     that sent every owner's store at once filled MaxPending, the
//     entry's stabilize query was refused and taken for a dead head, and
//     its successor list emptied within a tick: it then claimed every
//     key.)
//   - Operations per peer (peerops.go): at most MaxOpsPerPeer (8) of
//     them in flight to one peer. The receiver takes only so many streams
//     from one peer (the libp2p transport's MaxInboundPerPeer, 48) and
//     resets the rest, which the core cannot tell from silence: an entry
//     running forwarded puts whose keys share one popular owner, or a
//     node running many searches, had its stabilize query to that owner,
//     its successor, reset with the flood, timed it out and dropped the
//     live head (the successor list was empty within about a second). The
//     cap leaves room for what maintenance may have in flight to one peer
//     (Config.MaintenancePerPeer: 30 with OneHop) and headroom of
//     MaxOpsPerPeer more (chordrouting/p2p's ValidateRing checks the
//     pairing), and maintenance is never held back
//     by operations. An operation's request beyond the cap waits (up to
//     MaxOpsPerPeer more per peer, each at most its own timeout) and goes
//     out as that peer's replies or timeouts free a place; beyond that it
//     is refused as unsent, and so is a held one whose wait ends first,
//     with a stand-in of their own (errPeerBusy): it says only that this
//     peer is busy, so a lookup asks its next candidate (with no
//     suspicion) instead of ending ErrBusy as when the pending table is
//     full; a confirmation ends ErrBusy, since no other node can answer
//     for the owner. A client's forward held behind its entry's cap is
//     hurried like a sent one (found by its message: it has no ID until
//     sent). Held rather than refused, because a refused
//     store is a store failed that the put, or the client whose batch an
//     entry runs, must redo (a client then stores it iteratively, a
//     lookup and a store of its own), while one held a round trip is
//     stored; a short queue keeps what a flood piles up, and its wait,
//     small (a read refused falls back to a confirmed lookup, as when its
//     holders do not answer, with no suspicion).
//   - When the core stops waiting for an operation's request without a
//     reply (its timeout, an end its operation set; every request at
//     Leave), it tells the transport (Canceler; a maintenance request that
//     timed out is left to run, since its late reply still teaches the
//     round-trip estimate): the libp2p transport then resets that exchange's stream
//     and gives its MaxOutbound slot back, where before it held both until
//     its own RequestTimeout (10 s, against the core's 5 s at the
//     daemon's tick), so a long flood at silent peers could fill
//     MaxOutbound and pause maintenance (it never misjudged a peer). The
//     receiver, seeing the reset, stops waiting for its node's reply and
//     frees the stream's place in its MaxInboundPerPeer (before, it held
//     the stream until its ReplyTimeout, 5 s, and a requester with a
//     shorter request timeout sent more than the receiver took). The two
//     sides still do not count the same streams at every moment: a
//     cancelled request's place frees at the receiver only once the
//     reset has travelled, so a held request sent right after the cancel
//     briefly overlaps it; a maintenance request that timed out is not
//     cancelled and holds the receiver's place up to its ReplyTimeout;
//     one-way messages come on top. Hence the receiver's headroom of
//     MaxOpsPerPeer over operations and maintenance (ValidateRing).
//   - Maintenance's bulk goes to each peer in turn: repair's digests one
//     message at a time per offer (offerWindow) and one offer chain per
//     replica however close the rounds come (offer.go); replica stores
//     (an owner's pushes, handoffs to a joiner, what a digest reply names,
//     a replica's push back) one message at a time per peer, the rest
//     queued and sent together as each acknowledgement comes (push.go:
//     pushWindow; a timeout drops the queue, repair offers it again);
//     repair's grouping of misplaced keys two lookups at once
//     (repairGroupWindow). Before, a handoff of 10,000 values or a round
//     of digests went to one peer as 40 streams at once, above its
//     transport's cap per peer, which reset the rest, a stabilize query
//     among them. Leave cannot wait for acknowledgements: it hands its
//     successor at most leaveChunks messages (1,024 values) at once, in
//     the receiver's headroom; the successor, the first replica, already
//     holds what it was pushed, and what it missed beyond them comes back
//     as after a failure, by repair.
//   - Lookups stay iterative and cross-checked: their answer is an owner,
//     which the client must see confirmed itself.
//   - A forwarded read ends by the end of its requester's wait
//     (forwardEnd: a tick before the forward timeout and, on a transport
//     with a deadline of its own, seven tenths of it, as its stores): a
//     read whose holders time out and whose fallback lookup meets dead
//     owner candidates stops there, its requests in flight end quietly
//     (no suspect), and the requester, refused with a timeout, reads
//     itself at once instead of waiting out its forward.
//
// # Forwarding for members (Config.MemberForward, issue 10)
//
// A member's one-hop read asks the key's holders at once, and a holder it
// has no connection to is a dial away: over TCP the handshake, the
// security negotiation and the multiplexer, about three round trips
// before the request. On a transport that reports its connections and
// what a dial costs in round trips (ConnState: chordrouting/p2p), a
// member whose dials cost more than a forward ((k+1)/2 round trips for k
// holders: 2 for three, 4.5 for the daemon's eight), connected to none of
// the holders but to a member that ring maintenance keeps talking to the
// owner (its predecessor, the member after the last holder, the members
// 2^l places before it: stabilization, repair and membership events),
// sends the read to that member as a forwarded Get, as a client does to
// its entry point (forward_member.go); the transport meanwhile opens
// connections to the holders in the background (ConnState.Prepare:
// deduplicated, at most 16 dials at once), so the next read of their
// keys goes direct, to the nearest holder. With a holder connected the
// read goes direct as before, and so it does on a transport without
// ConnState (the simulator, which models no dials). The neighbour serves
// it under the client rules (forward_serve.go): only members run
// forwards, the read it runs is never forwarded again, and its
// per-requester cap counts the member like a client (the member keeps no
// more than that cap in flight with one neighbour, and reads directly
// beyond it).
//
// Where this differs from the design, and why (measured with
// BenchmarkMemberForwardReadLatency, a dial model: 500 members, round
// trips of 10-150 ms per pair, members connected at first to their
// predecessor, successor list and dissemination targets, 2,000 reads of
// fresh keys from random members):
//
//   - The neighbours include the members 2^l places before the owner, not
//     only its predecessor and the member after the holders: a reader is
//     no likelier to be connected to those two than to the holders, and
//     forwarded 6.6% of the reads (mean 161.2 ms); with the dissemination
//     senders 30% (150.8 ms).
//   - The holders' connections are prepared, not the owner's alone: the
//     direct read opens all three and later reads take the nearest (the
//     owner's alone: mean 153.7 ms).
//   - The member forwards only when its transport measured a dial above
//     two round trips over an open connection (three holders; (k+1)/2 for
//     k, forwardDialRTTs): the direct read's nearest holder is nearer than
//     a typical neighbour, so the two break even at about 1.8 round trips;
//     with the daemon's eight holders at about 3.1, above TCP's three
//     (eight holders, 3-round-trip dials: a mean of 88.5 ms forwarded,
//     83.2 direct), so the daemon forwards only for dials dearer than
//     TCP's (4.5 round trips); over QUIC (one) the direct read is faster
//     (forwarding whenever it could: mean 100.4 ms instead of 86.8), and
//     on an in-memory network (the benchmarks' mocknet, which delays
//     writes only) a dial costs nothing.
//   - An answer without values is not taken, and a neighbour connected
//     to none of the holders refuses a member at once (below).
//
// With dials of three round trips (TCP) reads took 150.8 ms on average
// instead of 165.6, 288 ms instead of 332 at the 90th percentile, 468
// instead of 484 at the 99th, the median 132 instead of 136; with dials
// of one round trip (QUIC) nothing changed, no read forwarded (`go test
// -run '^$' -bench MemberForwardReadLatency -benchtime 1x
// ./chordrouting/`, seed 1). The gain is bounded by how often a member
// has met none of a key's holders: a daemon that has met most of the ring
// forwards little.
//
//   - Trust: the answer's values are validated and matched with the
//     client's code (mergeValues): a neighbour can leave values out, or
//     hand back an older signed version of a value or one since removed
//     until it expires (as a holder or a client's entry point can), never
//     forge one, which makes it one more node that can hide or age a value
//     for the reads that go through it (as the nearest holder can). An answer
//     with no valid value is not taken: the holders are asked directly, so
//     no neighbour can answer "nothing"; their connections have been
//     opening since the forward went out, so a miss costs about what the
//     direct read through a dial costs.
//   - A neighbour connected to none of the holders (ConnState) refuses a
//     member's forward at once (a requester in its membership table; a
//     client is served whatever it costs): its read would dial them a
//     round trip after the member's own, whose connections have been
//     opening since the forward went out. The member reads directly and
//     asks that neighbour again next time.
//   - Failure: a neighbour that refuses otherwise, predates the flag (it
//     answers a direct Get, not Done) or does not answer within
//     memberForwardTicks and a tick is not asked again for six forward
//     timeouts, and the read goes to the holders directly, the forward
//     counted as a hop; its timeout makes it no suspect. The wait is not
//     a client's forward timeout: a healthy neighbour answers in two round
//     trips, and one whose own read needs longer meets a dead holder the
//     direct read would meet too. memberForwardTicks is two
//     retransmission timeouts in ticks (at least two ticks, at most a
//     request timeout), so a crashed neighbour behind a connection that
//     still looks open holds a member's reads that long; the neighbour
//     ends a member requester's read (one in its membership table) after
//     its own memberForwardTicks, so both give up the forward's place in
//     the per-requester cap at about the same tick, and a refusal for that
//     cap sends the member to the holders without shunning the neighbour.
//   - Why not hedge (forward and read directly at once): the holders
//     would serve every forwarded read twice; connections opened without
//     a request give the next read the same.
//   - Puts do not forward: a Put groups its keys with lookups whose
//     confirmation asks the owner for its state (one round trip, which
//     opens the connection the store then uses), and publishing runs in
//     the background, where a few round trips do not show; a forwarded
//     store would save that dial only by trusting one neighbour's
//     acknowledgement (a client checks one entry's against another's; a
//     member would have one neighbour).
//
// Not done: a forwarded store is cut to the transport's deadline only
// (ForwardWaiter), not to a tick before the forward timeout as a
// forwarded read is (in ticks its stores and lookups end by their own
// timeouts); the message carries no deadline, so a member and its
// neighbour each size a forwarded read's wait by their own round trips
// (and a member missing from the neighbour's table gets a client's
// forwardEnd), and the neighbour's read may go on a little after the
// member read directly; and dials are not modelled in chordrouting/sim
// (its figures come from the benchmark's own dial model above). A
// 100,000-node simulation starts from a settled ring (StartFormed):
// forming it by joins is N² work (every joiner copies N entries, every
// join reaches N tables), and so is churn, which keeps its windows short
// there (BENCHMARKS.md).
//
// A Node's memory is a few hundred bytes plus its successor list, fingers
// (about log2(N/r) distinct entries), outstanding requests and, in one-hop
// mode, its membership table (O(N)); nothing per message is O(N).
package chordrouting
