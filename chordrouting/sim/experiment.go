package sim

import (
	"errors"
	"fmt"
	"math"
	"runtime"
	"time"

	"kwsearch/chordrouting"
)

// Timing of the experiment's phases, in stabilization intervals.
const (
	// settleIntervals is the least settleTime, in stabilization intervals.
	settleIntervals = 10
	// quietIntervals is the window in which maintenance traffic is measured.
	quietIntervals = 10
	// recentJoin is how many stabilization intervals after its join a
	// node counts as a new joiner in the failed-lookup breakdown.
	recentJoin = 10
	// growthDivisor sets the join batch to 1/growthDivisor of the ring.
	growthDivisor = 8
	// ringLimitIntervals bounds the wait for a correct ring.
	ringLimitIntervals = 2000
	// lookupRate is how many lookups per virtual second start when no churn
	// paces them: fast, since a quiet ring does not change meanwhile, and
	// short virtual time keeps the cost of ticks down.
	lookupRate = 50_000
	// lookupWait bounds the wait for the last lookups' answers; a lookup
	// still unanswered then counts as hung.
	lookupWait = time.Minute
	// lookupSteps is how many steps the lookup period is run in, each
	// logged.
	lookupSteps = 10
	// pumpEvery is how often the lookup pump starts the lookups that are due.
	pumpEvery = 10 * time.Millisecond
)

// experiment is the state of one Run.
type experiment struct {
	opt     Options
	s       *Sim
	rep     Report
	stab    time.Duration
	crashes []crashRec // while lookups run, the last recentWindow (multihop.go)
	// ringLimit bounds each wait for a correct ring.
	ringLimit time.Duration

	pubOrder []int
	pubs     map[int][]Record

	churning bool
	lookups  []lookupRec
	inflight []int // indices of lookups not yet done
	hops     []int // histogram
}

// lookupRec follows one measured lookup.
type lookupRec struct {
	asker int
	start time.Duration // simulated time it started
	view  tableView     // what the asker's one-hop table said then
	done  bool
	key   chordrouting.ID
	// owners lists every node that was the key's live owner at some
	// instant while the lookup ran: any of them is a correct answer.
	owners []chordrouting.ID
}

// ownersChanged is called after every join and crash while lookups run:
// each lookup in flight whose key changed owner notes the new one.
func (e *experiment) ownersChanged() {
	keep := e.inflight[:0]
	for _, k := range e.inflight {
		l := &e.lookups[k]
		if l.done {
			continue
		}
		keep = append(keep, k)
		if o := e.s.Owner(l.key); o >= 0 {
			if id := e.s.Peer(o).ID; id != l.owners[len(l.owners)-1] {
				l.owners = append(l.owners, id)
			}
		}
	}
	e.inflight = keep
}

// Run builds a ring of opt.Nodes nodes through real joins, stores records,
// applies the failures or churn asked for, measures lookups against the
// ground truth and checks the ring and the records. The same options give
// the same report (but for the wall-clock and heap figures).
func Run(opt Options) (Report, error) {
	if err := opt.Validate(); err != nil {
		return Report{}, err
	}
	cfg := DefaultConfig()
	if opt.Config != nil {
		cfg = *opt.Config
	}
	cfg = opt.configure(cfg)
	s, err := New(cfg, opt.Seed)
	if err != nil {
		return Report{}, err
	}
	wall, cpu := time.Now(), processCPU()
	e := &experiment{opt: opt, s: s, stab: stabilizeInterval(cfg), pubs: map[int][]Record{}}
	e.ringLimit = opt.RingLimit
	if e.ringLimit == 0 {
		e.ringLimit = ringLimitIntervals * e.stab
	}
	e.rep = Report{Seed: opt.Seed, Nodes: opt.Nodes, Fail: opt.Fail, Churn: opt.Churn,
		SessionS: opt.Session.Seconds(), Build: BuildJoins, RingCorrect: true,
		OneHop: cfg.Node.OneHop, TickS: cfg.Net.Tick.Seconds()}
	s.net.SetStop(opt.Stop)
	err = e.run()
	if s.net.interrupted() {
		// Whatever phase it cut short, with ErrInterrupted or quietly (a
		// lookup left unanswered is a figure, not an error).
		return Report{}, ErrInterrupted
	}
	if err != nil {
		return e.rep, err
	}
	e.finish(wall, cpu)
	return e.rep, nil
}

