package sim

import "math/rand/v2"

// Rand is the random source type shared by the network and the nodes.
type Rand = rand.Rand

// NewRand returns the source for seed. Everything random in a run (message
// delays, losses, tick phases, node IDs, the nodes' own choices, the
// experiment's choices) draws from this one source, in event order.
func NewRand(seed int64) *Rand {
	return rand.New(rand.NewPCG(uint64(seed), 0x6b7773696d))
}
