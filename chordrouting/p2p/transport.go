package p2p

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/peerstore"
	ma "github.com/multiformats/go-multiaddr"

	cr "kwsearch/chordrouting"
)

// Transport is the chordrouting.Transport over libp2p streams. Each
// request opens a stream, writes the message and reads one reply; one-way
// messages open, write and close. Incoming messages and replies go to the
// deliver function given to Start (Runner.Deliver). A Node's reply to an
// incoming request comes back through Send and is written on the stream
// the request came on.
type Transport struct {
	h       host.Host
	cfg     Config
	self    cr.Peer
	limit   *rateLimiter // publish and search requests
	replica *rateLimiter // replica pushes
	members *rateLimiter // one-hop membership events, pages and sweeps
	repair  *rateLimiter // repair offers: digests and their summaries
	life    *connLife    // which connection to a peer is alive (connpick.go)

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu       sync.Mutex
	deliver  func(*cr.Message)
	closed   bool
	pending  map[pendingKey]chan *cr.Message
	in       inboundCounts
	group    AddrGrouper
	outTotal int
	idle     chan struct{} // closed when outTotal drops to 0 (see Drain)
	// requests: the cancel of each outgoing request's exchange in flight,
	// for Cancel.
	requests map[pendingKey]context.CancelFunc
	// preparing: peers a connection is being opened to (Prepare), at
	// most maxPrepares; dialing: this transport's dials in flight per
	// peer (Prepare's and requests'), of which only the first is
	// measured; dialCost and openRTT: what a dial costs, and a request
	// over an open connection; dials: how many dials dialCost holds
	// (connstate.go).
	preparing map[peer.ID]bool
	dialing   map[peer.ID]int
	dialCost  time.Duration
	openRTT   time.Duration
	dials     int
}

// pendingKey names an incoming request awaiting the local node's reply.
type pendingKey struct {
	from peer.ID
	id   uint64
}

var (
	_ cr.Transport     = (*Transport)(nil)
	_ cr.TrySender     = (*Transport)(nil)
	_ cr.ForwardWaiter = (*Transport)(nil)
	_ cr.ConnState     = (*Transport)(nil)
	_ cr.Canceler      = (*Transport)(nil)
)

// ForwardWait implements chordrouting.ForwardWaiter: an outgoing
// request's stream, a forwarded one's too, ends RequestTimeout after it
// began (and the entry answers by a tenth of that before, replyWait), so
// a client's core stops waiting for a forward's answer then, even when
// its forward timeout in ticks is longer (twice a long request timeout).
func (t *Transport) ForwardWait() time.Duration { return t.cfg.RequestTimeout }

// errRateLimited is the Err text of the MsgError sent to a peer over its
// request rate.
const errRateLimited = "rate limited"

// NewTransport returns a transport for h. clock paces the per-peer rate
// limits. Nothing is received until Start.
func NewTransport(h host.Host, cfg Config, clock cr.Clock) (*Transport, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Transport{
		h:       h,
		cfg:     cfg,
		self:    PeerOf(h.ID()),
		limit:   newRateLimiter(cfg.RequestRate, cfg.RequestBurst, cfg.MaxRatePeers, clock),
		replica: newRateLimiter(cfg.ReplicaRate, cfg.ReplicaBurst, cfg.MaxRatePeers, clock),
		members: newRateLimiter(cfg.MembershipRate, cfg.MembershipBurst, cfg.MaxRatePeers, clock),
		repair:  newRateLimiter(cfg.RepairRate, cfg.RepairBurst, cfg.MaxRatePeers, clock),
		life:    newConnLife(),
		ctx:     ctx,
		cancel:  cancel,
		pending: make(map[pendingKey]chan *cr.Message),
		in:      newInboundCounts(),
		group:   DefaultAddrGroup,
	}, nil
}

// SetAddrGrouper replaces DefaultAddrGroup as the classifier of incoming
// connections for the per-IP and per-subnet stream caps (tests map their
// loopback hosts to distinct addresses). It applies to streams that
// arrive after it returns.
func (t *Transport) SetAddrGrouper(g AddrGrouper) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.group = g
}

// PeerOf returns the ring peer of a libp2p peer: ring ID = SHA-256 of the
// peer ID's bytes, Addr = the peer ID's string form.
func PeerOf(id peer.ID) cr.Peer {
	return cr.Peer{ID: cr.NodeID([]byte(id)), Addr: id.String()}
}

// PeerID returns the libp2p peer ID of a ring peer.
func PeerID(p cr.Peer) (peer.ID, error) {
	id, err := peer.Decode(p.Addr)
	if err != nil {
		return "", fmt.Errorf("chordrouting/p2p: peer address %q: %w", p.Addr, err)
	}
	return id, nil
}

