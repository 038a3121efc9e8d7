package sim

import (
	"testing"
	"time"
)

// Timeouts follow the measured round trips, not only the tick count: with
// 100 ms ticks, a ring whose messages take one tick each way, or three
// (a 600 ms round trip, above the 5-tick request timeout), still forms
// and answers every lookup. Before, every request to such a ring timed
// out: joins failed and the ring never formed.
func TestRoundTripsLongerThanTicks(t *testing.T) {
	for _, oneWay := range []time.Duration{100 * time.Millisecond, 300 * time.Millisecond} {
		cfg := DefaultConfig()
		cfg.Net.MinDelay, cfg.Net.MaxDelay = oneWay, oneWay+oneWay/10
		t.Logf("seed 1, one-way delay %v, tick %v", oneWay, cfg.Net.Tick)
		rep, err := Run(Options{Nodes: 40, Lookups: 400, Seed: 1, Config: &cfg, RingLimit: time.Minute})
		if err != nil {
			t.Fatalf("one-way %v: %v", oneWay, err)
		}
		if rep.FailedLookups > 0 || !rep.RingCorrect || rep.RecordsLost > 0 {
			t.Fatalf("one-way %v: %d failed lookups (%v), ring correct %v (%s), %d records lost",
				oneWay, rep.FailedLookups, rep.LookupErrorKinds, rep.RingCorrect, rep.RingError, rep.RecordsLost)
		}
	}
}
