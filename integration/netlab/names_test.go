package netlab

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/vishvananda/netns"
)

// TestSweepStale: building a lab removes a dead run's namespaces and keeps
// a live one's.
func TestSweepStale(t *testing.T) {
	skipUnlessLab(t)
	dead := exec.Command(os.Args[0], "-test.run=^$")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	staleName := fmt.Sprintf("%s%d-abcdef-ca", namePrefix, dead.Process.Pid)
	liveName := fmt.Sprintf("%s%d-abcdef-ca", namePrefix, os.Getppid())
	for _, name := range []string{staleName, liveName} {
		ns, err := newNamed(name)
		if err != nil {
			t.Fatal(err)
		}
		ns.Close()
		t.Cleanup(func() { netns.DeleteNamed(name) })
	}
	New(t, Options{Servers: 2})
	if _, err := os.Stat(filepath.Join(netnsDir, staleName)); !os.IsNotExist(err) {
		t.Errorf("stale namespace %s survived: %v", staleName, err)
	}
	if _, err := os.Stat(filepath.Join(netnsDir, liveName)); err != nil {
		t.Errorf("live namespace %s removed: %v", liveName, err)
	}
}

func TestCreatorPID(t *testing.T) {
	cases := map[string]int{"kwlab-123-abcdef-ca": 123, "kwlab-7-check": 7, "kwlab-x-1": 0, "other-12-a": 0, "kwlab-": 0}
	for name, want := range cases {
		got, ok := creatorPID(name)
		if ok != (want > 0) || got != want {
			t.Errorf("creatorPID(%q) = %d, %v; want %d", name, got, ok, want)
		}
	}
}
