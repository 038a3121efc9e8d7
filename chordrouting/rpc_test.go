package chordrouting

import "testing"

// refusingTransport refuses every message at once; with trySend false it
// has no TrySend and drops them silently (a full transport before
// TrySender).
type refusingTransport struct{}

func (refusingTransport) Send(Peer, *Message) {}

type trySendRefuser struct{ refusingTransport }

func (trySendRefuser) TrySend(Peer, *Message) bool { return false }

// TestRefusedSendsKeepSuccessors: a member whose transport refuses every
// message (all its exchanges in flight) keeps its successor list when the
// transport says so (TrySender): nothing was sent, so nothing timed out.
// Through Send alone the same refusals look like timeouts and the member
// drops its live head, which is what TrySender is for.
func TestRefusedSendsKeepSuccessors(t *testing.T) {
	for _, c := range []struct {
		name     string
		tr       Transport
		keepHead bool
	}{{"TrySend", trySendRefuser{}, true}, {"Send only", refusingTransport{}, false}} {
		_, nodes := staticRing(t, 20, 7)
		nd := nodes[0]
		nd.tr = c.tr
		head := nd.succ[0].ID
		for range 20 * nd.cfg.RequestTimeoutTicks {
			nd.Tick()
		}
		kept := len(nd.succ) > 0 && nd.succ[0].ID == head
		if kept != c.keepHead {
			t.Fatalf("%s: head kept %v, want %v (successors now %d)", c.name, kept, c.keepHead, len(nd.succ))
		}
	}
}

// TestDeferredReissueEndsTick: a callback that re-issues its refused
// request at once (the transport refuses everything) gets one stand-in
// answer per Tick; Tick returns. Before, runDeferred drained until nothing
// was left and such a callback kept one Tick looping (here bounded at
// limit re-issues so that the failure shows as a count, not a hang). The
// same holds after Leave: a callback that re-issues then still gets its
// answer, at the next tick.
func TestDeferredReissueEndsTick(t *testing.T) {
	const limit = 1000
	_, nodes := staticRing(t, 8, 9)
	nd := nodes[0]
	nd.tr = trySendRefuser{}
	to := nd.succ[0]
	calls := 0
	var again func(*Message)
	again = func(m *Message) {
		if !nd.unsent(m) {
			t.Fatalf("answer %+v, want the unsent stand-in", m)
		}
		if calls++; calls < limit {
			nd.request(to, &Message{Type: MsgPing}, again)
		}
	}
	nd.request(to, &Message{Type: MsgPing}, again)
	for tick := 1; tick <= 3; tick++ {
		nd.Tick()
		if calls != tick {
			t.Fatalf("after %d ticks the re-issuing callback ran %d times, want %d", tick, calls, tick)
		}
	}
	nd.Leave()
	afterLeave := calls
	if afterLeave != 4 {
		t.Fatalf("Leave answered the request in flight %d times, want once (%d calls in all)", afterLeave-3, afterLeave)
	}
	nd.Tick()
	if calls != afterLeave+1 {
		t.Fatalf("a tick after Leave: %d calls, want %d (the request re-issued after Leave is answered)", calls, afterLeave+1)
	}
}
