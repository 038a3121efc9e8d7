package chordrouting

import "testing"

// A candidate refused for every owner leaves its interval empty: a finger
// admitted there earlier (when its group had room) goes.
func TestFingerCandidate(t *testing.T) {
	n, _ := placedNode(t) // at 0x80, successors 0x90, 0xa0
	bad := func(p Peer) bool { return p.Addr[0] == 'x' }
	n.cfg.AdmitFinger = func(c Peer, held []Peer) bool {
		for _, h := range held {
			if bad(h) && bad(c) {
				return false // one "x" finger at most
			}
		}
		return true
	}
	x1, x2, y := Peer{ID: idAt(0x10), Addr: "x1"}, Peer{ID: idAt(0x20), Addr: "x2"}, Peer{ID: idAt(0x30), Addr: "y"}
	n.fingers = []Peer{x1, x2} // x2 got in before the limit applied
	// Interval [0x20, 0x28): owners x2 then y; x2 is refused (x1 held), y is taken.
	if o, ok := n.fingerCandidate(idAt(0x20), idAt(0x28), []Peer{x2, y}); !ok || o != y {
		t.Fatalf("candidate %v %v, want y", o, ok)
	}
	// Only x2 on offer: refused, and the interval's old entry goes.
	if _, ok := n.fingerCandidate(idAt(0x20), idAt(0x28), []Peer{x2}); ok {
		t.Fatal("x2 admitted next to x1")
	}
	if len(n.fingers) != 1 || n.fingers[0] != x1 {
		t.Fatalf("fingers after a refusal: %v, want [x1]", n.fingers)
	}
	// x1's own interval: judged without itself, admitted.
	if o, ok := n.fingerCandidate(idAt(0x10), idAt(0x18), []Peer{x1}); !ok || o != x1 {
		t.Fatalf("x1 refused in its own interval: %v %v", o, ok)
	}
	n.cfg.AdmitFinger = nil
	if o, ok := n.fingerCandidate(idAt(0x20), idAt(0x28), []Peer{x2}); !ok || o != x2 {
		t.Fatalf("without a limit: %v %v", o, ok)
	}
}
