package chordrouting

import "sort"

// MemStorage is an in-memory Storage. It is not safe for concurrent use
// (the Node calls it from its own goroutine only).
type MemStorage struct {
	m      map[ID][]StoredValue
	n      int
	keys   []ID // sorted cache of the keys, rebuilt when dirty
	sorted bool
}

var _ Storage = (*MemStorage)(nil)

// NewMemStorage returns an empty store.
func NewMemStorage() *MemStorage { return &MemStorage{m: make(map[ID][]StoredValue)} }

// Put implements Storage.
func (s *MemStorage) Put(key ID, v StoredValue) error {
	vs := s.m[key]
	for k := range vs {
		if vs[k].Identity == v.Identity {
			vs[k] = v
			return nil
		}
	}
	if len(vs) == 0 {
		s.sorted = false
	}
	s.m[key] = append(vs, v)
	s.n++
	return nil
}

// Delete implements Storage.
func (s *MemStorage) Delete(key ID, identity string) error {
	vs := s.m[key]
	for k := range vs {
		if vs[k].Identity != identity {
			continue
		}
		last := len(vs) - 1
		vs[k] = vs[last]
		vs[last] = StoredValue{}
		s.n--
		if last == 0 {
			delete(s.m, key)
			s.sorted = false
		} else {
			s.m[key] = vs[:last]
		}
		return nil
	}
	return nil
}

// Values implements Storage.
func (s *MemStorage) Values(key ID) ([]StoredValue, error) { return s.m[key], nil }

// Keys implements Storage.
func (s *MemStorage) Keys() ([]ID, error) {
	if !s.sorted {
		s.keys = s.keys[:0]
		for k := range s.m {
			s.keys = append(s.keys, k)
		}
		sort.Slice(s.keys, func(i, j int) bool { return s.keys[i].Less(s.keys[j]) })
		s.sorted = true
	}
	return append([]ID(nil), s.keys...), nil
}

// Len implements Storage.
func (s *MemStorage) Len() int { return s.n }
