// Package node is kwsearch's composition root: it wires the libp2p host
// (package bootstrap), the Chord ring (chordrouting and its libp2p
// transport), the keyword index, the block transfer, the database (package
// storage) and the local API (package api) into one running node, and
// implements the API's Backend.
//
// Start brings a node up in this order: database, metrics, host and
// bootstrapper, ring membership, transfer and index adapters, local API,
// share and download managers; then it writes REPO/api. Close goes the other
// way: REPO/api is removed first (so that the CLI stops finding a daemon
// that is going away), the ring is left gracefully (records handed on), the
// host closed and the database flushed last.
//
// Ring membership follows the effective mode that package bootstrap derives
// from AutoNAT (or the --mode flag): a server joins through the bootstrap
// or remembered peers that answered, or creates a ring of one when none
// answers within joinWait and keeps trying to join them afterwards (two
// rings cannot merge in Chord, so a lonely node must not stay alone); a
// client sets those peers as the ring's entry points, and its searches and
// publishes go to two of them as forwarded requests, which they run with
// their one-hop tables and answer on the client's stream (chordrouting's
// doc, "Forwarding for clients"): a client behind NAT talks to its entry
// points only, not to each keyword's owner. A mode change at run
// time leaves or joins accordingly. Ring members are offered to autorelay as
// relay candidates. The very first node of a new network has nobody to ask
// (AutoNAT needs peers): start it with --mode server.
//
// Shares: files are hashed in parallel (IndexWorkers), stored, served in
// place by the block server and published in batches of PublishBatch files;
// every share is re-checked and republished at start and every Republish,
// and re-checked every Recheck and whenever the block server finds a file
// changed (a changed file is indexed again, a vanished one withdrawn).
// Folders are walked without following symbolic links, and unfinished
// downloads' partial files in them are skipped. Shares are keyed by CID:
// identical bytes shared under two paths are one share (the latest path).
//
// Downloads: providers come from the provider records; the node gets a
// direct connection to each (hole punching through a relay when needed,
// because relayed connections cannot carry file data; an existing
// connection must answer a ping first, so that one a restarted provider
// left behind is replaced rather than stalling the download) and hands the
// connected ones to blockxfer.Fetch, which verifies, resumes and renames
// atomically. A download is recorded in the database until it completes,
// and resumed in the background when the daemon starts again.
//
// The share and download managers talk to the transfer and keyword layers
// through small interfaces (ports.go), implemented by adapters
// (services.go), so that they are tested with fakes.
//
// Differences from SPEC.md: shares whose records cannot be published (no
// ring reachable) stay shared and served and are republished on schedule;
// the share command reports them as failed so that the user knows. A get
// refuses to overwrite an existing file under the default name.
package node
