package netlab

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"

	"github.com/vishvananda/netns"
)

// onThreadIn runs f on a fresh OS thread that has entered namespace ns. The
// thread is never returned to the Go scheduler: it ends with the goroutine,
// so no other goroutine ever runs in ns by accident.
func onThreadIn(ns netns.NsHandle, f func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread dies with us
		if err := netns.Set(ns); err != nil {
			errc <- fmt.Errorf("netlab: entering namespace: %w", err)
			return
		}
		errc <- f()
	}()
	return <-errc
}

// newNamed creates the named namespace and returns a handle to it. The
// creating thread is discarded.
func newNamed(name string) (netns.NsHandle, error) {
	var h netns.NsHandle
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: NewNamed moves this thread
		var err error
		h, err = netns.NewNamed(name)
		errc <- err
	}()
	if err := <-errc; err != nil {
		return 0, fmt.Errorf("netlab: creating namespace %s: %w", name, err)
	}
	return h, nil
}

// startIn starts cmd with its process in namespace ns.
func startIn(ns netns.NsHandle, cmd *exec.Cmd) error {
	return onThreadIn(ns, func() error {
		if err := cmd.Start(); err != nil {
			return fmt.Errorf("netlab: starting %s: %w", cmd.Path, err)
		}
		return nil
	})
}

// writeSysctl sets a per-namespace sysctl such as net/ipv4/ip_forward.
func writeSysctl(ns netns.NsHandle, key, value string) error {
	return onThreadIn(ns, func() error {
		if err := os.WriteFile("/proc/sys/"+key, []byte(value), 0o644); err != nil {
			return fmt.Errorf("netlab: sysctl %s: %w", key, err)
		}
		return nil
	})
}
