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
package main
