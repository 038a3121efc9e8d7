package chordrouting

// MsgType names what a Message asks or answers.
type MsgType uint8

// Message types. A request carries a fresh ID; its reply echoes that ID.
// One-way messages expect no reply.
const (
	MsgInvalid MsgType = iota

	// MsgPing asks whether a node is alive; answered at once by MsgPong.
	MsgPing
	MsgPong

	// MsgGetState asks for the node's predecessor and successor list, as
	// of one instant; answered by MsgState (HasPred, Pred, Peers). A
	// stabilize query may carry in Count the digest of the state the node
	// last answered; if its state still has that digest, MsgState comes
	// back with Done set and nothing else ("unchanged").
	MsgGetState
	MsgState

	// MsgNotify (one-way) tells a node that From believes it is its
	// predecessor; the receiver rectifies. Two hints ride on it: with Done,
	// From has just joined with the receiver's successor as its own (the
	// receiver runs stabilize step 2 with it); with Peers, Peers[0] is
	// From's previous successor, which did not answer (the receiver adopts
	// From at once if that node was its predecessor).
	MsgNotify

	// MsgFindSuccessor asks about Key. The reply MsgFindSuccessorReply has
	// Done set and Peers = the key's owner and its successors (the replica
	// set) when the answering node knows the owner; otherwise Done is false
	// and Peers lists closer nodes to ask next, best first.
	MsgFindSuccessor
	MsgFindSuccessorReply

	// MsgStore asks the owner to store Items (one or more keys); answered
	// by MsgStoreAck with Count = items accepted. When Replica is set the
	// receiver stores without forwarding (a push from the owner to its
	// replicas, a handoff, or a repair).
	MsgStore
	MsgStoreAck

	// MsgGet asks for the values under Key that match Query, at most Count
	// of them (0: the node's own cap); answered by MsgGetReply with Items.
	// A node that is not responsible for Key answers with Done false and
	// Peers naming closer nodes.
	MsgGet
	MsgGetReply

	// MsgDigest offers Digests (key, identity, version) of values the sender
	// holds; answered by MsgDigestReply whose Digests name those the
	// receiver lacks or holds in an older version, to be pushed next.
	MsgDigest
	MsgDigestReply

	// MsgLeave (one-way) tells a neighbour that From leaves gracefully:
	// Peers is From's successor list, HasPred/Pred its predecessor.
	MsgLeave

	// MsgError answers a request that was refused or could not be served;
	// Err says why.
	MsgError

	// MsgMembership (Config.OneHop) carries membership events:
	// Peers joined the ring, and Query holds the first 8 bytes of the IDs
	// of members that left, concatenated; Count is the events' TTL (D1HT's
	// EDRA: the receiver forwards them in its messages of levels below
	// Count). It is acknowledged with MsgPong (relayed copies are not
	// waited for).
	MsgMembership

	// MsgGetMembers asks for a page of the membership table: the entries
	// with IDs above Key. The reply MsgMembers lists them (at most 63,
	// ascending, then the answering node itself); Done marks the last page.
	// With a 44-byte Query (a range end, an entry count and an ID sum) it
	// is a digest probe of the range (Key, end]: Replica in the reply means
	// the answering node's entries there, itself included, match. With a
	// Query of the range end and 8-byte ID prefixes it is a prefix
	// comparison: the reply's Peers are the answering node's entries there
	// whose prefixes were not sent (at most 63, Done when that is all) and
	// its Query the prefixes sent that it has no entry for.
	MsgGetMembers
	MsgMembers

	// MsgDigestSummary asks whether the receiver holds, in the range
	// (Key, From], the very values the sender would offer as digests:
	// Count of them, and in Query (SummaryQueryLen bytes) an 8-byte salt
	// and the 8-byte sum of their salted hashes (repair.go: rangeSummary). The reply
	// MsgDigestSummaryReply has Done set when the receiver's live values
	// there have the same count and sum; anything else (Done unset, an
	// error, no answer) means "offer the digests".
	MsgDigestSummary
	MsgDigestSummaryReply
)

// IsReply reports whether t answers a request (and so echoes its ID).
func (t MsgType) IsReply() bool {
	switch t {
	case MsgPong, MsgState, MsgFindSuccessorReply, MsgStoreAck, MsgGetReply, MsgDigestReply, MsgError, MsgMembers,
		MsgDigestSummaryReply:
		return true
	}
	return false
}

// IsRequest reports whether t expects a reply.
func (t MsgType) IsRequest() bool {
	switch t {
	case MsgPing, MsgGetState, MsgFindSuccessor, MsgStore, MsgGet, MsgDigest, MsgGetMembers, MsgMembership,
		MsgDigestSummary:
		return true
	}
	return false
}

// Digest names one stored value without its bytes.
type Digest struct {
	Key      ID
	Identity string
	Version  int64
}

// Message is everything nodes say to each other. Which fields matter
// depends on Type (see the MsgType constants); the others stay zero.
type Message struct {
	Type    MsgType
	ID      uint64 // request ID, echoed by the reply
	From    Peer
	Key     ID
	HasPred bool
	Pred    Peer
	Peers   []Peer
	Items   []Item
	Query   []byte
	Digests []Digest
	Done    bool
	Replica bool
	// Forward marks a client's MsgGet or MsgStore that the receiving
	// member is to run itself, as its own Get or Put, answering once that
	// ends (forward.go): MsgGetReply with Done, the values and in Count
	// the hops it took; MsgStoreAck with Done and in Count the items its
	// owners acknowledged (Err set when some went unacknowledged); or
	// MsgError when it refuses (not a member, over its forwarding caps,
	// fields over the bounds). A peer that predates the flag ignores it
	// and answers as to a direct request, without Done unless it owns the
	// key (a read): the client takes that as "not forwarded" and runs the
	// operation itself.
	Forward bool
	Count   int
	Err     string
}
