package blockxfer

import (
	"errors"
	"fmt"
	"time"
)

// ServerConfig bounds what one provider spends on its peers.
type ServerConfig struct {
	// Pipeline is how many blocks one stream reads ahead of the one being
	// sent. It overlaps disk reads and re-checks with sending; it is also
	// the stream's memory (Pipeline × 256 KiB), reserved with the resource
	// manager.
	Pipeline int
	// MaxStreamsPerPeer caps concurrent block streams from one peer (a
	// fetcher opens one per file).
	MaxStreamsPerPeer int
	// IdleTimeout closes a stream that sends no request for this long.
	IdleTimeout time.Duration
	// WriteTimeout drops a peer that does not read one response in this time.
	WriteTimeout time.Duration
}

// DefaultServerConfig returns the recommended server limits.
func DefaultServerConfig() ServerConfig {
	return ServerConfig{
		// 8 blocks (2 MiB) keep disk reads and re-checks ahead of the
		// sender even when the scheduler delays this goroutine; 4 measured
		// slower on a loaded loopback host.
		Pipeline: 8,
		// A fetcher uses one stream per file; 4 lets one peer fetch a few
		// files at once while bounding its memory to 8 MiB here.
		MaxStreamsPerPeer: 4,
		// A fetcher between files or waiting in endgame pauses briefly;
		// a minute is long enough and frees the memory of abandoned streams.
		IdleTimeout: time.Minute,
		// 256 KiB at 64 kbit/s takes 33 s; a peer slower than that is stuck.
		WriteTimeout: time.Minute,
	}
}

// Validate checks the limits.
func (c ServerConfig) Validate() error {
	var errs []error
	if c.Pipeline < 1 || c.Pipeline > 64 {
		errs = append(errs, fmt.Errorf("blockxfer: ServerConfig.Pipeline %d not in [1,64]", c.Pipeline))
	}
	if c.MaxStreamsPerPeer < 1 {
		errs = append(errs, fmt.Errorf("blockxfer: ServerConfig.MaxStreamsPerPeer %d < 1", c.MaxStreamsPerPeer))
	}
	if c.IdleTimeout <= 0 || c.WriteTimeout <= 0 {
		errs = append(errs, errors.New("blockxfer: ServerConfig.IdleTimeout and WriteTimeout must be > 0"))
	}
	return errors.Join(errs...)
}
