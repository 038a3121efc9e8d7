package sim

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// TestRunForStops: once the stop channel is closed, RunFor returns
// ErrInterrupted within stopEvery events, and every later call returns it
// at once, processing nothing and leaving the clock where it was.
func TestRunForStops(t *testing.T) {
	net, eps := newFakeNet(t, DefaultNetConfig(), 1, 50)
	for _, f := range eps {
		f.onTick = func() { // a steady load of messages: the run never runs dry
			f.ping(net.rng.IntN(len(eps)), 0)
			f.got, f.ticks = f.got[:0], f.ticks[:0]
		}
	}
	stop := make(chan struct{})
	net.SetStop(stop)
	if err := net.RunFor(2 * time.Second); err != nil {
		t.Fatalf("before the stop: %v", err)
	}
	close(stop)
	before := net.Steps()
	if err := net.RunFor(time.Hour); !errors.Is(err, ErrInterrupted) {
		t.Fatalf("after the stop: %v, want ErrInterrupted", err)
	}
	if ran := net.Steps() - before; ran >= stopEvery {
		t.Fatalf("%d events ran after the stop, want fewer than %d", ran, stopEvery)
	}
	steps, at := net.Steps(), net.Elapsed()
	if err := net.RunUntil(func() bool { return false }, time.Hour); !errors.Is(err, ErrInterrupted) {
		t.Fatalf("RunUntil after the stop: %v, want ErrInterrupted", err)
	}
	if net.Steps() != steps || net.Elapsed() != at {
		t.Fatalf("a stopped network ran on: %d -> %d events, %v -> %v", steps, net.Steps(), at, net.Elapsed())
	}
}

// TestRunStopsMidway: a run stopped during a phase returns ErrInterrupted
// (not a report, not a wrapped phase error), and no phase after it
// advances the simulated clock; also when the stop comes after the last
// wait (a phase cut short may end quietly: its unanswered reads are
// figures, not errors).
func TestRunStopsMidway(t *testing.T) {
	for _, at := range []string{"", "republish done", "records:"} {
		stop := make(chan struct{})
		var after []string
		opt := Options{Nodes: 300, Lookups: 100, Seed: 1, Stop: stop, Log: func(line string) {
			select {
			case <-stop:
				after = append(after, line)
			default:
				if strings.Contains(line, at) {
					close(stop)
					after = append(after, line)
				}
			}
		}}
		rep, err := Run(opt)
		if err != ErrInterrupted {
			t.Fatalf("stop at %q: Run: %v, want ErrInterrupted itself", at, err)
		}
		if rep.Nodes != 0 {
			t.Fatalf("stop at %q: Run gave a report with its error: %+v", at, rep)
		}
		if len(after) == 0 {
			t.Fatalf("stop at %q: no such phase line: the stop was never given", at)
		}
		clock := func(line string) string { return line[:strings.IndexByte(line, ']')+1] }
		for _, l := range after[1:] {
			if clock(l) != clock(after[0]) {
				t.Fatalf("stop at %q: the clock moved after the stop: %q, then %q", at, after[0], l)
			}
		}
	}
}
