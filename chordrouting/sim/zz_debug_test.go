package sim

import (
	"fmt"
	"os"
	"testing"
)

func TestZZDebug(t *testing.T) {
	if os.Getenv("ZZ") == "" {
		t.Skip()
	}
	var seed int64
	fmt.Sscan(os.Getenv("ZZ"), &seed)
	var lastSt string
	// hook: trace node 0 state each step
	origCheck := func(s *Sim) func() error {
		return func() error {
			if s.nodes[0] == nil {
				return nil
			}
			st := s.nodes[0].node.State()
			line := fmt.Sprintf("%v %v", shortList(st.Successors), st.Member)
			if line != lastSt {
				fmt.Printf("step %d node0 %s\n", s.net.Steps(), line)
				lastSt = line
			}
			return nil
		}
	}
	_ = origCheck
	d, err := randomRunHook(seed, func(d *driver) {
		d.s.net.SetTrace(os.Stdout)
		f := origCheck(d.s)
		d.onStep = func() { f() }
	})
	_ = d
	t.Log(err)
}
