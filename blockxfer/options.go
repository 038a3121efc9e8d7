package blockxfer

import (
	"errors"
	"fmt"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/peer"
)

// FetchOptions tunes a download.
type FetchOptions struct {
	// Overwrite replaces an existing output file; without it Fetch fails
	// with ErrOutputExists and never touches the existing file.
	Overwrite bool
	// Progress, if set, receives events, one at a time, never concurrently.
	// It must return quickly.
	Progress func(Progress)
	// ProgressInterval is how often an EventProgress is sent.
	ProgressInterval time.Duration
	// OpenTimeout bounds connecting to a provider and opening the stream,
	// including waiting for a direct connection when only a relayed one
	// exists (hole punching).
	OpenTimeout time.Duration
	// BlockTimeout is how long a provider may take to answer the request it
	// is due to answer next; a provider that exceeds it is dropped.
	BlockTimeout time.Duration
	// InitialWindow is how many requests a provider gets before its rate is
	// measured; MinWindow and MaxWindow bound it afterwards.
	InitialWindow, MinWindow, MaxWindow int
	// MaxPeers is how many providers are used at once; the others wait and
	// replace providers that are dropped.
	MaxPeers int
	// QueueTime sizes each provider's window: as many blocks as it delivers
	// in this time at its measured rate.
	QueueTime time.Duration
	// SkipResumeCheck trusts the blocks a previous run recorded as verified
	// instead of hashing them again from the partial file.
	SkipResumeCheck bool
	// Now is the clock used for rates and elapsed time.
	Now func() time.Time
}

// DefaultFetchOptions returns the recommended options.
func DefaultFetchOptions() FetchOptions {
	return FetchOptions{
		// Four updates a second are smooth enough for a progress bar.
		ProgressInterval: 250 * time.Millisecond,
		// Hole punching takes a few RTTs plus the relay's signalling; 30 s
		// covers slow links without leaving a user waiting for minutes.
		OpenTimeout: 30 * time.Second,
		// 256 KiB at 64 kbit/s (a bad mobile link) takes 33 s.
		BlockTimeout: time.Minute,
		// 4 blocks (1 MiB) cover a 100 ms RTT at 80 Mbit/s before the first
		// measurement.
		InitialWindow: 4,
		// 2 keeps a slow peer's pipe full (one block sending, one queued).
		MinWindow: 2,
		// 32 blocks (8 MiB) cover 100 ms RTT at 640 Mbit/s. Answers wait in
		// the stream's receive window (yamux caps it at 16 MiB), not in
		// this process's buffers, so a larger window costs no memory here.
		MaxWindow: 32,
		// 8 providers saturate most links many times over (4 reach 4X in
		// the benchmark); more streams only add overhead on both sides.
		MaxPeers: 8,
		// One second of a peer's measured rate: enough to hide a 100 ms RTT
		// many times over, small enough that a slow peer's last blocks are
		// re-asked elsewhere soon (endgame).
		QueueTime: time.Second,
		Now:       time.Now,
	}
}

// Validate checks the options.
func (o FetchOptions) Validate() error {
	var errs []error
	if o.ProgressInterval <= 0 || o.OpenTimeout <= 0 || o.BlockTimeout <= 0 || o.QueueTime <= 0 {
		errs = append(errs, errors.New("blockxfer: FetchOptions: ProgressInterval, OpenTimeout, BlockTimeout and QueueTime must be > 0"))
	}
	if o.MinWindow < 1 || o.MaxWindow < o.MinWindow || o.InitialWindow < o.MinWindow || o.InitialWindow > o.MaxWindow {
		errs = append(errs, fmt.Errorf("blockxfer: FetchOptions: need 1 <= MinWindow (%d) <= InitialWindow (%d) <= MaxWindow (%d)",
			o.MinWindow, o.InitialWindow, o.MaxWindow))
	}
	if o.MaxPeers < 1 {
		errs = append(errs, fmt.Errorf("blockxfer: FetchOptions: MaxPeers %d < 1", o.MaxPeers))
	}
	if o.MaxWindow > 256 {
		errs = append(errs, fmt.Errorf("blockxfer: FetchOptions: MaxWindow %d > 256", o.MaxWindow))
	}
	if o.Now == nil {
		errs = append(errs, errors.New("blockxfer: FetchOptions: Now is nil"))
	}
	return errors.Join(errs...)
}

// EventKind says what a Progress event reports.
type EventKind int

// Progress events.
const (
	// EventStart: the manifest is known and resumed blocks are counted.
	EventStart EventKind = iota + 1
	// EventProgress: periodic update.
	EventProgress
	// EventPeerDropped: Peer was dropped, Err says why (Bad: it sent bad data).
	EventPeerDropped
	// EventDone: the file is complete, verified and in place.
	EventDone
)

func (k EventKind) String() string {
	switch k {
	case EventStart:
		return "start"
	case EventProgress:
		return "progress"
	case EventPeerDropped:
		return "peer-dropped"
	case EventDone:
		return "done"
	}
	return fmt.Sprintf("event(%d)", int(k))
}

// Progress is one progress event.
type Progress struct {
	Event       EventKind
	Root        cid.Cid
	BytesDone   int64 // verified bytes, resumed ones included
	BytesTotal  int64
	BlocksDone  int
	BlocksTotal int
	Resumed     int64   // bytes found verified from an earlier run
	Rate        float64 // bytes/s received recently
	Peers       int     // providers currently transferring
	Peer        peer.ID // EventPeerDropped
	Err         error   // EventPeerDropped
	Bad         bool    // EventPeerDropped: the peer sent bad data
}

// Result describes a finished (or failed) download.
type Result struct {
	Root          cid.Cid
	Path          string // final path when complete
	Size          int64
	Blocks        int
	Resumed       int   // blocks found verified from an earlier run
	Fetched       int   // blocks fetched, verified and written by this run
	Duplicates    int   // blocks received more than once (endgame) or not needed
	BytesReceived int64 // block bytes received, duplicates included
	Elapsed       time.Duration
	Peers         []PeerResult
}

// PeerResult is one provider's share of a download.
type PeerResult struct {
	ID     peer.ID
	Blocks int
	Bytes  int64
	Rate   float64 // last measured bytes/s
	Err    error   // why it was dropped, if it was
	Bad    bool    // it sent bad data
}
