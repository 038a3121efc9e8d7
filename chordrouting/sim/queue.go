package sim

import "kwsearch/chordrouting"

// eventKind says what an event does when its time comes.
type eventKind uint8

const (
	evDeliver eventKind = iota + 1 // hand msg to node to
	evTick                         // tick node to (if its epoch still matches)
	evFunc                         // run fn (driver actions: joins, failures, lookups)
)

// event is one entry of the queue. Events are stored by value in the heap's
// slice, so scheduling one allocates nothing once the slice has grown.
type event struct {
	at    int64  // virtual nanoseconds since the epoch
	seq   uint64 // scheduling order: ties on at replay in this order
	msg   *chordrouting.Message
	fn    func()
	to    int32
	from  int32
	epoch uint32
	kind  eventKind
}

// eventQueue is a binary min-heap of events ordered by (at, seq). It is
// written out rather than built on container/heap because container/heap's
// Push(any) would box every event into a fresh allocation.
type eventQueue struct {
	items []event
}

func (q *eventQueue) Len() int { return len(q.items) }

func (q *eventQueue) less(i, j int) bool {
	a, b := &q.items[i], &q.items[j]
	if a.at != b.at {
		return a.at < b.at
	}
	return a.seq < b.seq
}

// push adds e.
func (q *eventQueue) push(e event) {
	q.items = append(q.items, e)
	i := len(q.items) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !q.less(i, p) {
			break
		}
		q.items[i], q.items[p] = q.items[p], q.items[i]
		i = p
	}
}

// peek returns the earliest event; the queue must not be empty.
func (q *eventQueue) peek() *event { return &q.items[0] }

// pop removes and returns the earliest event; the queue must not be empty.
func (q *eventQueue) pop() event {
	top := q.items[0]
	last := len(q.items) - 1
	q.items[0] = q.items[last]
	q.items[last] = event{} // drop references for the garbage collector
	q.items = q.items[:last]
	q.down(0)
	return top
}

func (q *eventQueue) down(i int) {
	n := len(q.items)
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		m := l
		if r := l + 1; r < n && q.less(r, l) {
			m = r
		}
		if !q.less(m, i) {
			return
		}
		q.items[i], q.items[m] = q.items[m], q.items[i]
		i = m
	}
}