// Self is the ring peer of the local host.
func (t *Transport) Self() cr.Peer { return t.self }

// Start registers the protocol handler; incoming messages and replies are
// passed to deliver, which must not block for long (Runner.Deliver).
func (t *Transport) Start(deliver func(*cr.Message)) {
	t.mu.Lock()
	t.deliver = deliver
	t.mu.Unlock()
	t.h.SetStreamHandler(ProtocolID, t.handleStream)
}

// Close removes the handler, cancels every exchange in flight and waits
// for their goroutines.
func (t *Transport) Close() error {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return nil
	}
	t.closed = true
	t.mu.Unlock()
	t.h.RemoveStreamHandler(ProtocolID)
	t.cancel()
	t.wg.Wait()
	return nil
}

// Send implements chordrouting.Transport. It never blocks on the network:
// replies to incoming requests are handed to the waiting stream, other
// messages are sent from a goroutine. Messages to self are delivered
// locally; messages beyond MaxOutbound, or after Close, are dropped.
func (t *Transport) Send(to cr.Peer, m *cr.Message) { t.TrySend(to, m) }

// TrySend implements chordrouting.TrySender: it is Send, and reports
// false when it drops m at once (MaxOutbound exchanges in flight, or
// closed), so that the core knows the request was never sent rather than
// taking it for the peer's timeout.
func (t *Transport) TrySend(to cr.Peer, m *cr.Message) bool {
	if m.Type.IsReply() && to.Addr != t.self.Addr {
		t.reply(to, m)
		return true
	}
	if !t.startOutbound() {
		return false
	}
	if to.Addr == t.self.Addr {
		go func() {
			defer t.endOutbound()
			t.deliverMsg(m)
		}()
		return true
	}
	pid, err := PeerID(to)
	if err != nil {
		t.endOutbound()
		return true // sent, as far as the core knows: it times out
	}
	if !m.Type.IsRequest() {
		go func() {
			defer t.endOutbound()
			t.oneWay(pid, m)
		}()
		return true
	}
	// The request's exchange can be ended by Cancel from now on.
	ctx, cancel := context.WithTimeout(t.ctx, t.cfg.RequestTimeout)
	key := pendingKey{pid, m.ID}
	t.mu.Lock()
	if t.requests == nil {
		t.requests = make(map[pendingKey]context.CancelFunc)
	}
	t.requests[key] = cancel
	t.mu.Unlock()
	go func() {
		defer t.endOutbound()
		defer t.forgetRequest(key)
		defer cancel()
		t.request(ctx, pid, m)
	}()
	return true
}

// Cancel implements chordrouting.Canceler: the core no longer waits for
// request id to `to`, so its exchange ends now (its stream is reset) and
// gives back its MaxOutbound slot, instead of holding both until
// RequestTimeout, which outlasts the core's request timeout (5 s at the
// daemon's one-second tick against 10 s). An unknown or ended request is
// ignored.
func (t *Transport) Cancel(to cr.Peer, id uint64) {
	pid, err := PeerID(to)
	if err != nil {
		return
	}
	t.mu.Lock()
	cancel := t.requests[pendingKey{pid, id}]
	t.mu.Unlock()
	if cancel != nil {
		cancel()
	}
}

func (t *Transport) forgetRequest(key pendingKey) {
	t.mu.Lock()
	delete(t.requests, key)
	t.mu.Unlock()
}

func (t *Transport) startOutbound() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed || t.outTotal >= t.cfg.MaxOutbound {
		return false
	}
	t.outTotal++
	t.wg.Add(1)
	return true
}

func (t *Transport) endOutbound() {
	t.mu.Lock()
	t.outTotal--
	if t.outTotal == 0 && t.idle != nil {
		close(t.idle)
		t.idle = nil
	}
	t.mu.Unlock()
	t.wg.Done()
}

// Drain waits until no outgoing exchange is in flight, or ctx ends: after
// a graceful leave, so that the handoff is delivered before Close cuts it.
func (t *Transport) Drain(ctx context.Context) {
	t.mu.Lock()
	if t.outTotal == 0 {
		t.mu.Unlock()
		return
	}
	if t.idle == nil {
		t.idle = make(chan struct{})
	}
	idle := t.idle
	t.mu.Unlock()
	select {
	case <-idle:
	case <-ctx.Done():
	}
}

func (t *Transport) deliverMsg(m *cr.Message) {
	t.mu.Lock()
	d := t.deliver
	t.mu.Unlock()
	if d != nil {
		d(m)
	}
}

