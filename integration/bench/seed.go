package main

import (
	"hash/fnv"
	"math/rand"
)

// seededRand derives an independent random stream from the run's seed and a
// label, so that adding a random choice in one phase does not shift another.
func seededRand(seed int64, label string) *rand.Rand {
	h := fnv.New64a()
	h.Write([]byte(label))
	return rand.New(rand.NewSource(seed ^ int64(h.Sum64())))
}
