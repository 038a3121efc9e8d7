package netlab

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"syscall"

	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
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

// startIn starts cmd with its process in namespace ns. The process gets
// SIGKILL if the thread that forked it dies, and that thread lives (locked,
// blocked in waitid without reaping) until the process exits: so a test
// binary killed by a timeout takes its lab processes with it, and no orphan
// keeps a lab namespace alive. The caller still calls cmd.Wait.
func startIn(ns netns.NsHandle, cmd *exec.Cmd) error {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread dies with us
		if err := netns.Set(ns); err != nil {
			errc <- fmt.Errorf("netlab: entering namespace: %w", err)
			return
		}
		if err := cmd.Start(); err != nil {
			errc <- fmt.Errorf("netlab: starting %s: %w", cmd.Path, err)
			return
		}
		errc <- nil
		var info unix.Siginfo
		for {
			err := unix.Waitid(unix.P_PID, cmd.Process.Pid, &info, unix.WEXITED|unix.WNOWAIT, nil)
			if err != unix.EINTR {
				return
			}
		}
	}()
	return <-errc
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
