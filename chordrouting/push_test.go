package chordrouting

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// fillOwned stores `values` values under keys nd owns.
func fillOwned(t *testing.T, nd *Node, values int, seed uint64) {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 1))
	for stored := 0; stored < values; {
		k := randomKey(rng)
		if !nd.responsible(k) {
			continue
		}
		if _, err := nd.accept(k, []byte(fmt.Sprintf("value %d", stored))); err != nil {
			t.Fatal(err)
		}
		stored++
	}
}

// TestHandoffPushesInTurn: a handoff of more values than fit in a few
// messages (a joiner taking over a range) goes to the joiner pushWindow
// messages at a time, the next as each acknowledgement comes, and every
// value arrives; replica pushes for the same peer that come meanwhile
// wait behind them. Before, every chunk went at once: 10,000 values made
// 40 streams to one peer, above what its transport takes from one peer,
// which reset the rest (a stabilize query or a ping among them) and lost
// the values in them until repair.
func TestHandoffPushesInTurn(t *testing.T) {
	const seed = 29
	t.Logf("seed %d", seed)
	_, nodes := staticRing(t, 8, seed)
	nd, to := nodes[0], nodes[1].self
	per := nd.cfg.MaxItemsPerMessage
	values := 10*per + 7
	fillOwned(t, nd, values, seed)
	tr := &recordingTransport{}
	nd.tr = tr
	nd.handoff(to, func(ID) bool { return true })
	nd.pushItems(to, []Item{{Key: idAt(0x42), Value: []byte("late push")}})
	answered := map[uint64]bool{}
	got, messages := 0, 0
	for {
		inFlight := 0
		for _, s := range tr.sent {
			if s.m.Type == MsgStore && !answered[s.m.ID] {
				inFlight++
			}
		}
		if inFlight > pushWindow {
			t.Fatalf("%d replica stores in flight to one peer, window %d", inFlight, pushWindow)
		}
		progress := false
		for _, s := range tr.sent {
			if s.m.Type != MsgStore || answered[s.m.ID] {
				continue
			}
			if s.to.ID != to.ID || !s.m.Replica || len(s.m.Items) > per {
				t.Fatalf("store %+v to %s, want replica stores of at most %d items to %s", s.m, s.to.Addr, per, to.Addr)
			}
			answered[s.m.ID] = true
			got += len(s.m.Items)
			messages++
			nd.Step(&Message{Type: MsgStoreAck, ID: s.m.ID, From: to, Count: len(s.m.Items)})
			progress = true
			break
		}
		if !progress {
			break
		}
	}
	if got != values+1 {
		t.Fatalf("%d items pushed in %d messages, want %d", got, messages, values+1)
	}
	if len(nd.pushes) != 0 {
		t.Fatalf("%d push queues left once everything was acknowledged", len(nd.pushes))
	}
}

// TestPushTimeoutDropsQueue: a replica store that times out (the peer is
// taken for dead) drops what still waits for that peer, rather than
// sending it one timeout at a time; repair offers it again.
func TestPushTimeoutDropsQueue(t *testing.T) {
	_, nodes := staticRing(t, 8, 31)
	nd, to := nodes[0], nodes[1].self
	fillOwned(t, nd, (2*pushWindow+1)*nd.cfg.MaxItemsPerMessage, 31)
	tr := &recordingTransport{}
	nd.tr = tr
	nd.handoff(to, func(ID) bool { return true })
	for range 2 * nd.timeoutTicks() {
		nd.Tick()
	}
	stores := 0
	for _, s := range tr.sent {
		if s.m.Type == MsgStore {
			stores++
		}
	}
	if stores != pushWindow || len(nd.pushes) != 0 {
		t.Fatalf("%d stores sent to a silent peer, %d queues left; want %d and none", stores, len(nd.pushes), pushWindow)
	}
}

// TestLeaveHandsOnBounded: Leave hands its successor at most leaveChunks
// messages of values, sent at once as it goes, beside its leave message:
// they must fit in the headroom of the successor's transport. Before, a
// node leaving with 10,000 values sent 40 stores at once, and the ones
// beyond the successor's cap were reset (the leave message among them).
func TestLeaveHandsOnBounded(t *testing.T) {
	_, nodes := staticRing(t, 8, 37)
	nd := nodes[0]
	per := nd.cfg.MaxItemsPerMessage
	fillOwned(t, nd, 10*per, 37)
	tr := &recordingTransport{}
	nd.tr = tr
	s := nd.succ[0]
	nd.Leave()
	stores, items, leaves := 0, 0, 0
	for _, sent := range tr.sent {
		switch {
		case sent.m.Type == MsgStore && sent.to.ID == s.ID:
			stores++
			items += len(sent.m.Items)
		case sent.m.Type == MsgLeave && sent.to.ID == s.ID:
			leaves++
		}
	}
	if stores != leaveChunks || items != leaveChunks*per || leaves != 1 {
		t.Fatalf("Leave sent its successor %d stores (%d items) and %d leave messages; want %d stores of %d items and 1", stores, items, leaves, leaveChunks, per)
	}
}