func (e *experiment) logf(format string, a ...any) {
	if e.opt.Log != nil {
		e.opt.Log(fmt.Sprintf("[%8.1fs] ", e.s.net.Elapsed().Seconds()) + fmt.Sprintf(format, a...))
	}
}

func (e *experiment) run() error {
	if err := e.form(); err != nil {
		return err
	}
	e.measureMaintenance()
	if err := e.publish(); err != nil {
		return err
	}
	if e.opt.Fail > 0 {
		if err := e.failAtOnce(); err != nil {
			return err
		}
	}
	e.runLookups()
	if e.opt.Churn > 0 || e.opt.Session > 0 {
		e.repairRing("after churn")
		if err := e.s.RunFor(settleTime(e.s.cfg)); err != nil {
			return err
		}
		e.rep.RecordsMissingBeforeRepublish = e.missingOnOwner()
	}
	if err := e.republish(); err != nil {
		return err
	}
	e.countLostRecords()
	if err := e.s.CheckRing(); err != nil && e.rep.RingCorrect {
		e.rep.RingCorrect, e.rep.RingError = false, err.Error()
	}
	return nil
}

// vias picks up to three live members to join through.
func (e *experiment) vias() []int {
	n := min(3, e.s.LiveCount())
	out := make([]int, n)
	for k := range out {
		out[k] = e.s.RandomLive()
	}
	return out
}

// join starts node i's join and retries one interval later if it fails.
func (e *experiment) join(i int, then func()) {
	e.s.Join(i, e.vias(), func(err error) {
		if err != nil {
			e.s.net.After(e.stab, func() {
				if e.s.IsUp(i) && !e.s.IsLive(i) {
					e.join(i, then)
				}
			})
			return
		}
		e.ownersChanged()
		if then != nil {
			then()
		}
	})
}

// form builds the ring: one node creates it, the others join in batches,
// one batch per stabilization interval, each an eighth of the ring's
// current size. Growing faster is slower overall: when a batch lands in a
// gap before the previous one has been stabilized in, joiners attach to
// stale successors and the ring then repairs one node per round.
func (e *experiment) form() error {
	s := e.s
	if e.opt.Build == BuildFormed {
		return e.formSettled()
	}
	first, err := s.AddNode()
	if err != nil {
		return err
	}
	s.Create(first)
	added := 1
	for added < e.opt.Nodes {
		batch := min(e.opt.Nodes-added, max(1, s.LiveCount()/growthDivisor))
		for range batch {
			i, err := s.AddNode()
			if err != nil {
				return err
			}
			e.join(i, nil)
		}
		added += batch
		if err := s.RunFor(e.stab); err != nil {
			return err
		}
	}
	lastJoin := s.net.Elapsed()
	e.logf("all %d nodes started joining", added)
	if err := s.RunUntilRing(e.stab, e.ringLimit); err != nil {
		return fmt.Errorf("sim: forming the ring: %w", err)
	}
	e.rep.FormS = s.net.Elapsed().Seconds()
	// Fingers are refreshed all along; wait only for what is left of a
	// full refresh since the last join.
	warm := max(fingerWarmup(s.cfg), membershipWarmup(s.cfg, s.LiveCount())) - (s.net.Elapsed() - lastJoin)
	e.logf("ring of %d correct; letting fingers settle for %v", s.LiveCount(), max(warm, 0))
	if err := s.RunFor(max(warm, 0)); err != nil {
		return err
	}
	if s.cfg.Node.OneHop {
		e.waitTables()
		e.noteTables()
	}
	return nil
}

