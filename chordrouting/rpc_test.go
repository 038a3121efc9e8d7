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
