package sim

import (
	"flag"
	"fmt"
	"strings"
	"testing"
	"time"

	"kwsearch/chordrouting"
)

// Flags to widen or replay the randomized simulation:
//
//	go test ./chordrouting/sim -run TestRandomizedRing -sim.seeds=5000
//	go test ./chordrouting/sim -run TestRandomizedRing -sim.seed=1234 -sim.seeds=1 -v
var (
	flagSeeds = flag.Int("sim.seeds", 200, "number of seeds TestRandomizedRing runs")
	flagSeed  = flag.Int64("sim.seed", 1, "first seed of TestRandomizedRing")
)

// smallConfig is the default configuration with short successor lists, so
// that few failures stress the ring.
func smallConfig(r, replicas int) Config {
	cfg := DefaultConfig()
	cfg.Node.SuccessorListLen = r
	cfg.Node.Replicas = replicas
	return cfg
}

// driver performs random operations on a Sim.
type driver struct {
	s    *Sim
	r    int
	stab time.Duration
	pubs map[int][]Record
	seq  int
	log  []string
	// boot lists bootstrap nodes: every join also goes through them.
	boot []int
	// onStep, when set by a debugging hook, runs after every event of the
	// checked phase.
	onStep func()
}

func (d *driver) logf(format string, a ...any) {
	d.log = append(d.log, fmt.Sprintf("[%v step %d] ", d.s.net.Elapsed(), d.s.net.Steps())+fmt.Sprintf(format, a...))
}

// join adds a node and joins it through a random live member, retrying one
// stabilization interval later if the join fails.
func (d *driver) join() int {
	i, err := d.s.AddNode()
	if err != nil {
		panic(err)
	}
	d.logf("node %d joins", i)
	d.joinNode(i)
	return i
}

func (d *driver) joinNode(i int) {
	via := append([]int{d.s.RandomLive()}, d.boot...)
	d.s.Join(i, via, func(err error) {
		if err == nil {
			return
		}
		d.logf("node %d: join failed: %v; retrying", i, err)
		d.s.net.After(d.stab, func() {
			if d.s.IsUp(i) && !d.s.IsLive(i) && d.s.LiveCount() > 0 {
				d.joinNode(i)
			}
		})
	})
}

func (d *driver) isBoot(i int) bool {
	for _, b := range d.boot {
		if b == i {
			return true
		}
	}
	return false
}

// safeToRemove reports whether node i may crash or leave without breaking
// RING.md's failure assumptions: afterwards at least r+1 members remain and
// the invariant still holds (every member keeps a live successor, enough
// principals remain).
//
// Zave's model makes a stabilize query and the update it causes one atomic
// step, and a join too; on a network with delays the answer is in flight
// for a while, and the asker adopts the answerer's list as it was when it
// answered. So the assumption is stretched over that window: each in-flight
// state answer or leave notice to a member, and each final lookup answer to
// a joiner, stands for a list that node may adopt (a joiner as a new
// member), and the invariant must also hold with that list in place.
func (d *driver) safeToRemove(i int) bool {
	if d.s.LiveCount()-1 < d.r+1 {
		return false
	}
	gone := d.s.Peer(i).ID
	states := d.s.upStates()
	rest := make([]chordrouting.NodeState, 0, len(states))
	pos := map[chordrouting.ID]int{}
	for _, st := range states {
		if st.Self.ID != gone {
			pos[st.Self.ID] = len(rest)
			rest = append(rest, st)
		}
	}
	if checkInvariant(rest, d.r) != nil {
		return false
	}
	safe := true
	d.s.net.InFlight(func(from, to int, m *chordrouting.Message) {
		k, ok := pos[d.s.Peer(to).ID]
		if !safe || !ok {
			return
		}
		var list []chordrouting.Peer
		switch {
		case m.Type == chordrouting.MsgState:
			list = append([]chordrouting.Peer{m.From}, m.Peers...)
		case m.Type == chordrouting.MsgFindSuccessorReply && m.Done && !rest[k].Member:
			list = m.Peers // a joiner's answer: the owner and its successors
		case m.Type == chordrouting.MsgLeave && rest[k].Member:
			for _, p := range rest[k].Successors {
				if p.ID != m.From.ID {
					list = append(list, p)
				}
			}
			list = append(list, m.Peers...)
		default:
			return
		}
		old, member := rest[k].Successors, rest[k].Member
		rest[k].Successors, rest[k].Member = adoptable(rest[k].Self, list, d.r), true
		if checkInvariant(rest, d.r) != nil {
			safe = false
		}
		rest[k].Successors, rest[k].Member = old, member
	})
	return safe
}

