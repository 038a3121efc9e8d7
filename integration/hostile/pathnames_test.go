package hostile

import (
	"bufio"
	"bytes"
	"context"
	crand "crypto/rand"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"

	"kwsearch/keyword"
)

// daemon is a real `kwnode daemon` process.
type daemon struct {
	bin, repo string
	info      peer.AddrInfo
}

// startDaemon builds kwnode, creates a repo with a short ring tick and runs
// a server-mode daemon on loopback until the test ends.
func startDaemon(t *testing.T) *daemon {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "kwhostilenode") // a name of its own: no broad pkill reaches it
	build := exec.Command("go", "build", "-o", bin, "kwsearch/cmd/kwnode")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building kwnode: %v\n%s", err, out)
	}
	repo := filepath.Join(dir, "repo")
	if out, err := exec.Command(bin, "--repo", repo, "init").CombinedOutput(); err != nil {
		t.Fatalf("init: %v\n%s", err, out)
	}
	cfgPath := filepath.Join(repo, "config.json")
	b, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	if err := json.Unmarshal(b, &cfg); err != nil {
		t.Fatal(err)
	}
	cfg["tick"], cfg["port_mapping"] = "200ms", false
	b, _ = json.Marshal(cfg)
	if err := os.WriteFile(cfgPath, b, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--repo", repo, "daemon", "--mode", "server",
		"--listen", "/ip4/127.0.0.1/tcp/0", "--api", "127.0.0.1:0")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("daemon stderr:\n%s", stderr.String())
		}
	})
	line := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		if sc.Scan() {
			line <- sc.Text()
		}
		close(line)
		for sc.Scan() {
		}
	}()
	d := &daemon{bin: bin, repo: repo}
	select {
	case l := <-line:
		for _, f := range strings.Fields(l) {
			k, v, _ := strings.Cut(f, "=")
			switch k {
			case "peer_id":
				d.info.ID, err = peer.Decode(v)
				if err != nil {
					t.Fatal(err)
				}
			case "addrs":
				for _, a := range strings.Split(v, ",") {
					if m, err := ma.NewMultiaddr(a); err == nil {
						d.info.Addrs = append(d.info.Addrs, m)
					}
				}
			}
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("daemon not ready:\n%s", stderr.String())
	}
	if d.info.ID == "" {
		t.Fatalf("no ready line:\n%s", stderr.String())
	}
	return d
}

// run runs a CLI command of the daemon's repo from dir.
func (d *daemon) run(t *testing.T, dir string, args ...string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, d.bin, append([]string{"--repo", d.repo}, args...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "KWNODE_REPO=")
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), string(out)
	} else if err != nil {
		t.Fatal(err)
	}
	return 0, string(out)
}

// TestHostileFileNames: a publisher names its files with path traversal,
// absolute paths, separators and dot-files, and serves them. An honest
// `kwnode get CID` (default output name) from a working folder must write
// each file inside that folder, with the right bytes, and nothing anywhere
// above it.
func TestHostileFileNames(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds and runs kwnode")
	}
	d := startDaemon(t)

	// The attacker: a client of the daemon's ring that publishes and serves.
	a := startClient(t, d.info)
	root := t.TempDir()
	work := filepath.Join(root, "a", "b", "work")
	if err := os.MkdirAll(work, 0o755); err != nil {
		t.Fatal(err)
	}
	names := []string{"../../evil parent.sh", "../../../../../../tmp/evil abs.sh", "/etc/evil passwd.txt",
		"sub/dir/evil nested.txt", ".bashrc evil", "..", "evil\\..\\back.txt"}
	ok := 0
	for i, name := range names {
		data := make([]byte, 1000+i)
		crand.Read(data)
		path := filepath.Join(t.TempDir(), "served.bin")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		fi, err := a.src.AddFile(path)
		if err != nil {
			t.Fatal(err)
		}
		f := keyword.FileEntry{CID: fi.Root(), Name: name, Size: uint64(len(data)), Keywords: []string{"hostilename"}}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		res, err := a.idx.Publish(ctx, []keyword.FileEntry{f})
		cancel()
		if err != nil || res.Stored == 0 {
			t.Fatalf("publishing %q: %+v %v", name, res, err)
		}
		before := listTree(t, root)
		code, out := d.run(t, work, "get", f.CID.String())
		after := listTree(t, root)
		var created []string
		for p := range after {
			if !before[p] {
				created = append(created, p)
			}
		}
		t.Logf("name %q: exit %d, created %v: %s", name, code, created, strings.TrimSpace(lastLine(out)))
		for _, p := range created {
			if filepath.Dir(p) != work {
				t.Errorf("name %q: %s written outside the working folder %s", name, p, work)
				continue
			}
			if strings.HasPrefix(filepath.Base(p), ".") {
				t.Errorf("name %q: became a dot-file %s", name, p)
			}
			if got, err := os.ReadFile(p); err == nil && bytes.Equal(got, data) {
				ok++
			}
		}
		for _, p := range []string{"/tmp/evil abs.sh", "/etc/evil passwd.txt"} {
			if _, err := os.Stat(p); err == nil {
				t.Errorf("name %q: %s exists", name, p)
			}
		}
	}
	t.Logf("%d of %d hostile names downloaded inside the folder with the right bytes", ok, len(names))
	if ok != len(names) {
		t.Errorf("only %d of %d downloads landed inside the folder intact", ok, len(names))
	}
}

// listTree lists every file under dir.
func listTree(t *testing.T, dir string) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	filepath.WalkDir(dir, func(p string, e os.DirEntry, err error) error {
		if err == nil && !e.IsDir() {
			out[p] = true
		}
		return nil
	})
	return out
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}
