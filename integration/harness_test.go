package integration

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// This file is the harness for tests that run real kwnode processes on
// loopback: build the binary, start daemons, run CLI commands, poll with
// deadlines. The NAT tests may reuse it.

// kwBinary builds kwnode into a temporary folder and returns its path.
func kwBinary(t *testing.T) string {
	t.Helper()
	// A name of its own, so that a broad "pkill kwnode" elsewhere on the
	// machine does not reach these daemons.
	bin := filepath.Join(t.TempDir(), "kwloopnode")
	cmd := exec.Command("go", "build", "-o", bin, "kwsearch/cmd/kwnode")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building kwnode: %v\n%s", err, out)
	}
	return bin
}

// kwDaemon is one running `kwnode daemon` process.
type kwDaemon struct {
	t      *testing.T
	bin    string
	Repo   string
	Name   string
	PeerID string
	API    string
	Addrs  []string // full multiaddrs with /p2p/ID

	cmd    *exec.Cmd
	stderr *lockedBuffer
	exited chan struct{}
	err    error // Wait's result, once exited is closed
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// readyTimeout bounds how long a daemon may take to print its ready line
// (joining the ring included).
const readyTimeout = 30 * time.Second

// startKwDaemon runs `kwnode --repo repo daemon args...` and waits for its
// ready line. The process is killed when the test ends.
func startKwDaemon(t *testing.T, bin, name, repo string, args ...string) *kwDaemon {
	t.Helper()
	d := &kwDaemon{t: t, bin: bin, Repo: repo, Name: name, stderr: &lockedBuffer{}, exited: make(chan struct{})}
	full := append([]string{"--repo", repo, "daemon"}, args...)
	d.cmd = exec.Command(bin, full...)
	d.cmd.Stderr = d.stderr
	stdout, err := d.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := d.cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
	t.Cleanup(func() {
		d.cmd.Process.Kill()
		<-d.exited
		if t.Failed() {
			t.Logf("--- %s stderr ---\n%s", name, d.stderr.String())
		}
	})
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		first := true
		for sc.Scan() {
			if first {
				lines <- sc.Text()
				first = false
			}
		}
		close(lines)
	}()
	go func() { d.err = d.cmd.Wait(); close(d.exited) }()
	select {
	case line, ok := <-lines:
		if !ok {
			<-d.exited
			t.Fatalf("%s exited before ready (%v):\n%s", name, d.err, d.stderr.String())
		}
		d.parseReady(line)
	case <-time.After(readyTimeout):
		t.Fatalf("%s not ready after %v:\n%s", name, readyTimeout, d.stderr.String())
	}
	return d
}

// parseReady reads "ready peer_id=ID api=HOST:PORT addrs=A,B".
func (d *kwDaemon) parseReady(line string) {
	if !strings.HasPrefix(line, "ready") {
		d.t.Fatalf("%s: first stdout line %q does not begin with ready", d.Name, line)
	}
	for _, f := range strings.Fields(line)[1:] {
		k, v, _ := strings.Cut(f, "=")
		switch k {
		case "peer_id":
			d.PeerID = v
		case "api":
			d.API = v
		case "addrs":
			d.Addrs = strings.Split(v, ",")
		}
	}
	if d.PeerID == "" || d.API == "" || len(d.Addrs) == 0 {
		d.t.Fatalf("%s: ready line %q lacks peer_id, api or addrs", d.Name, line)
	}
}

// TCPAddr returns the daemon's TCP multiaddr (for --bootstrap).
func (d *kwDaemon) TCPAddr() string {
	for _, a := range d.Addrs {
		if strings.Contains(a, "/tcp/") {
			return a
		}
	}
	d.t.Fatalf("%s has no TCP address in %v", d.Name, d.Addrs)
	return ""
}

// Kill9 kills the daemon with SIGKILL and waits for it to exit.
func (d *kwDaemon) Kill9() {
	d.cmd.Process.Signal(syscall.SIGKILL)
	<-d.exited
}

// Stop sends SIGTERM and returns the exit status.
func (d *kwDaemon) Stop(timeout time.Duration) int {
	d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.exited:
	case <-time.After(timeout):
		d.t.Fatalf("%s did not exit within %v of SIGTERM:\n%s", d.Name, timeout, d.stderr.String())
	}
	var ee *exec.ExitError
	if errors.As(d.err, &ee) {
		return ee.ExitCode()
	}
	if d.err != nil {
		return -1
	}
	return 0
}

// kwResult is the outcome of one CLI command.
type kwResult struct {
	Code           int
	Stdout, Stderr string
}

// kwRun runs `kwnode --repo repo args...` from dir (if not empty).
func kwRun(t *testing.T, bin, dir, repo string, args ...string) kwResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	full := args
	if repo != "" {
		full = append([]string{"--repo", repo}, args...)
	}
	cmd := exec.CommandContext(ctx, bin, full...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "KWNODE_REPO=") // never fall back to the user's repository
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	res := kwResult{Stdout: out.String(), Stderr: errb.String()}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		res.Code = ee.ExitCode()
	case err != nil:
		t.Fatalf("running kwnode %v: %v", args, err)
	}
	return res
}

// kwJSON runs a command that prints JSON and decodes it into v.
func kwJSON(t *testing.T, bin, repo string, v any, args ...string) error {
	t.Helper()
	r := kwRun(t, bin, "", repo, args...)
	if r.Code != 0 {
		return fmt.Errorf("kwnode %v: exit %d: %s", args, r.Code, strings.TrimSpace(r.Stderr))
	}
	if err := json.NewDecoder(strings.NewReader(r.Stdout)).Decode(v); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("kwnode %v: output %q: %v", args, r.Stdout, err)
	}
	return nil
}

// eventually polls cond every interval until it returns nil or the
// deadline passes, then fails the test with cond's last error.
func kwEventually(t *testing.T, what string, timeout time.Duration, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	var first error
	for {
		err := cond()
		if err == nil {
			t.Logf("%s: after %v", what, time.Since(deadline.Add(-timeout)).Round(time.Millisecond))
			return
		}
		if first == nil {
			first = err
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not true after %v: first %v; last %v", what, timeout, first, err)
		}
		<-tick.C
	}
}
