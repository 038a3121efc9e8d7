package blockxfer

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"time"

	"github.com/ipfs/go-cid"
	"google.golang.org/protobuf/encoding/protowire"
)

// Wire messages, protobuf-compatible (encoded by hand with protowire), each
// framed by an unsigned varint length prefix:
//
//	syntax = "proto3";
//	package kwsearch.blockxfer.v1;
//	message Request {
//	  uint64 id    = 1; // chosen by the client, echoed in the response
//	  Kind   kind  = 2; // MANIFEST = 1, BLOCK = 2
//	  bytes  root  = 3; // the file's CID (binary)
//	  uint64 index = 4; // BLOCK: index of the block in the manifest
//	}
//	message Response {
//	  uint64 id     = 1;
//	  Status status = 2; // OK = 0, NOT_FOUND = 1, CHANGED = 2, BAD_REQUEST = 3, ERROR = 4
//	  bytes  data   = 3; // OK: the manifest or the block
//	}
//
// A client sends requests without waiting for answers (pipelining); the
// server answers each in order. Unknown fields are skipped.
const (
	// MaxRequestSize bounds a request frame.
	MaxRequestSize = 128
	// maxCIDSize bounds the root field.
	maxCIDSize = 64
	// maxResponseHeader bounds the bytes before a response's data, frame
	// length prefix included.
	maxResponseHeader = 48
	// MaxBlockResponseSize bounds a response to a block request.
	MaxBlockResponseSize = BlockSize + maxResponseHeader
	// MaxManifestResponseSize bounds a response to a manifest request.
	MaxManifestResponseSize = MaxManifestSize + maxResponseHeader
)

// Kind is what a request asks for.
type Kind uint8

// Request kinds.
const (
	KindManifest Kind = 1
	KindBlock    Kind = 2
)

// Status is a response's outcome.
type Status uint8

// Response statuses.
const (
	StatusOK         Status = 0
	StatusNotFound   Status = 1
	StatusChanged    Status = 2
	StatusBadRequest Status = 3
	StatusError      Status = 4
)

func (s Status) String() string {
	switch s {
	case StatusOK:
		return "ok"
	case StatusNotFound:
		return "not found"
	case StatusChanged:
		return "changed (withdrawn by provider)"
	case StatusBadRequest:
		return "bad request"
	case StatusError:
		return "provider error"
	}
	return fmt.Sprintf("status %d", uint8(s))
}

// Request asks for a manifest or one block.
type Request struct {
	ID    uint64
	Kind  Kind
	Root  cid.Cid
	Index uint64
}

// Response answers one request. Data may alias a read buffer.
type Response struct {
	ID     uint64
	Status Status
	Data   []byte
}

// AppendRequest appends the encoded request (without framing).
func AppendRequest(b []byte, r Request) []byte {
	b = protowire.AppendTag(b, 1, protowire.VarintType)
	b = protowire.AppendVarint(b, r.ID)
	b = protowire.AppendTag(b, 2, protowire.VarintType)
	b = protowire.AppendVarint(b, uint64(r.Kind))
	b = protowire.AppendTag(b, 3, protowire.BytesType)
	b = protowire.AppendBytes(b, r.Root.Bytes())
	if r.Kind == KindBlock {
		b = protowire.AppendTag(b, 4, protowire.VarintType)
		b = protowire.AppendVarint(b, r.Index)
	}
	return b
}

// DecodeRequest decodes and validates a request.
func DecodeRequest(b []byte) (Request, error) {
	var r Request
	var root []byte
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return Request{}, fmt.Errorf("%w: request tag: %v", ErrProtocol, protowire.ParseError(n))
		}
		b = b[n:]
		switch {
		case num == 1 && typ == protowire.VarintType:
			r.ID, n = protowire.ConsumeVarint(b)
		case num == 2 && typ == protowire.VarintType:
			var k uint64
			k, n = protowire.ConsumeVarint(b)
			r.Kind = Kind(min(k, 255))
		case num == 3 && typ == protowire.BytesType:
			root, n = protowire.ConsumeBytes(b)
		case num == 4 && typ == protowire.VarintType:
			r.Index, n = protowire.ConsumeVarint(b)
		case num >= 1 && num <= 4:
			return Request{}, fmt.Errorf("%w: request field %d has wire type %d", ErrProtocol, num, typ)
		default:
			n = protowire.ConsumeFieldValue(num, typ, b)
		}
		if n < 0 {
			return Request{}, fmt.Errorf("%w: request field %d: %v", ErrProtocol, num, protowire.ParseError(n))
		}
		b = b[n:]
	}
	if r.Kind != KindManifest && r.Kind != KindBlock {
		return Request{}, fmt.Errorf("%w: request kind %d", ErrProtocol, r.Kind)
	}
	if len(root) == 0 || len(root) > maxCIDSize {
		return Request{}, fmt.Errorf("%w: request root of %d bytes", ErrProtocol, len(root))
	}
	c, err := cid.Cast(root)
	if err != nil {
		return Request{}, fmt.Errorf("%w: request root: %v", ErrProtocol, err)
	}
	r.Root = c
	if r.Kind == KindBlock && r.Index >= MaxBlocks {
		return Request{}, fmt.Errorf("%w: block index %d", ErrProtocol, r.Index)
	}
	return r, nil
}

