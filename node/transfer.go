package node

import (
	"context"
	"fmt"

	"github.com/ipfs/go-cid"

	"kwsearch/blockxfer"
	"kwsearch/storage"
)

// transfer adapts package blockxfer: it hashes files, serves the shared
// ones in place through a block server, and downloads (fetch.go).
type transfer struct {
	nw     *network
	source *blockxfer.FileSource
	server *blockxfer.Server
	// changed is signalled when the source finds a shared file changed.
	changed chan struct{}
}

func newTransfer(nw *network) (*transfer, error) {
	t := &transfer{nw: nw, changed: make(chan struct{}, 1)}
	t.source = blockxfer.NewFileSource(func(c blockxfer.Changed) {
		nw.n.log.Info("shared file changed on disk", "path", c.Path, "cid", c.Root, "what", c.Err)
		select {
		case t.changed <- struct{}{}:
		default:
		}
	})
	srv, err := blockxfer.NewServer(nw.host, t.source, blockxfer.DefaultServerConfig())
	if err != nil {
		return nil, fmt.Errorf("node: %w", err)
	}
	t.server = srv
	nw.n.metrics.gauge("kwsearch_bytes_served", "Block bytes served to other peers.",
		func() float64 { return float64(srv.Stats().Bytes) })
	return t, nil
}

// IndexFile hashes the file. blockxfer reads the whole file at once; the
// progress callback sees the total when it is done.
func (t *transfer) IndexFile(ctx context.Context, path string, progress func(int64)) (indexedFile, error) {
	if err := ctx.Err(); err != nil {
		return indexedFile{}, err
	}
	fi, err := blockxfer.IndexFile(path)
	if err != nil {
		return indexedFile{}, err
	}
	b, err := fi.Marshal()
	if err != nil {
		return indexedFile{}, err
	}
	progress(fi.Size)
	return indexedFile{CID: fi.Root().String(), Size: fi.Size, Index: b}, nil
}

// Serve shares a stored file's blocks; a share without a usable index is
// hashed again.
func (t *transfer) Serve(s storage.Share) error {
	fi, err := blockxfer.UnmarshalFileIndex(s.Index)
	if err != nil || fi.Root().String() != s.CID || fi.Path != s.Path {
		if fi, err = blockxfer.IndexFile(s.Path); err != nil {
			return err
		}
		if fi.Root().String() != s.CID {
			return fmt.Errorf("%s changed since it was shared", s.Path)
		}
	}
	t.source.Add(fi)
	return nil
}

func (t *transfer) Unserve(c string) {
	if id, err := cid.Decode(c); err == nil {
		t.source.Remove(id)
	}
}

func (t *transfer) close() error {
	if t.server == nil {
		return nil
	}
	return t.server.Close()
}
