package main

import (
	"errors"
	"fmt"
	"time"
)

// Config is one benchmark run.
type Config struct {
	// Nodes is the number of hosts on the latency network.
	Nodes int
	// Sizes, when set, runs the latency network once per size for the plot.
	Sizes []int
	// Files is how many files the publisher shares.
	Files int
	// KeywordsPerFile is the mean number of keywords in a file name.
	KeywordsPerFile int
	// Vocabulary is the number of distinct words file names draw from.
	Vocabulary int
	// Searches is how many searches each system answers.
	Searches int
	// SearchParallel is how many searches run at once.
	SearchParallel int
	// Seed drives every random choice: keys, RTTs, connections, workload.
	Seed int64
	// RTTMin and RTTMax bound the uniform spread of per-pair round trips.
	RTTMin, RTTMax time.Duration
	// Degree is how many random hosts each host dials before Bootstrap.
	Degree int
	// KadWorkers is the size of the Provide worker pool.
	KadWorkers int
	// KadFullRT, when positive, searches kad-dht from that many
	// accelerated (fullrt) clients instead of from the server DHTs.
	KadFullRT int
	// SizesFiles and SizesSearches are the workload of the --sizes runs.
	SizesFiles, SizesSearches int
	// IdleSample is how long each system is watched idle, to tell its
	// maintenance traffic from what publish and search cost.
	IdleSample time.Duration
	// RingTick is the ring's tick once it has formed (it forms at
	// formTick).
	RingTick time.Duration
	// RingRequestTimeoutTicks overrides the ring's RequestTimeoutTicks
	// (0: the daemon's default).
	RingRequestTimeoutTicks int
	// OneHop runs our ring with one-hop routing (chordrouting
	// Config.OneHop) and waits for full membership tables before measuring.
	OneHop bool
	// SearchTimeout bounds one search.
	SearchTimeout time.Duration
	// LoopbackNodes is the number of real hosts on 127.0.0.1 (0: skip).
	LoopbackNodes int
	// LoopbackSearches is how many searches the loopback run answers.
	LoopbackSearches int
	// XferMiB is the size of the transfer benchmark's file.
	XferMiB int
	// SkipXfer skips the transfer benchmark.
	SkipXfer bool
	// SkipOurs runs only the baselines.
	SkipOurs bool
	// SkipKad runs only our side.
	SkipKad bool
	// FromJSON, when set, renders a saved result instead of running.
	FromJSON string
	// Plot is a PNG file for search latency against network size ("": none).
	Plot string
	// Progress, when set, receives one line per phase.
	Progress func(format string, args ...any)
}

// DefaultConfig is the default run: 50 hosts with latency, 1,000
// files and searches, 50 loopback hosts and a 256 MiB transfer.
func DefaultConfig() Config {
	return Config{
		Nodes:           50,   // the default size
		Files:           1000, // the bulk publish
		KeywordsPerFile: 5,    // the "~5 keywords each"
		// 3,000 words: most words name a handful of files, as in real names,
		// so most keys are distinct and a search returns a few records.
		Vocabulary:     3000,
		Searches:       1000, // the p50/p99 sample
		SearchParallel: 8,    // enough to finish in minutes; few enough not to queue on 2 cores
		Seed:           1,
		RTTMin:         10 * time.Millisecond,  // a nearby peer
		RTTMax:         150 * time.Millisecond, // across an ocean
		Degree:         5,                      // the "5 random connections per host"
		KadWorkers:     16,                     // Kubo's default provide worker count
		// The --sizes runs are about search latency: fewer files keep
		// kad-dht's provide phase (minutes at 1,000 files) short.
		SizesFiles:    100,
		SizesSearches: 500,
		IdleSample:    10 * time.Second, // 10 ring ticks
		RingTick:      time.Second,      // the daemon's
		SearchTimeout: 30 * time.Second,
		LoopbackNodes: 50,
		// Loopback searches cost about a millisecond: the figure of interest
		// there is CPU and memory, a few hundred samples suffice.
		LoopbackSearches: 300,
		XferMiB:          256, // the transfer size
	}
}

// Validate reports a configuration that cannot run.
func (c Config) Validate() error {
	switch {
	case c.Nodes < 3:
		return fmt.Errorf("bench: --nodes %d: need at least 3 hosts", c.Nodes)
	case c.Files < 1:
		return errors.New("bench: --files must be at least 1")
	case c.KeywordsPerFile < 1:
		return errors.New("bench: --keywords must be at least 1")
	case c.Vocabulary < c.KeywordsPerFile+1:
		return fmt.Errorf("bench: --vocabulary %d must exceed --keywords %d", c.Vocabulary, c.KeywordsPerFile)
	case c.Searches < 1:
		return errors.New("bench: --searches must be at least 1")
	case c.SearchParallel < 1:
		return errors.New("bench: --search-parallel must be at least 1")
	case c.RTTMin <= 0 || c.RTTMax < c.RTTMin:
		return fmt.Errorf("bench: RTT range %v..%v: need 0 < min <= max", c.RTTMin, c.RTTMax)
	case c.Degree < 1 || c.Degree >= c.Nodes:
		return fmt.Errorf("bench: --degree %d must be in 1..nodes-1 (%d)", c.Degree, c.Nodes-1)
	case c.KadFullRT < 0:
		return errors.New("bench: --kad-fullrt must not be negative")
	case c.KadWorkers < 1:
		return errors.New("bench: --kad-workers must be at least 1")
	case c.SizesFiles < 1 || c.SizesSearches < 1:
		return errors.New("bench: --sizes-files and --sizes-searches must be at least 1")
	case c.RingTick <= 0:
		return errors.New("bench: --ring-tick must be positive")
	case c.IdleSample < 0:
		return errors.New("bench: --idle-sample must not be negative")
	case c.RingRequestTimeoutTicks < 0:
		return errors.New("bench: --ring-timeout-ticks must not be negative")
	case c.SearchTimeout <= 0:
		return errors.New("bench: --search-timeout must be positive")
	case c.LoopbackNodes != 0 && c.LoopbackNodes < 3:
		return errors.New("bench: --loopback-nodes must be 0 or at least 3")
	case !c.SkipXfer && c.XferMiB < 1:
		return errors.New("bench: --xfer-mib must be at least 1")
	}
	for _, s := range c.Sizes {
		if s <= c.Degree {
			return fmt.Errorf("bench: --sizes %d must exceed --degree %d", s, c.Degree)
		}
	}
	return nil
}

func (c Config) logf(format string, args ...any) {
	if c.Progress != nil {
		c.Progress(format, args...)
	}
}
