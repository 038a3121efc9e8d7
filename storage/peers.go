package storage

import (
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"
)

// RememberedPeer is a peer seen in an earlier run, tried again at start.
type RememberedPeer struct {
	ID       string    `json:"id"`
	Addrs    []string  `json:"addrs"`
	LastSeen time.Time `json:"last_seen"`
}

// RememberPeer stores p and then keeps only the max most recently seen peers.
func (db *DB) RememberPeer(p RememberedPeer, max int) error {
	if err := putJSON(db.bolt, bucketPeers, p.ID, p); err != nil {
		return err
	}
	return db.trimPeers(max)
}

func (db *DB) trimPeers(max int) error {
	peers, err := db.Peers()
	if err != nil || len(peers) <= max {
		return err
	}
	return db.bolt.Update(func(tx *bolt.Tx) error {
		for _, p := range peers[max:] {
			if err := tx.Bucket(bucketPeers).Delete([]byte(p.ID)); err != nil {
				return err
			}
		}
		return nil
	})
}

// ForgetPeer removes a remembered peer.
func (db *DB) ForgetPeer(id string) error {
	_, err := deleteKey(db.bolt, bucketPeers, id)
	return err
}

// Peers lists remembered peers, most recently seen first.
func (db *DB) Peers() ([]RememberedPeer, error) {
	out, err := listJSON[RememberedPeer](db.bolt, bucketPeers)
	if err != nil {
		return nil, err
	}
	slices.SortStableFunc(out, func(a, b RememberedPeer) int { return b.LastSeen.Compare(a.LastSeen) })
	return out, nil
}