// adoptable cuts a candidate successor list the way a node adopts one:
// without itself or repeats, at most r entries.
func adoptable(self chordrouting.Peer, list []chordrouting.Peer, r int) []chordrouting.Peer {
	var out []chordrouting.Peer
	for _, p := range list {
		if len(out) == r {
			break
		}
		if p.ID == self.ID || containsID(out, p.ID) {
			continue
		}
		out = append(out, p)
	}
	return out
}

func containsID(ps []chordrouting.Peer, id chordrouting.ID) bool {
	for _, p := range ps {
		if p.ID == id {
			return true
		}
	}
	return false
}

func (d *driver) publish(from int) {
	recs := []Record{NewRecord(from, d.seq)}
	d.seq++
	d.pubs[from] = append(d.pubs[from], recs...)
	d.s.Publish(from, recs, nil)
}

// republish has every live publisher put its records again and waits.
func (d *driver) republish() error {
	pending := 0
	for p := 0; p < d.s.Len(); p++ {
		if recs := d.pubs[p]; len(recs) > 0 && d.s.IsLive(p) {
			pending++
			d.s.Publish(p, recs, func(res chordrouting.PutResult) { pending-- })
		}
	}
	if err := d.s.RunUntil(func() bool { return pending == 0 }, time.Minute); err != nil {
		return fmt.Errorf("republish: %d puts unanswered: %w", pending, err)
	}
	return d.s.RunFor(settleTime(d.s.cfg))
}

// checkLookups looks up random keys from every live member and compares
// with the ground truth.
func (d *driver) checkLookups() error {
	var bad []string
	pending := 0
	for _, i := range d.s.Live() {
		key := d.s.randomID()
		want := d.s.Peer(d.s.Owner(key))
		pending++
		d.s.Node(i).Lookup(key, func(res chordrouting.LookupResult) {
			pending--
			switch {
			case res.Err != nil:
				bad = append(bad, fmt.Sprintf("lookup from %d: %v", i, res.Err))
			case len(res.Successors) == 0 || res.Successors[0].ID != want.ID:
				bad = append(bad, fmt.Sprintf("lookup from %d for %x: got %s, want %s", i, key[:4], shortList(res.Successors), short(want)))
			}
		})
	}
	if err := d.s.RunUntil(func() bool { return pending == 0 }, time.Minute); err != nil {
		return fmt.Errorf("lookups: %d unanswered: %w", pending, err)
	}
	if len(bad) > 0 {
		return fmt.Errorf("%d of %d lookups wrong; first: %s", len(bad), d.s.LiveCount(), bad[0])
	}
	return nil
}

// randomRun is one seed of the randomized simulation.
func randomRun(seed int64) (d *driver, err error) { return randomRunHook(seed, nil) }

