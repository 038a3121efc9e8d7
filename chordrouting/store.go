package chordrouting

import (
	"errors"
	"fmt"
	"time"
)

// This file holds the values a node keeps: validation, versions,
// removals, caps and expiry. Every change to the Storage goes through it
// so that the per-publisher counts stay right.

// opaqueValidator is used when Config.Validator is nil: any value up to
// the size cap, its bytes as identity, never expiring.
type opaqueValidator struct{ max int }

func (v opaqueValidator) Validate(_ ID, value []byte, _ time.Time) (ValueInfo, error) {
	if len(value) == 0 || len(value) > v.max {
		return ValueInfo{}, fmt.Errorf("chordrouting: value of %d bytes, want 1..%d", len(value), v.max)
	}
	return ValueInfo{Identity: string(value)}, nil
}

func (opaqueValidator) Match(_ ID, _, _ []byte) bool { return true }

// loadStorage counts what a persistent Storage already holds.
func (n *Node) loadStorage() error {
	keys, err := n.st.Keys()
	if err != nil {
		return err
	}
	for _, k := range keys {
		vs, err := n.st.Values(k)
		if err != nil {
			return err
		}
		for _, v := range vs {
			n.countPublisher(v.Publisher, +1)
			n.noteExpiry(v.Expiry)
		}
	}
	return nil
}

func (n *Node) countPublisher(pub string, d int) {
	if n.pubCount == nil {
		n.pubCount = make(map[string]int)
	}
	c := n.pubCount[pub] + d
	if c <= 0 {
		delete(n.pubCount, pub)
		return
	}
	n.pubCount[pub] = c
}

func (n *Node) noteExpiry(t time.Time) {
	if !t.IsZero() && (n.nextExpiry.IsZero() || t.Before(n.nextExpiry)) {
		n.nextExpiry = t
	}
}

// errStale says a value lost to a newer version of its identity.
var errStale = errors.New("chordrouting: a newer version is held")

// accept validates one value and stores it. It returns the stored value
// (nil error) or why it was refused; errStale means a newer version is
// already held, which is not a failure of the sender.
func (n *Node) accept(key ID, data []byte) (StoredValue, error) {
	info, err := n.checkValue(key, data, n.clock.Now())
	if err != nil {
		return StoredValue{}, err
	}
	v := StoredValue{ValueInfo: info, Data: append([]byte(nil), data...)}
	return v, n.store(key, v)
}

// checkValue checks one value under key from the network as of now: its
// size, the Validator's verdict, and that it has not expired. Every value
// is checked so before it is stored, passed on by a forward or taken from
// a forward's answer.
func (n *Node) checkValue(key ID, data []byte, now time.Time) (ValueInfo, error) {
	if len(data) == 0 || len(data) > n.cfg.MaxValueSize {
		return ValueInfo{}, fmt.Errorf("chordrouting: value of %d bytes, want 1..%d", len(data), n.cfg.MaxValueSize)
	}
	info, err := n.val.Validate(key, data, now)
	if err != nil {
		return ValueInfo{}, fmt.Errorf("chordrouting: validate: %w", err)
	}
	if !info.Expiry.IsZero() && !now.Before(info.Expiry) {
		return ValueInfo{}, errors.New("chordrouting: value already expired")
	}
	return info, nil
}

// store merges v under key: same identity and lower version is replaced,
// a higher one is kept; a new identity may evict the oldest value.
func (n *Node) store(key ID, v StoredValue) error {
	vs, err := n.st.Values(key)
	if err != nil {
		return fmt.Errorf("chordrouting: read store: %w", err)
	}
	for _, old := range vs {
		if old.Identity != v.Identity {
			continue
		}
		if old.Version > v.Version || (old.Version == v.Version && old.Removal && !v.Removal) {
			return errStale
		}
		if err := n.st.Put(key, v); err != nil {
			return fmt.Errorf("chordrouting: write store: %w", err)
		}
		n.countPublisher(old.Publisher, -1)
		n.countPublisher(v.Publisher, +1)
		n.noteExpiry(v.Expiry)
		return nil
	}
	if n.pubCount[v.Publisher] >= n.cfg.MaxValuesPerPublisher {
		return fmt.Errorf("chordrouting: publisher %q holds %d values here, the cap", v.Publisher, n.cfg.MaxValuesPerPublisher)
	}
	if len(vs) >= n.cfg.MaxValuesPerKey {
		if err := n.evictOldest(key, vs); err != nil {
			return err
		}
	}
	if err := n.st.Put(key, v); err != nil {
		return fmt.Errorf("chordrouting: write store: %w", err)
	}
	n.countPublisher(v.Publisher, +1)
	n.noteExpiry(v.Expiry)
	return nil
}

