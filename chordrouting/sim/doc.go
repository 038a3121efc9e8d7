// Package sim runs thousands of chordrouting.Nodes on a deterministic
// simulated network in one goroutine, checks the ring against the ground
// truth, and measures the experiments behind `kwnode sim`.
//
// # What is simulated
//
// Network is the message layer. It owns a virtual clock (it implements
// chordrouting.Clock), one event queue and one random source. Every message
// a node sends through its Transport becomes a delivery event after a delay
// drawn per message, uniformly from [MinDelay, MaxDelay], so two messages
// between the same nodes can arrive out of order. A message is lost with
// probability Loss, decided when it is sent. A stopped (failed) node neither
// receives nor sends, and its pending ticks are dropped; what it sent before
// it stopped is still delivered, as on a real wire. Partitions put nodes in
// groups and drop, at delivery, every message between groups (also those in
// flight when the partition starts); Heal ends them. Every node ticks every
// NetConfig.Tick of virtual time, starting at a random phase in the first
// interval, so nodes do not act in lockstep.
//
// Sim puts chordrouting.Nodes on a Network: node i has address Addr(i) (its
// decimal index) and a random 256-bit ID, a MemStorage and the core's
// default Config with RecordValidator. It keeps the ground truth, the
// sorted list of live members (nodes that created the ring or whose Join
// reported success, and have not failed or left), against which
//
//   - CheckRing checks a converged ring (every live member's successor is
//     the next live member, predecessors agree, successor lists are the next
//     r live members without duplicates or self entries);
//   - CheckInvariant checks Zave's inductive invariant and its consequences
//     (ordered lists, a live successor for every member, at least r+1
//     principals, one ring that winds once around the identifier space),
//     and CheckEveryStep runs it after every event, stopping at the first
//     step that breaks it;
//   - RecordStats/CheckRecords check that every record with a live
//     publisher or a live holder is on its key's owner;
//   - Owner gives the correct owner of a key, to check lookups.
//
// The checks use their own interval arithmetic, not the core's.
//
// # What is not simulated
//
// Bandwidth, queueing and CPU time: a message costs nothing but its delay,
// and a node handles any number of messages at the same instant. Message
// sizes are estimated for the traffic figure, not encoded. Connection set-up,
// NAT and clients outside the ring are not modelled; crashes are fail-stop
// (a failed node never comes back with the same state; fresh nodes join
// with fresh IDs). Delays are independent per message, not tied to a
// topology.
//
// # Time and determinism
//
// Virtual time starts at a fixed date (2030-01-01 UTC) and advances only
// when the next event is taken from the queue; nothing reads the wall
// clock. Events are ordered by time and then by a sequence number given
// when they were scheduled, so events at equal times replay in the same
// order. One *rand.Rand built from the seed feeds everything: delays,
// losses, tick phases, node IDs, the nodes' own random choices (the same
// source is passed to NewNode) and the experiment's choices. The same seed,
// configuration and driver calls therefore give the same trace, which
// Network.TraceHash summarizes. Errors from a run name the seed and the
// step, so a failure replays exactly.
//
// # Experiments
//
// Run builds a ring of Options.Nodes through real joins, in batches of at
// most the ring's current size, one batch per stabilization interval, and
// waits until CheckRing passes and the fingers have settled. It measures the
// maintenance traffic in a quiet window, publishes one record per node (each
// from a random publisher), then, as asked, crashes a fraction of the nodes
// at once and waits for the repair, or runs churn (Poisson joins and
// crashes, Options.Churn of each per stabilization interval, or Weibull
// sessions of mean Options.Session with shape 0.5, each crashed node
// replaced by a fresh one) while the lookups run. A lookup fails if the
// core reports an error, if it never answers although its asker lives, or
// if the owner it returns is neither the key's live owner when the lookup
// started nor when it ended. Finally the ring is checked, the live
// publishers republish once, and every record of a live publisher is
// fetched with Get from a random live node: records_lost counts those not
// found.
//
// The simulator itself is cheap per event: events are stored by value in a
// binary heap (no allocation per event once the heap has grown), addresses
// are decimal indices, and the per-node overhead is one small struct and a
// transport.
package sim
