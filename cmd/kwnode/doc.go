// Command kwnode is the kwsearch node: the daemon, its command-line client
// and the ring simulator (SPEC.md §5, a fixed contract).
//
//	kwnode init                       create the repository (--repo, $KWNODE_REPO, ~/.kwnode)
//	kwnode daemon [flags]             run the node; prints one line beginning "ready"
//	kwnode share [--keywords W,W] PATH...
//	kwnode unshare CID
//	kwnode shares [--json]
//	kwnode search [--json] [--limit N] WORD...
//	kwnode get [-o PATH] CID
//	kwnode status [--json]
//	kwnode peers [--json]
//	kwnode ui
//	kwnode sim [flags]
//	kwnode version
//
// Every command but init, daemon, sim and version is a thin client of the
// daemon's local API (package api), found through REPO/api and REPO/api.token.
//
// Exit status: 0 on success, 1 on error (one line on stderr, no usage dump),
// 2 on bad usage: an unknown command or flag, a wrong number of arguments,
// or a flag value that does not parse or is out of range. A well-formed
// command whose argument is rejected by content (an invalid CID, a search
// whose words are all too short) is an error, status 1.
//
// The daemon prints exactly one line on stdout, beginning "ready", after it
// has written REPO/api:
//
//	ready peer_id=ID api=HOST:PORT addrs=MADDR,MADDR
//
// Logs go to stderr (log/slog, --log-level). SIGINT or SIGTERM makes it leave
// the ring gracefully and exit 0.
package main