// evictOldest makes room under a full key. It drops the oldest value of
// the publisher that holds the most values under the key (ties: the one
// whose oldest value is older), preferring values over removal records
// (which guard against resurrection). A publisher that floods a key with
// valid records therefore evicts its own records before anyone else's: an
// honest publisher's few records survive any flood.
func (n *Node) evictOldest(key ID, vs []StoredValue) error {
	type share struct {
		count  int
		oldest int // index in vs
	}
	shares := map[string]*share{}
	for k, v := range vs {
		sh := shares[v.Publisher]
		if sh == nil {
			shares[v.Publisher] = &share{count: 1, oldest: k}
			continue
		}
		sh.count++
		if olderThan(v, vs[sh.oldest]) {
			sh.oldest = k
		}
	}
	var victim *share
	for _, sh := range shares {
		if victim == nil || sh.count > victim.count ||
			(sh.count == victim.count && olderThan(vs[sh.oldest], vs[victim.oldest])) {
			victim = sh
		}
	}
	return n.drop(key, vs[victim.oldest])
}

func olderThan(a, b StoredValue) bool {
	if a.Removal != b.Removal {
		return !a.Removal
	}
	if a.Version != b.Version {
		return a.Version < b.Version
	}
	return a.Expiry.Before(b.Expiry)
}

// drop deletes one stored value.
func (n *Node) drop(key ID, v StoredValue) error {
	if err := n.st.Delete(key, v.Identity); err != nil {
		return fmt.Errorf("chordrouting: delete from store: %w", err)
	}
	n.countPublisher(v.Publisher, -1)
	return nil
}

// expireValues drops values whose expiry passed; the sweep runs only when
// the earliest known expiry is due.
func (n *Node) expireValues() {
	if n.nextExpiry.IsZero() {
		return
	}
	now := n.clock.Now()
	if now.Before(n.nextExpiry) {
		return
	}
	n.nextExpiry = time.Time{}
	keys, err := n.st.Keys()
	if err != nil {
		return
	}
	var doomed []StoredValue
	for _, k := range keys {
		vs, err := n.st.Values(k)
		if err != nil {
			continue
		}
		doomed = doomed[:0]
		for _, v := range vs {
			if !v.Expiry.IsZero() && !now.Before(v.Expiry) {
				doomed = append(doomed, v)
			} else {
				n.noteExpiry(v.Expiry)
			}
		}
		for _, v := range doomed {
			_ = n.drop(k, v)
		}
	}
}

// live returns the values under key that have not expired, with
// removals included.
func (n *Node) liveValues(key ID) []StoredValue {
	vs, err := n.st.Values(key)
	if err != nil {
		return nil
	}
	now := n.clock.Now()
	out := make([]StoredValue, 0, len(vs))
	for _, v := range vs {
		if v.Expiry.IsZero() || now.Before(v.Expiry) {
			out = append(out, v)
		}
	}
	return out
}

// onStore stores the items of a MsgStore. The owner (Replica unset)
// pushes what it accepted on to its next R-1 successors.
func (n *Node) onStore(m *Message) {
	if m.Forward {
		n.onForwardStore(m)
		return
	}
	if !n.member {
		n.replyErr(m, ErrNotMember.Error())
		return
	}
	if len(m.Items) > n.cfg.MaxItemsPerMessage {
		n.replyErr(m, fmt.Sprintf("%d items, the cap is %d", len(m.Items), n.cfg.MaxItemsPerMessage))
		return
	}
	count := 0
	var fwd []Item
	for _, it := range m.Items {
		_, err := n.accept(it.Key, it.Value)
		if err != nil && !errors.Is(err, errStale) {
			continue
		}
		count++
		if err == nil && !m.Replica {
			fwd = append(fwd, it)
		}
	}
	n.reply(m, &Message{Type: MsgStoreAck, Count: count})
	if len(fwd) > 0 {
		for _, p := range n.replicaTargets() {
			n.pushItems(p, fwd)
		}
	}
}

// replicaTargets are the R-1 successors that hold copies of what this
// node owns.
func (n *Node) replicaTargets() []Peer {
	return n.succ[:min(len(n.succ), n.cfg.Replicas-1)]
}

// handoff pushes the values whose keys satisfy moved to p, which now owns
// them (a node joined as this node's predecessor).
func (n *Node) handoff(p Peer, moved func(ID) bool) {
	keys, err := n.st.Keys()
	if err != nil {
		return
	}
	var items []Item
	for _, k := range keys {
		if !moved(k) {
			continue
		}
		for _, v := range n.liveValues(k) {
			items = append(items, Item{Key: k, Value: v.Data})
		}
	}
	n.pushItems(p, items)
}
