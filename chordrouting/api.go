package chordrouting

// This file is the contract between the ring core and the layers around it
// (simulator, libp2p transport, keyword index, node). Its exported names are
// used by other packages: change them only by adding.

import (
	"crypto/sha256"
	"time"
)

// ID is a 256-bit identifier on the ring: node IDs, keyword keys and content
// keys all live in the same space.
type ID [32]byte

// HashID returns the SHA-256 of the concatenated parts.
func HashID(parts ...[]byte) ID {
	h := sha256.New()
	for _, p := range parts {
		h.Write(p)
	}
	var id ID
	copy(id[:], h.Sum(nil))
	return id
}

// NodeID is the ring identifier of a node: SHA-256 of its peer ID's bytes.
func NodeID(peerIDBytes []byte) ID { return HashID(peerIDBytes) }

// KeywordKey is the key under which records for a normalized keyword live.
func KeywordKey(word string) ID { return HashID([]byte("kw/"), []byte(word)) }

// ContentKey is the key under which provider records for a CID live.
func ContentKey(cidBytes []byte) ID { return HashID([]byte("cid/"), cidBytes) }

// Peer names a node: its ring ID and its transport address. Addr is opaque
// to the core (a libp2p peer ID string on libp2p, a node index in the
// simulator).
type Peer struct {
	ID   ID
	Addr string
}

// Clock tells the current time. The simulator injects a virtual clock.
type Clock interface {
	Now() time.Time
}

// Transport carries messages between nodes.
//
// Send delivers m to the node at to.Addr, best effort: it may drop the
// message, and the core treats a request with no reply within its timeout
// as sent to a dead node. Send must not block on the network and must not
// call back into the Node before it returns; replies come back later
// through Node.Step. The transport owns m after Send.
type Transport interface {
	Send(to Peer, m *Message)
}

// TrySender is an optional interface of a Transport that bounds what it
// has in flight: TrySend is Send that reports false, sending nothing,
// when the transport refuses the message at once (chordrouting/p2p:
// MaxOutbound exchanges in flight). A request so refused is one that was
// not sent (rpc.go, unsent), so its target is not presumed dead; through
// Send alone, a refused request would look like the target's timeout,
// and a full transport would make a node drop its live successors.
type TrySender interface {
	TrySend(to Peer, m *Message) bool
}

// Canceler is an optional interface of a Transport whose requests hold
// something until their reply (chordrouting/p2p: an exchange, one of its
// MaxOutbound, and a stream at the peer): the core calls Cancel(to, id)
// when it stops waiting for an operation's request id to `to` without a
// reply (its timeout, an end its operation set) and at Leave for every
// request, so that the transport ends the exchange then rather than at a
// deadline of its own, which may be longer. (A maintenance request that
// timed out is left to run: a late reply still counts as a round-trip
// sample.) It must not block and must not call back into the Node; a
// request that has already ended, or an unknown one, is ignored.
type Canceler interface {
	Cancel(to Peer, id uint64)
}

// ValueInfo is what the layer above tells the core about a value it has
// validated. chordrouting never interprets value bytes itself.
type ValueInfo struct {
	// Identity names the value within its key: a stored value with the same
	// identity and a lower Version is replaced; a higher one is kept.
	Identity string
	// Version orders values of one identity (for example publish time).
	Version int64
	// Expiry is when the value is dropped everywhere.
	Expiry time.Time
	// Publisher names who published it, for per-publisher caps.
	Publisher string
	// Removal marks a signed withdrawal: it deletes values of the same
	// identity with a lower Version and is itself kept until Expiry so that
	// stale replicas cannot bring the value back.
	Removal bool
}

// Validator is the hook the layer above supplies.
type Validator interface {
	// Validate checks value for key at time now. An error refuses it: it is
	// neither stored nor forwarded.
	Validate(key ID, value []byte, now time.Time) (ValueInfo, error)
	// Match reports whether a stored value answers query (opaque bytes given
	// to Get). A nil or empty query matches every value.
	Match(key ID, query []byte, value []byte) bool
}

// StoredValue is one value held by a node, with what Validate said of it.
type StoredValue struct {
	ValueInfo
	Data []byte
}

// Storage holds the values a node keeps for the ring. The Node calls it
// from its own goroutine only. A persistent implementation lets a restarted
// node keep what it held; MemStorage is the in-memory one.
type Storage interface {
	// Put inserts v, replacing the value of the same key and identity.
	Put(key ID, v StoredValue) error
	// Delete removes the value of that key and identity, if present.
	Delete(key ID, identity string) error
	// Values returns the values under key (the caller must not modify them).
	Values(key ID) ([]StoredValue, error)
	// Keys returns every key that has at least one value, in ascending order.
	Keys() ([]ID, error)
	// Len is the number of stored values.
	Len() int
}

// Item is one key/value pair to publish.
type Item struct {
	Key   ID
	Value []byte
}

// LookupResult is the outcome of Lookup.
type LookupResult struct {
	Key ID
	// Successors is the key's owner followed by its successors: the
	// replica set, owner first.
	Successors []Peer
	// Hops counts the nodes queried in sequence.
	Hops int
	Err  error
}

// PutResult is the outcome of Put.
type PutResult struct {
	// Stored counts the items an owner acknowledged.
	Stored int
	// RPCs counts store requests sent (at most one per owner per call;
	// a client that forwards: one per entry point asked per batch).
	RPCs int
	// Lookups counts lookups the call needed.
	Lookups int
	Err     error
}

// GetResult is the outcome of Get.
type GetResult struct {
	Values [][]byte
	// From is the node that answered (for a client that forwards, the
	// entry point whose answer came first in its entry points' order).
	From Peer
	// Hops counts the nodes asked in sequence (a forwarded read: one for
	// the entry point plus the hops its own read took).
	Hops int
	Err  error
}

// NodeState is a snapshot of a node's ring state, for status pages and tests.
type NodeState struct {
	Self        Peer
	Member      bool
	Predecessor *Peer
	Successors  []Peer
	Fingers     []Peer // distinct finger entries, in ring order from Self
	Records     int
}
