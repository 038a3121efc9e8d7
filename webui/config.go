package webui

import (
	"errors"
	"fmt"
	"time"
)

// Config tunes the web page's sessions and event stream.
type Config struct {
	// TicketTTL is how long a one-time login URL stays valid: long enough to
	// copy it from a terminal into a browser, short enough that one left in
	// a scroll-back buffer is dead.
	TicketTTL time.Duration
	// MaxTickets bounds unused login tickets kept in memory; the oldest is
	// dropped first. Nobody needs more than a few at once.
	MaxTickets int
	// SessionTTL is a session cookie's lifetime: a working week, so the page
	// does not ask for a new login every morning.
	SessionTTL time.Duration
	// EventInterval is the longest gap between two download snapshots on
	// the event stream (it also paces polling of the node's download list
	// and the rate estimate); progress events come faster when there are any.
	EventInterval time.Duration
	// MinEventGap bounds how often snapshots are sent, so a fast download
	// does not flood the browser: four per second reads as smooth.
	MinEventGap time.Duration
	// DownloadDir is the folder suggested to the page for downloads; empty
	// means the user's Downloads folder in their home.
	DownloadDir string
}

// DefaultConfig returns the configuration the daemon uses.
func DefaultConfig() Config {
	return Config{
		TicketTTL:     2 * time.Minute,
		MaxTickets:    16,
		SessionTTL:    7 * 24 * time.Hour,
		EventInterval: time.Second,
		MinEventGap:   250 * time.Millisecond,
	}
}

// Validate checks the configuration.
func (c Config) Validate() error {
	switch {
	case c.TicketTTL <= 0:
		return errors.New("webui: TicketTTL must be positive")
	case c.MaxTickets < 1:
		return errors.New("webui: MaxTickets must be at least 1")
	case c.SessionTTL < c.TicketTTL:
		return fmt.Errorf("webui: SessionTTL %v is shorter than TicketTTL %v", c.SessionTTL, c.TicketTTL)
	case c.MinEventGap <= 0:
		return errors.New("webui: MinEventGap must be positive")
	case c.EventInterval < c.MinEventGap:
		return fmt.Errorf("webui: EventInterval %v is shorter than MinEventGap %v", c.EventInterval, c.MinEventGap)
	}
	return nil
}
