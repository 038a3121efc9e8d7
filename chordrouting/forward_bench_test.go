package chordrouting

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// BenchmarkClientGet measures what one search costs a client with two
// entry points on a static one-hop ring of 1,000 members (complete tables
// and fingers), forwarded and iterative (ClientForward off): the requests
// the client sends, the distinct peers it sends them to (behind NAT each
// is a dial or a relay), and the messages of the whole network.
//
//	go test -run '^$' -bench ClientGet ./chordrouting/
func BenchmarkClientGet(b *testing.B) {
	for _, fwd := range []bool{true, false} {
		name := map[bool]string{true: "forwarded", false: "iterative"}[fwd]
		b.Run(name, func(b *testing.B) {
			net, nodes, c, tr := forwardRing(b, 1000, 1, func(c *Config) { c.ClientForward = fwd }, 10, 500)
			setFingers(nodes)
			var all []*hookTransport
			for _, nd := range nodes {
				h := &hookTransport{inner: nd.tr}
				nd.tr = h
				all = append(all, h)
			}
			rng := rand.New(rand.NewPCG(1, 6))
			msgs, peers, total := 0, 0, 0
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				key := randomKey(rng)
				val := []byte(fmt.Sprintf("pub|bench%d|1|3600", i))
				holdAt(b, nodes, key, val)
				tr.sent = tr.sent[:0]
				for _, h := range all {
					h.sent = h.sent[:0]
				}
				if got := clientGet(b, net, c, key, nil, 0); len(got.Values) != 1 {
					b.Fatalf("get %d: %+v", i, got)
				}
				to := map[ID]bool{}
				for _, s := range tr.sent {
					to[s.to.ID] = true
				}
				msgs += len(tr.sent)
				peers += len(to)
				total += len(tr.sent)
				for _, h := range all {
					total += len(h.sent)
				}
			}
			b.ReportMetric(float64(msgs)/float64(b.N), "client-msgs/get")
			b.ReportMetric(float64(peers)/float64(b.N), "client-peers/get")
			b.ReportMetric(float64(total)/float64(b.N), "net-msgs/get")
		})
	}
}
