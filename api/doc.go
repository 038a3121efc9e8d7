// Package api is the node's local API (SPEC §6): HTTP and JSON on a
// loopback address, versioned /v1/ paths, a bearer token on every call, and
// newline-delimited JSON streams for long operations. It holds the server,
// the typed client the CLI uses, and the JSON types, whose field names are
// the ones SPEC §5 fixes for `--json` output.
//
// The server knows nothing of libp2p or the ring: it calls a Backend
// (implemented by package node) and turns its answers and errors into HTTP.
//
// Endpoints (all require "Authorization: Bearer TOKEN"):
//
//	GET  /v1/status              Status
//	GET  /v1/peers               []Peer
//	GET  /v1/shares              []ShareInfo
//	POST /v1/share   ShareRequest   -> stream of ShareEvent
//	POST /v1/unshare UnshareRequest -> UnshareResult
//	POST /v1/search  SearchRequest  -> []SearchHit, best first
//	POST /v1/get     GetRequest     -> stream of GetEvent
//	GET  /v1/downloads           []Download
//
// A stream is application/x-ndjson: one JSON event per line, ending with an
// event of type "done" or "error". An error found before the first event is
// an ordinary HTTP error instead. Errors are {"error": "message"} with a
// 4xx status for the caller's mistakes and 5xx for the node's.
//
// Differences from SPEC.md: none. Requests are bounded (64 KiB bodies,
// unknown fields refused, read and header timeouts) because the API is
// reachable by every local process, including a browser visiting a hostile
// page; the token, not the loopback address, is the access control.
package api
