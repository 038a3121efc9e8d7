//go:build unix

package sim

import (
	"syscall"
	"time"
)

// processCPU is the CPU time (user + system) the process has used so far:
// on a shared machine it measures the simulator's cost better than the
// wall clock.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
