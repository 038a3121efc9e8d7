package p2p

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	ma "github.com/multiformats/go-multiaddr"

	cr "kwsearch/chordrouting"
)

// ErrTooLarge is returned for a frame over the size cap.
var ErrTooLarge = errors.New("chordrouting/p2p: message too large")

// WriteMessage writes m as one frame: its length as a uvarint, then its
// encoding (see Encode for addrs). It refuses a message over max bytes.
func WriteMessage(w io.Writer, m *cr.Message, addrs func(cr.Peer) []ma.Multiaddr, max int) error {
	body := Encode(m, addrs)
	if len(body) > max {
		return fmt.Errorf("%w: %d bytes", ErrTooLarge, len(body))
	}
	frame := binary.AppendUvarint(make([]byte, 0, len(body)+binary.MaxVarintLen64), uint64(len(body)))
	frame = append(frame, body...)
	if _, err := w.Write(frame); err != nil {
		return fmt.Errorf("chordrouting/p2p: writing message: %w", err)
	}
	return nil
}

// ReadMessage reads and decodes one frame of at most max bytes. When
// reserve is not nil it is called with the frame's length before the body
// is read, so that a resource manager can refuse it first.
func ReadMessage(r io.Reader, max int, reserve func(n int) error) (*cr.Message, AddrBook, error) {
	n, err := readUvarint(r)
	if err != nil {
		return nil, nil, fmt.Errorf("chordrouting/p2p: reading frame length: %w", err)
	}
	if n > uint64(max) {
		return nil, nil, fmt.Errorf("%w: frame of %d bytes, cap %d", ErrTooLarge, n, max)
	}
	if reserve != nil {
		if err := reserve(int(n)); err != nil {
			return nil, nil, fmt.Errorf("chordrouting/p2p: reserving %d bytes: %w", n, err)
		}
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(r, body); err != nil {
		return nil, nil, fmt.Errorf("chordrouting/p2p: reading frame: %w", err)
	}
	return Decode(body)
}

// readUvarint reads a uvarint one byte at a time, so that nothing past it
// is consumed.
func readUvarint(r io.Reader) (uint64, error) {
	var x uint64
	var b [1]byte
	for i := 0; i < binary.MaxVarintLen64; i++ {
		if _, err := io.ReadFull(r, b[:]); err != nil {
			if i > 0 && errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return 0, err
		}
		if b[0] < 0x80 {
			if i == binary.MaxVarintLen64-1 && b[0] > 1 {
				break
			}
			return x | uint64(b[0])<<(7*i), nil
		}
		x |= uint64(b[0]&0x7f) << (7 * i)
	}
	return 0, fmt.Errorf("%w: varint overflows 64 bits", ErrMalformed)
}

// RoundTrip is the requester's side of one exchange: it writes req, reads
// one reply and checks that the reply answers it (a reply type, the same
// request ID).
func RoundTrip(rw io.ReadWriter, req *cr.Message, addrs func(cr.Peer) []ma.Multiaddr, max int, reserve func(int) error) (*cr.Message, AddrBook, error) {
	if err := WriteMessage(rw, req, addrs, max); err != nil {
		return nil, nil, err
	}
	reply, book, err := ReadMessage(rw, max, reserve)
	if err != nil {
		return nil, nil, err
	}
	if !reply.Type.IsReply() || reply.ID != req.ID {
		return nil, nil, fmt.Errorf("%w: reply type %d ID %d to request type %d ID %d",
			ErrMalformed, reply.Type, reply.ID, req.Type, req.ID)
	}
	return reply, book, nil
}

// Handler answers one incoming message. For a request it returns the
// reply to send; for a one-way message it returns nil. An error ends the
// exchange with nothing sent.
type Handler func(m *cr.Message, book AddrBook) (*cr.Message, error)

// Serve is the responder's side of one exchange: it reads one message,
// refuses replies (they only travel on the requester's stream), hands it
// to handle and, for a request, writes the reply handle gives, which must
// echo the request's ID.
func Serve(rw io.ReadWriter, max int, reserve func(int) error, addrs func(cr.Peer) []ma.Multiaddr, handle Handler) error {
	m, book, err := ReadMessage(rw, max, reserve)
	if err != nil {
		return err
	}
	if m.Type.IsReply() {
		return fmt.Errorf("%w: unsolicited reply type %d", ErrMalformed, m.Type)
	}
	reply, err := handle(m, book)
	if err != nil {
		return err
	}
	if !m.Type.IsRequest() {
		return nil
	}
	if reply == nil || !reply.Type.IsReply() || reply.ID != m.ID {
		return fmt.Errorf("chordrouting/p2p: no valid reply to request type %d ID %d", m.Type, m.ID)
	}
	return WriteMessage(rw, reply, addrs, max)
}
