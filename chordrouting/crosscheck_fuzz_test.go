package chordrouting

import (
	"math/rand/v2"
	"testing"
)

// FuzzClientLookup: a client with three entry points looks a key up while
// every request it sends is answered by bytes from the fuzzer: any reply
// type, "done" or not, any peers from a small pool (entry points, the
// client itself, strangers), any predecessor. The lookup must end exactly
// once, within its hop and time bounds, and a successful answer must name
// owners.
func FuzzClientLookup(f *testing.F) {
	f.Add([]byte{1, 1, 0, 3, 4, 2, 0, 1, 2})
	f.Add([]byte{1, 0, 2, 5, 6, 1, 1, 0, 0, 0, 3})
	f.Add([]byte{})
	f.Add([]byte{2, 2, 2, 2, 2, 2, 2, 2})
	f.Fuzz(func(t *testing.T, script []byte) {
		pool := []Peer{
			{ID: idAt(0x20), Addr: "e0"}, {ID: idAt(0x40), Addr: "e1"}, {ID: idAt(0x60), Addr: "e2"},
			{ID: idAt(0x05), Addr: "client"}, {ID: idAt(0x50), Addr: "s50"}, {ID: idAt(0x58), Addr: "s58"},
			{ID: idAt(0x70), Addr: "s70"}, {ID: idAt(0xf0), Addr: "sf0"},
		}
		next := func() byte {
			if len(script) == 0 {
				return 0
			}
			b := script[0]
			script = script[1:]
			return b
		}
		cfg := DefaultConfig()
		tr := &toTransport{}
		c, err := NewNode(pool[3], cfg, tr, NewMemStorage(), &fakeClock{now: epoch}, rand.New(rand.NewPCG(1, 1)))
		if err != nil {
			t.Fatal(err)
		}
		c.SetEntryPoints(pool[:3])
		calls := 0
		var res LookupResult
		c.Lookup(idAt(0x55), func(r LookupResult) { calls++; res = r })
		for k := 0; k < len(tr.sent) && calls == 0 && k < 4*cfg.MaxLookupHops; k++ {
			s := tr.sent[k]
			op := next()
			if op%4 == 0 {
				continue // silent: times out
			}
			m := &Message{ID: s.m.ID, From: s.to, Key: s.m.Key}
			switch op % 4 {
			case 1:
				m.Type = MsgFindSuccessorReply
			case 2:
				m.Type = MsgState
			case 3:
				m.Type = MsgError
			}
			m.Done = next()%2 == 1
			if p := next(); p%2 == 1 {
				m.HasPred, m.Pred = true, pool[int(p/2)%len(pool)]
			}
			for range next() % 4 {
				m.Peers = append(m.Peers, pool[int(next())%len(pool)])
			}
			c.Step(m)
		}
		for ticks := 0; calls == 0 && ticks <= cfg.LookupTimeoutTicks+cfg.RequestTimeoutTicks+2; ticks++ {
			c.Tick()
		}
		if calls != 1 {
			t.Fatalf("lookup ended %d times", calls)
		}
		if res.Err == nil && len(res.Successors) == 0 {
			t.Fatal("a successful lookup names no owner")
		}
		if res.Err == nil && res.Successors[0].ID == c.self.ID {
			t.Fatal("a client found itself as the owner")
		}
	})
}
