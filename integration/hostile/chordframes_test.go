package hostile

import (
	crand "crypto/rand"
	"encoding/binary"
	"sync/atomic"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/network"

	cr "kwsearch/chordrouting"
	"kwsearch/chordrouting/p2p"
)

// TestChordBadFrames sends garbage, truncated, oversized, endless, slow,
// forged and out-of-place messages on /kwsearch/chord/1.1.0. Each stream
// must be ended by the victim within its deadline, nothing may be stored,
// and honest searches and downloads must keep working around the attack.
func TestChordBadFrames(t *testing.T) {
	t.Parallel()
	o := defaultOpts(t)
	v := startVictim(t, o)
	v.share(t, "honest chord frames song.ogg", 600<<10)
	cl := startClient(t, infoOf(v.h))
	var hc honest
	hc.round(t, cl, v)
	before := v.snapshot(t)

	a := newAttacker(t)
	limit := o.transport.RequestTimeout + 3*time.Second
	ping := frame(&cr.Message{Type: cr.MsgPing, ID: 1, From: a.self})
	garbage := make([]byte, 600)
	crand.Read(garbage)
	junkItems := make([]cr.Item, 300)
	for i := range junkItems {
		junkItems[i] = cr.Item{Key: cr.KeywordKey("song"), Value: garbage[:100]}
	}
	cases := []struct {
		name  string
		send  func(s network.Stream)
		reply bool // the victim answers (an error or an ack) before ending
	}{
		{"garbage", func(s network.Stream) { s.Write(garbage) }, false},
		{"truncated", func(s network.Stream) { s.Write(ping[:len(ping)/2]); s.CloseWrite() }, false},
		{"oversized length", func(s network.Stream) {
			s.Write(binary.AppendUvarint(nil, uint64(o.transport.MaxMessageSize)+1))
		}, false},
		{"varint overflow", func(s network.Stream) {
			s.Write([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
		}, false},
		{"empty frame", func(s network.Stream) { s.Write([]byte{0}) }, false},
		{"slow drip", func(s network.Stream) {
			for i := 0; i < len(ping)-1; i++ {
				if _, err := s.Write(ping[i : i+1]); err != nil {
					return
				}
				time.Sleep(300 * time.Millisecond) // the attack: one byte at a time
			}
		}, false},
		{"forged sender", func(s network.Stream) {
			s.Write(frame(&cr.Message{Type: cr.MsgStore, ID: 2, From: cl.ring.Self(),
				Items: []cr.Item{{Key: cr.KeywordKey("song"), Value: garbage[:200]}}}))
		}, false},
		{"unsolicited reply", func(s network.Stream) {
			s.Write(frame(&cr.Message{Type: cr.MsgPong, ID: 3, From: a.self}))
		}, false},
		{"unknown type", func(s network.Stream) {
			s.Write(frame(&cr.Message{Type: cr.MsgType(200), ID: 4, From: a.self}))
		}, false},
		{"store over item cap", func(s network.Stream) {
			s.Write(frame(&cr.Message{Type: cr.MsgStore, ID: 5, From: a.self, Items: junkItems}))
		}, true},
		{"store of garbage values", func(s network.Stream) {
			s.Write(frame(&cr.Message{Type: cr.MsgStore, ID: 6, From: a.self, Items: junkItems[:200]}))
		}, true},
		{"replica store of garbage values", func(s network.Stream) {
			s.Write(frame(&cr.Message{Type: cr.MsgStore, ID: 7, From: a.self, Replica: true, Items: junkItems[:200]}))
		}, true},
		{"get with oversized query", func(s network.Stream) {
			s.Write(frame(&cr.Message{Type: cr.MsgGet, ID: 8, From: a.self, Key: cr.KeywordKey("song"), Query: make([]byte, 64<<10)}))
		}, true},
	}
	for _, c := range cases {
		s := a.mustOpen(v.h, p2p.ProtocolID)
		start := time.Now()
		c.send(s)
		_, n, err := streamEnd(s, limit)
		took := time.Since(start)
		t.Logf("%-32s ended after %v, %d bytes back (%v)", c.name, took.Round(time.Millisecond), n, err)
		if took >= limit {
			t.Errorf("%s: the victim left the stream open for %v", c.name, took)
		}
		if c.reply && n == 0 {
			t.Errorf("%s: no answer", c.name)
		}
		s.Reset()
	}

	// Endless: a maximal frame that never stops. The victim must stop
	// reading and reset; what we manage to write stays bounded.
	s := a.mustOpen(v.h, p2p.ProtocolID)
	var written atomic.Int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.Write(binary.AppendUvarint(nil, uint64(o.transport.MaxMessageSize)))
		buf := make([]byte, 64<<10)
		crand.Read(buf)
		_ = s.SetWriteDeadline(time.Now().Add(limit))
		for {
			n, err := s.Write(buf)
			written.Add(int64(n))
			if err != nil {
				return
			}
		}
	}()
	select {
	case <-done:
	case <-time.After(limit + 2*time.Second):
		t.Error("endless stream: the victim kept reading")
	}
	s.Reset()
	t.Logf("endless stream: %d bytes written before the victim cut it", written.Load())
	if max := int64(o.transport.MaxMessageSize) + 32<<20; written.Load() > max {
		t.Errorf("endless stream: %d bytes accepted, more than a frame and the stream windows (%d)", written.Load(), max)
	}

	// A correct ping still gets its pong.
	if r, err := a.ringRequest(v.h, &cr.Message{Type: cr.MsgPing, ID: 9, From: a.self}); err != nil || r.Type != cr.MsgPong {
		t.Errorf("honest-shaped ping after the attack: %v %v", r, err)
	}
	hc.round(t, cl, v)
	after := v.snapshot(t)
	requireKept(t, before, after)
	if after.values() != before.values() {
		t.Errorf("victim holds %d values after the attack, %d before", after.values(), before.values())
	}
	hc.requireAllOK(t)
}
