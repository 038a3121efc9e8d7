package main

import (
	"context"
	"fmt"

	"github.com/libp2p/go-libp2p/core/host"
)

// oursSystem is kwsearch: the ring (chordrouting over chordrouting/p2p) in
// server mode on every host and the keyword index on top of it.
type oursSystem struct {
	cfg   Config
	seed  int64
	hosts []host.Host
	count msgCounter
}

func newOursSystem(cfg Config, seed int64) *oursSystem { return &oursSystem{cfg: cfg, seed: seed} }

func (o *oursSystem) Messages() int64 { return o.count.writes.Load() }

func (o *oursSystem) Start(ctx context.Context, hosts []host.Host) error {
	o.hosts = hosts
	return fmt.Errorf("bench: our ring: %w", errUnavailable)
}

func (o *oursSystem) Publish(ctx context.Context, w *workload) (publishStats, error) {
	return publishStats{}, fmt.Errorf("bench: keyword publish: %w", errUnavailable)
}

func (o *oursSystem) Search(ctx context.Context, s search, w *workload) (searchSample, error) {
	return searchSample{}, fmt.Errorf("bench: keyword search: %w", errUnavailable)
}

func (o *oursSystem) Close() error { return nil }

var _ system = (*oursSystem)(nil)