// noteTables reports the membership tables the measurements start from.
func (e *experiment) noteTables() {
	e.rep.TableMean, e.rep.TableComplete = e.tableStats()
	e.logf("membership tables: %.1f entries on average, %.2f%% of the live members", e.rep.TableMean, 100*e.rep.TableComplete)
}

// formSettled starts the ring settled (Sim.FormRing) and checks that it is
// correct: no joins, so no fingers or tables to wait for.
func (e *experiment) formSettled() error {
	e.rep.Build = BuildFormed
	if err := e.s.FormRing(e.opt.Nodes); err != nil {
		return err
	}
	if err := e.s.CheckRing(); err != nil {
		return fmt.Errorf("sim: the formed ring: %w", err)
	}
	e.logf("ring of %d formed settled", e.s.LiveCount())
	if e.s.cfg.Node.OneHop {
		e.noteTables()
	}
	return nil
}

// measureMaintenance runs a quiet window and records the traffic per node.
func (e *experiment) measureMaintenance() {
	before := e.s.net.Stats()
	d := quietIntervals * e.stab
	if err := e.s.RunFor(d); err != nil {
		return
	}
	e.setMaint(before, e.s.net.Stats(), d, float64(e.s.LiveCount()))
}

// publish stores the records, each from a random live publisher, one Put
// per publisher.
func (e *experiment) publish() error {
	n := e.opt.Records
	if n == 0 {
		n = e.opt.Nodes
	}
	for k := range n {
		p := e.s.RandomLive()
		if _, ok := e.pubs[p]; !ok {
			e.pubOrder = append(e.pubOrder, p)
		}
		e.pubs[p] = append(e.pubs[p], NewRecord(p, k))
	}
	e.rep.Records = n
	return e.putAll("publish")
}

// putAll has every live publisher put its records and waits for the
// answers and the replica pushes.
func (e *experiment) putAll(what string) error {
	pending := 0
	for _, p := range e.pubOrder {
		if !e.s.IsLive(p) {
			continue
		}
		recs := e.pubs[p]
		pending++
		e.s.Publish(p, recs, func(res chordrouting.PutResult) {
			pending--
			if res.Err != nil || res.Stored < len(recs) {
				e.rep.PutErrors++
			}
		})
	}
	if err := e.s.RunUntil(func() bool { return pending == 0 }, e.ringLimit); err != nil {
		return fmt.Errorf("sim: %s: %d puts unanswered: %w", what, pending, err)
	}
	e.logf("%s done (%d put errors so far)", what, e.rep.PutErrors)
	// The owners push to their replicas as soon as they store: a few round
	// trips.
	return e.s.RunFor(settleIntervals * e.stab)
}

// failAtOnce crashes the fraction opt.Fail of the nodes at the same instant
// and waits for the ring to repair.
func (e *experiment) failAtOnce() error {
	live := e.s.Live()
	k := int(math.Round(e.opt.Fail * float64(len(live))))
	perm := e.s.rng.Perm(len(live))
	for _, j := range perm[:k] {
		e.s.Fail(live[j])
	}
	e.rep.FailedNodes += k
	e.logf("%d nodes failed at once", k)
	t0 := e.s.net.Elapsed()
	e.repairRing("after the mass failure")
	e.rep.RepairS = (e.s.net.Elapsed() - t0).Seconds()
	if err := e.s.RunFor(settleTime(e.s.cfg)); err != nil {
		return err
	}
	e.rep.RecordsMissingBeforeRepublish = e.missingOnOwner()
	return nil
}

// repairRing waits for a correct ring; if it never comes, the report says
// so and the run goes on.
func (e *experiment) repairRing(what string) {
	if err := e.s.RunUntilRing(e.stab, e.ringLimit); err != nil {
		e.rep.RingCorrect, e.rep.RingError = false, err.Error()
		e.logf("ring not repaired %s: %v", what, err)
		return
	}
	e.logf("ring correct %s", what)
}

