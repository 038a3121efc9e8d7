package integration

import (
	"bytes"
	"context"
	crand "crypto/rand"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// asyncCmd is a CLI command running while the test kills its daemon.
type asyncCmd struct {
	cmd      *exec.Cmd
	out, err bytes.Buffer
	done     chan struct{}
	code     int
	finished time.Time
}

// startKw starts `kwnode --repo repo args...` in dir without waiting.
func startKw(t *testing.T, bin, dir, repo string, args ...string) *asyncCmd {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	c := &asyncCmd{done: make(chan struct{})}
	c.cmd = exec.CommandContext(ctx, bin, append([]string{"--repo", repo}, args...)...)
	c.cmd.Dir = dir
	c.cmd.Env = append(os.Environ(), "KWNODE_REPO=")
	c.cmd.Stdout, c.cmd.Stderr = &c.out, &c.err
	if err := c.cmd.Start(); err != nil {
		cancel()
		t.Fatalf("starting kwnode %v: %v", args, err)
	}
	go func() {
		defer cancel()
		err := c.cmd.Wait()
		c.finished = time.Now()
		var ee *exec.ExitError
		switch {
		case errors.As(err, &ee):
			c.code = ee.ExitCode()
		case err != nil:
			c.code = -1
		}
		close(c.done)
	}()
	return c
}

// wait waits for the command to end and returns its exit status.
func (c *asyncCmd) wait(t *testing.T) int {
	t.Helper()
	select {
	case <-c.done:
	case <-time.After(100 * time.Second):
		t.Fatalf("kwnode %v did not end", c.cmd.Args)
	}
	return c.code
}

// ackedBefore reports whether the command succeeded before the kill.
func (c *asyncCmd) ackedBefore(kill time.Time) bool {
	select {
	case <-c.done:
		return c.code == 0 && c.finished.Before(kill)
	default:
		return false
	}
}

// writeRandomFile writes size random bytes to dir/name.
func writeRandomFile(t *testing.T, dir, name string, size int) (string, []byte) {
	t.Helper()
	data := make([]byte, size)
	if _, err := crand.Read(data); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path, data
}

// shareCIDs parses `kwnode share` output: CID<TAB>PATH<TAB>keywords.
func shareCIDs(stdout string) map[string]string {
	out := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(stdout), "\n") {
		f := strings.Split(line, "\t")
		if len(f) >= 2 {
			out[f[0]] = f[1]
		}
	}
	return out
}
