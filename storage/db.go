package storage

import (
	"errors"
	"fmt"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Bucket names.
var (
	bucketMeta      = []byte("meta")
	bucketShares    = []byte("shares")
	bucketRecords   = []byte("records")
	bucketPeers     = []byte("peers")
	bucketDownloads = []byte("downloads")
	allBuckets      = [][]byte{bucketMeta, bucketShares, bucketRecords, bucketPeers, bucketDownloads}
)

// schemaVersion is stored in the meta bucket; Open refuses other versions.
const schemaVersion = "1"

// ErrLocked means another process (a running daemon) holds the database.
var ErrLocked = errors.New("storage: database is in use by another process (is a daemon already running on this repository?)")

// Options tune Open.
type Options struct {
	// LockTimeout is how long Open waits for another process's lock.
	LockTimeout time.Duration
	// FlushInterval is how often ring records are written behind; 0 means
	// only on Flush and Close (tests drive Flush themselves).
	FlushInterval time.Duration
	// OnFlushError is called with errors of background flushes; nil ignores them.
	OnFlushError func(error)
}

// DefaultOptions returns the options a daemon uses.
func DefaultOptions() Options {
	return Options{
		// A second is enough for a previous daemon to release its lock on exit,
		// short enough that a second daemon on the same repo fails promptly.
		LockTimeout: time.Second,
		// The journal covers a killed process; a power cut loses at most
		// 200 ms of record writes, which replicas restore (see the package
		// doc); batching them saves hundreds of fsyncs per second under
		// publish load.
		FlushInterval: 200 * time.Millisecond,
	}
}

// Validate reports a negative duration.
func (o Options) Validate() error {
	if o.LockTimeout < 0 || o.FlushInterval < 0 {
		return fmt.Errorf("storage: options: LockTimeout (%v) and FlushInterval (%v) must not be negative", o.LockTimeout, o.FlushInterval)
	}
	return nil
}

// DB is the node's database. Its methods are safe for concurrent use.
type DB struct {
	bolt    *bolt.DB
	records *Records

	stop chan struct{}
	wg   sync.WaitGroup
	once sync.Once
}

// Open opens (creating if needed) the database file at path.
func Open(path string, opt Options) (*DB, error) {
	if err := opt.Validate(); err != nil {
		return nil, err
	}
	if opt.LockTimeout == 0 {
		opt.LockTimeout = DefaultOptions().LockTimeout
	}
	b, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: opt.LockTimeout, FreelistType: bolt.FreelistMapType})
	if errors.Is(err, bolt.ErrTimeout) {
		return nil, ErrLocked
	}
	if err != nil {
		return nil, fmt.Errorf("storage: opening %s: %w", path, err)
	}
	db := &DB{bolt: b, stop: make(chan struct{})}
	if err := db.init(); err != nil {
		b.Close()
		return nil, err
	}
	if db.records, err = loadRecords(b, path); err != nil {
		b.Close()
		return nil, err
	}
	if opt.FlushInterval > 0 {
		db.wg.Add(1)
		go db.flushLoop(opt.FlushInterval, opt.OnFlushError)
	}
	return db, nil
}

func (db *DB) init() error {
	return db.bolt.Update(func(tx *bolt.Tx) error {
		for _, name := range allBuckets {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return fmt.Errorf("storage: creating bucket %s: %w", name, err)
			}
		}
		meta := tx.Bucket(bucketMeta)
		v := meta.Get([]byte("schema"))
		switch {
		case v == nil:
			return meta.Put([]byte("schema"), []byte(schemaVersion))
		case string(v) != schemaVersion:
			return fmt.Errorf("storage: database schema %q, this program knows %q", v, schemaVersion)
		}
		return nil
	})
}

func (db *DB) flushLoop(every time.Duration, onErr func(error)) {
	defer db.wg.Done()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-db.stop:
			return
		case <-t.C:
			if err := db.records.Flush(); err != nil && onErr != nil {
				onErr(err)
			}
		}
	}
}

// Records returns the ring record store (a chordrouting.Storage).
func (db *DB) Records() *Records { return db.records }

// Close flushes pending records and closes the file.
func (db *DB) Close() error {
	var err error
	db.once.Do(func() {
		close(db.stop)
		db.wg.Wait()
		err = db.records.Flush()
		if jerr := db.records.closeJournal(err == nil); err == nil && jerr != nil {
			err = jerr
		}
		if cerr := db.bolt.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("storage: closing: %w", cerr)
		}
	})
	return err
}
