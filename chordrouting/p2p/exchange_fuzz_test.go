package p2p

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"testing"

	cr "kwsearch/chordrouting"
)

// fuzzMax is the frame cap in the frame fuzz targets: small, so that the
// fuzzer reaches the cap.
const fuzzMax = 1 << 12

// frameOf is one frame: uvarint length, then body.
func frameOf(body []byte) []byte {
	return append(binary.AppendUvarint(nil, uint64(len(body))), body...)
}

// frameSeeds are well-formed and broken frames shared by the frame fuzz
// targets.
func frameSeeds(f *testing.F) [][]byte {
	_, a := testPeer(f, 1)
	ping := Encode(&cr.Message{Type: cr.MsgPing, ID: 9, From: a}, nil)
	notify := Encode(&cr.Message{Type: cr.MsgNotify, From: a}, nil)
	pong := Encode(&cr.Message{Type: cr.MsgPong, ID: 9, From: a}, nil)
	fwd := Encode(&cr.Message{Type: cr.MsgStore, ID: 9, Forward: true, Items: []cr.Item{{Key: cr.HashID([]byte("k")), Value: []byte("v")}}}, nil)
	return [][]byte{
		frameOf(Encode(summaryMessage(), nil)),
		frameOf(Encode(&cr.Message{Type: cr.MsgDigestSummaryReply, ID: 9, Done: true}, nil)),
		frameOf(fwd),
		frameOf(ping),
		frameOf(notify),
		frameOf(pong),
		frameOf(Encode(fullMessage(f), nil)),
		frameOf(ping)[:len(ping)/2], // truncated body
		{0x80},                      // truncated length
		{0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x02}, // 10-byte varint, overflows
		{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, // max uint64
		binary.AppendUvarint(nil, fuzzMax+1),                         // over the cap
		{0x00},                                                       // empty frame
		{},
	}
}

// FuzzReadMessage: any byte stream gives a decoded message or an error,
// never a reservation or an allocation over the cap, and readUvarint
// agrees with encoding/binary on every length prefix binary accepts.
func FuzzReadMessage(f *testing.F) {
	for _, s := range frameSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		br := bytes.NewReader(b)
		want, werr := binary.ReadUvarint(br)
		r := bytes.NewReader(b)
		got, gerr := readUvarint(r)
		if werr == nil && (gerr != nil || got != want || r.Len() != br.Len()) {
			t.Fatalf("readUvarint = %d, %v (consumed %d); binary.ReadUvarint = %d (consumed %d)",
				got, gerr, len(b)-r.Len(), want, len(b)-br.Len())
		}
		if werr != nil && gerr == nil {
			t.Fatalf("readUvarint accepted %x (= %d), binary.ReadUvarint refused: %v", b, got, werr)
		}

		reserved, called := 0, false
		m, book, err := ReadMessage(bytes.NewReader(b), fuzzMax, func(n int) error {
			if n < 0 || n > fuzzMax {
				t.Fatalf("reserve(%d), cap %d", n, fuzzMax)
			}
			reserved, called = n, true
			return nil
		})
		if err != nil {
			if m != nil || book != nil {
				t.Fatalf("error %v with a message", err)
			}
			return
		}
		if !called || reserved != int(want) {
			t.Fatalf("a frame of %d bytes was read with reservation %d (called %v)", want, reserved, called)
		}
		// The sender never comes from the bytes, and Decode ties every
		// named peer's ring ID to its peer ID.
		if m.From != (cr.Peer{}) {
			t.Fatalf("a sender %+v was read from the wire", m.From)
		}
		for _, p := range append(m.Peers, m.Pred) {
			if p == (cr.Peer{}) {
				continue
			}
			if id, err := PeerID(p); err != nil || PeerOf(id).ID != p.ID {
				t.Fatalf("peer %q with ring ID %s: not its hash (%v)", p.Addr, p.ID, err)
			}
		}
		// A refused reservation stops the read before the body.
		if _, _, err := ReadMessage(bytes.NewReader(b), fuzzMax, func(int) error { return errRefused }); !errors.Is(err, errRefused) {
			t.Fatalf("refused reservation: %v", err)
		}
	})
}

var errRefused = errors.New("refused")

// rwPair is the two directions of a stream.
type rwPair struct {
	io.Reader
	io.Writer
}

// FuzzServe: the responder side of an exchange on arbitrary bytes. It
// never hands a reply to the handler, writes a reply only to a request
// (echoing its ID, within the cap), and never panics.
func FuzzServe(f *testing.F) {
	for _, s := range frameSeeds(f) {
		f.Add(s, false)
		f.Add(s, true)
	}
	_, self := testPeer(f, 2)
	f.Fuzz(func(t *testing.T, b []byte, fail bool) {
		var out bytes.Buffer
		var got *cr.Message
		err := Serve(rwPair{bytes.NewReader(b), &out}, fuzzMax, nil, nil,
			func(m *cr.Message, _ AddrBook) (*cr.Message, error) {
				if m.Type.IsReply() {
					t.Fatalf("handler given a reply type %d", m.Type)
				}
				got = m
				if fail {
					return nil, errRefused
				}
				if !m.Type.IsRequest() {
					return nil, nil
				}
				return &cr.Message{Type: cr.MsgPong, ID: m.ID, From: self}, nil
			})
		switch {
		case err != nil && out.Len() > 0:
			t.Fatalf("error %v after writing %d bytes", err, out.Len())
		case err == nil && got == nil:
			t.Fatal("no error and no message handled")
		case err == nil && got.Type.IsRequest():
			r, _, err := ReadMessage(&out, fuzzMax, nil)
			if err != nil || r.ID != got.ID || r.Type != cr.MsgPong {
				t.Fatalf("reply to request %d: %+v, %v", got.ID, r, err)
			}
		case err == nil && out.Len() > 0:
			t.Fatalf("%d bytes written for one-way type %d", out.Len(), got.Type)
		}
	})
}
