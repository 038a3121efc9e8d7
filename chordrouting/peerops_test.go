package chordrouting

import (
	"fmt"
	"testing"
)

// recordingTransport records what a node sends and delivers nothing: the
// test answers by hand.
type recordingTransport struct{ sent []sentTo }

func (r *recordingTransport) Send(to Peer, m *Message) { r.sent = append(r.sent, sentTo{to, m}) }

// opsInFlight counts the operation requests (pings sent as operations
// here, and reads) sent to `to` that answered does not list.
func (r *recordingTransport) opsInFlight(to ID, answered map[uint64]bool) int {
	k := 0
	for _, s := range r.sent {
		if s.to.ID == to && (s.m.Type == MsgPing || s.m.Type == MsgGet) && !answered[s.m.ID] {
			k++
		}
	}
	return k
}

// TestOpsPerPeerKeepMaintenance: a node with many more operations for
// one peer (its head) than MaxOpsPerPeer never has more than that in
// flight to it; as many more wait and go out as replies come back, the
// rest are refused as unsent (at the next tick, never taken for the
// peer's silence); the stabilize query to that peer still goes out at
// once, and every operation's callback runs exactly once. Held requests
// whose wait ends before a slot frees get the unsent stand-in, and a
// peer's operations do not hold back another peer's.
func TestOpsPerPeerKeepMaintenance(t *testing.T) {
	_, nodes := staticRing(t, 20, 11)
	nd := nodes[0]
	tr := &recordingTransport{}
	nd.tr = tr
	head, other := nd.succ[0], nd.succ[3]
	limit := nd.cfg.MaxOpsPerPeer
	const ops = 100
	results := map[int][]string{} // per request, what its callback got
	issue := func(i int, to Peer) {
		nd.requestAs(to, &Message{Type: MsgPing}, true, func(m *Message) {
			switch {
			case m == nil:
				results[i] = append(results[i], "timeout")
			case nd.unsent(m):
				results[i] = append(results[i], "unsent")
			default:
				results[i] = append(results[i], "answered")
			}
		})
	}
	for i := range ops {
		issue(i, head)
	}
	issue(ops, other)
	answered := map[uint64]bool{}
	if got := tr.opsInFlight(head.ID, answered); got != limit {
		t.Fatalf("%d operations sent to the head at once, want MaxOpsPerPeer (%d)", got, limit)
	}
	if got := tr.opsInFlight(other.ID, answered); got != 1 {
		t.Fatalf("the other peer's operation: %d sent, want 1 (not held behind the head's)", got)
	}
	if len(nd.held) != limit {
		t.Fatalf("%d operations held, want %d", len(nd.held), limit)
	}
	if nd.opPending != 2*limit+1 {
		t.Fatalf("opPending %d, want %d (held ones count)", nd.opPending, 2*limit+1)
	}

	// A tick: the refused ones learn it (unsent), stabilization asks the
	// head although its operations are at their cap.
	before := len(tr.sent)
	nd.Tick()
	stabilized := false
	for _, s := range tr.sent[before:] {
		stabilized = stabilized || (s.to.ID == head.ID && s.m.Type == MsgGetState)
	}
	if !stabilized {
		t.Fatal("no stabilize query to the head while its operations are at their cap")
	}
	unsent := 0
	for _, r := range results {
		if len(r) == 1 && r[0] == "unsent" {
			unsent++
		}
	}
	if unsent != ops-2*limit {
		t.Fatalf("%d operations refused as unsent, want %d: %v", unsent, ops-2*limit, results)
	}

	// The head answers its operations one by one: each reply lets one
	// held request out, never more than the cap in flight.
	for k := 0; k < len(tr.sent); k++ {
		s := tr.sent[k]
		if s.to.ID != head.ID || s.m.Type != MsgPing || answered[s.m.ID] {
			continue
		}
		answered[s.m.ID] = true
		nd.Step(&Message{Type: MsgPong, ID: s.m.ID, From: head})
		if got := tr.opsInFlight(head.ID, answered); got > limit {
			t.Fatalf("%d operations in flight to the head after a reply, cap %d", got, limit)
		}
	}
	if len(answered) != 2*limit || len(nd.held) != 0 {
		t.Fatalf("%d of the head's operations answered, %d still held; want %d and 0", len(answered), len(nd.held), 2*limit)
	}

	// A silent peer: the held requests' wait ends with the requests in
	// flight, unsent, and nobody suspects them of anything.
	silent := nd.succ[1]
	for i := range 2 * limit {
		issue(ops+1+i, silent)
	}
	for range 4 * nd.cfg.RequestTimeoutTicks {
		nd.Tick()
	}
	counts := map[string]int{}
	for i, r := range results {
		if len(r) != 1 {
			t.Fatalf("request %d: callback ran %d times (%v), want once", i, len(r), r)
		}
		counts[r[0]]++
	}
	want := map[string]int{"answered": 2 * limit, "unsent": ops - 2*limit + limit, "timeout": 1 + limit}
	if fmt.Sprint(counts) != fmt.Sprint(want) {
		t.Fatalf("callbacks got %v, want %v", counts, want)
	}
	if nd.opPending != 0 || len(nd.held) != 0 || len(nd.ops.sent) != 0 || len(nd.ops.held) != 0 {
		t.Fatalf("left over: opPending %d, held %d, per peer %v %v", nd.opPending, len(nd.held), nd.ops.sent, nd.ops.held)
	}
}

