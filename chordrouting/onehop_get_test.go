package chordrouting

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestOneHopGetOneRoundTrip: with complete tables a read of a key outside
// the reader's successor list takes one round trip (the Get itself, no
// confirming query first) and returns the stored value; when the table's
// entry for the owner is stale (a node it lacks took the key), the read
// still returns the value, from the right owner, in more hops.
func TestOneHopGetOneRoundTrip(t *testing.T) {
	const n = 100
	net, nodes := oneHopStatic(t, n, 31, func(c *Config) { c.Validator = recValidator{} })
	rng := rand.New(rand.NewPCG(31, 2))
	read := func(from *Node, key ID) GetResult { t.Helper(); return readNow(t, net, from, key) }
	oneHop := 0
	for i := range 100 {
		key := randomKey(rng)
		val := []byte(fmt.Sprintf("pub|file%d|1|3600", i))
		o := ownerIn(nodes, key)
		if _, err := o.accept(key, val); err != nil {
			t.Fatal(err)
		}
		from := nodes[rng.IntN(n)]
		if _, local := from.spanIndex(key); local || from == o {
			continue
		}
		requireOneRoundTrip(t, read(from, key), key, from, o, val, "with complete tables")
		oneHop++
	}
	if oneHop < 50 {
		t.Fatalf("only %d reads went beyond the readers' successor lists", oneHop)
	}

	// A stale table: the reader lacks the owner, so its table names the
	// owner's successor, which does not hold the key's range.
	key := randomKey(rng)
	o := ownerIn(nodes, key)
	val := []byte("pub|stale|1|3600")
	if _, err := o.accept(key, val); err != nil {
		t.Fatal(err)
	}
	var from *Node
	for _, c := range nodes {
		if _, local := c.spanIndex(key); !local && c != o {
			from = c
			break
		}
	}
	from.oh.table.remove(o.self.ID)
	got := read(from, key)
	requireStaleRead(t, got, o, "a stale table")
}

// TestOneHopGetInSuccessorSpan: a read of a key that lies in the reader's
// successor list (owned by one of its successors) goes straight to that
// successor, one round trip, instead of confirming it with a state query
// first; with the list's entry stale (a node between the reader and the
// owner it names took the key) the read still finds the value.
func TestOneHopGetInSuccessorSpan(t *testing.T) {
	const n = 40
	seed := uint64(47)
	net, nodes := oneHopStatic(t, n, seed, func(c *Config) { c.Validator = recValidator{} })
	rng := rand.New(rand.NewPCG(seed, 3))
	read := func(from *Node, key ID) GetResult { t.Helper(); return readNow(t, net, from, key) }
	inSpan := 0
	for i := 0; i < 400 && inSpan < 30; i++ {
		key := randomKey(rng)
		o := ownerIn(nodes, key)
		from := nodes[rng.IntN(n)]
		if _, local := from.spanIndex(key); !local || from == o {
			continue
		}
		val := []byte(fmt.Sprintf("pub|span%d|1|3600", i))
		if _, err := o.accept(key, val); err != nil {
			t.Fatal(err)
		}
		requireOneRoundTrip(t, read(from, key), key, from, o, val, "in the reader's successor list")
		inSpan++
	}
	if inSpan < 10 {
		t.Fatalf("only %d keys fell in the readers' successor lists", inSpan)
	}

	// A stale list: the reader's list skips the owner (its second
	// successor), so it names the owner's successor, which refuses.
	from := nodes[0]
	o := findPeerNode(t, nodes, from.succ[1].ID)
	key := o.self.ID // owned by o
	val := []byte("pub|stale-span|1|3600")
	if _, err := o.accept(key, val); err != nil {
		t.Fatal(err)
	}
	from.succ = append([]Peer{from.succ[0]}, from.succ[2:]...)
	from.oh.table.remove(o.self.ID)
	got := read(from, key)
	requireStaleRead(t, got, o, "a stale successor list")
}

func findPeerNode(t *testing.T, nodes []*Node, id ID) *Node {
	t.Helper()
	for _, c := range nodes {
		if c.self.ID == id {
			return c
		}
	}
	t.Fatalf("no node %s", id.Short())
	return nil
}

// readNow runs from's Get of key on a static ring and returns its result.
func readNow(t *testing.T, net *countingNet, from *Node, key ID) GetResult {
	t.Helper()
	var got GetResult
	ran := false
	from.Get(key, nil, 0, func(r GetResult) { got, ran = r, true })
	net.run()
	if !ran {
		t.Fatalf("get of %s never finished", key.Short())
	}
	return got
}

// requireStaleRead fails unless a read through a stale entry (where)
// returned the one value from its owner o, the refused read counted as a
// hop.
func requireStaleRead(t *testing.T, got GetResult, o *Node, where string) {
	t.Helper()
	if got.Err != nil || len(got.Values) != 1 || got.From.ID != o.self.ID {
		t.Fatalf("get through %s: %+v, want the value from %s", where, got, o.self.ID.Short())
	}
	if got.Hops < 2 {
		t.Fatalf("get through %s took %d hops; the refused read must count", where, got.Hops)
	}
}