// reply hands the local node's reply to the stream its request came on;
// a reply whose request has timed out is dropped.
func (t *Transport) reply(to cr.Peer, m *cr.Message) {
	pid, err := PeerID(to)
	if err != nil {
		return
	}
	t.mu.Lock()
	ch := t.pending[pendingKey{pid, m.ID}]
	t.mu.Unlock()
	if ch != nil {
		select {
		case ch <- m:
		default:
		}
	}
}

// openStream opens a ring stream to p, relayed (limited) connections
// allowed: ring members and clients behind NAT talk over relays until a
// direct connection exists. Of several connections to p it takes the one
// p was last heard on (connpick.go), not the swarm's choice.
func (t *Transport) openStream(ctx context.Context, p peer.ID) (network.Stream, error) {
	ctx = network.WithAllowLimitedConn(ctx, ServiceName)
	conns := t.h.Network().ConnsToPeer(p)
	s := t.life.newStream(ctx, conns)
	if s == nil {
		// No connection, or one (pick chooses only among several): the
		// stream goes on the connection the dial returns (the existing
		// one, or a fresh one). The host's NewStream would wait for
		// identify on a fresh connection, a round trip the ring does not
		// need (the protocol is negotiated lazily on the first write, and
		// the peer's addresses are known: they were dialed). A one-hop
		// read to an owner this node never talked to costs the dial and
		// one round trip.
		began, first := t.beginDial(p)
		c, err := t.h.Network().DialPeer(ctx, p)
		t.endDial(p, c, began, first && len(conns) == 0) // what a dial costs (connstate.go)
		if err != nil {
			return nil, err
		}
		if s = streamOn(ctx, c); s == nil {
			if s, err = t.h.NewStream(ctx, p, ProtocolID); err != nil {
				return nil, err
			}
		}
	}
	if err := s.Scope().SetService(ServiceName); err != nil {
		s.Reset()
		return nil, err
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = s.SetDeadline(dl)
	}
	return s, nil
}

// request sends m to p and delivers the reply, if one comes before ctx
// ends (RequestTimeout, or Cancel) and is from p. Failures are silent:
// the core times the request out. A connection that brought nothing back
// within RequestTimeout while p was heard on another is closed
// (connpick.go).
func (t *Transport) request(ctx context.Context, p peer.ID, m *cr.Message) {
	began := time.Now()
	s, err := t.openStream(ctx, p)
	if err != nil {
		return
	}
	stop := context.AfterFunc(ctx, func() { s.Reset() })
	defer stop()
	var reserved int
	defer func() { release(s, reserved) }()
	reply, book, err := RoundTrip(s, m, t.addrsOf, t.cfg.MaxMessageSize, t.reserver(s, &reserved))
	if err != nil {
		if ctx.Err() == nil && errors.Is(err, network.ErrReset) {
			// p reset the stream (over its cap, its own deadline, a
			// refusal): a sign that p lives on this connection, so a
			// later request on it that is cancelled unanswered does not
			// count it dead (closeIfDead).
			t.life.heardOn(s.Conn(), time.Now())
		}
		s.Reset()
		t.closeIfDead(p, s.Conn(), ctx, began, m.Forward)
		return
	}
	reply.From = PeerOf(p) // the stream's peer, authenticated by libp2p
	t.life.heardOn(s.Conn(), time.Now())
	t.answered(m, s.Conn(), began) // a round trip, if no dial (connstate.go)
	s.Close()
	t.learn(book)
	t.deliverMsg(reply)
}

// closeIfDead closes c, the connection of a request to p begun at began
// that failed, when the request ran out of time (nothing came back, not
// even a reset, before its deadline: the stream's deadline and ctx's end
// at the same instant, either may be the error; or before the core
// stopped waiting for it, Cancel, at least half a ReplyTimeout after it
// began, a forward excepted: the core's request timeout, 5 s at the
// daemon's tick, now ends such requests before their deadline, and an
// answer that long overdue on c while p was heard elsewhere is the same
// sign) and p has shown on another connection since that it lives.
func (t *Transport) closeIfDead(p peer.ID, c network.Conn, ctx context.Context, began time.Time, forward bool) {
	dl, ok := ctx.Deadline()
	if c == nil || !ok || t.ctx.Err() != nil {
		return
	}
	canceled := errors.Is(ctx.Err(), context.Canceled) && !forward && time.Since(began) >= t.cfg.ReplyTimeout/2
	if time.Now().Before(dl) && !canceled {
		return
	}
	if t.life.silentSince(c, t.h.Network().ConnsToPeer(p), began) {
		c.Close()
	}
}

