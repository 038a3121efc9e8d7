//go:build !unix

package blockxfer

import "os"

// lockFile is a no-op where flock is missing.
func lockFile(*os.File) (func(), error) { return func() {}, nil }
