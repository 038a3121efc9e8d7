package integration

import (
	"bufio"
	"encoding/json"
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

	"kwsearch/integration/netlab"
)

// natLabOrSkip skips the test, in one line, when no NAT lab can be built.
func natLabOrSkip(t *testing.T) {
	t.Helper()
	if err := netlab.Check(); err != nil {
		t.Skip(err)
	}
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("NAT lab tests build helper binaries and need the go command: ", err)
	}
}

// buildBinary compiles a package of this module into dir/name.
func buildBinary(t *testing.T, dir, pkg, name string) string {
	t.Helper()
	out := filepath.Join(dir, name)
	cmd := exec.Command("go", "build", "-o", out, pkg)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building %s: %v\n%s", pkg, err, b)
	}
	return out
}

// natEvent is one JSON line of a helper process.
type natEvent map[string]any

func (e natEvent) str(k string) string { s, _ := e[k].(string); return s }

func (e natEvent) strs(k string) []string {
	var out []string
	if l, ok := e[k].([]any); ok {
		for _, v := range l {
			if s, ok := v.(string); ok {
				out = append(out, s)
			}
		}
	}
	return out
}

// natProc is a process running in a lab namespace whose stdout carries
// JSON lines (events) and whose stderr is kept for the failure log.
type natProc struct {
	t      *testing.T
	name   string
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stdout chan string // stdout lines not yet waited for
	mu     sync.Mutex
	lines  []string
}

// startNatProc starts bin with args in host h, stopped at cleanup. Its
// output is logged when the test fails, or always with KWLAB_DUMP=1.
func startNatProc(t *testing.T, h netlab.Host, name, bin string, args ...string) *natProc {
	t.Helper()
	p := &natProc{t: t, name: name, cmd: exec.Command(bin, args...), stdout: make(chan string, 4096)}
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if p.stdin, err = p.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if err := h.Start(p.cmd); err != nil {
		t.Fatal(err)
	}
	var readers sync.WaitGroup
	readers.Add(2)
	go func() { defer readers.Done(); p.read(stdout, true) }()
	go func() { defer readers.Done(); p.read(stderr, false) }()
	t.Cleanup(func() {
		p.stop()
		readers.Wait()
		if t.Failed() || os.Getenv("KWLAB_DUMP") != "" {
			p.mu.Lock()
			t.Logf("%s output:\n%s", name, strings.Join(p.lines, "\n"))
			p.mu.Unlock()
		}
	})
	return p
}

func (p *natProc) read(r io.Reader, events bool) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		p.mu.Lock()
		if len(p.lines) < 5000 {
			p.lines = append(p.lines, line)
		}
		p.mu.Unlock()
		if events {
			select {
			case p.stdout <- line:
			default: // nobody is waiting for this many lines
			}
		}
	}
}

// stop sends SIGTERM and, after five seconds, SIGKILL.
func (p *natProc) stop() {
	p.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		p.cmd.Process.Kill()
		<-done
	}
}

// send writes one command line to the process.
func (p *natProc) send(format string, a ...any) {
	if _, err := fmt.Fprintf(p.stdin, format+"\n", a...); err != nil {
		p.t.Fatalf("%s: writing command: %v", p.name, err)
	}
}

// wait returns the first JSON event (from now on) that satisfies ok.
func (p *natProc) wait(what string, timeout time.Duration, ok func(natEvent) bool) natEvent {
	p.t.Helper()
	var got natEvent
	p.waitLine(what, timeout, func(line string) bool {
		var e natEvent
		if json.Unmarshal([]byte(line), &e) != nil || !ok(e) {
			return false
		}
		got = e
		return true
	})
	return got
}

// waitLine returns the first stdout line (from now on) that satisfies ok.
func (p *natProc) waitLine(what string, timeout time.Duration, ok func(string) bool) string {
	p.t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case line := <-p.stdout:
			if ok(line) {
				return line
			}
		case <-deadline:
			p.t.Fatalf("%s: no %s within %v", p.name, what, timeout)
			return ""
		}
	}
}
