package chordrouting

import (
	"strings"
	"testing"
)

func TestConfigValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatalf("default config: %v", err)
	}
	cases := []struct {
		name string
		mod  func(*Config)
		want string
	}{
		{"r of 1", func(c *Config) { c.SuccessorListLen = 1 }, "SuccessorListLen"},
		{"R above r+1", func(c *Config) { c.Replicas = c.SuccessorListLen + 2 }, "Replicas"},
		{"R of 0", func(c *Config) { c.Replicas = 0 }, "Replicas"},
		{"no room for a forward", func(c *Config) { c.MaxPending = 20 }, "MaxPending"},
		{"no stabilize", func(c *Config) { c.StabilizeTicks = 0 }, "StabilizeTicks"},
		{"suspect after timeout", func(c *Config) { c.SuspectTicks = c.RequestTimeoutTicks + 1 }, "SuspectTicks"},
		{"lookup shorter than a request", func(c *Config) { c.LookupTimeoutTicks = c.RequestTimeoutTicks - 1 }, "LookupTimeoutTicks"},
		{"repair within a timeout", func(c *Config) { c.RepairTicks = c.RequestTimeoutTicks }, "RepairTicks"},
		{"negative heal", func(c *Config) { c.HealTicks = -1 }, "HealTicks"},
		{"negative repair settle", func(c *Config) { c.RepairSettleTicks = -1 }, "RepairSettleTicks"},
		{"no value size", func(c *Config) { c.MaxValueSize = 0 }, "MaxValueSize"},
		{"no forward timeout", func(c *Config) { c.ForwardTimeoutTicks = 0 }, "ForwardTimeoutTicks"},
		{"no forwards", func(c *Config) { c.MaxForwards = 0 }, "MaxForwards"},
		{"per-client forwards above the total", func(c *Config) { c.MaxForwardsPerClient = c.MaxForwards + 1 }, "MaxForwardsPerClient"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := DefaultConfig()
			c.mod(&cfg)
			err := cfg.Validate()
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Validate() = %v, want an error naming %s", err, c.want)
			}
		})
	}
}

// TestDefaultTableSizeBoundsMemory: joins are not authenticated, so a
// flood of forged joins can fill a daemon's membership table to
// MaxTableSize; the default keeps that within a daemon's memory budget
// (about 150 B per entry with libp2p peer IDs) while still holding every
// member of the largest ring the simulator measures.
func TestDefaultTableSizeBoundsMemory(t *testing.T) {
	const bytesPerEntry, budget, largestSimRing = 150, 32 << 20, 100_000
	c := DefaultConfig()
	if c.MaxTableSize*bytesPerEntry > budget {
		t.Fatalf("MaxTableSize %d: a forged-join flood could hold %d MB, budget %d MB", c.MaxTableSize, c.MaxTableSize*bytesPerEntry>>20, budget>>20)
	}
	if c.MaxTableSize < largestSimRing {
		t.Fatalf("MaxTableSize %d below the simulator's %d-node rings: they would thin", c.MaxTableSize, largestSimRing)
	}
}