// missingOnOwner counts records with a live publisher not held by their
// owner.
func (e *experiment) missingOnOwner() int {
	missing := 0
	for _, p := range e.pubOrder {
		if !e.s.IsLive(p) {
			continue
		}
		for _, r := range e.pubs[p] {
			if o := e.s.Owner(r.Key); o < 0 || !e.s.holds(o, r.Key, r.Value) {
				missing++
			}
		}
	}
	return missing
}

// republish has every live publisher put its records once more.
func (e *experiment) republish() error { return e.putAll("republish") }

// countLostRecords looks every record of a live publisher up with Get from
// a random live node.
func (e *experiment) countLostRecords() {
	pending, lost := 0, 0
	for _, p := range e.pubOrder {
		if !e.s.IsLive(p) {
			continue
		}
		for _, r := range e.pubs[p] {
			r := r
			from := e.s.RandomLive()
			pending++
			e.s.Node(from).Get(r.Key, r.Value, 0, func(res chordrouting.GetResult) {
				pending--
				if !containsValue(res.Values, r.Value) {
					lost++
				}
			})
		}
	}
	err := e.s.RunUntil(func() bool { return pending == 0 }, e.ringLimit)
	if errors.Is(err, ErrLimit) {
		lost += pending // unanswered gets found nothing
	}
	e.rep.RecordsLost = lost
	e.logf("records: %d lost", lost)
}

func containsValue(vs [][]byte, v []byte) bool {
	for _, x := range vs {
		if string(x) == string(v) {
			return true
		}
	}
	return false
}

// churnPeriod is how long churn runs while the lookups do: opt.ChurnIntervals
// stabilization intervals, 100 by default.
func (e *experiment) churnPeriod() time.Duration {
	n := e.opt.ChurnIntervals
	if n == 0 {
		n = 100
	}
	return time.Duration(n) * e.stab
}

// runLookups starts opt.Lookups lookups from random live members for
// random keys, spread evenly over the churn period (or, without churn, at
// lookupRate per second), with churn running meanwhile if asked.
func (e *experiment) runLookups() {
	d := time.Duration(float64(time.Second) * float64(e.opt.Lookups) / lookupRate)
	churn := e.opt.Churn > 0 || e.opt.Session > 0
	if churn {
		d = e.churnPeriod()
		e.startChurn()
		if e.opt.Session > 0 {
			e.measureChurnMaintenance(d)
		}
	}
	d = max(d, pumpEvery)
	e.lookups = make([]lookupRec, 0, e.opt.Lookups)
	start := e.s.net.Elapsed()
	var pump func()
	pump = func() {
		frac := float64(e.s.net.Elapsed()-start) / float64(d)
		due := min(e.opt.Lookups, int(math.Ceil(frac*float64(e.opt.Lookups))))
		for len(e.lookups) < due {
			e.lookup()
		}
		if len(e.lookups) < e.opt.Lookups {
			e.s.net.After(pumpEvery, pump)
		}
	}
	pump()
	for range lookupSteps {
		// In steps, to show progress (a 100,000-node run takes an hour).
		if e.s.RunFor(d/lookupSteps) != nil {
			break
		}
		e.logf("lookups %d/%d started", len(e.lookups), e.opt.Lookups)
	}
	_ = e.s.RunFor(d % lookupSteps)
	e.churning = false
	e.logf("%d lookups started; waiting for the last answers", len(e.lookups))
	_ = e.s.RunUntil(e.lookupsDone, lookupWait)
	e.tallyLookups()
}

