package storage

import (
	"bytes"
	"fmt"
	"slices"
	"sync"

	bolt "go.etcd.io/bbolt"

	"kwsearch/chordrouting"
)

var _ chordrouting.Storage = (*Records)(nil)

// Records is the persistent chordrouting.Storage: an in-memory copy that
// answers every read, written behind to bbolt (see the package doc).
type Records struct {
	bolt *bolt.DB

	mu    sync.Mutex
	vals  map[chordrouting.ID]map[string]chordrouting.StoredValue
	n     int
	dirty map[dirtyKey]struct{}

	flushMu sync.Mutex // one flush at a time, in order
}

type dirtyKey struct {
	key      chordrouting.ID
	identity string
}

func loadRecords(b *bolt.DB) (*Records, error) {
	r := &Records{bolt: b, vals: map[chordrouting.ID]map[string]chordrouting.StoredValue{}, dirty: map[dirtyKey]struct{}{}}
	var bad [][]byte
	err := b.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketRecords).ForEach(func(k, v []byte) error {
			key, identity, ok := splitRecordKey(k)
			sv, err := decodeValue(v)
			if !ok || err != nil || sv.Identity != identity {
				bad = append(bad, bytes.Clone(k))
				return nil
			}
			r.put(key, sv)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("storage: loading records: %w", err)
	}
	if len(bad) > 0 {
		// A record we cannot read is dropped: the ring repairs it from replicas.
		err = b.Update(func(tx *bolt.Tx) error {
			for _, k := range bad {
				if err := tx.Bucket(bucketRecords).Delete(k); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("storage: dropping unreadable records: %w", err)
		}
	}
	return r, nil
}

func recordKey(key chordrouting.ID, identity string) []byte {
	return append(key[:], identity...)
}

func splitRecordKey(k []byte) (chordrouting.ID, string, bool) {
	var id chordrouting.ID
	if len(k) < len(id) {
		return id, "", false
	}
	copy(id[:], k)
	return id, string(k[len(id):]), true
}

// put stores v in memory; the caller holds mu (or owns r exclusively).
func (r *Records) put(key chordrouting.ID, v chordrouting.StoredValue) {
	m := r.vals[key]
	if m == nil {
		m = map[string]chordrouting.StoredValue{}
		r.vals[key] = m
	}
	if _, ok := m[v.Identity]; !ok {
		r.n++
	}
	m[v.Identity] = v
}

// Put inserts v, replacing the value of the same key and identity.
func (r *Records) Put(key chordrouting.ID, v chordrouting.StoredValue) error {
	if len(recordKey(key, v.Identity)) > bolt.MaxKeySize {
		return fmt.Errorf("storage: identity of %d bytes is too long", len(v.Identity))
	}
	v.Data = bytes.Clone(v.Data)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.put(key, v)
	r.dirty[dirtyKey{key, v.Identity}] = struct{}{}
	return nil
}

// Delete removes the value of that key and identity, if present.
func (r *Records) Delete(key chordrouting.ID, identity string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	m := r.vals[key]
	if _, ok := m[identity]; !ok {
		return nil
	}
	delete(m, identity)
	r.n--
	if len(m) == 0 {
		delete(r.vals, key)
	}
	r.dirty[dirtyKey{key, identity}] = struct{}{}
	return nil
}

// Values returns the values under key, ordered by identity.
func (r *Records) Values(key chordrouting.ID) ([]chordrouting.StoredValue, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	m := r.vals[key]
	out := make([]chordrouting.StoredValue, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	slices.SortFunc(out, func(a, b chordrouting.StoredValue) int {
		if a.Identity < b.Identity {
			return -1
		}
		if a.Identity > b.Identity {
			return 1
		}
		return 0
	})
	return out, nil
}

// Keys returns every key with at least one value, in ascending order.
func (r *Records) Keys() ([]chordrouting.ID, error) {
	r.mu.Lock()
	out := make([]chordrouting.ID, 0, len(r.vals))
	for k := range r.vals {
		out = append(out, k)
	}
	r.mu.Unlock()
	slices.SortFunc(out, func(a, b chordrouting.ID) int { return bytes.Compare(a[:], b[:]) })
	return out, nil
}

// Len is the number of stored values.
func (r *Records) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.n
}

// Pending is the number of changes not yet written to disk.
func (r *Records) Pending() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.dirty)
}

// Flush writes every pending change in one transaction.
func (r *Records) Flush() error {
	r.flushMu.Lock()
	defer r.flushMu.Unlock()
	puts, dels := r.takeDirty()
	if len(puts) == 0 && len(dels) == 0 {
		return nil
	}
	err := r.bolt.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketRecords)
		for _, k := range dels {
			if err := b.Delete(k); err != nil {
				return err
			}
		}
		for _, p := range puts {
			if err := b.Put(p.k, p.v); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		r.restoreDirty(puts, dels)
		return fmt.Errorf("storage: flushing %d record changes: %w", len(puts)+len(dels), err)
	}
	return nil
}

type kv struct{ k, v []byte }

func (r *Records) takeDirty() (puts []kv, dels [][]byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for d := range r.dirty {
		k := recordKey(d.key, d.identity)
		if v, ok := r.vals[d.key][d.identity]; ok {
			puts = append(puts, kv{k, encodeValue(v)})
		} else {
			dels = append(dels, k)
		}
	}
	clear(r.dirty)
	return puts, dels
}

// restoreDirty marks the changes of a failed flush dirty again, unless a
// newer change already did.
func (r *Records) restoreDirty(puts []kv, dels [][]byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, p := range puts {
		if key, id, ok := splitRecordKey(p.k); ok {
			r.dirty[dirtyKey{key, id}] = struct{}{}
		}
	}
	for _, k := range dels {
		if key, id, ok := splitRecordKey(k); ok {
			r.dirty[dirtyKey{key, id}] = struct{}{}
		}
	}
}
