package chordrouting

import "fmt"

// This file is a member's side of forwarding (forward.go): it runs a
// client's forwarded Get or Store, or another member's forwarded Get
// (forward_member.go), as its own operation and answers the request once
// that ends; a member requester is a client here in every rule but two:
// it is refused at once when this node holds no connection to the key's
// holders (unconnectedFor, forward_member.go), and its read ends when the
// member stops waiting (forwardEndFor). Forwards are work done for untrusted peers:
// only members run them, each is checked like a direct request (sizes,
// limit, every value validated before it goes on), at most MaxForwards
// run at once and MaxForwardsPerClient for one client, beyond which the
// request is refused at once (the client runs the operation itself), and
// the operation is the member's own, which never forwards again. A peer
// ID costs nothing, so the per-client cap only keeps one honest client
// from taking every place; MaxForwards (and the transport's per-IP stream
// caps) bound what many identities can make a member do.
//
// The work is not free, and a forward costs its client less than the
// work it starts. The transport's per-peer rate limit (chordrouting/p2p,
// RequestRate) counts a forward as one request, but it buys the entry's
// whole operation: a forwarded store of k items (k at most
// ForwardBatchItems, 32) costs the entry up to k small lookups (one
// round trip each with a fresh table; keys in ranges one answer already
// names need none) and up to k stores, one per owner, which carry the
// items' bytes once more (each owner then pushes them to its R-1
// replicas, as for any store); a search costs ReadFanout (3; the daemon's
// 8) small reads, and a lookup and up to maxSequentialReads (3) reads
// more when no holder answers. So with fresh tables one token buys up to
// 2k = 64 requests from the entry for a store, ReadFanout to ReadFanout
// + 4 for a search (a lookup that meets
// dead entries costs more, at most MaxLookupHops requests, and ends
// within LookupTimeoutTicks), where the same operation run by the client
// itself would have cost it a token per store and read at the owners
// (lookups are not limited there either). What bounds it:
// MaxForwardsPerClient (8) forwards in flight per client and
// MaxForwards (256) in all, each with at most 8 stores and 8 lookups in
// flight, and none while operations hold their share of the pending
// table (rpc.go); the entry's own requests count against its own rate
// at the owners. The client pays for its request's bytes.

// fwdState counts the forwards a member runs.
type fwdState struct {
	total     int
	perClient map[ID]int
}

// maxForwardErr caps the error text a forwarded store's answer carries.
const maxForwardErr = 200

// forwardStoreWindow caps the store requests one forwarded put keeps in
// flight: a batch's keys have up to one owner each, and without a window
// MaxForwards batches would hold far more than MaxPending.
const forwardStoreWindow = 8

// forwardRoom is the pending requests one forward may hold at once: its
// stores' window and its lookups (groupWindow, route.go); a get holds
// ReadFanout reads or one lookup, fewer.
const forwardRoom = forwardStoreWindow + groupWindow

// startForward counts a forward for client, or says why it is refused.
func (n *Node) startForward(m *Message) string {
	switch {
	case !n.member:
		return ErrNotMember.Error()
	case m.Replica:
		return "a forwarded request cannot be a replica's"
	case n.fwd.total >= n.cfg.MaxForwards:
		return "forwarding busy"
	case n.fwd.perClient[m.From.ID] >= n.cfg.MaxForwardsPerClient:
		return errForwardBusyClient
	case n.opPending+forwardRoom > n.opShare():
		// The operations' share of the pending table (rpc.go) is nearly
		// full: this forward's requests would not be sent.
		return "forwarding busy: too many requests pending"
	}
	if n.fwd.perClient == nil {
		n.fwd.perClient = make(map[ID]int)
	}
	n.fwd.total++
	n.fwd.perClient[m.From.ID]++
	return ""
}

// endForward uncounts a forward for client.
func (n *Node) endForward(client ID) {
	n.fwd.total--
	if n.fwd.perClient[client]--; n.fwd.perClient[client] <= 0 {
		delete(n.fwd.perClient, client)
	}
}

