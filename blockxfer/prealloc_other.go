//go:build !linux

package blockxfer

import "os"

// preallocate is a no-op where fallocate is missing.
func preallocate(*os.File, int64) error { return nil }