func (t *Transport) oneWay(p peer.ID, m *cr.Message) {
	ctx, cancel := context.WithTimeout(t.ctx, t.cfg.RequestTimeout)
	defer cancel()
	s, err := t.openStream(ctx, p)
	if err != nil {
		return
	}
	stop := context.AfterFunc(ctx, func() { s.Reset() }) // a silent peer must not hold Close
	defer stop()
	if err := WriteMessage(s, m, t.addrsOf, t.cfg.MaxMessageSize); err != nil {
		s.Reset()
		return
	}
	s.Close()
}

// reserver returns a reserve function for ReadMessage that accounts the
// frame with the stream's resource scope; small frames always get their
// memory, large ones only while the node is not short of it.
func (t *Transport) reserver(s network.Stream, reserved *int) func(int) error {
	return func(n int) error {
		prio := uint8(network.ReservationPriorityAlways)
		if n > 64<<10 {
			prio = network.ReservationPriorityMedium
		}
		if err := s.Scope().ReserveMemory(n, prio); err != nil {
			return err
		}
		*reserved += n
		return nil
	}
}

// addrsOf gives the addresses attached to a peer named in an outgoing
// message, so that its receiver can dial peers it has not met.
func (t *Transport) addrsOf(p cr.Peer) []ma.Multiaddr {
	if p.Addr == t.self.Addr {
		return t.h.Addrs()
	}
	pid, err := peer.Decode(p.Addr)
	if err != nil {
		return nil
	}
	return t.h.Peerstore().Addrs(pid)
}

// learn adds the addresses a message from src carried to the peerstore,
// for a short time. Addresses are only hints: dialing checks the peer ID.
func (t *Transport) learn(book AddrBook) {
	for addr, addrs := range book {
		pid, err := peer.Decode(addr)
		if err != nil || pid == t.h.ID() {
			continue
		}
		t.h.Peerstore().AddAddrs(pid, addrs, t.cfg.AddrTTL)
	}
}

// errClosed ends streams that arrive while the transport closes.
var errClosed = errors.New("chordrouting/p2p: transport closed")

// handleStream serves one incoming stream, go-libp2p style: service
// scope, stream caps (in all, per peer, per IP, per subnet), memory
// reserved before the message is read, deadlines (HeaderTimeout for the
// frame length, MinReadRate for the body, RequestTimeout in all); Close
// on success, Reset on any failure.
func (t *Transport) handleStream(s network.Stream) {
	if err := s.Scope().SetService(ServiceName); err != nil {
		s.Reset()
		return
	}
	remote := s.Conn().RemotePeer()
	firstOnConn := t.life.heardOn(s.Conn(), time.Now()) // the peer lives on this connection
	t.mu.Lock()
	group := t.group
	t.mu.Unlock()
	slot := slotOf(remote, group(remote, s.Conn().RemoteMultiaddr()))
	if !t.startInbound(slot) {
		s.Reset()
		return
	}
	defer t.endInbound(slot)
	if ps := t.h.Peerstore(); firstOnConn && len(ps.Addrs(remote)) == 0 {
		// Identify, which runs alongside a connection's first stream,
		// has not said where the peer listens yet; the node may name the
		// peer to others at once (a joiner in a state reply), so the
		// address it connected from stands in until then.
		ps.AddAddr(remote, s.Conn().RemoteMultiaddr(), peerstore.TempAddrTTL)
	}
	stop := context.AfterFunc(t.ctx, func() { s.Reset() }) // Close ends a stream that waits
	defer stop()
	dl := newStreamDeadlines(s, t.cfg, time.Now())
	var reserved int
	defer func() { release(s, reserved) }()
	reserve := t.reserver(s, &reserved)
	paced := func(n int) error {
		dl.frameStarted(n)
		return reserve(n)
	}
	end := dl.start.Add(t.cfg.RequestTimeout)
	err := Serve(s, t.cfg.MaxMessageSize, paced, t.addrsOf,
		func(m *cr.Message, book AddrBook) (*cr.Message, error) {
			var gone <-chan struct{}
			if m.Type.IsRequest() {
				gone = watchRequester(s, end)
			}
			return t.serve(remote, m, book, end, gone)
		})
	if err != nil {
		s.Reset()
		return
	}
	s.Close()
}

func (t *Transport) startInbound(s inboundSlot) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed || !t.in.take(s, t.cfg) {
		return false
	}
	t.wg.Add(1)
	return true
}

func (t *Transport) endInbound(s inboundSlot) {
	t.mu.Lock()
	t.in.give(s)
	t.mu.Unlock()
	t.wg.Done()
}

