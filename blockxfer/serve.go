package blockxfer

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"time"
)

// ServerStats counts what a Server has sent.
type ServerStats struct {
	Manifests int64
	Blocks    int64
	Bytes     int64
}

type serverCounters struct{ manifests, blocks, bytes atomic.Int64 }

func (c *serverCounters) snapshot() ServerStats {
	return ServerStats{Manifests: c.manifests.Load(), Blocks: c.blocks.Load(), Bytes: c.bytes.Load()}
}

// outFrame is one response ready to write: frame is a view into buf.
type outFrame struct {
	buf   []byte
	frame []byte
}

// serve answers requests read from conn until the peer closes its side
// (nil), ctx ends, or an error (the caller resets the stream). It reads
// cfg.Pipeline blocks ahead of the writer, in buffers it reuses, so its
// memory is Pipeline × (BlockSize + header) whatever the file size.
func serve(ctx context.Context, conn io.ReadWriter, src Source, cfg ServerConfig, ctr *serverCounters) error {
	stop := context.AfterFunc(ctx, func() {
		if dl, ok := conn.(deadliner); ok {
			_ = dl.SetReadDeadline(time.Now())
			_ = dl.SetWriteDeadline(time.Now())
		}
	})
	defer stop()
	free := make(chan []byte, cfg.Pipeline)
	for range cfg.Pipeline {
		free <- make([]byte, MaxBlockResponseSize)
	}
	out := make(chan outFrame, cfg.Pipeline)
	werr := make(chan error, 1)
	failed := make(chan struct{})
	go func() { werr <- writeFrames(conn, out, free, failed, cfg.WriteTimeout) }()
	rerr := readRequests(ctx, conn, src, cfg, ctr, out, free, failed)
	close(out)
	if err := <-werr; err != nil {
		return err
	}
	return rerr
}

// writeFrames writes responses in order, returning buffers to free. After
// an error it closes failed, so the reader stops, and keeps draining out so
// the reader never blocks.
func writeFrames(conn io.Writer, out <-chan outFrame, free chan<- []byte, failed chan<- struct{}, timeout time.Duration) error {
	var err error
	for f := range out {
		if err == nil {
			setWriteDeadline(conn, timeout)
			_, err = conn.Write(f.frame)
			if err != nil {
				err = fmt.Errorf("blockxfer: writing response: %w", err)
				close(failed)
				if dl, ok := conn.(deadliner); ok {
					_ = dl.SetReadDeadline(time.Now()) // wake a reader waiting for requests
				}
			}
		}
		if f.buf != nil {
			free <- f.buf
		}
	}
	return err
}

func readRequests(ctx context.Context, conn io.Reader, src Source, cfg ServerConfig, ctr *serverCounters,
	out chan<- outFrame, free chan []byte, failed <-chan struct{}) error {
	br := bufio.NewReaderSize(conn, 512)
	reqBuf := make([]byte, MaxRequestSize)
	for {
		setReadDeadline(conn, cfg.IdleTimeout)
		frame, err := readFrame(br, reqBuf, MaxRequestSize)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("blockxfer: reading request: %w", err)
		}
		req, err := DecodeRequest(frame)
		if err != nil {
			return err
		}
		var buf []byte
		select {
		case buf = <-free:
		case <-failed:
			return nil // the writer's error is the stream's
		case <-ctx.Done():
			return ctx.Err()
		}
		out <- respond(req, src, buf, ctr)
	}
}

// respond builds the frame answering req. Block data is read straight into
// buf after room for the header, so a block is never copied.
func respond(req Request, src Source, buf []byte, ctr *serverCounters) outFrame {
	if req.Kind == KindManifest {
		data, err := src.Manifest(req.Root)
		if err != nil {
			return errorFrame(req.ID, err, buf)
		}
		ctr.manifests.Add(1)
		var hdr [maxResponseHeader]byte
		h := appendResponseHeader(hdr[:0], req.ID, StatusOK, len(data))
		frame := binary.AppendUvarint(make([]byte, 0, maxResponseHeader+len(data)), uint64(len(h)+len(data)))
		frame = append(append(frame, h...), data...)
		return outFrame{buf: buf, frame: frame}
	}
	n, err := src.ReadBlock(req.Root, int(req.Index), buf[maxResponseHeader:])
	if err != nil {
		return errorFrame(req.ID, err, buf)
	}
	var hdr [maxResponseHeader]byte
	h := appendResponseHeader(hdr[:0], req.ID, StatusOK, n)
	var pre [binary.MaxVarintLen64]byte
	p := binary.AppendUvarint(pre[:0], uint64(len(h)+n))
	start := maxResponseHeader - len(h) - len(p)
	copy(buf[start:], p)
	copy(buf[start+len(p):], h)
	ctr.blocks.Add(1)
	ctr.bytes.Add(int64(n))
	return outFrame{buf: buf, frame: buf[start : maxResponseHeader+n]}
}

func errorFrame(id uint64, err error, buf []byte) outFrame {
	st := StatusError
	switch {
	case errors.Is(err, ErrNotFound):
		st = StatusNotFound
	case errors.Is(err, ErrChanged):
		st = StatusChanged
	}
	msg := AppendResponse(nil, Response{ID: id, Status: st})
	return outFrame{buf: buf, frame: appendFrame(nil, msg)}
}
