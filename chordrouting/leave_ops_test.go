package chordrouting

import (
	"errors"
	"fmt"
	"testing"
)

// TestLeaveEndsOperationsInFlight: every operation in flight when a node
// leaves gets its answer within Leave, with no tick after it (the
// simulator ticks a node no more once it has left, and Runner.Close at
// most twice): a read whose request to the owner is answered by Leave
// does not move on to the next replica (a request refused until the next
// tick), and a client's forwarded put with batches still to send does not
// send them.
func TestLeaveEndsOperationsInFlight(t *testing.T) {
	t.Run("read", func(t *testing.T) {
		net, nodes := staticRing(t, 8, 17)
		nd := nodes[0]
		tr := &hookTransport{inner: nd.tr}
		tr.hook = func(_ Peer, m *Message) bool { return m.Type != MsgGet } // the reads stay unanswered
		nd.tr = tr
		var got *GetResult
		nd.Get(nodes[4].self.ID, nil, 0, func(r GetResult) { got = &r })
		for k := 0; k < 5; k++ {
			net.run()
		}
		if got != nil || len(nd.pending) == 0 {
			t.Fatalf("before Leave: result %+v, %d pending, want the read waiting for the owner", got, len(nd.pending))
		}
		nd.Leave()
		if got == nil {
			t.Fatal("Leave did not end the read in flight")
		}
		if !errors.Is(got.Err, ErrLeft) {
			t.Fatalf("the read ended with %v, want ErrLeft", got.Err)
		}
	})
	t.Run("forwarded put", func(t *testing.T) {
		net, nodes, c, tr := forwardRing(t, 12, 23, nil, 0, 1)
		tr.hook = func(_ Peer, m *Message) bool { return m.Type != MsgStore } // the forwards stay unanswered
		var items []Item
		for k := range (forwardWindow + 2) * c.cfg.ForwardBatchItems {
			items = append(items, Item{Key: nodes[k%len(nodes)].self.ID, Value: []byte(fmt.Sprintf("pub|leave%d|1|3600", k))})
		}
		var got *PutResult
		c.Put(items, func(r PutResult) { got = &r })
		net.run()
		if got != nil || len(c.pending) == 0 {
			t.Fatalf("before Leave: result %+v, %d pending, want the forwards waiting", got, len(c.pending))
		}
		c.Leave()
		if got == nil {
			t.Fatal("Leave did not end the forwarded put in flight")
		}
		if got.Stored != 0 || got.Err == nil {
			t.Fatalf("the put ended with %d stored, error %v; want none stored and an error", got.Stored, got.Err)
		}
	})
}
