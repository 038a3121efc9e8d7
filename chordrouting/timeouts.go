package chordrouting

import "time"

// This file sizes request timeouts to the network. Config gives the
// timeout in ticks, but a tick says nothing about round trips: with short
// ticks on a slow network (or long round trips on a loaded host) a reply
// can take longer than RequestTimeoutTicks, and every such peer would be
// presumed dead, so that joins fail and live successors are dropped. The
// node therefore measures the tick length and the round trips of its
// requests (also of replies that came after their timeout), and waits at
// least a retransmission timeout as TCP computes it (RFC 6298: smoothed
// round trip plus four mean deviations), rounded up to ticks, plus one
// tick for the tick's own granularity.

// lateSlots is how many timed-out requests are remembered, so that a late
// reply still teaches the node the round trip.
const lateSlots = 16

// rttState is what the node measures for its timeouts.
type rttState struct {
	lastTick time.Time
	tick     time.Duration // length of the last tick
	srtt     time.Duration // smoothed round trip of all requests
	rttvar   time.Duration // mean deviation of the round trip
	late     [lateSlots]lateReq
	lateNext int
}

// lateReq is a request that timed out.
type lateReq struct {
	id   uint64
	sent time.Time
}

// ticked records the time of a tick.
func (r *rttState) ticked(now time.Time) {
	if !r.lastTick.IsZero() && now.After(r.lastTick) {
		r.tick = now.Sub(r.lastTick)
	}
	r.lastTick = now
}

// sample folds one round trip in (RFC 6298, section 2).
func (r *rttState) sample(d time.Duration) {
	if d <= 0 {
		return
	}
	if r.srtt == 0 {
		r.srtt, r.rttvar = d, d/2
		return
	}
	dev := r.srtt - d
	if dev < 0 {
		dev = -dev
	}
	r.rttvar += (dev - r.rttvar) / 4
	r.srtt += (d - r.srtt) / 8
}

// expired remembers a request that timed out.
func (r *rttState) expired(id uint64, sent time.Time) {
	r.late[r.lateNext] = lateReq{id: id, sent: sent}
	r.lateNext = (r.lateNext + 1) % lateSlots
}

// lateReply samples the round trip of a reply to a timed-out request, if
// it is one.
func (r *rttState) lateReply(id uint64, now time.Time) {
	for k := range r.late {
		if l := &r.late[k]; l.id == id && id != 0 {
			r.sample(now.Sub(l.sent))
			*l = lateReq{}
			return
		}
	}
}

// maxTimeoutFactor caps the measured timeout at this many times
// RequestTimeoutTicks: peers that answer late on purpose can slow this
// node's failure detection only that much.
const maxTimeoutFactor = 4

// timeoutTicks is how many ticks a request waits for its reply: the
// configured timeout, or more when the measured round trips need it (at
// most maxTimeoutFactor times as much, and never more than a lookup's
// whole timeout).
func (n *Node) timeoutTicks() uint64 {
	t := uint64(n.cfg.RequestTimeoutTicks)
	r := &n.rt
	if r.tick <= 0 || r.srtt == 0 {
		return t
	}
	rto := r.srtt + 4*r.rttvar
	need := uint64((rto+r.tick-1)/r.tick) + 1
	return max(t, min(need, maxTimeoutFactor*t, uint64(n.cfg.LookupTimeoutTicks)))
}