// appendResponseHeader appends fields 1, 2 and (when dataLen > 0 or status
// is OK) the tag and length of field 3; the data follows.
func appendResponseHeader(b []byte, id uint64, st Status, dataLen int) []byte {
	b = protowire.AppendTag(b, 1, protowire.VarintType)
	b = protowire.AppendVarint(b, id)
	if st != StatusOK {
		b = protowire.AppendTag(b, 2, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(st))
	}
	if dataLen > 0 {
		b = protowire.AppendTag(b, 3, protowire.BytesType)
		b = protowire.AppendVarint(b, uint64(dataLen))
	}
	return b
}

// AppendResponse appends the encoded response (without framing).
func AppendResponse(b []byte, r Response) []byte {
	b = appendResponseHeader(b, r.ID, r.Status, len(r.Data))
	return append(b, r.Data...)
}

// DecodeResponse decodes a response; Data aliases b.
func DecodeResponse(b []byte) (Response, error) {
	var r Response
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return Response{}, fmt.Errorf("%w: response tag: %v", ErrProtocol, protowire.ParseError(n))
		}
		b = b[n:]
		switch {
		case num == 1 && typ == protowire.VarintType:
			r.ID, n = protowire.ConsumeVarint(b)
		case num == 2 && typ == protowire.VarintType:
			var s uint64
			s, n = protowire.ConsumeVarint(b)
			if s > uint64(StatusError) {
				s = uint64(StatusError) // unknown statuses are errors
			}
			r.Status = Status(s)
		case num == 3 && typ == protowire.BytesType:
			r.Data, n = protowire.ConsumeBytes(b)
		case num >= 1 && num <= 3:
			return Response{}, fmt.Errorf("%w: response field %d has wire type %d", ErrProtocol, num, typ)
		default:
			n = protowire.ConsumeFieldValue(num, typ, b)
		}
		if n < 0 {
			return Response{}, fmt.Errorf("%w: response field %d: %v", ErrProtocol, num, protowire.ParseError(n))
		}
		b = b[n:]
	}
	if r.Status != StatusOK && len(r.Data) > 0 {
		return Response{}, fmt.Errorf("%w: data with status %v", ErrProtocol, r.Status)
	}
	return r, nil
}

// readFrame reads one length-prefixed frame of at most max bytes, into buf
// when it is large enough.
func readFrame(r *bufio.Reader, buf []byte, max int) ([]byte, error) {
	n, err := readUvarint(r)
	if err == io.EOF {
		return nil, io.EOF // clean end between frames
	}
	if err != nil {
		return nil, fmt.Errorf("blockxfer: frame length: %w", err)
	}
	if n > uint64(max) {
		return nil, fmt.Errorf("%w: frame of %d bytes, limit %d", ErrProtocol, n, max)
	}
	if uint64(cap(buf)) < n {
		buf = make([]byte, n)
	}
	buf = buf[:n]
	if _, err := io.ReadFull(r, buf); err != nil {
		return nil, fmt.Errorf("blockxfer: reading frame: %w", noEOF(err))
	}
	return buf, nil
}

// readUvarint reads a frame length. Unlike binary.ReadUvarint it keeps
// the reader's error (a timeout stays a timeout) apart from bad encoding
// (ErrProtocol), and returns io.EOF only when no byte was read.
func readUvarint(r io.ByteReader) (uint64, error) {
	var x uint64
	for i := range binary.MaxVarintLen64 {
		b, err := r.ReadByte()
		if err != nil {
			if i > 0 {
				return 0, noEOF(err)
			}
			return 0, err
		}
		if b < 0x80 {
			if i == binary.MaxVarintLen64-1 && b > 1 {
				break
			}
			return x | uint64(b)<<(7*i), nil
		}
		x |= uint64(b&0x7f) << (7 * i)
	}
	return 0, fmt.Errorf("%w: varint overflows 64 bits", ErrProtocol)
}

// noEOF turns an EOF inside a frame into ErrUnexpectedEOF.
func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// appendFrame appends the length prefix and msg.
func appendFrame(b, msg []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(msg)))
	return append(b, msg...)
}

// deadliner is implemented by network.Stream and net.Conn.
type deadliner interface {
	SetReadDeadline(time.Time) error
	SetWriteDeadline(time.Time) error
}

func setReadDeadline(c any, d time.Duration) {
	if dl, ok := c.(deadliner); ok && d > 0 {
		_ = dl.SetReadDeadline(time.Now().Add(d))
	}
}

func setWriteDeadline(c any, d time.Duration) {
	if dl, ok := c.(deadliner); ok && d > 0 {
		_ = dl.SetWriteDeadline(time.Now().Add(d))
	}
}