// cancelTransport records sends and Cancel calls; it delivers nothing.
type cancelTransport struct {
	recordingTransport
	canceled []sentTo // Peer and a message with the canceled ID
}

func (c *cancelTransport) Cancel(to Peer, id uint64) {
	c.canceled = append(c.canceled, sentTo{to, &Message{ID: id}})
}

// TestCancelWhenNoLongerWaiting: a transport with Cancel hears of every
// operation's request the core stops waiting for without a reply (its
// timeout, an end its operation set) and of every request at Leave, with
// the peer and ID it was sent with; not of an answered one, nor of a
// maintenance request that timed out (its late reply is still a
// round-trip sample).
func TestCancelWhenNoLongerWaiting(t *testing.T) {
	_, nodes := staticRing(t, 8, 13)
	nd := nodes[0]
	tr := &cancelTransport{}
	nd.tr = tr
	a, b, c := nd.succ[1], nd.succ[2], nd.succ[3]
	sentID := func(to Peer) uint64 {
		for k := len(tr.sent) - 1; k >= 0; k-- {
			if tr.sent[k].to.ID == to.ID {
				return tr.sent[k].m.ID
			}
		}
		t.Fatalf("nothing sent to %s", to.Addr)
		return 0
	}
	canceled := func(to Peer, id uint64) bool {
		for _, x := range tr.canceled {
			if x.to == to && x.m.ID == id {
				return true
			}
		}
		return false
	}
	nd.request(a, &Message{Type: MsgPing}, func(*Message) {})
	idA := sentID(a)
	nd.requestBy(b, &Message{Type: MsgGet}, true, endBy{tick: nd.now + 2}, func(*Message) {})
	idB := sentID(b)
	nd.request(c, &Message{Type: MsgPing}, func(*Message) {})
	idC := sentID(c)
	nd.Step(&Message{Type: MsgPong, ID: idC, From: c})
	d := nd.succ[4]
	nd.requestAs(d, &Message{Type: MsgPing}, true, func(*Message) {})
	idD := sentID(d)
	for range 2 {
		nd.Tick()
	}
	if !canceled(b, idB) || canceled(a, idA) {
		t.Fatalf("after the read's end: canceled %v, want the read to %s only", tr.canceled, b.Addr)
	}
	for range 4 * nd.cfg.RequestTimeoutTicks {
		nd.Tick()
	}
	if !canceled(d, idD) {
		t.Fatalf("the operation's request to %s timed out and was not canceled: %v", d.Addr, tr.canceled)
	}
	if canceled(a, idA) {
		t.Fatalf("the maintenance ping to %s was canceled at its timeout: %v", a.Addr, tr.canceled)
	}
	if canceled(c, idC) {
		t.Fatal("an answered request was canceled")
	}
	nd.request(a, &Message{Type: MsgPing}, func(*Message) {})
	idLeave := sentID(a)
	nd.Leave()
	if !canceled(a, idLeave) {
		t.Fatalf("Leave did not cancel the request in flight: %v", tr.canceled)
	}
}

// TestRepairOffersDigestsInTurn: an owner with values for several digest
// messages offers them to each replica offerWindow at a time, the next
// one as each reply comes, not all at once (which a replica's transport,
// taking 32 streams from one peer, reset beyond its cap, with the
// stabilize query among them); every message still goes out.
func TestRepairOffersDigestsInTurn(t *testing.T) {
	_, nodes := staticRing(t, 8, 17)
	nd := nodes[0]
	per := nd.cfg.MaxItemsPerMessage
	values := 3*per + 10
	fillOwned(t, nd, values, 17)
	tr := &recordingTransport{}
	nd.tr = tr
	if !nd.repair() {
		t.Fatal("no repair round")
	}
	targets := nd.replicaTargets()
	offered := answerDigests(t, nd, tr)
	want := (values + per - 1) / per
	for _, p := range targets {
		if offered[p.ID] != want {
			t.Fatalf("replica %s got %d digest messages, want %d (%d values, %d a message)", p.Addr, offered[p.ID], want, values, per)
		}
	}
}
