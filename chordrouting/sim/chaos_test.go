package sim

import (
	"flag"
	"testing"
	"time"
)

var flagChaosSeeds = flag.Int("sim.chaosseeds", 40, "number of seeds TestRandomizedChaos runs")

// chaosRun is one seed of the unconstrained simulation: message loss,
// crashes with no regard for RING.md's failure assumption, graceful leaves,
// joins and one partition that heals. Nothing is checked while it runs;
// afterwards the network is made reliable again and the ring must recover
// into one correct ring of the live members (through the partition check,
// "Beyond the model" in RING.md) and hold every record of a live publisher
// once the publishers have republished.
//
// Two bootstrap nodes never crash, and every join goes through them (and a
// random member), as a real node's does: so every node always knows a live
// member, and recovery is possible whatever else crashed. Without that a
// node whose every known peer died could not be expected to find the ring.
func chaosRun(seed int64) (*driver, error) {
	rng := NewRand(seed ^ 0xc4a05)
	cfg := smallConfig(2+rng.IntN(3), 2+rng.IntN(2))
	cfg.Net.Loss = 0.05
	s, err := New(cfg, seed)
	if err != nil {
		return nil, err
	}
	d := &driver{s: s, r: cfg.Node.SuccessorListLen, stab: stabilizeInterval(cfg), pubs: map[int][]Record{}}
	first, err := s.AddNode()
	if err != nil {
		return d, err
	}
	s.Create(first)
	boot, err := s.AddNode()
	if err != nil {
		return d, err
	}
	d.boot = []int{first, boot}
	d.joinNode(boot)
	if err := s.RunFor(2 * time.Second); err != nil {
		return d, err
	}
	for range 6 + rng.IntN(10) {
		d.join()
	}
	if err := s.RunFor(10 * time.Second); err != nil {
		return d, err
	}
	for range 3 {
		if i := s.RandomLive(); i >= 0 {
			d.publish(i)
		}
	}
	partitioned := false
	for range 30 {
		switch op := rng.IntN(12); {
		case op < 4:
			if s.LiveCount() > 0 {
				d.join()
			}
		case op < 6:
			if i := s.RandomLive(); s.LiveCount() > 3 && !d.isBoot(i) {
				d.logf("node %d leaves", i)
				s.Leave(i)
			}
		case op < 9:
			if i := s.RandomLive(); s.LiveCount() > 3 && !d.isBoot(i) {
				d.logf("node %d fails", i)
				s.Fail(i)
			}
		case op < 10:
			if !partitioned {
				live := s.Live()
				half := live[:len(live)/2]
				d.logf("partition %v | rest", half)
				s.Partition(half)
				partitioned = true
			}
		default:
			if i := s.RandomLive(); i >= 0 {
				d.publish(i)
			}
		}
		if err := s.RunFor(time.Duration(rng.IntN(int(3 * time.Second)))); err != nil {
			return d, err
		}
	}
	d.logf("heal; loss off")
	s.Heal()
	s.net.cfg.Loss = 0
	return d, d.quiesce(time.Second)
}

func TestRandomizedChaos(t *testing.T) {
	runSeeds(t, *flagChaosSeeds, chaosRun, "TestRandomizedChaos -sim.chaosseeds=1")
}
