package sim

import "kwsearch/chordrouting"

// eventKind says what an event does when its time comes.
type eventKind uint8

const (
	evDeliver eventKind = iota + 1 // hand msg to node to
	evTick                         // tick node to (if its epoch still matches)
	evFunc                         // run fn (driver actions: joins, failures, lookups)
)

// event is what happens when an entry of the queue comes due.
type event struct {
	at    int64 // virtual nanoseconds since the epoch
	msg   *chordrouting.Message
	fn    func()
	to    int32
	from  int32
	epoch uint32
	kind  eventKind
}

// heapItem is one entry of the heap: the ordering key and the slot that
// holds the event. Keeping the heap entries small (24 bytes) and the events
// in a slab keeps sifting cheap and cache-friendly.
type heapItem struct {
	at   int64  // virtual nanoseconds since the epoch
	seq  uint64 // scheduling order: ties on at replay in this order
	slot int32
}

// eventQueue is a 4-ary min-heap of events ordered by (at, seq). Events live
// in a slab whose free slots are reused, so scheduling allocates nothing
// once the slab has grown. It is written out rather than built on
// container/heap, whose Push(any) would allocate for every event.
type eventQueue struct {
	h    []heapItem
	slab []event
	free []int32
}

func (q *eventQueue) Len() int { return len(q.h) }

func less(a, b *heapItem) bool {
	if a.at != b.at {
		return a.at < b.at
	}
	return a.seq < b.seq
}

// push adds e with sequence number seq.
func (q *eventQueue) push(e event, seq uint64) {
	var slot int32
	if n := len(q.free); n > 0 {
		slot = q.free[n-1]
		q.free = q.free[:n-1]
		q.slab[slot] = e
	} else {
		slot = int32(len(q.slab))
		q.slab = append(q.slab, e)
	}
	it := heapItem{at: e.at, seq: seq, slot: slot}
	q.h = append(q.h, it)
	i := len(q.h) - 1
	for i > 0 {
		p := (i - 1) / 4
		if !less(&it, &q.h[p]) {
			break
		}
		q.h[i] = q.h[p]
		i = p
	}
	q.h[i] = it
}

// peekAt is the time of the earliest event; the queue must not be empty.
func (q *eventQueue) peekAt() int64 { return q.h[0].at }

// pop removes and returns the earliest event; the queue must not be empty.
func (q *eventQueue) pop() event {
	top := q.h[0]
	last := len(q.h) - 1
	it := q.h[last]
	q.h = q.h[:last]
	if last > 0 {
		q.down(it)
	}
	e := q.slab[top.slot]
	q.slab[top.slot] = event{} // drop references for the garbage collector
	q.free = append(q.free, top.slot)
	return e
}

// down places it, which replaces the root, by sifting it down.
func (q *eventQueue) down(it heapItem) {
	n := len(q.h)
	i := 0
	for {
		c := 4*i + 1
		if c >= n {
			break
		}
		m := c
		for k := c + 1; k < min(c+4, n); k++ {
			if less(&q.h[k], &q.h[m]) {
				m = k
			}
		}
		if !less(&q.h[m], &it) {
			break
		}
		q.h[i] = q.h[m]
		i = m
	}
	q.h[i] = it
}

// each calls fn for every queued event, in no particular order.
func (q *eventQueue) each(fn func(e *event)) {
	for _, it := range q.h {
		fn(&q.slab[it.slot])
	}
}
