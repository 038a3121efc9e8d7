package p2p

import (
	"testing"

	cr "kwsearch/chordrouting"
)

// TestJoinedDialNotMeasured: a request sent while Prepare is dialing its
// peer joins that dial and returns with it, having waited for its
// remainder only; it is not measured as a dial (the dial cost would sink
// toward a fraction of a dial, and forwarding for members switch itself
// off): the Prepare's dial is measured, once.
func TestJoinedDialNotMeasured(t *testing.T) {
	a, b := fakePair(t, DefaultConfig(), DefaultConfig(), pong)
	a.tr.Prepare(b.tr.Self())
	a.tr.Send(b.tr.Self(), &cr.Message{Type: cr.MsgPing, ID: 1})
	waitFor(t, "the pong", func() bool { return len(a.received()) == 1 })
	waitFor(t, "the prepare to end", func() bool {
		a.tr.mu.Lock()
		defer a.tr.mu.Unlock()
		return len(a.tr.preparing) == 0 && len(a.tr.dialing) == 0
	})
	a.tr.mu.Lock()
	dials, cost := a.tr.dials, a.tr.dialCost
	a.tr.mu.Unlock()
	if dials != 1 || cost <= 0 {
		t.Fatalf("%d dials measured (cost %v) for a prepare and a request that joined it, want one", dials, cost)
	}
}