// serve handles one incoming message from remote, its sender: it answers
// a peer over its rate with an error, and otherwise delivers the message
// and, for a request, waits for the node's reply (replyWait), or until
// gone is closed (the requester reset the stream: watchRequester). end is
// the stream's deadline.
func (t *Transport) serve(remote peer.ID, m *cr.Message, book AddrBook, end time.Time, gone <-chan struct{}) (*cr.Message, error) {
	m.From = PeerOf(remote) // authenticated by libp2p; never on the wire
	t.learn(book)
	if lim := t.limiterFor(m); lim != nil && !lim.allow(remote) {
		return &cr.Message{Type: cr.MsgError, ID: m.ID, From: t.self, Err: errRateLimited}, nil
	}
	if !m.Type.IsRequest() {
		t.deliverMsg(m)
		return nil, nil
	}
	key := pendingKey{remote, m.ID}
	ch := make(chan *cr.Message, 1)
	t.mu.Lock()
	if _, dup := t.pending[key]; dup || t.closed {
		t.mu.Unlock()
		return nil, fmt.Errorf("chordrouting/p2p: request %d from %s already pending", m.ID, remote)
	}
	t.pending[key] = ch
	t.mu.Unlock()
	defer func() {
		t.mu.Lock()
		delete(t.pending, key)
		t.mu.Unlock()
	}()
	wait := t.replyWait(m, end)
	t.deliverMsg(m)
	timer := time.NewTimer(wait)
	defer timer.Stop()
	select {
	case r := <-ch:
		return r, nil
	case <-timer.C:
		return nil, fmt.Errorf("chordrouting/p2p: no reply to request %d within %v", m.ID, wait)
	case <-gone:
		return nil, fmt.Errorf("chordrouting/p2p: request %d: %w", m.ID, errRequesterGone)
	case <-t.ctx.Done():
		return nil, errClosed
	}
}

// errRequesterGone ends an incoming request whose requester reset its
// stream (or wrote past its request) before the reply.
var errRequesterGone = errors.New("requester gone")

// watchRequester returns a channel closed when the requester of the
// request just read from s resets the stream (its core stopped waiting:
// Cancel) or writes past the request, so that the request's
// wait for the node's reply ends then and its slot (MaxInboundPerPeer)
// is free for the requester's next stream: a stream held until
// ReplyTimeout after the requester gave up made the receiver count more
// of the requester's streams than the requester had in flight. The
// watch reads until end, the stream's deadline, and ends with the stream
// (Close or Reset end the read).
func watchRequester(s network.Stream, end time.Time) <-chan struct{} {
	_ = s.SetReadDeadline(end)
	gone := make(chan struct{})
	go func() {
		var b [1]byte
		// A requester that only closes its side (EOF) still waits for
		// the reply.
		if _, err := s.Read(b[:]); err == nil || errors.Is(err, network.ErrReset) {
			close(gone)
		}
	}()
	return gone
}

// replyWait is how long an incoming request waits for the node's reply:
// ReplyTimeout, or for a forwarded request (a client's Get or Store that
// the node runs as its own operation, which may wait out request
// timeouts of its own) until a tenth of RequestTimeout before end, the
// stream's deadline, which leaves the reply time to be written.
func (t *Transport) replyWait(m *cr.Message, end time.Time) time.Duration {
	if !m.Forward {
		return t.cfg.ReplyTimeout
	}
	return max(t.cfg.ReplyTimeout, time.Until(end)-t.cfg.RequestTimeout/10)
}

// limiterFor returns the per-peer rate limit m is counted against:
// publishing (stores that are not replica pushes) and searching share one
// bucket, replica pushes have their own larger one, one-hop membership
// traffic its own, the repair offers whose answers scan a range of the
// store (summaries, and digest offers of a whole range, which ask for push
// back) their own small one, and ring maintenance (pings, state, lookups,
// other digest offers: 256 lookups each) is not limited.
func (t *Transport) limiterFor(m *cr.Message) *rateLimiter {
	switch {
	case m.Type == cr.MsgStore && m.Replica:
		return t.replica
	case m.Type == cr.MsgStore || m.Type == cr.MsgGet:
		return t.limit
	case m.Type == cr.MsgMembership || m.Type == cr.MsgGetMembers:
		return t.members
	case m.Type == cr.MsgDigestSummary || (m.Type == cr.MsgDigest && m.Done):
		return t.repair
	}
	return nil
}

func release(s network.Stream, n int) {
	if n > 0 {
		s.Scope().ReleaseMemory(n)
	}
}
