// Package integration holds tests that build kwnode and run real daemons
// as separate processes: on loopback (loopback_test.go, with the harness in
// harness_test.go) and behind real NAT in network namespaces (the NAT test
// and netlab).
//
// The loopback tests shorten the ring tick through the repository's config
// file (tick 200ms) so that a ring of five converges and repairs in
// seconds; everything else runs with the defaults a user gets.
package integration
