package netlab

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/vishvananda/netns"
)

// netnsDir is where named namespaces are bind-mounted (as by ip netns).
const netnsDir = "/var/run/netns"

// namePrefix starts the name of every namespace this package creates.
const namePrefix = "kwlab-"

// uniquePrefix names a lab's namespaces: the creating process's ID (so a
// later run can tell a dead run's leftovers from a live run's) and a random
// part (several labs per process).
func uniquePrefix() string {
	var b [3]byte
	rand.Read(b[:])
	return fmt.Sprintf("%s%d-%s", namePrefix, os.Getpid(), hex.EncodeToString(b[:]))
}

// sweepStale removes the namespaces of labs whose process is gone (a test
// binary killed before its cleanup ran). Labs of live processes, including
// other test binaries running now, are left alone.
func sweepStale() {
	entries, err := os.ReadDir(netnsDir)
	if err != nil {
		return
	}
	for _, e := range entries {
		pid, ok := creatorPID(e.Name())
		if !ok || pid == os.Getpid() {
			continue
		}
		if _, err := os.Stat("/proc/" + strconv.Itoa(pid)); err == nil {
			continue
		}
		netns.DeleteNamed(e.Name())
	}
}

// creatorPID parses kwlab-PID-... names.
func creatorPID(name string) (int, bool) {
	rest, ok := strings.CutPrefix(name, namePrefix)
	if !ok {
		return 0, false
	}
	pidStr, _, ok := strings.Cut(rest, "-")
	if !ok {
		return 0, false
	}
	pid, err := strconv.Atoi(pidStr)
	return pid, err == nil && pid > 0
}