// requireOneRoundTrip fails unless a read of key from `from` returned
// exactly val, from its owner o, in one hop.
func requireOneRoundTrip(t *testing.T, got GetResult, key ID, from, o *Node, val []byte, where string) {
	t.Helper()
	if got.Err != nil || len(got.Values) != 1 || string(got.Values[0]) != string(val) || got.From.ID != o.self.ID {
		t.Fatalf("get of %s from %s: %+v, want %q from %s", key.Short(), from.self.ID.Short(), got, val, o.self.ID.Short())
	}
	if got.Hops != 1 {
		t.Fatalf("get of %s (%s) took %d hops, want 1", key.Short(), where, got.Hops)
	}
}

// TestOneHopGetAsksReplicasAtOnce: a one-hop read asks the owner and the
// next ReadFanout-1 members at once (the owner plainly, the others for
// their replicas); a replica's answer with values ends the read when the
// owner is down, with no timeout waited for; an empty replica answer that
// comes first does not end it (the owner's values do); a replica that
// joined less than a repair round ago does not answer from its replicas;
// with ReadFanout 1 only the owner is asked.
func TestOneHopGetAsksReplicasAtOnce(t *testing.T) {
	const n = 100
	seed := uint64(53)
	net, nodes := oneHopStatic(t, n, seed, func(c *Config) { c.Validator = recValidator{} })
	rng := rand.New(rand.NewPCG(seed, 4))
	var key ID
	var from, o *Node
	for from == nil {
		key = randomKey(rng)
		o = ownerIn(nodes, key)
		c := nodes[rng.IntN(n)]
		if _, local := c.spanIndex(key); !local && c != o && !containsPeer(o.succ[:2], c.self.ID) {
			from = c
		}
	}
	holders := []*Node{o, findPeerNode(t, nodes, o.succ[0].ID), findPeerNode(t, nodes, o.succ[1].ID)}
	start := func(fanout int) (**GetResult, []*Message) {
		t.Helper()
		from.cfg.ReadFanout = fanout
		var got *GetResult
		from.Get(key, nil, 0, func(r GetResult) { got = &r })
		var gets []*Message // sent to the holders that are up
		var up []int
		for k, h := range holders[:fanout] {
			if !net.down[h.self.Addr] {
				up = append(up, k)
			}
		}
		for k, m := range net.queue {
			if m.Type != MsgGet {
				continue
			}
			if len(gets) == len(up) {
				t.Fatalf("the read sent more than %d gets", len(up))
			}
			h := up[len(gets)]
			gets = append(gets, m)
			if want := holders[h].self.Addr; net.dest[k] != want {
				t.Fatalf("get %d went to %s, want the holder %s", len(gets), net.dest[k], want)
			}
			if m.Replica != (h > 0) {
				t.Fatalf("get to holder %d has Replica %v", h, m.Replica)
			}
		}
		return &got, gets
	}
	finish := func(got **GetResult) GetResult {
		t.Helper()
		net.run()
		if *got == nil {
			t.Fatal("the read never finished")
		}
		return **got
	}

	// Only the owner holds the value, and the replicas' empty answers
	// come first: the read waits for the owner.
	val := []byte("pub|owner-only|1|3600")
	if _, err := o.accept(key, val); err != nil {
		t.Fatal(err)
	}
	got, gets := start(3)
	if len(gets) != 3 {
		t.Fatalf("a read with ReadFanout 3 sent %d gets, want 3", len(gets))
	}
	slices.Reverse(net.queue)
	slices.Reverse(net.dest)
	requireOneRoundTrip(t, finish(got), key, from, o, val, "with empty replicas answering first")

	// Every holder has the value and the owner is down: the first
	// replica answers, in one hop.
	for _, h := range holders[1:] {
		if _, err := h.accept(key, val); err != nil {
			t.Fatal(err)
		}
	}
	net.down[o.self.Addr] = true
	got, _ = start(3)
	r := finish(got)
	if r.Err != nil || len(r.Values) != 1 || r.From.ID != holders[1].self.ID || r.Hops != 1 {
		t.Fatalf("read with the owner down: %+v, want the value from the replica %s in one hop", r, holders[1].self.ID.Short())
	}

	// A replica that joined less than a repair round ago (it may hold
	// only the values stored since) does not answer from its replicas:
	// the next one does.
	holders[1].youngUntil = holders[1].now + 10
	got, _ = start(3)
	r = finish(got)
	if r.Err != nil || len(r.Values) != 1 || r.From.ID != holders[2].self.ID || r.Hops != 1 {
		t.Fatalf("read with the owner down and a young replica: %+v, want the value from %s in one hop", r, holders[2].self.ID.Short())
	}
	delete(net.down, o.self.Addr)

	// ReadFanout 1 asks the owner alone.
	got, gets = start(1)
	if len(gets) != 1 {
		t.Fatalf("a read with ReadFanout 1 sent %d gets, want 1", len(gets))
	}
	requireOneRoundTrip(t, finish(got), key, from, o, val, "with ReadFanout 1")
}
