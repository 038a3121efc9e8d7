package sim

import (
	"testing"
	"time"

	"kwsearch/chordrouting"
)

// oneHopRing builds a ring of n nodes by joins (a few per stabilization
// interval) and lets the membership tables settle.
func oneHopRing(t *testing.T, n int, seed int64) *Sim {
	t.Helper()
	t.Logf("seed %d", seed)
	cfg := DefaultConfig()
	cfg.Node.OneHop = true
	s, err := New(cfg, seed)
	if err != nil {
		t.Fatal(err)
	}
	for k := 0; k < n; k++ {
		i, err := s.AddNode()
		if err != nil {
			t.Fatal(err)
		}
		if k == 0 {
			s.Create(i)
		} else {
			s.Join(i, []int{0}, nil)
		}
		if k%4 == 3 {
			if err := s.RunFor(stabilizeInterval(s.cfg)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := s.RunUntilRing(time.Second, 5*time.Minute); err != nil {
		t.Fatalf("seed %d: forming the ring: %v", seed, err)
	}
	if err := s.RunFor(2 * time.Minute); err != nil {
		t.Fatal(err)
	}
	sum := 0
	for _, i := range s.Live() {
		sum += s.Node(i).MembershipSize()
	}
	t.Logf("mean table size %.1f of %d members", float64(sum)/float64(s.LiveCount()), s.LiveCount())
	return s
}

// lookupAll runs `count` lookups of random keys from random live nodes and
// returns how many returned the wrong owner (or an error) and how many
// finished in at most one hop.
func lookupAll(t *testing.T, s *Sim, count int) (wrong, oneHop int) {
	t.Helper()
	pending := 0
	for k := 0; k < count; k++ {
		var key chordrouting.ID
		for b := range key {
			key[b] = byte(s.Rand().Uint64())
		}
		owner := s.Peer(s.Owner(key)).ID
		pending++
		s.Node(s.RandomLive()).Lookup(key, func(r chordrouting.LookupResult) {
			pending--
			if r.Err != nil || len(r.Successors) == 0 || r.Successors[0].ID != owner {
				wrong++
				return
			}
			if r.Hops <= 1 {
				oneHop++
			}
		})
	}
	if err := s.RunUntil(func() bool { return pending == 0 }, time.Minute); err != nil {
		t.Fatalf("seed %d: %d lookups unfinished: %v", s.Seed(), pending, err)
	}
	return wrong, oneHop
}

func TestOneHopSettledRing(t *testing.T) {
	s := oneHopRing(t, 300, 11)
	const count = 2000
	wrong, one := lookupAll(t, s, count)
	t.Logf("settled ring of 300: %d wrong, %d/%d in one hop", wrong, one, count)
	if wrong != 0 {
		t.Fatalf("seed %d: %d lookups returned a wrong owner", s.Seed(), wrong)
	}
	if one*100 < count*99 {
		t.Fatalf("seed %d: only %d/%d lookups in one hop, want >= 99%%", s.Seed(), one, count)
	}
}

// TestOneHopStaleTables fails a tenth of the ring and looks up as soon as
// the ring is repaired, before the departures have been disseminated: the
// tables still name dead nodes, and every owner must still be right.
func TestOneHopStaleTables(t *testing.T) {
	s := oneHopRing(t, 200, 12)
	live := s.Live()
	for k, i := range live {
		if k%10 == 0 {
			s.Fail(i)
		}
	}
	if err := s.RunUntilRing(100*time.Millisecond, time.Minute); err != nil {
		t.Fatalf("seed %d: repairing: %v", s.Seed(), err)
	}
	stale := 0
	for _, i := range s.Live() {
		stale += s.Node(i).MembershipSize() - (s.LiveCount() - 1)
	}
	t.Logf("dead entries left in the tables: %d", stale)
	if stale <= 0 {
		t.Fatalf("seed %d: the tables are already fresh; the test checks nothing", s.Seed())
	}
	const count = 1000
	wrong, one := lookupAll(t, s, count)
	t.Logf("stale tables: %d wrong, %d/%d in one hop", wrong, one, count)
	if wrong != 0 {
		t.Fatalf("seed %d: %d lookups returned a wrong owner with stale tables", s.Seed(), wrong)
	}
}

// TestFailedNodesReleaseTables: a crashed node's table is gone with its
// process, so once the live tables have dropped the dead, the shared
// Directory holds the live members and nothing else (a stopped table
// would keep every member it knew).
func TestFailedNodesReleaseTables(t *testing.T) {
	s := oneHopRing(t, 100, 13)
	var failed []int
	for k, i := range s.Live() {
		if k%10 == 0 {
			s.Fail(i)
			failed = append(failed, i)
		}
	}
	for _, i := range failed {
		if size := s.Node(i).MembershipSize(); size != 0 {
			t.Fatalf("seed %d: crashed node %d still holds %d members", s.Seed(), i, size)
		}
	}
	dir := s.cfg.Node.Directory
	if err := s.RunUntil(func() bool { return dir.Len() == s.LiveCount() }, 10*time.Minute); err != nil {
		t.Fatalf("seed %d: the Directory holds %d peers for %d live members: %v", s.Seed(), dir.Len(), s.LiveCount(), err)
	}
}
