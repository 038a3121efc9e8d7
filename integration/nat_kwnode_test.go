package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"kwsearch/bootstrap"
	"kwsearch/integration/netlab"
)

// natStatus is the part of `kwnode status --json` the NAT test reads.
type natStatus struct {
	PeerID       string   `json:"peer_id"`
	Addrs        []string `json:"addrs"`
	Mode         string   `json:"mode"`
	Reachability string   `json:"reachability"`
}

// natPeer is one entry of `kwnode peers --json`.
type natPeer struct {
	PeerID string `json:"peer_id"`
	Addr   string `json:"addr"`
	Direct bool   `json:"direct"`
}

// labDaemon is a kwnode daemon running in a lab namespace.
type labDaemon struct {
	*natProc
	host   netlab.Host
	bin    string
	repo   string
	peerID string
}

// startLabDaemon starts `kwnode daemon` in h with the lab's flags and
// waits for its ready line.
func startLabDaemon(t *testing.T, bin string, h netlab.Host, name string, extra ...string) *labDaemon {
	t.Helper()
	repo := newTestRepo(t, bin, filepath.Join(t.TempDir(), name))
	args := []string{"--repo", repo, "daemon",
		"--listen", listenAddr(h, "tcp"), "--listen", listenAddr(h, "quic"),
		"--mode", "auto", "--public-cidr", labPublicCIDR,
		"--api", "127.0.0.1:0", "--log-level", "debug"}
	d := &labDaemon{natProc: startNatProc(t, h, name, bin, append(args, extra...)...), host: h, bin: bin, repo: repo}
	line := d.waitLine("ready line", readyTimeout, func(l string) bool { return strings.HasPrefix(l, "ready") })
	for _, f := range strings.Fields(line)[1:] {
		if k, v, _ := strings.Cut(f, "="); k == "peer_id" {
			d.peerID = v
		}
	}
	if d.peerID == "" {
		t.Fatalf("%s: ready line %q has no peer_id", name, line)
	}
	return d
}

// bootAddr is the daemon's TCP address for --bootstrap.
func (d *labDaemon) bootAddr() string { return listenAddr(d.host, "tcp") + "/p2p/" + d.peerID }

// run runs a kwnode command against this daemon, in its namespace, from
// dir, and returns the result; a command still running after timeout is
// killed and reported as hung.
func (d *labDaemon) run(dir string, timeout time.Duration, args ...string) (kwResult, time.Duration) {
	d.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, d.bin, append([]string{"--repo", d.repo}, args...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "KWNODE_REPO=")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	if err := d.host.Start(cmd); err != nil {
		d.t.Fatal(err)
	}
	err := cmd.Wait()
	took := time.Since(start)
	if ctx.Err() != nil {
		d.t.Fatalf("%s: kwnode %v hung: killed after %v", d.name, args, timeout)
	}
	res := kwResult{Stdout: out.String(), Stderr: errb.String()}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		res.Code = ee.ExitCode()
	case err != nil:
		d.t.Fatalf("%s: kwnode %v: %v", d.name, args, err)
	}
	return res, took
}

// json runs a command that prints JSON into v.
func (d *labDaemon) json(v any, args ...string) error {
	r, _ := d.run("", time.Minute, args...)
	if r.Code != 0 {
		return fmt.Errorf("%s: kwnode %v: exit %d: %s", d.name, args, r.Code, strings.TrimSpace(r.Stderr))
	}
	if err := json.Unmarshal([]byte(r.Stdout), v); err != nil {
		return fmt.Errorf("%s: kwnode %v: output %q: %v", d.name, args, r.Stdout, err)
	}
	return nil
}

// waitMode polls `status --json` until the daemon runs in mode with the
// given reachability; a client must also show a relay reservation (a
// /p2p-circuit address) among its addresses.
func (d *labDaemon) waitMode(mode, reach string, timeout time.Duration) {
	d.t.Helper()
	kwEventually(d.t, d.name+" "+mode+"/"+reach, timeout, func() error {
		var st natStatus
		if err := d.json(&st, "status", "--json"); err != nil {
			return err
		}
		if st.Mode != mode || st.Reachability != reach {
			return fmt.Errorf("mode %q reachability %q", st.Mode, st.Reachability)
		}
		relayed := slices.ContainsFunc(st.Addrs, func(a string) bool { return strings.Contains(a, "/p2p-circuit") })
		if mode == "client" && !relayed {
			return fmt.Errorf("no relay address among %v", st.Addrs)
		}
		return nil
	})
}

