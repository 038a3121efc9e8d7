package chordrouting

import (
	"testing"
	"time"
)

// measured gives nd a measured round trip (100 ms, deviation 20 ms) and
// tick (a second): a member's forward then takes two ticks at most.
func measured(nd *Node) {
	nd.rt.srtt, nd.rt.rttvar, nd.rt.tick = 100*time.Millisecond, 20*time.Millisecond, time.Second
}

// TestMemberForwardSlotsEndTogether: a member with MaxForwardsPerClient
// reads forwarded to a neighbour whose own reads meet silent holders gets
// its places back no sooner than the neighbour gives them up: the
// neighbour ends a member's read by memberForwardTicks, before the
// member's wait ends (a tick later), not at forwardEnd (a client's), so
// that the member never has room for a forward the neighbour would
// refuse. So with round trips measured (two ticks) and without (a request
// timeout).
func TestMemberForwardSlotsEndTogether(t *testing.T) {
	for _, rtt := range []bool{false, true} {
		net, nodes, key, _ := memberRing(t, 87)
		from, nb := nodes[0], nodes[19]
		if rtt {
			measured(from)
			measured(nb)
		}
		tr := connect(from, nb)
		connect(nb, nodes[20:23]...)
		for _, h := range nodes[20:23] {
			net.down[h.self.Addr] = true // the neighbour's reads stall
		}
		capN := from.cfg.MaxForwardsPerClient
		for range capN {
			from.Get(key, nil, 0, func(GetResult) {})
		}
		net.run()
		if _, fwd := gets(tr.sent); fwd != capN || from.mf.inFlight[nb.self.ID] != capN || nb.fwd.perClient[from.self.ID] != capN {
			t.Fatalf("measured %v: %d forwards sent, %d in flight at the member, %d at the neighbour; want %d", rtt, fwd, from.mf.inFlight[nb.self.ID], nb.fwd.perClient[from.self.ID], capN)
		}
		clock := from.clock.(*fakeClock)
		freed := 0
		for k := 1; k <= 12 && freed == 0; k++ {
			clock.now = clock.now.Add(time.Second)
			from.Tick()
			nb.Tick()
			net.run()
			if in := from.mf.inFlight[nb.self.ID]; in < capN {
				freed = k
				if at := nb.fwd.perClient[from.self.ID]; at > in {
					t.Fatalf("measured %v: at tick %d the member has %d forwards in flight, the neighbour still runs %d of them", rtt, k, in, at)
				}
			}
		}
		if want := int(from.memberForwardTicks()); freed == 0 || freed > want+1 {
			t.Fatalf("measured %v: the member's places came back at tick %d (0: never), want by %d", rtt, freed, want+1)
		}
	}
}

// TestMemberForwardWaitFollowsRoundTrip: a member whose round trips are
// measured waits for a neighbour that does not answer (crashed behind a
// connection that still looks open) two retransmission timeouts in ticks
// (here two ticks and one for the answer), not a request timeout, and
// then reads from the holders; a refusal for too many of its forwards at
// the neighbour sends it to the holders at once, without shunning the
// neighbour.
func TestMemberForwardWaitFollowsRoundTrip(t *testing.T) {
	net, nodes, key, val := memberRing(t, 89)
	from, nb := nodes[0], nodes[19]
	measured(from)
	if w := from.memberForwardTicks(); w != minMemberForwardTicks || w >= from.timeoutTicks() {
		t.Fatalf("memberForwardTicks %d with 100 ms round trips and a 1 s tick, want %d (request timeout %d)", w, minMemberForwardTicks, from.timeoutTicks())
	}
	tr := connect(from, nb)
	net.down[nb.self.Addr] = true
	got, ticks := readTicking(t, net, from, key, 12)
	if got.Err != nil || len(got.Values) != 1 || string(got.Values[0]) != string(val) {
		t.Fatalf("get through a silent neighbour: %+v, want %q", got, val)
	}
	if all, fwd := gets(tr.sent); fwd != 1 || all[0].to.ID != nb.self.ID {
		t.Fatalf("%d forwards, want one to the neighbour first", fwd)
	}
	if ticks > minMemberForwardTicks+1 {
		t.Fatalf("the read took %d ticks through a silent neighbour, want %d at most", ticks, minMemberForwardTicks+1)
	}

	// Refused for too many forwards: no shun.
	delete(net.down, nb.self.Addr)
	delete(from.mf.shunned, nb.self.ID)
	connect(nb, nodes[20:23]...)
	nb.fwd.perClient = map[ID]int{from.self.ID: nb.cfg.MaxForwardsPerClient}
	nb.fwd.total = nb.cfg.MaxForwardsPerClient
	if got, _ := readTicking(t, net, from, key, 0); len(got.Values) != 1 || got.From.ID != nodes[20].self.ID {
		t.Fatalf("refused by a busy neighbour: %+v, want the value from the owner at once", got)
	}
	if from.mf.shunned[nb.self.ID] > from.now {
		t.Fatal("a neighbour that refused for too many forwards of this member was shunned")
	}
}
