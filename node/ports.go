package node

import (
	"context"

	"github.com/libp2p/go-libp2p/core/peer"

	"kwsearch/api"
	"kwsearch/storage"
)

// The node talks to the keyword index and the transfer layer through these
// small interfaces (implemented by adapters in index.go and transfer.go), so
// that the share and download managers are tested with fakes.

// indexedFile is what the transfer layer learns by hashing a file.
type indexedFile struct {
	CID  string
	Size int64
	// Index is the transfer layer's opaque index (manifest, offsets), kept
	// in the database so that a restart need not hash the file again.
	Index []byte
}

// fileIndexer hashes files and serves the shared ones' blocks.
type fileIndexer interface {
	// IndexFile chunks and hashes the file at path; progress reports bytes
	// hashed so far.
	IndexFile(ctx context.Context, path string, progress func(bytes int64)) (indexedFile, error)
	// Serve starts serving a shared file's blocks; Unserve stops.
	Serve(s storage.Share) error
	Unserve(cid string)
}

// pubFile is one file to publish or withdraw.
type pubFile struct {
	CID      string
	Name     string
	Size     int64
	Keywords []string
}

// recordIndex publishes and finds records on the ring.
type recordIndex interface {
	// Publish stores keyword and provider records for files, in few RPCs.
	Publish(ctx context.Context, files []pubFile) error
	// Withdraw publishes signed removals for f's records.
	Withdraw(ctx context.Context, f pubFile) error
	// Search returns files whose keywords contain every word, best first.
	Search(ctx context.Context, words []string, limit int) ([]api.SearchHit, error)
	// Providers returns the peers holding cid and the file's name and size
	// if a record tells them.
	Providers(ctx context.Context, cid string) (providers []peer.AddrInfo, name string, size int64, err error)
}

// fetchProgress is one report of a running download.
type fetchProgress struct {
	Bytes, Total int64
	Peers        int
}

// fetcher downloads a file from providers, verifying every block, resuming
// from what an earlier attempt left, writing out atomically.
type fetcher interface {
	// overwrite lets it replace an existing output file (the user named it).
	Fetch(ctx context.Context, cid string, providers []peer.AddrInfo, out string, overwrite bool, progress func(fetchProgress)) (resumed int64, err error)
}
