package main

import (
	"context"
	"sync/atomic"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
)

// msgCounter counts the requests one system sends: writes on the streams
// it opens. Both kad-dht and our transport write one framed message per
// Write call through a buffered writer, so writes on outbound streams count
// requests (a message larger than the buffer counts more than once).
type msgCounter struct {
	writes  atomic.Int64
	streams atomic.Int64
}

// countingHost is a host whose outbound streams are counted, or, with
// inbound, the streams its handlers accept. Our ring's transport opens
// its streams on the connection itself (not through the host's
// NewStream, which would wait for identify on a fresh connection), so
// ours is counted where the streams arrive: every request and one-way
// message is one stream, so the two counts agree but for streams lost
// on the way.
type countingHost struct {
	host.Host
	c       *msgCounter
	inbound bool
}

func (h *countingHost) NewStream(ctx context.Context, p peer.ID, pids ...protocol.ID) (network.Stream, error) {
	s, err := h.Host.NewStream(ctx, p, pids...)
	if err != nil {
		return nil, err
	}
	if h.inbound {
		return s, nil
	}
	h.c.streams.Add(1)
	return &countingStream{Stream: s, c: h.c}, nil
}

func (h *countingHost) SetStreamHandler(pid protocol.ID, handler network.StreamHandler) {
	if !h.inbound {
		h.Host.SetStreamHandler(pid, handler)
		return
	}
	h.Host.SetStreamHandler(pid, func(s network.Stream) {
		h.c.streams.Add(1)
		handler(s)
	})
}

type countingStream struct {
	network.Stream
	c *msgCounter
}

func (s *countingStream) Write(p []byte) (int, error) {
	s.c.writes.Add(1)
	return s.Stream.Write(p)
}