// TestNATKwnode runs real kwnode daemons in the NAT lab: two public ring
// servers that relay, two clients behind home routers. Client A shares a
// file, client B finds it by a two-word search and downloads it over the
// direct connection hole punching made; the bytes match. Behind
// port-randomizing routers search still works and get fails with a clear
// message instead of hanging.
func TestNATKwnode(t *testing.T) {
	natLabOrSkip(t)
	t.Parallel() // each run builds its own lab
	// kwnode under its own name, so that nothing aimed at other tests'
	// kwnode processes by name (pkill kwnode) reaches the lab's daemons.
	bin := buildBinary(t, t.TempDir(), "kwsearch/cmd/kwnode", "kwlabnode")
	for _, c := range []natCase{{name: "punch"}, {name: "random-fully", random: true}} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			runKwnodeNAT(t, bin, c.random)
		})
	}
}

func runKwnodeNAT(t *testing.T, bin string, random bool) {
	const detect = 120 * time.Second
	lab := netlab.New(t, netlab.Options{Servers: 2, RandomPorts: random})
	s0 := startLabDaemon(t, bin, lab.Servers[0], "server0", "--relay-service")
	s1 := startLabDaemon(t, bin, lab.Servers[1], "server1", "--relay-service", "--bootstrap", s0.bootAddr())
	boot := []string{"--bootstrap", s0.bootAddr(), "--bootstrap", s1.bootAddr()}
	a := startLabDaemon(t, bin, lab.Clients[0].Host, "clientA", boot...)
	b := startLabDaemon(t, bin, lab.Clients[1].Host, "clientB", boot...)

	start := time.Now()
	s0.waitMode("server", "public", detect)
	s1.waitMode("server", "public", detect)
	a.waitMode("client", "private", detect)
	b.waitMode("client", "private", detect)
	t.Logf("modes settled after %v", time.Since(start).Round(time.Millisecond))

	// 1 MiB: eight times what a relayed connection may carry, so only a
	// direct connection can deliver it.
	seed := uint64(time.Now().UnixNano())
	t.Logf("content seed %d", seed)
	content := make([]byte, 1<<20)
	rng := rand.New(rand.NewPCG(seed, 3))
	for i := range content {
		content[i] = byte(rng.Uint32())
	}
	shareDir := t.TempDir()
	path := filepath.Join(shareDir, "Sunset Harbour Recording.bin")
	if err := os.WriteFile(path, content, 0o644); err != nil {
		t.Fatal(err)
	}
	r, _ := a.run(shareDir, time.Minute, "share", path)
	if r.Code != 0 {
		t.Fatalf("share: exit %d: %s", r.Code, r.Stderr)
	}
	cid, _, _ := strings.Cut(strings.TrimSpace(r.Stdout), "\t")
	if cid == "" {
		t.Fatalf("share printed %q", r.Stdout)
	}

	kwEventually(t, "B finds A's file by two words", 60*time.Second, func() error {
		var hits []hitJSON
		if err := b.json(&hits, "search", "--json", "sunset", "harbour"); err != nil {
			return err
		}
		for _, h := range hits {
			if h.CID == cid {
				return providersInclude(h, a.peerID)
			}
		}
		return fmt.Errorf("%s not among %d hits", cid, len(hits))
	})

	outDir := t.TempDir()
	out := filepath.Join(outDir, "got.bin")
	res, took := b.run(outDir, 3*time.Minute, "get", "-o", out, cid)
	if random {
		if res.Code == 0 {
			t.Fatalf("get succeeded through port-randomizing NATs (in %v)", took)
		}
		// Progress lines may come first; the error is the last line.
		lines := strings.Split(strings.TrimSpace(res.Stderr), "\n")
		msg := lines[len(lines)-1]
		if res.Code != 1 || !strings.HasPrefix(msg, "kwnode: ") || !strings.Contains(msg, "direct") {
			t.Fatalf("get failed (exit %d, after %v) without a clear last line on stderr: %q", res.Code, took, res.Stderr)
		}
		t.Logf("get failed after %v, as expected: %s", took.Round(time.Millisecond), msg)
		return
	}
	if res.Code != 0 {
		t.Fatalf("get: exit %d after %v: %s", res.Code, took, res.Stderr)
	}
	// A second hole-punching attempt starts only after the first has
	// waited bootstrap.DefaultDirectConfig().PerAttempt.
	if first := bootstrap.DefaultDirectConfig().PerAttempt; took >= first {
		t.Errorf("get took %v: hole punching needed more than its first attempt (%v)", took, first)
	}
	got, err := os.ReadFile(out)
	if err != nil || !bytes.Equal(got, content) {
		t.Fatalf("downloaded %d bytes (%v), want the %d shared bytes", len(got), err, len(content))
	}
	var peers []natPeer
	if err := b.json(&peers, "peers", "--json"); err != nil {
		t.Fatal(err)
	}
	direct := false
	for _, p := range peers {
		if p.PeerID == a.peerID && p.Direct && !strings.Contains(p.Addr, "p2p-circuit") {
			direct = true
		}
	}
	if !direct {
		t.Fatalf("B has no direct connection to A after the download: %+v", peers)
	}
	t.Logf("get of 1 MiB over a hole-punched connection took %v", took.Round(time.Millisecond))
}