// lookup starts one measured lookup.
func (e *experiment) lookup() {
	s := e.s
	asker := s.RandomLive()
	if asker < 0 {
		return
	}
	key := s.randomID()
	n := len(e.lookups)
	e.lookups = append(e.lookups, lookupRec{asker: asker, start: s.net.Elapsed(), key: key,
		owners: []chordrouting.ID{s.Peer(s.Owner(key)).ID}, view: e.viewOf(asker, key)})
	e.inflight = append(e.inflight, n)
	s.Node(asker).Lookup(key, func(res chordrouting.LookupResult) {
		e.lookups[n].done = true
		e.rep.Lookups++
		switch {
		case res.Err != nil:
			e.rep.LookupErrors++
			if e.rep.LookupErrorKinds == nil {
				e.rep.LookupErrorKinds = map[string]int{}
			}
			e.rep.LookupErrorKinds[res.Err.Error()]++
			return
		case len(res.Successors) == 0:
			e.rep.WrongOwner++
			return
		}
		got := res.Successors[0].ID
		if o := s.Owner(key); !containsOwner(e.lookups[n].owners, got) && (o < 0 || got != s.Peer(o).ID) {
			e.rep.WrongOwner++
			e.classifyWrong(got, o)
			return
		}
		for len(e.hops) <= res.Hops {
			e.hops = append(e.hops, 0)
		}
		e.hops[res.Hops]++
		if res.Hops > 1 && e.opt.OneHop {
			if e.rep.MultiHopCauses == nil {
				e.rep.MultiHopCauses = map[string]int{}
			}
			e.rep.MultiHopCauses[e.multiHopCause(e.lookups[n])]++
		}
	})
}

func containsOwner(ids []chordrouting.ID, id chordrouting.ID) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}

// classifyWrong sorts a wrong answer: a node that is no longer live, or the
// member just after an owner that joined only recently (not yet stabilized
// into its predecessor's list), or anything else.
func (e *experiment) classifyWrong(got chordrouting.ID, owner int) {
	s := e.s
	switch {
	case !s.live.contains(got):
		e.rep.WrongOwnerDead++
	case owner >= 0 && s.net.Elapsed()-s.MemberSince(owner) < recentJoin*e.stab &&
		s.live.m[s.live.next(s.live.search(s.Peer(owner).ID))].id == got:
		e.rep.WrongOwnerNewJoiner++
	}
}

func (e *experiment) lookupsDone() bool {
	for k := range e.lookups {
		if !e.lookups[k].done && e.s.IsUp(e.lookups[k].asker) {
			return false
		}
	}
	return true
}

// tallyLookups sorts the unfinished lookups into hung and abandoned and
// computes the hop statistics of the successful ones.
func (e *experiment) tallyLookups() {
	for _, l := range e.lookups {
		if l.done {
			continue
		}
		if e.s.IsUp(l.asker) {
			e.rep.HungLookups++
			e.rep.Lookups++
		} else {
			e.rep.Abandoned++
		}
	}
	e.rep.FailedLookups = e.rep.LookupErrors + e.rep.WrongOwner + e.rep.HungLookups
	if e.rep.Lookups > 0 {
		e.rep.FailedFrac = float64(e.rep.FailedLookups) / float64(e.rep.Lookups)
	}
	e.rep.MeanHops, e.rep.P50Hops, e.rep.P99Hops, e.rep.MaxHops = hopStats(e.hops)
	e.rep.OneHopFraction = oneHopFraction(e.hops)
	e.logf("lookups: %d measured, %d failed, mean hops %.2f", e.rep.Lookups, e.rep.FailedLookups, e.rep.MeanHops)
}

// hopStats returns the mean, median, 99th percentile and maximum of a
// histogram (hist[h] = number of lookups with h hops).
func hopStats(hist []int) (mean float64, p50, p99, maxH int) {
	total, sum := 0, 0
	for h, c := range hist {
		total += c
		sum += h * c
		if c > 0 {
			maxH = h
		}
	}
	if total == 0 {
		return 0, 0, 0, 0
	}
	pct := func(p float64) int {
		need := int(math.Ceil(p * float64(total)))
		acc := 0
		for h, c := range hist {
			acc += c
			if acc >= need {
				return h
			}
		}
		return maxH
	}
	return float64(sum) / float64(total), pct(0.5), pct(0.99), maxH
}

