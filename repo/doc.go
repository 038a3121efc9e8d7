// Package repo manages a kwnode repository folder: the node's identity key,
// its configuration file, the local API token and the file through which a
// running daemon announces its API address.
//
// Layout of a repository (default ~/.kwnode, overridden by --repo or the
// KWNODE_REPO environment variable):
//
//	config.json    Config as JSON (written by Init, read by Open)
//	identity.key   libp2p Ed25519 private key, protobuf-marshalled, mode 0600
//	api.token      random bearer token for the local API, hex, mode 0600
//	api            HOST:PORT of the running daemon's API, no newline (written when ready,
//	               removed on a clean exit)
//	kwnode.db      the bbolt database (package storage); its file lock is what
//	               keeps two daemons off one repository
//
// Files are written atomically (temporary file, fsync, rename) so that a
// crash never leaves a half-written key, token or config behind.
//
// Differences from SPEC.md: none in behaviour. The config file also carries
// the run-time intervals (ring tick, republish, re-check) so that an operator
// can tune them without rebuilding; flags given to `kwnode daemon` override
// the file for that run only and are not written back.
package repo
