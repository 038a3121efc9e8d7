package bootstrap

import "testing"

// TestLimiterScales: more memory and descriptors in the config give the
// system scope larger limits; every setting yields a resource manager.
func TestLimiterScales(t *testing.T) {
	small, big := DefaultConfig(), DefaultConfig()
	small.MaxMemory, small.MaxFDs = 256<<20, 256
	big.MaxMemory, big.MaxFDs = 4<<30, 4096
	ls, lb := limiter(small).GetSystemLimits(), limiter(big).GetSystemLimits()
	if ls.GetMemoryLimit() >= lb.GetMemoryLimit() || ls.GetFDLimit() >= lb.GetFDLimit() {
		t.Errorf("limits do not scale: small %d B %d fds, big %d B %d fds",
			ls.GetMemoryLimit(), ls.GetFDLimit(), lb.GetMemoryLimit(), lb.GetFDLimit())
	}
	if got := lb.GetFDLimit(); got > big.MaxFDs {
		t.Errorf("FD limit %d above MaxFDs %d", got, big.MaxFDs)
	}
	for _, cfg := range []Config{DefaultConfig(), small, big} {
		rm, err := resourceManager(cfg)
		if err != nil {
			t.Fatal(err)
		}
		rm.Close()
	}
}