// startChurn starts the churn processes: Poisson joins and crashes at
// opt.Churn per stabilization interval each, or session-driven churn.
func (e *experiment) startChurn() {
	e.churning = true
	if e.opt.Session > 0 {
		for _, i := range e.s.Live() {
			e.scheduleSessionEndIn(i, e.residualSession(e.opt.Session))
		}
		return
	}
	mean := time.Duration(float64(e.stab) / e.opt.Churn)
	var joinNext, failNext func()
	joinNext = func() {
		if !e.churning {
			return
		}
		e.churnJoin(nil)
		e.s.net.After(e.expDelay(mean), joinNext)
	}
	failNext = func() {
		if !e.churning {
			return
		}
		e.churnFail()
		e.s.net.After(e.expDelay(mean), failNext)
	}
	e.s.net.After(e.expDelay(mean), joinNext)
	e.s.net.After(e.expDelay(mean), failNext)
}

func (e *experiment) expDelay(mean time.Duration) time.Duration {
	return time.Duration(e.s.rng.ExpFloat64() * float64(mean))
}

// churnJoin adds a node and joins it; then (may be nil) runs with its index
// once it is a member.
func (e *experiment) churnJoin(then func(i int)) {
	i, err := e.s.AddNode()
	if err != nil || e.s.LiveCount() == 0 {
		return
	}
	e.rep.JoinedNodes++
	e.join(i, func() {
		if then != nil {
			then(i)
		}
	})
}

// churnFail crashes a random live member, keeping at least one alive.
func (e *experiment) churnFail() {
	if e.s.LiveCount() <= 1 {
		return
	}
	e.crash(e.s.RandomLive())
}

// crash fails live member i while churn runs, counting it and noting the
// lookups in flight whose key changed owner.
func (e *experiment) crash(i int) {
	e.noteCrash(i)
	e.s.Fail(i)
	e.rep.FailedNodes++
	e.ownersChanged()
}

// scheduleSessionEnd draws node i's remaining session and, when it ends,
// crashes the node and joins a fresh one with its own session.
func (e *experiment) scheduleSessionEnd(i int) {
	e.scheduleSessionEndIn(i, e.weibull(e.opt.Session))
}

// scheduleSessionEndIn crashes node i after d and joins a fresh node with
// its own session.
func (e *experiment) scheduleSessionEndIn(i int, d time.Duration) {
	e.s.net.After(d, func() {
		if !e.churning || !e.s.IsLive(i) || e.s.LiveCount() <= 1 {
			return
		}
		e.crash(i)
		e.churnJoin(e.scheduleSessionEnd)
	})
}

// weibull draws a session length with the given mean and shape
// SessionShape: scale = mean / Γ(1 + 1/shape).
func (e *experiment) weibull(mean time.Duration) time.Duration {
	scale := float64(mean) / math.Gamma(1+1/SessionShape)
	u := 1 - e.s.rng.Float64() // (0, 1]
	return time.Duration(scale * math.Pow(-math.Log(u), 1/SessionShape))
}

// finish fills in the totals.
func (e *experiment) finish(wall time.Time, cpu time.Duration) {
	st := e.s.net.Stats()
	e.rep.LiveNodes = e.s.LiveCount()
	e.rep.Messages = st.Sent
	e.rep.Events = st.Steps
	e.rep.SimS = e.s.net.Elapsed().Seconds()
	e.rep.ElapsedS = time.Since(wall).Seconds()
	e.rep.CPUS = (processCPU() - cpu).Seconds()
	e.rep.TraceHash = fmt.Sprintf("%016x", e.s.net.TraceHash())
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	e.rep.HeapMiB = float64(ms.HeapAlloc) / (1 << 20)
}

// oneHopFraction is the share of a hop histogram at zero or one hop.
func oneHopFraction(hist []int) float64 {
	total, one := 0, 0
	for h, c := range hist {
		total += c
		if h <= 1 {
			one += c
		}
	}
	if total == 0 {
		return 0
	}
	return float64(one) / float64(total)
}
