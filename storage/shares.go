package storage

import (
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Share is one file this node shares. The file itself is not copied: the
// node re-checks Path, Size and ModTime before serving it.
type Share struct {
	CID      string    `json:"cid"`
	Path     string    `json:"path"` // absolute
	Name     string    `json:"name"` // base name published in records
	Size     int64     `json:"size"`
	ModTime  time.Time `json:"mtime"`
	Keywords []string  `json:"keywords"`
	// Extra holds the keywords the user added with --keywords (also in Keywords).
	Extra []string `json:"extra,omitempty"`
	// Index is the transfer layer's opaque index of the file (manifest, block
	// offsets), so that a restart need not hash the file again.
	Index       []byte    `json:"index,omitempty"`
	SharedAt    time.Time `json:"shared_at"`
	PublishedAt time.Time `json:"published_at"`
}

// PutShare inserts or replaces the share with s.CID.
func (db *DB) PutShare(s Share) error {
	if s.CID == "" {
		return fmt.Errorf("storage: share of %s has no CID", s.Path)
	}
	return putJSON(db.bolt, bucketShares, s.CID, s)
}

// Share returns the share with that CID.
func (db *DB) Share(cid string) (Share, bool, error) {
	var s Share
	ok, err := getJSON(db.bolt, bucketShares, cid, &s)
	return s, ok, err
}

// DeleteShare removes a share; it reports whether one existed.
func (db *DB) DeleteShare(cid string) (bool, error) { return deleteKey(db.bolt, bucketShares, cid) }

// Shares lists every share, ordered by CID.
func (db *DB) Shares() ([]Share, error) {
	return listJSON[Share](db.bolt, bucketShares)
}

func putJSON(b *bolt.DB, bucket []byte, key string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("storage: encoding %s/%s: %w", bucket, key, err)
	}
	err = b.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucket).Put([]byte(key), data) })
	if err != nil {
		return fmt.Errorf("storage: writing %s/%s: %w", bucket, key, err)
	}
	return nil
}

func getJSON(b *bolt.DB, bucket []byte, key string, v any) (bool, error) {
	var found bool
	err := b.View(func(tx *bolt.Tx) error {
		data := tx.Bucket(bucket).Get([]byte(key))
		if data == nil {
			return nil
		}
		found = true
		return json.Unmarshal(data, v)
	})
	if err != nil {
		return false, fmt.Errorf("storage: reading %s/%s: %w", bucket, key, err)
	}
	return found, nil
}

func deleteKey(b *bolt.DB, bucket []byte, key string) (bool, error) {
	var found bool
	err := b.Update(func(tx *bolt.Tx) error {
		bk := tx.Bucket(bucket)
		if bk.Get([]byte(key)) == nil {
			return nil
		}
		found = true
		return bk.Delete([]byte(key))
	})
	if err != nil {
		return false, fmt.Errorf("storage: deleting %s/%s: %w", bucket, key, err)
	}
	return found, nil
}

// listJSON decodes every value of bucket; entries that do not decode are
// skipped (they can only come from a newer or damaged program).
func listJSON[T any](b *bolt.DB, bucket []byte) ([]T, error) {
	var out []T
	err := b.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucket).ForEach(func(_, data []byte) error {
			var v T
			if json.Unmarshal(data, &v) == nil {
				out = append(out, v)
			}
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("storage: listing %s: %w", bucket, err)
	}
	return out, nil
}
