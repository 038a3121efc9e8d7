package blockxfer

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// preallocate reserves disk space for the whole download up front, so a
// disk too small for the file fails the download at once (an error
// wrapping syscall.ENOSPC) instead of after minutes of transfer, and the
// file's extents are allocated in one piece. Data already in the file is
// kept. File systems without fallocate skip it.
func preallocate(f *os.File, size int64) error {
	if size <= 0 {
		return nil
	}
	err := syscall.Fallocate(int(f.Fd()), 0, 0, size)
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EFBIG) {
		return fmt.Errorf("blockxfer: reserving %d bytes for the download: %w", size, err)
	}
	return nil // unsupported (EOPNOTSUPP, EINVAL...): write without it
}