// onForwardGet runs a requester's Get (a client's, or a member's whose
// read holders are a dial away: forward_member.go) and answers with its
// values (Done) and the hops it took, or an error. The read is never
// forwarded again, and it ends by forwardEnd: a read that falls back to a
// lookup after a dead holder stops when its requester stops waiting, and
// the requester, refused, reads itself at once.
func (n *Node) onForwardGet(m *Message) {
	if len(m.Query) > n.cfg.MaxValueSize {
		n.replyErr(m, "query too large")
		return
	}
	if n.unconnectedFor(m) {
		n.replyErr(m, errNoHolderConn)
		return
	}
	if why := n.startForward(m); why != "" {
		n.replyErr(m, why)
		return
	}
	client := m.From.ID
	n.read(&getReq{key: m.Key, query: m.Query, limit: n.getLimit(m.Count), served: true, end: n.forwardEndFor(m),
		done: func(r GetResult) {
			n.endForward(client)
			if r.Err != nil {
				n.replyErr(m, forwardErr("forwarded get", r.Err))
				return
			}
			n.reply(m, &Message{Type: MsgGetReply, Key: m.Key, Done: true, Items: valueItems(m.Key, r.Values), Count: r.Hops})
		}})
}

// forwardEnd is when an operation run for a forward must end, so that its
// answer still reaches the requester: a tick before the forward timeout
// (a requester's wait in ticks, as this node would wait) and, on a
// transport with a deadline of its own (ForwardWaiter), seven tenths of
// that deadline. The transport keeps the requester's stream for
// ForwardWait and drops this answer a tenth of it before the end
// (chordrouting/p2p, replyWait); ending by seven tenths leaves a tenth for
// the tick that ends the operation (a second of the daemon's ten) and a
// tenth for the answer.
func (n *Node) forwardEnd() endBy {
	end := endBy{tick: n.now + max(1, n.forwardTimeout()-1)}
	if w, ok := n.tr.(ForwardWaiter); ok {
		end.at = n.clock.Now().Add(w.ForwardWait() * 7 / 10)
	}
	return end
}

// forwardEndFor is forwardEnd for forwarded read m, sooner when its
// requester is a ring member (in the membership table: a client is not):
// a member waits for its neighbour's answer memberForwardTicks and a tick
// (forward_member.go), and the read ends after memberForwardTicks, so
// that this node gives up the member's place in MaxForwardsPerClient no
// later than the member does.
func (n *Node) forwardEndFor(m *Message) endBy {
	end := n.forwardEnd()
	if _, member := n.oh.table.find(m.From.ID); member && n.cfg.OneHop {
		end.tick = min(end.tick, n.now+n.memberForwardTicks())
	}
	return end
}

// onForwardStore runs a client's Put of the valid items and answers with
// how many its owners acknowledged (Done; Err when some went
// unacknowledged), or an error.
func (n *Node) onForwardStore(m *Message) {
	if len(m.Items) > n.cfg.ForwardBatchItems {
		n.replyErr(m, fmt.Sprintf("%d items, the cap is %d", len(m.Items), n.cfg.ForwardBatchItems))
		return
	}
	if why := n.startForward(m); why != "" {
		n.replyErr(m, why)
		return
	}
	now := n.clock.Now()
	valid := make([]Item, 0, len(m.Items))
	for _, it := range m.Items {
		if _, err := n.checkValue(it.Key, it.Value, now); err == nil {
			valid = append(valid, it)
		}
	}
	client := m.From.ID
	op := newPutOp(valid, func(r PutResult) {
		n.endForward(client)
		a := &Message{Type: MsgStoreAck, Done: true, Count: r.Stored}
		if r.Err != nil {
			a.Err = forwardErr("forwarded put", r.Err)
		}
		n.reply(m, a)
	})
	// No retry round: it would take a request timeout more, past the
	// client's forward timeout; the client stores what failed itself.
	op.window, op.retried = forwardStoreWindow, true
	// On a transport with a deadline of its own the stores end by seven
	// tenths of it (forwardEnd); in ticks they are bounded by the request
	// timeout of each store and the lookups' own timeout.
	op.until = n.forwardEnd().at
	n.putRound(op)
}

// forwardErr is the error text of a forward's answer, capped.
func forwardErr(what string, err error) string {
	s := what + ": " + err.Error()
	if len(s) > maxForwardErr {
		s = s[:maxForwardErr]
	}
	return s
}
