// Command bench measures blockxfer's speed and memory on loopback: throughput against a raw
// libp2p stream, four rate-limited providers, and memory against file size.
//
//	go run ./blockxfer/bench -mode single -size 1024
//	go run ./blockxfer/bench -mode multi -size 256 -rate 20
//	go run ./blockxfer/bench -mode mem -sizes 64,1024
//
// Modes: single compares one provider's download with io.Copy over a raw
// libp2p stream between the same two hosts (same transport), alternating
// rounds, and reports best, median and paired ratios plus CPU seconds per
// GB; multi downloads from one and then four providers, each limited to
// -rate MB/s by a token bucket in front of its Source; mem serves and
// fetches files of each size and reports the peak heap in use.
//
// On a shared host, run single several times and compare the paired
// ratio (each blockxfer round against the raw round just before it), and
// note the load: both sides are CPU-bound on two cores. For profiling,
// -only raw|blockxfer runs one side, -cpuprofile and -trace cover only the
// measured transfers, and -initwindow, -maxwindow and -pipeline override
// FetchOptions and ServerConfig.
//
// Measured on the two-core test machine, quiet, 1 GiB, paired ratios
// (blockxfer against the raw stream just before it), with three sink
// workers: over TCP a median of 0.88 over seven five-round runs
// (0.86-0.98; raw about 700-780 MB/s, 2.0-2.2 s of CPU per GB, blockxfer
// 2.3-2.5 s); over QUIC, which the daemon dials first, 0.88-0.92 (about
// 280-400 MB/s: QUIC's per-packet costs dominate). What the download adds
// to the stream is the SHA-256 check (0.6 s of CPU per GB with SHA-NI),
// the server's CRC-32C re-check, one more copy and the block writes; with
// both cores busy that is about a fifth more CPU per byte, so the ratio is
// bounded by how much of it overlaps the stream (peer.go, sinkWorkers).
// Again on 2026-11-29 (load 1-2): nine TCP runs, paired medians 0.84-0.96,
// median 0.87 (raw 1.7-1.9 s of CPU per GB, blockxfer 2.1-2.5 s); a sixth
// sink buffer gave 0.78, 0.88 and 0.89 against 0.85, 0.90 and 0.92 in
// alternating runs, so the buffers are not what bounds it. A profile of
// the download side (-only blockxfer -cpuprofile) puts SHA-256 at 18% of
// all samples, which is about what the ratio misses.
package main
