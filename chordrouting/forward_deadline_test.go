package chordrouting

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestForwardedGetEndsByDeadline: an entry whose forwarded read meets
// dead holders, and then a lookup that meets dead owner candidates,
// answers its requester (with an error, so that it reads itself) by the
// end of the requester's wait: a tick before the forward timeout, or
// seven tenths of the transport's deadline (ForwardWaiter); and sends no
// request for that read afterwards.
func TestForwardedGetEndsByDeadline(t *testing.T) {
	for _, wait := range []time.Duration{0, 5 * time.Second} {
		t.Run(fmt.Sprintf("transport deadline %v", wait), func(t *testing.T) {
			net, nodes, key, _ := memberRing(t, 85)
			entry := nodes[5]
			etr := &hookTransport{inner: entry.tr}
			entry.tr = etr
			limit := int(entry.forwardTimeout()) - 1
			if wait > 0 {
				entry.tr = waitHook{etr, wait}
				limit = int(wait*7/10/time.Second) + 1
			}
			for k := 20; k < 26; k++ {
				net.down[nodes[k].self.Addr] = true // the holders and the next owners
			}
			req := Peer{ID: idAt(0x42), Addr: "requester"}
			clock := entry.clock.(*fakeClock)
			entry.Step(&Message{Type: MsgGet, Forward: true, ID: 7, From: req, Key: key})
			net.run()
			answered := -1
			for k := 1; k <= 40; k++ {
				clock.now = clock.now.Add(time.Second)
				entry.Tick()
				net.run()
				a := answersTo(etr, req, 7)
				if answered < 0 && len(a) > 0 {
					answered = k
					if a[0].Type != MsgError || !strings.Contains(a[0].Err, "timed out") {
						t.Fatalf("the entry answered %+v, want a timeout error", a[0])
					}
				}
				if answered == k && entry.opPending != 0 {
					t.Fatalf("the entry answered with %d of the read's requests still pending", entry.opPending)
				}
			}
			if answered < 0 || answered > limit {
				t.Fatalf("the entry answered after %d ticks (-1: never), want by %d", answered, limit)
			}
			// The read's requests all went out before the answer: none
			// for the key after it.
			cut := 0
			for k, s := range etr.sent {
				if s.to.ID == req.ID {
					cut = k
				}
			}
			for _, s := range etr.sent[cut:] {
				if (s.m.Type == MsgFindSuccessor && s.m.Key == key) || (s.m.Type == MsgGet && s.m.Key == key) {
					t.Fatalf("after answering, the entry still sent a %d for the key to %s", s.m.Type, s.to.Addr)
				}
			}
		})
	}
}

// TestForwardStoreLookupsEndBeforeTransportDeadline: an entry whose
// forwarded store's owners do not answer at all, so that the lookups that
// group the batch wait on their confirmations, with a request timeout
// longer than its transport keeps the client's stream, answers by seven
// tenths of that deadline (at the first tick after), with nothing stored
// and an error: the grouping's lookups end there as the stores do.
func TestForwardStoreLookupsEndBeforeTransportDeadline(t *testing.T) {
	net, nodes, _, _ := forwardRing(t, 30, 73, func(c *Config) { c.RequestTimeoutTicks = 20 }, 0)
	entry := nodes[0]
	etr := &hookTransport{inner: entry.tr}
	entry.tr = waitHook{etr, 10 * time.Second}
	clock := entry.clock.(*fakeClock)
	var items []Item
	for _, k := range []int{7, 15, 23} {
		net.down[nodes[k].self.Addr] = true
		items = append(items, Item{Key: nodes[k].self.ID, Value: []byte(fmt.Sprintf("pub|lookup-cut%d|1|3600", k))})
	}
	from := Peer{ID: idAt(0x33), Addr: "client"}
	entry.Step(&Message{Type: MsgStore, Forward: true, ID: 1, From: from, Items: items})
	net.run()
	var a []*Message
	k := 1
	for ; k <= 12 && len(a) == 0; k++ {
		clock.now = clock.now.Add(time.Second)
		entry.Tick()
		net.run()
		a = answersTo(etr, from, 1)
	}
	if len(a) != 1 || a[0].Type != MsgStoreAck || !a[0].Done || a[0].Err == "" || a[0].Count != 0 {
		t.Fatalf("after %d s of a forwarded store to owners that never answer: answers %+v, want one with nothing stored and an error", k-1, a)
	}
	if k-1 > 8 {
		t.Fatalf("the entry answered after %d s, want by 8 (seven tenths of the transport's 10 s, at the tick after)", k-1)
	}
	if entry.opPending != 0 {
		t.Fatalf("the entry answered with %d of the store's requests pending", entry.opPending)
	}
}
