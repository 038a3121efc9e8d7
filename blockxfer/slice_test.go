package blockxfer

import (
	"crypto/sha256"
	"math/rand"
	"testing"
)

// TestSliceDigest checks that hashing a block in sinkSlice pieces gives
// sha256.Sum256 for lengths around the slice boundaries.
func TestSliceDigest(t *testing.T) {
	const seed = 7
	t.Logf("seed %d", seed)
	data := make([]byte, BlockSize+1)
	rand.New(rand.NewSource(seed)).Read(data)
	for _, n := range []int{0, 1, sinkSlice - 1, sinkSlice, sinkSlice + 1, 3*sinkSlice + 17, BlockSize, BlockSize + 1} {
		if got, want := sliceDigest(data[:n]), Digest(sha256.Sum256(data[:n])); got != want {
			t.Errorf("%d bytes: digest %x, want %x", n, got, want)
		}
	}
}