// randomRunHook is randomRun with a hook run on the new driver (tracing).
func randomRunHook(seed int64, hook func(*driver)) (d *driver, err error) {
	rng := NewRand(seed ^ 0x5eed) // the scenario's own choices
	r := 2 + rng.IntN(2)
	cfg := smallConfig(r, 2+rng.IntN(2))
	s, err := New(cfg, seed)
	if err != nil {
		return nil, err
	}
	d = &driver{s: s, r: r, stab: stabilizeInterval(cfg), pubs: map[int][]Record{}}
	if hook != nil {
		hook(d)
	}
	first, err := s.AddNode()
	if err != nil {
		return d, err
	}
	s.Create(first)
	// Grow to r+2..r+9 members, a few joins at a time.
	target := r + 2 + rng.IntN(8)
	for s.Len() < target {
		for range min(target-s.Len(), 1+rng.IntN(3)) {
			d.join()
		}
		if err := s.RunFor(time.Duration(rng.IntN(3)) * d.stab); err != nil {
			return d, err
		}
	}
	if err := s.RunUntilRing(d.stab, 10*time.Minute); err != nil {
		return d, fmt.Errorf("growing to %d: %w", target, err)
	}
	// RING.md's guarantee holds from r+1 members on: a join that failed
	// while the ring formed retries, so wait for it (seed 17809: two joins
	// failed, the checked phase began with r members, and the next joiner,
	// not a principal until linked in, broke the r+1-principal count).
	if err := s.RunUntil(func() bool { return s.LiveCount() >= r+1 }, 10*time.Minute); err != nil {
		return d, fmt.Errorf("waiting for r+1 = %d members: %w", r+1, err)
	}
	if err := s.RunUntilRing(d.stab, 10*time.Minute); err != nil {
		return d, fmt.Errorf("growing to %d: %w", target, err)
	}
	for range 3 {
		d.publish(s.RandomLive())
	}
	// Random operations, the invariant checked after every event.
	s.CheckEveryStep(true)
	if d.onStep != nil {
		s.net.SetCheck(func() error { d.onStep(); return s.CheckInvariant() })
	}
	for range 25 {
		switch op := rng.IntN(10); {
		case op < 4:
			d.join()
		case op < 6:
			if i := s.RandomLive(); d.safeToRemove(i) {
				d.logf("node %d leaves", i)
				s.Leave(i)
			}
		case op < 9:
			if i := s.RandomLive(); d.safeToRemove(i) {
				d.logf("node %d fails", i)
				s.Fail(i)
			}
		default:
			d.publish(s.RandomLive())
		}
		if err := s.RunFor(time.Duration(rng.IntN(2*int(d.stab)) + 1)); err != nil {
			return d, err
		}
	}
	s.CheckEveryStep(false)
	return d, d.quiesce(d.stab)
}

// quiesce runs until the ring is correct (checked every every), has the
// live publishers republish once, and checks records and lookups: the
// end of every randomized run.
func (d *driver) quiesce(every time.Duration) error {
	if err := d.s.RunUntilRing(every, 10*time.Minute); err != nil {
		return err
	}
	if err := d.republish(); err != nil {
		return err
	}
	if err := d.s.CheckRecords(); err != nil {
		return err
	}
	return d.checkLookups()
}

func TestRandomizedRing(t *testing.T) {
	runSeeds(t, *flagSeeds, randomRun, "TestRandomizedRing -sim.seeds=1")
}

// runSeeds runs run for n seeds from -sim.seed on, in parallel; a failure
// logs the driver's log and the final states, and how to replay it
// (replay: the test name and flags that run that one seed).
func runSeeds(t *testing.T, n int, run func(seed int64) (*driver, error), replay string) {
	for k := 0; k < n; k++ {
		seed := *flagSeed + int64(k)
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			t.Parallel()
			d, err := run(seed)
			if err != nil {
				if d != nil {
					for _, l := range d.log {
						t.Log(l)
					}
					var sb strings.Builder
					d.s.DumpStates(&sb)
					t.Logf("states at the end:\n%s", sb.String())
				}
				name, flags, _ := strings.Cut(replay, " ")
				t.Fatalf("seed %d: %v\nreplay: go test ./chordrouting/sim -run %s -sim.seed=%d %s -v", seed, err, name, seed, flags)
			}
		})
	}
}

// Seeds that once broke the run, kept as regressions: 17809 (the checked
// phase began with r members), 20878 and 38795 (a joiner took as its
// successor a node not yet linked in, skipping a member).
func TestRandomizedRingRegressions(t *testing.T) {
	for _, seed := range []int64{17809, 20878, 38795} {
		t.Logf("seed %d", seed)
		if _, err := randomRun(seed); err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
	}
}

// The randomized runs replay exactly: same seed, same trace (this catches
// map-order or wall-clock dependence anywhere in the core or the driver).
func TestRandomizedRingReplays(t *testing.T) {
	for seed := int64(1); seed <= 10; seed++ {
		d1, err1 := randomRun(seed)
		d2, err2 := randomRun(seed)
		if d1 == nil || d2 == nil {
			t.Fatalf("seed %d: %v / %v", seed, err1, err2)
		}
		h1, h2 := d1.s.net.TraceHash(), d2.s.net.TraceHash()
		if h1 != h2 || fmt.Sprint(err1) != fmt.Sprint(err2) {
			t.Fatalf("seed %d does not replay: trace %x vs %x, errors %v / %v", seed, h1, h2, err1, err2)
		}
	}
}
