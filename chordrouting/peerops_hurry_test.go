package chordrouting

import (
	"testing"
	"time"
)

// TestForwardHurriesHeldRequest: a client with two entry points, one
// silent and one answering, starts more Gets at once than MaxOpsPerPeer,
// so that some of its forwards to the silent entry are held behind the
// cap. Each answer in full from the live entry hurries the other entry's
// forward, held or sent: every Get ends within a request timeout, none
// waits out the forward timeout (a held forward had no ID to be hurried
// by, and was sent later with its whole wait).
func TestForwardHurriesHeldRequest(t *testing.T) {
	net, nodes, c, tr := forwardRing(t, 40, 67, nil, 5, 25)
	silent := nodes[5]
	tr.hook = func(to Peer, m *Message) bool { return to.ID != silent.self.ID }
	key := nodes[20].self.ID
	val := []byte("pub|hurried|1|3600")
	holdAt(t, nodes, key, val)
	gets := c.cfg.MaxOpsPerPeer + 4
	ended := make([]int, gets)
	for i := range gets {
		ended[i] = -1
		c.Get(key, nil, 0, func(r GetResult) {
			if len(r.Values) != 1 || string(r.Values[0]) != string(val) {
				t.Errorf("get %d: %q, want %q", i, r.Values, val)
			}
			ended[i] = int(c.now)
		})
	}
	if len(c.held) == 0 {
		t.Fatal("no forward held behind the silent entry's cap: the test does not test it")
	}
	limit := int(c.timeoutTicks())
	for range 3 * int(c.forwardTimeout()) {
		net.run()
		c.Tick()
	}
	for i, at := range ended {
		if at < 0 || at > limit {
			t.Fatalf("get %d ended at tick %d, want by tick %d (a request timeout after the live entry answered): %v", i, at, limit, ended)
		}
	}
	if c.opPending != 0 || len(c.held) != 0 {
		t.Fatalf("left over: opPending %d, held %d", c.opPending, len(c.held))
	}
}

// TestHeldPastItsEndIsNotSent: a held request whose wait has ended
// between ticks (its end time passed) is not sent when a reply frees its
// place: it gets the peer-busy stand-in at the next tick.
func TestHeldPastItsEndIsNotSent(t *testing.T) {
	_, nodes := staticRing(t, 8, 19)
	nd := nodes[0]
	tr := &recordingTransport{}
	nd.tr = tr
	clock := nd.clock.(*fakeClock)
	head := nd.succ[0]
	for range nd.cfg.MaxOpsPerPeer {
		nd.requestAs(head, &Message{Type: MsgPing}, true, func(*Message) {})
	}
	var got []*Message
	nd.requestBy(head, &Message{Type: MsgGet}, true, endBy{at: clock.now.Add(time.Second)}, func(m *Message) { got = append(got, m) })
	if len(nd.held) != 1 {
		t.Fatalf("%d requests held, want 1", len(nd.held))
	}
	clock.now = clock.now.Add(2 * time.Second)
	nd.Step(&Message{Type: MsgPong, ID: tr.sent[0].m.ID, From: head})
	for _, s := range tr.sent {
		if s.m.Type == MsgGet {
			t.Fatal("the held read was sent after its end had passed")
		}
	}
	nd.Tick()
	if len(got) != 1 || !nd.peerBusy(got[0]) {
		t.Fatalf("the held read's callback got %v, want the peer-busy stand-in once", got)
	}
	if len(nd.held) != 0 || nd.opPending != nd.cfg.MaxOpsPerPeer-1 {
		t.Fatalf("held %d, opPending %d; want 0 and %d", len(nd.held), nd.opPending, nd.cfg.MaxOpsPerPeer-1)
	}
}
