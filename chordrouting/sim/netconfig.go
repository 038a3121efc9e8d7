package sim

import (
	"fmt"
	"time"
)

// NetConfig sets the simulated network's behaviour.
type NetConfig struct {
	// Tick is the virtual time between two Tick calls of one node. 100 ms
	// keeps the core's tick-denominated timings (stabilize every few ticks,
	// request timeouts of a few ticks) in the range real deployments use.
	Tick time.Duration
	// MinDelay and MaxDelay bound the one-way delay of each message, drawn
	// uniformly per message (so messages between two nodes may overtake
	// each other). 5–50 ms spans LAN to continental round trips.
	MinDelay, MaxDelay time.Duration
	// Loss is the probability that a message is dropped. 0 by default: loss
	// is an experiment parameter, not background noise.
	Loss float64
}

// DefaultNetConfig returns the defaults described on NetConfig's fields.
func DefaultNetConfig() NetConfig {
	return NetConfig{
		Tick:     100 * time.Millisecond,
		MinDelay: 5 * time.Millisecond,
		MaxDelay: 50 * time.Millisecond,
	}
}

// Validate reports the first inconsistent field.
func (c NetConfig) Validate() error {
	switch {
	case c.Tick <= 0:
		return fmt.Errorf("sim: Tick must be positive, got %v", c.Tick)
	case c.MinDelay < 0:
		return fmt.Errorf("sim: MinDelay must not be negative, got %v", c.MinDelay)
	case c.MaxDelay < c.MinDelay:
		return fmt.Errorf("sim: MaxDelay (%v) must not be below MinDelay (%v)", c.MaxDelay, c.MinDelay)
	case c.Loss < 0 || c.Loss >= 1 || c.Loss != c.Loss:
		return fmt.Errorf("sim: Loss must be in [0, 1), got %v", c.Loss)
	}
	return nil
}
