package main

import (
	"testing"
	"time"
)

// TestTickClockSetPeriod: SetPeriod changes the period of the tickers
// already made (a ticker at an hour ticks within a second once set to a
// millisecond) and of new ones; a stopped ticker is forgotten.
func TestTickClockSetPeriod(t *testing.T) {
	c := newTickClock(time.Hour)
	a := c.NewTicker(time.Millisecond) // the clock's period wins
	select {
	case <-a.C():
		t.Fatal("a ticker at the clock's hour ticked at once")
	case <-time.After(20 * time.Millisecond):
	}
	c.SetPeriod(time.Millisecond)
	for _, k := range []interface{ C() <-chan time.Time }{a, c.NewTicker(time.Hour)} {
		select {
		case <-k.C():
		case <-time.After(10 * time.Second):
			t.Fatal("a ticker did not follow SetPeriod")
		}
	}
	a.Stop()
	c.mu.Lock()
	n := len(c.tickers)
	c.mu.Unlock()
	if n != 1 {
		t.Fatalf("%d tickers remembered after one of two stopped, want 1", n)
	}
}
