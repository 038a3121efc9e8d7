package storage

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"slices"
	"sync"

	bolt "go.etcd.io/bbolt"

	"kwsearch/chordrouting"
)

var _ chordrouting.Storage = (*Records)(nil)

// Records is the persistent chordrouting.Storage: an in-memory copy that
// answers every read, journaled at once and written behind to bbolt (see
// the package doc).
type Records struct {
	bolt *bolt.DB
	j    *journal // nil: changes are safe only once flushed

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

// maxRecordKey bounds a record's bbolt key: the ring key and the identity.
const maxRecordKey = bolt.MaxKeySize

// metaJournalCovered holds, in the meta bucket, the number of the last
// journal file whose changes bbolt holds (8 bytes, big endian), written in
// each flush's transaction.
var metaJournalCovered = []byte("journal-covered")

// loadRecords reads the records from bbolt and, when journalBase is set,
// replays the journal left there (the replayed changes are flushed with
// the next flush).
func loadRecords(b *bolt.DB, journalBase string) (*Records, error) {
	r := &Records{bolt: b, vals: map[chordrouting.ID]map[string]chordrouting.StoredValue{}, dirty: map[dirtyKey]struct{}{}}
	var bad [][]byte
	var covered uint64 // the last journal file bbolt holds
	err := b.View(func(tx *bolt.Tx) error {
		if v := tx.Bucket(bucketMeta).Get(metaJournalCovered); len(v) == 8 {
			covered = binary.BigEndian.Uint64(v)
		}
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
	if journalBase == "" {
		return r, nil
	}
	j, entries, err := openJournal(journalBase, covered)
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		if e.Delete {
			r.remove(e.Key, e.Value.Identity)
		} else {
			r.put(e.Key, e.Value)
		}
		r.dirty[dirtyKey{e.Key, e.Value.Identity}] = struct{}{}
	}
	r.j = j
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

// remove deletes a value from memory, if present; the caller holds mu
// (or owns r exclusively).
func (r *Records) remove(key chordrouting.ID, identity string) {
	m := r.vals[key]
	if _, ok := m[identity]; !ok {
		return
	}
	delete(m, identity)
	r.n--
	if len(m) == 0 {
		delete(r.vals, key)
	}
}

// Put inserts v, replacing the value of the same key and identity. When
// it returns nil the change survives a crash of the process.
func (r *Records) Put(key chordrouting.ID, v chordrouting.StoredValue) error {
	if len(recordKey(key, v.Identity)) > maxRecordKey {
		return fmt.Errorf("storage: identity of %d bytes is too long", len(v.Identity))
	}
	if len(v.Data) > maxValueSize || len(v.Publisher) > maxValueSize {
		return fmt.Errorf("storage: value of %d bytes (publisher %d) is over the %d-byte cap", len(v.Data), len(v.Publisher), maxValueSize)
	}
	v.Data = bytes.Clone(v.Data)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.j != nil {
		if err := r.j.put(key, v); err != nil {
			return err
		}
	}
	r.put(key, v)
	r.dirty[dirtyKey{key, v.Identity}] = struct{}{}
	return nil
}

// Delete removes the value of that key and identity, if present. When it
// returns nil the change survives a crash of the process.
func (r *Records) Delete(key chordrouting.ID, identity string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.vals[key][identity]; !ok {
		return nil
	}
	if r.j != nil {
		if err := r.j.delete(key, identity); err != nil {
			return err
		}
	}
	r.remove(key, identity)
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
	puts, dels, covered, err := r.takeDirty()
	if err != nil {
		return err
	}
	if len(puts) == 0 && len(dels) == 0 {
		return nil
	}
	err = r.bolt.Update(func(tx *bolt.Tx) error {
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
		if r.j != nil {
			return tx.Bucket(bucketMeta).Put(metaJournalCovered, binary.BigEndian.AppendUint64(nil, covered))
		}
		return nil
	})
	if err != nil {
		r.restoreDirty(puts, dels)
		return fmt.Errorf("storage: flushing %d record changes: %w", len(puts)+len(dels), err)
	}
	if r.j != nil {
		return r.j.removeUpTo(covered)
	}
	return nil
}

// closeJournal closes the journal after the last flush; flushed says
// whether that flush succeeded. The journal is removed only if nothing
// changed since (a Put between the flush and this call stays journaled,
// for the next open to replay).
func (r *Records) closeJournal(flushed bool) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.j == nil {
		return nil
	}
	err := r.j.close(flushed && len(r.dirty) == 0)
	r.j = nil
	return err
}

type kv struct{ k, v []byte }

// takeDirty takes the pending changes for a flush and, with a journal,
// starts a new journal file: covered is the last file the changes are in.
func (r *Records) takeDirty() (puts []kv, dels [][]byte, covered uint64, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.dirty) == 0 {
		return nil, nil, 0, nil
	}
	if r.j != nil {
		if covered, err = r.j.rotate(); err != nil {
			return nil, nil, 0, err
		}
	}
	for d := range r.dirty {
		k := recordKey(d.key, d.identity)
		if v, ok := r.vals[d.key][d.identity]; ok {
			puts = append(puts, kv{k, encodeValue(v)})
		} else {
			dels = append(dels, k)
		}
	}
	clear(r.dirty)
	return puts, dels, covered, nil
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
