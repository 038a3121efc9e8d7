// Package hostile holds hostile-peer tests: real libp2p hosts on loopback
// play the attacker against real kwsearch nodes built in process from the
// packages' public APIs (chordrouting/p2p.New, keyword, blockxfer), and
// every test checks that the node stays up, keeps answering honest peers
// (honest searches and downloads are counted around each attack), stores
// nothing invalid and loses nothing valid.
//
// The package has no code of its own: everything is in _test.go files.
// Each attack has a deadline, so the whole package runs in well under two
// minutes on two cores. SECURITY.md at the repository root lists what the
// tests cover and what is not defended yet.
package hostile
