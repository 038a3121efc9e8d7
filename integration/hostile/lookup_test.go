package hostile

import (
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	ma "github.com/multiformats/go-multiaddr"

	cr "kwsearch/chordrouting"
	"kwsearch/chordrouting/p2p"
)

// fakeRing is an attacker that answers ring requests with lies.
type fakeRing struct {
	t       testing.TB
	a       *attacker
	mode    string  // see TestLookupPoisoning
	partner cr.Peer // "loop": the other attacker
	asked   int
}

// closerJunk returns n fresh peers strictly between from and key (so a
// lookup takes them as progress), none of which exists.
func closerJunk(t testing.TB, from, key cr.ID, n int) []cr.Peer {
	var out []cr.Peer
	for len(out) < n {
		p := randomPeer(t)
		if cr.Between(from, p.ID, key) {
			out = append(out, p)
		}
	}
	return out
}

func (f *fakeRing) handle(s network.Stream) {
	m, _, err := p2p.ReadMessage(s, 4<<20, nil)
	if err != nil || !m.Type.IsRequest() {
		s.Reset()
		return
	}
	f.asked++
	r := &cr.Message{ID: m.ID, From: f.a.self, Key: m.Key}
	switch m.Type {
	case cr.MsgFindSuccessor:
		r.Type = cr.MsgFindSuccessorReply
		switch f.mode {
		case "nonexistent":
			r.Peers = closerJunk(f.t, f.a.self.ID, m.Key, 3)
		case "loop":
			r.Peers = []cr.Peer{f.partner, f.a.self}
		case "self":
			r.Peers = []cr.Peer{f.a.self}
		case "claims owner":
			r.Done, r.Peers = true, []cr.Peer{f.a.self}
		case "nonexistent owners":
			r.Done, r.Peers = true, closerJunk(f.t, f.a.self.ID, m.Key, 3)
		}
	case cr.MsgGet:
		r.Type, r.Done = cr.MsgGetReply, true
	case cr.MsgStore:
		r.Type, r.Count = cr.MsgStoreAck, len(m.Items)
	case cr.MsgPing:
		r.Type = cr.MsgPong
	case cr.MsgGetState:
		// Confirms whatever it claimed: no predecessor, so it owns every
		// key by its own account.
		r.Type, r.Peers = cr.MsgState, []cr.Peer{f.a.self}
	default:
		r.Type, r.Err = cr.MsgError, "no"
	}
	// Junk peers get an address that refuses connections at once.
	dead := ma.StringCast("/ip4/127.0.0.1/tcp/1")
	addrs := func(p cr.Peer) []ma.Multiaddr {
		if p.Addr == f.a.self.Addr {
			return f.a.h.Addrs()
		}
		return []ma.Multiaddr{dead}
	}
	if err := p2p.WriteMessage(s, r, addrs, 4<<20); err != nil {
		s.Reset()
		return
	}
	s.Close()
}

// TestLookupPoisoning: an honest client's first entry point is an
// attacker whose lookup replies point to nodes that do not exist, loop
// between two attackers, point to itself, or claim that the attacker (or
// nodes that do not exist) own every key, and that confirms the claim
// when asked for its state. The second entry point is a node of an
// honest ring of three. Lookups must end within their bounds, and every
// search must find the honest records: the client runs each lookup from
// both entry points and an owner that names itself loses to one another
// node named (chordrouting/crosscheck.go); the lookups run so only with
// forwarding off (Config.ClientForward). With forwarding on the client
// asks its entry points for the whole search, and the attacker answers
// every forwarded search with no values (and acknowledges every store):
// the client merges its answer with the other entry point's.
func TestLookupPoisoning(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{"nonexistent", "loop", "self", "claims owner", "nonexistent owners"} {
		t.Run("iterative/"+mode, func(t *testing.T) { lookupPoisoning(t, mode, false) })
	}
	t.Run("forwarded/empty answers", func(t *testing.T) { lookupPoisoning(t, "empty answers", true) })
}

func lookupPoisoning(t *testing.T, mode string, forward bool) {
	t.Parallel()
	ring := startRing(t, defaultOpts(t), 3)
	v := ring[0]
	root := v.share(t, "honest lookup poison tune.opus", 100<<10)
	a := newAttacker(t)
	f := &fakeRing{t: t, a: a, mode: mode}
	a.h.SetStreamHandler(p2p.ProtocolID, f.handle)
	if mode == "loop" {
		a2 := newAttacker(t)
		f2 := &fakeRing{t: t, a: a2, mode: mode, partner: a.self}
		f.partner = a2.self
		a2.h.SetStreamHandler(p2p.ProtocolID, f2.handle)
		a.h.Peerstore().AddAddrs(a2.h.ID(), a2.h.Addrs(), time.Hour)
		a2.h.Peerstore().AddAddrs(a.h.ID(), a.h.Addrs(), time.Hour)
	}
	co := defaultOpts(t)
	co.ring.ClientForward = forward
	cl := startClientWith(t, co, infoOf(a.h), infoOf(ring[1].h))
	var hc honest
	start := time.Now()
	const rounds = 3
	for i := 0; i < rounds; i++ {
		hc.search(t, cl, []string{"honest", "lookup", "poison"}, root, v.h.ID())
	}
	per := time.Since(start) / rounds
	hc.download(t, cl, root, v.data[root], infoOf(v.h))
	t.Logf("%s (forward %v): attacker asked %d times; %s; %v per search", mode, forward, f.asked, hc.String(), per.Round(time.Millisecond))
	lookupBound := time.Duration(ringConfig(t).LookupTimeoutTicks)*tick*2 + 5*time.Second
	if per > lookupBound {
		t.Errorf("a search took %v, above the lookup bound %v", per, lookupBound)
	}
	if f.asked == 0 {
		t.Error("the attacker was never asked: the test tests nothing")
	}
	hc.requireAllOK(t)
}
