package chordrouting

import (
	"fmt"
	"math/rand/v2"
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
	if got.Err != nil || len(got.Values) != 1 || got.From.ID != o.self.ID {
		t.Fatalf("get through a stale table: %+v, want the value from %s", got, o.self.ID.Short())
	}
	if got.Hops < 2 {
		t.Fatalf("get through a stale table took %d hops; the refused read must count", got.Hops)
	}
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
	if got.Err != nil || len(got.Values) != 1 || got.From.ID != o.self.ID {
		t.Fatalf("get through a stale successor list: %+v, want the value from %s", got, o.self.ID.Short())
	}
	if got.Hops < 2 {
		t.Fatalf("get through a stale successor list took %d hops; the refused read must count", got.Hops)
	}
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
