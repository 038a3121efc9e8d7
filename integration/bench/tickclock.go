package main

import (
	"sync"
	"time"

	cr "kwsearch/chordrouting"
)

// tickClock is the wall clock that makes the ring runners' tickers, so
// that the bench can change every runner's tick at once: rings form at
// formTick (a thousand hosts in minutes) and are measured at the
// daemon's tick (Config.RingTick), whose maintenance traffic is a tenth.
type tickClock struct {
	mu      sync.Mutex
	period  time.Duration
	tickers map[*time.Ticker]bool
}

func newTickClock(period time.Duration) *tickClock {
	return &tickClock{period: period, tickers: map[*time.Ticker]bool{}}
}

func (*tickClock) Now() time.Time { return time.Now() }

// NewTicker ticks at the clock's current period (the runner's own tick is
// ignored: the clock decides).
func (c *tickClock) NewTicker(time.Duration) cr.Ticker {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := time.NewTicker(c.period)
	c.tickers[t] = true
	return clockTicker{c, t}
}

// SetPeriod changes the period of every ticker the clock made, and of
// those it will make. The tickers' phases are spread evenly over one new
// period (ticker k of n is reset k·d/n later): reset at one instant, a
// thousand in-process nodes would all tick at once every period, and the
// burst would delay the searches in flight then (one daemon per machine
// has no such burst).
func (c *tickClock) SetPeriod(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.period = d
	k, n := 0, len(c.tickers)
	for t := range c.tickers {
		time.AfterFunc(d*time.Duration(k)/time.Duration(n), func() {
			c.mu.Lock()
			defer c.mu.Unlock()
			if c.tickers[t] && c.period == d { // not stopped or changed since
				t.Reset(d)
			}
		})
		k++
	}
}

type clockTicker struct {
	c *tickClock
	t *time.Ticker
}

func (k clockTicker) C() <-chan time.Time { return k.t.C }

func (k clockTicker) Stop() {
	k.c.mu.Lock()
	delete(k.c.tickers, k.t)
	k.c.mu.Unlock()
	k.t.Stop()
}
