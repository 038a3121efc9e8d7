package chordrouting

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// runRounds delivers p's messages a round at a time (the messages queued
// when the round began: one one-way network delay) until stop reports
// true or nothing is left, and returns the rounds it ran.
func runRounds(p *pumpNet, stop func() bool) int {
	rounds := 0
	for len(p.queue) > 0 && !stop() {
		q, d := p.queue, p.dest
		p.queue, p.dest = nil, nil
		for k := range q {
			if nd := p.nodes[d[k]]; nd != nil {
				nd.Step(q[k])
			}
		}
		rounds++
	}
	return rounds
}

// forwardedBatchRoundTrips has members[0] of a static ring of size
// members run a forwarded store of items random keys (ForwardBatchItems
// raised to items if need be), and returns the
// round trips it took until the entry answered (the entry's lookups and
// stores, one round trip each at the least) and the answer.
func forwardedBatchRoundTrips(tb testing.TB, members, items int, seed uint64) (float64, *Message) {
	net, nodes, _, _ := forwardRing(tb, members, seed, func(c *Config) { c.ForwardBatchItems = max(c.ForwardBatchItems, items) }, 0)
	entry := nodes[0]
	etr := &hookTransport{inner: entry.tr}
	entry.tr = etr
	rng := rand.New(rand.NewPCG(seed, 11))
	batch := make([]Item, items)
	for i := range batch {
		batch[i] = Item{Key: randomKey(rng), Value: []byte(fmt.Sprintf("pub|batch%d|1|3600", i))}
	}
	from := Peer{ID: randomKey(rng), Addr: "client"}
	entry.Step(&Message{Type: MsgStore, Forward: true, ID: 1, From: from, Items: batch})
	rounds := runRounds(&net.pumpNet, func() bool { return len(answersTo(etr, from, 1)) > 0 })
	a := answersTo(etr, from, 1)
	if len(a) != 1 {
		tb.Fatalf("the entry did not answer the forwarded store (%d rounds)", rounds)
	}
	return float64(rounds) / 2, a[0]
}

// TestForwardedBatchFitsTimeout: a full forwarded store batch
// (ForwardBatchItems) at 200 members ends within 12 round trips at the
// entry, the figure Config.ForwardBatchItems's comment rests on: its keys
// are grouped by parallel chains of lookups and stored 8 at a time.
func TestForwardedBatchFitsTimeout(t *testing.T) {
	cfg := DefaultConfig()
	rtts, a := forwardedBatchRoundTrips(t, 200, cfg.ForwardBatchItems, 81)
	t.Logf("a forwarded batch of %d items at 200 members: %.1f round trips at the entry", cfg.ForwardBatchItems, rtts)
	if a.Type != MsgStoreAck || !a.Done || a.Count != cfg.ForwardBatchItems {
		t.Fatalf("answer %+v, want all %d stored", a, cfg.ForwardBatchItems)
	}
	if rtts > 12 {
		t.Fatalf("the batch took %.1f round trips at the entry, want at most 12", rtts)
	}
}

// BenchmarkForwardedBatch reports the round trips an entry of a static
// ring of 1,000 members takes to run a forwarded store batch of the
// default size and of MaxItemsPerMessage, for Config.ForwardBatchItems:
//
//	go test -run '^$' -bench ForwardedBatch -benchtime 1x ./chordrouting/
func BenchmarkForwardedBatch(b *testing.B) {
	cfg := DefaultConfig()
	for _, items := range []int{cfg.ForwardBatchItems, cfg.MaxItemsPerMessage} {
		b.Run(fmt.Sprintf("items=%d", items), func(b *testing.B) {
			sum := 0.0
			for i := 0; i < b.N; i++ {
				rtts, _ := forwardedBatchRoundTrips(b, 1000, items, uint64(90+i))
				sum += rtts
			}
			b.ReportMetric(sum/float64(b.N), "rtts/batch")
		})
	}
}
