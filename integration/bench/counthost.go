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

// countingHost is a host whose outbound streams are counted.
type countingHost struct {
	host.Host
	c *msgCounter
}

func (h *countingHost) NewStream(ctx context.Context, p peer.ID, pids ...protocol.ID) (network.Stream, error) {
	s, err := h.Host.NewStream(ctx, p, pids...)
	if err != nil {
		return nil, err
	}
	h.c.streams.Add(1)
	return &countingStream{Stream: s, c: h.c}, nil
}

type countingStream struct {
	network.Stream
	c *msgCounter
}

func (s *countingStream) Write(p []byte) (int, error) {
	s.c.writes.Add(1)
	return s.Stream.Write(p)
}
