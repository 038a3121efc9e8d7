package blockxfer

import (
	"bufio"
	"fmt"
	"io"
	"time"

	"github.com/ipfs/go-cid"
)

// clientConn is the fetching side of one exchange: it queues requests,
// writes them in one batch, and reads responses in order. It works on any
// io.ReadWriter (a libp2p stream, or net.Pipe in tests); deadlines are set
// when the connection supports them.
type clientConn struct {
	rw      io.ReadWriter
	br      *bufio.Reader
	wbuf    []byte
	nextID  uint64
	timeout time.Duration
}

func newClientConn(rw io.ReadWriter, timeout time.Duration) *clientConn {
	return &clientConn{rw: rw, br: bufio.NewReaderSize(rw, 4096), nextID: 1, timeout: timeout}
}

// queue adds a request to the next flush and returns its id.
func (c *clientConn) queue(kind Kind, root cid.Cid, index int) uint64 {
	id := c.nextID
	c.nextID++
	var tmp [MaxRequestSize]byte
	msg := AppendRequest(tmp[:0], Request{ID: id, Kind: kind, Root: root, Index: uint64(index)})
	c.wbuf = appendFrame(c.wbuf, msg)
	return id
}

// flush writes the queued requests.
func (c *clientConn) flush() error {
	if len(c.wbuf) == 0 {
		return nil
	}
	setWriteDeadline(c.rw, c.timeout)
	_, err := c.rw.Write(c.wbuf)
	c.wbuf = c.wbuf[:0]
	if err != nil {
		return fmt.Errorf("blockxfer: sending requests: %w", err)
	}
	return nil
}

// recv reads the next response, which must answer request id, into buf
// when it fits (Data then aliases buf).
func (c *clientConn) recv(id uint64, max int, buf []byte) (Response, error) {
	setReadDeadline(c.rw, c.timeout)
	frame, err := readFrame(c.br, buf, max)
	if err != nil {
		return Response{}, fmt.Errorf("blockxfer: reading response: %w", noEOF(err))
	}
	r, err := DecodeResponse(frame)
	if err != nil {
		return Response{}, err
	}
	if r.ID != id {
		return Response{}, fmt.Errorf("%w: response to request %d, expected %d", ErrProtocol, r.ID, id)
	}
	return r, nil
}

// fetchManifest asks for root's manifest and verifies it.
func (c *clientConn) fetchManifest(root cid.Cid) (*Manifest, error) {
	id := c.queue(KindManifest, root, 0)
	if err := c.flush(); err != nil {
		return nil, err
	}
	r, err := c.recv(id, MaxManifestResponseSize, nil)
	if err != nil {
		return nil, err
	}
	if err := statusErr(r.Status); err != nil {
		return nil, fmt.Errorf("blockxfer: manifest: %w", err)
	}
	return VerifyManifest(root, r.Data)
}

// statusErr maps a non-OK status to an error.
func statusErr(s Status) error {
	switch s {
	case StatusOK:
		return nil
	case StatusNotFound, StatusChanged:
		return fmt.Errorf("%w: provider says %v", ErrNotFound, s)
	}
	return fmt.Errorf("blockxfer: provider says %v", s)
}
