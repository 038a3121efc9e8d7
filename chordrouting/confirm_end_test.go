package chordrouting

import (
	"errors"
	"sort"
	"testing"
	"time"
)

// TestConfirmSendsNothingAfterEnd: a lookup with an end whose confirmation
// is still waiting at the end for a predecessor the owner named (a node
// that does not answer), with a fallback answer and no candidate left,
// ends there with ErrTimeout and sends no request afterwards: not the
// GetState to the node before the owner that would otherwise try once
// more (and, ended at the next tick, answer with the fallback).
func TestConfirmSendsNothingAfterEnd(t *testing.T) {
	net, nodes := oneHopStatic(t, 20, 61, nil)
	s := append([]*Node(nil), nodes...)
	sort.Slice(s, func(i, j int) bool { return s[i].self.ID.Less(s[j].self.ID) })
	entry, lo, c := s[0], s[9], s[10]
	key := addIDs(lo.self.ID, halfDist(lo.self.ID, c.self.ID))
	ghost := Peer{ID: addIDs(key, halfDist(key, c.self.ID)), Addr: "ghost"}
	c.pred, c.hasPred = ghost, true // c names a predecessor nobody reaches
	net.down[lo.self.Addr] = true   // and lo does not answer either
	etr := &hookTransport{inner: entry.tr}
	entry.tr = etr
	var ticks []uint64
	etr.hook = func(Peer, *Message) bool { ticks = append(ticks, entry.now); return true }

	end := entry.now + 2
	var got *lookupAnswer
	entry.opLookupBy(key, endBy{tick: end}, func(a lookupAnswer) { got = &a })
	clock := entry.clock.(*fakeClock)
	net.run()
	for k := 0; k < 6 && got == nil; k++ {
		clock.now = clock.now.Add(time.Second)
		entry.Tick()
		net.run()
	}
	if got == nil || !errors.Is(got.err, ErrTimeout) {
		t.Fatalf("the lookup answered %+v, want ErrTimeout", got)
	}
	for k, st := range etr.sent {
		if ticks[k] >= end && st.m.Type.IsRequest() && (st.to.ID == lo.self.ID || st.to.ID == ghost.ID || st.m.Key == key) {
			t.Errorf("at tick %d (the lookup ended at %d) the entry sent a %d to %s", ticks[k], end, st.m.Type, st.to.Addr)
		}
	}
}
