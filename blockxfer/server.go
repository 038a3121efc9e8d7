package blockxfer

import (
	"context"
	"fmt"
	"sync"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
)

const (
	// ProtocolID is the block protocol (SPEC §1).
	ProtocolID = protocol.ID("/kwsearch/blockxfer/1.0.0")
	// ServiceName is the resource manager service streams are attached to.
	ServiceName = "kwsearch.blockxfer"
)

// Server serves a Source's files to peers over ProtocolID.
type Server struct {
	h       host.Host
	src     Source
	cfg     ServerConfig
	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	ctr     serverCounters
	mu      sync.Mutex
	perPeer map[peer.ID]int
	streams map[network.Stream]struct{}
	closed  bool
}

// NewServer registers the stream handler on h and serves src. Call Close to
// stop. Streams over limited (relayed) connections are refused: blocks only
// travel over direct connections.
func NewServer(h host.Host, src Source, cfg ServerConfig) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{h: h, src: src, cfg: cfg, ctx: ctx, cancel: cancel,
		perPeer: make(map[peer.ID]int), streams: make(map[network.Stream]struct{})}
	h.SetStreamHandler(ProtocolID, s.handle)
	return s, nil
}

// Stats returns what the server has sent so far.
func (s *Server) Stats() ServerStats { return s.ctr.snapshot() }

// Close removes the handler, resets open streams and waits for them.
func (s *Server) Close() error {
	s.h.RemoveStreamHandler(ProtocolID)
	s.mu.Lock()
	s.closed = true
	for st := range s.streams {
		_ = st.Reset()
	}
	s.mu.Unlock()
	s.cancel()
	s.wg.Wait()
	return nil
}

func (s *Server) handle(st network.Stream) {
	if st.Conn().Stat().Limited {
		_ = st.Reset()
		return
	}
	if !s.admit(st) {
		_ = st.Reset()
		return
	}
	defer s.wg.Done()
	defer s.release(st)
	if err := s.serveStream(st); err != nil {
		_ = st.Reset()
		return
	}
	_ = st.Close()
}

func (s *Server) serveStream(st network.Stream) error {
	if err := st.Scope().SetService(ServiceName); err != nil {
		return fmt.Errorf("blockxfer: attaching stream to service: %w", err)
	}
	mem := s.cfg.Pipeline*MaxBlockResponseSize + MaxRequestSize
	if err := st.Scope().ReserveMemory(mem, network.ReservationPriorityMedium); err != nil {
		return fmt.Errorf("blockxfer: reserving stream memory: %w", err)
	}
	defer st.Scope().ReleaseMemory(mem)
	return serve(s.ctx, st, s.src, s.cfg, &s.ctr)
}

// admit counts the stream against its peer's limit.
func (s *Server) admit(st network.Stream) bool {
	p := st.Conn().RemotePeer()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.perPeer[p] >= s.cfg.MaxStreamsPerPeer {
		return false
	}
	s.perPeer[p]++
	s.streams[st] = struct{}{}
	s.wg.Add(1)
	return true
}

func (s *Server) release(st network.Stream) {
	p := st.Conn().RemotePeer()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.perPeer[p]--; s.perPeer[p] <= 0 {
		delete(s.perPeer, p)
	}
	delete(s.streams, st)
}
