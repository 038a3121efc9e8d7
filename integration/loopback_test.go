package integration

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"kwsearch/storage"
)

// testTick is the ring tick the test daemons use (config "tick"): short, so
// that the ring converges and repairs in seconds.
const testTick = "200ms"

// loopbackArgs makes a daemon listen on loopback only, with a free API port.
var loopbackArgs = []string{
	"--listen", "/ip4/127.0.0.1/tcp/0", "--listen", "/ip4/127.0.0.1/udp/0/quic-v1",
	"--api", "127.0.0.1:0", "--log-level", "debug",
}

// newTestRepo runs `kwnode init` and shortens the ring tick in the config.
func newTestRepo(t *testing.T, bin, dir string) string {
	t.Helper()
	if r := kwRun(t, bin, "", dir, "init"); r.Code != 0 {
		t.Fatalf("init %s: %d %s", dir, r.Code, r.Stderr)
	}
	path := filepath.Join(dir, "config.json")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	if err := json.Unmarshal(b, &cfg); err != nil {
		t.Fatal(err)
	}
	cfg["tick"] = testTick
	cfg["port_mapping"] = false // never talk to a router from a test
	b, _ = json.MarshalIndent(cfg, "", "  ")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

type statusJSON struct {
	PeerID string `json:"peer_id"`
	Mode   string `json:"mode"`
	Ring   struct {
		ID          string `json:"id"`
		Successor   string `json:"successor"`
		Predecessor string `json:"predecessor"`
		Records     int    `json:"records"`
	} `json:"ring"`
	Peers int `json:"peers"`
}

type hitJSON struct {
	CID       string   `json:"cid"`
	Name      string   `json:"name"`
	Size      int64    `json:"size"`
	Providers []string `json:"providers"`
	Score     float64  `json:"score"`
}

// ringConverged checks that the servers form one ring: sorted by ring ID,
// each names the next as successor and the previous as predecessor.
func ringConverged(t *testing.T, bin string, servers []*kwDaemon) error {
	var sts []statusJSON
	for _, d := range servers {
		var st statusJSON
		if err := kwJSON(t, bin, d.Repo, &st, "status", "--json"); err != nil {
			return err
		}
		if st.Mode != "server" || st.Ring.ID == "" {
			return fmt.Errorf("%s: mode %q ring id %q", d.Name, st.Mode, st.Ring.ID)
		}
		sts = append(sts, st)
	}
	sort.Slice(sts, func(i, j int) bool { return sts[i].Ring.ID < sts[j].Ring.ID })
	for i, st := range sts {
		next, prev := sts[(i+1)%len(sts)], sts[(i+len(sts)-1)%len(sts)]
		if st.Ring.Successor != next.PeerID || st.Ring.Predecessor != prev.PeerID {
			return fmt.Errorf("%s: successor %s predecessor %s, want %s and %s",
				st.PeerID, st.Ring.Successor, st.Ring.Predecessor, next.PeerID, prev.PeerID)
		}
	}
	return nil
}

// findHit searches from d and returns the hit for cid.
func findHit(t *testing.T, bin string, d *kwDaemon, cid string, words ...string) (hitJSON, error) {
	var hits []hitJSON
	if err := kwJSON(t, bin, d.Repo, &hits, append([]string{"search", "--json"}, words...)...); err != nil {
		return hitJSON{}, err
	}
	for _, h := range hits {
		if h.CID == cid {
			return h, nil
		}
	}
	return hitJSON{}, fmt.Errorf("%s: search %v: %s not among %d hits", d.Name, words, cid, len(hits))
}

func providersInclude(h hitJSON, want ...string) error {
	for _, w := range want {
		if !slices.Contains(h.Providers, w) {
			return fmt.Errorf("providers %v lack %s", h.Providers, w)
		}
	}
	return nil
}

// TestLoopbackNetwork runs six daemons on 127.0.0.1 (five ring servers and
// one client) and drives them through the CLI: share, multi-word search
// from other nodes, get with byte comparison, a second provider, providers
// and ring nodes killed with -9, restart keeping identity and shares,
// unshare, and a graceful stop.
func TestLoopbackNetwork(t *testing.T) {
	bin := kwBinary(t)
	base := t.TempDir()
	start := func(name string, extra ...string) *kwDaemon {
		repo := filepath.Join(base, name)
		if _, err := os.Stat(repo); err != nil {
			newTestRepo(t, bin, repo)
		}
		return startKwDaemon(t, bin, name, repo, append(slices.Clone(loopbackArgs), extra...)...)
	}
	a := start("a", "--mode", "server")
	boot := a.TCPAddr()
	b := start("b", "--mode", "server", "--bootstrap", boot)
	c := start("c", "--mode", "server", "--bootstrap", boot)
	d := start("d", "--mode", "server", "--bootstrap", boot)
	e := start("e", "--mode", "server", "--bootstrap", boot)
	f := start("f", "--mode", "client", "--bootstrap", boot)
	servers := []*kwDaemon{a, b, c, d, e}
	kwEventually(t, "ring of five converged", 60*time.Second, func() error { return ringConverged(t, bin, servers) })

	var st statusJSON
	if err := kwJSON(t, bin, f.Repo, &st, "status", "--json"); err != nil || st.Mode != "client" || st.Ring.ID != "" {
		t.Fatalf("client status %+v %v: want mode client and empty ring fields", st, err)
	}

	// B shares a folder: a file of several blocks and a small one.
	seed := time.Now().UnixNano()
	t.Logf("content seed %d", seed)
	rng := rand.New(rand.NewPCG(uint64(seed), 1))
	content := make([]byte, 1<<20+12345)
	for i := range content {
		content[i] = byte(rng.Uint32())
	}
	shared := filepath.Join(base, "b-files")
	os.MkdirAll(filepath.Join(shared, "notes"), 0o755)
	os.WriteFile(filepath.Join(shared, "Blue Moon Song.ogg"), content, 0o644)
	os.WriteFile(filepath.Join(shared, "notes", "red notes.txt"), []byte("red"), 0o644)
	r := kwRun(t, bin, "", b.Repo, "share", "--keywords", "jazz", shared)
	if r.Code != 0 {
		t.Fatalf("share: %d %s", r.Code, r.Stderr)
	}
	lines := strings.Split(strings.TrimSpace(r.Stdout), "\n")
	if len(lines) != 2 {
		t.Fatalf("share printed %q, want two lines", r.Stdout)
	}
	var cid string
	for _, l := range lines {
		parts := strings.Split(l, "\t")
		if len(parts) != 3 {
			t.Fatalf("share line %q is not CID<TAB>PATH<TAB>keywords", l)
		}
		if strings.HasSuffix(parts[1], "Blue Moon Song.ogg") {
			cid = parts[0]
			if parts[2] != "blue,moon,song,jazz" {
				t.Fatalf("keywords %q", parts[2])
			}
		}
	}

	// Multi-word search from a ring node and from the client.
	for _, from := range []*kwDaemon{d, f} {
		kwEventually(t, from.Name+" finds the file", 30*time.Second, func() error {
			h, err := findHit(t, bin, from, cid, "moon", "blue", "song")
			if err != nil {
				return err
			}
			if h.Name != "Blue Moon Song.ogg" || h.Size != int64(len(content)) {
				return fmt.Errorf("hit %+v", h)
			}
			return providersInclude(h, b.PeerID)
		})
	}
	if _, err := findHit(t, bin, e, cid, "blue", "red"); err == nil {
		t.Fatal("search for blue red found the blue file")
	}
	// Error paths through a running daemon.
	if r := kwRun(t, bin, "", e.Repo, "search", "a"); r.Code != 1 || !strings.Contains(r.Stderr, "no searchable word") {
		t.Fatalf("search a: %d %q", r.Code, r.Stderr)
	}
	unknown := "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy"
	if r := kwRun(t, bin, t.TempDir(), e.Repo, "get", unknown); r.Code != 1 || !strings.Contains(r.Stderr, "no provider") {
		t.Fatalf("get of an unknown CID: %d %q", r.Code, r.Stderr)
	}
	if r := kwRun(t, bin, "", e.Repo, "share", filepath.Join(base, "no-such-file")); r.Code != 1 || !strings.Contains(r.Stderr, "no such file") {
		t.Fatalf("share of a missing file: %d %q", r.Code, r.Stderr)
	}

	// D downloads under the published name; F with -o.
	dlD := filepath.Join(base, "d-downloads")
	os.MkdirAll(dlD, 0o755)
	if r := kwRun(t, bin, dlD, d.Repo, "get", cid); r.Code != 0 {
		t.Fatalf("get on d: %d %s", r.Code, r.Stderr)
	}
	kwCheckFile(t, filepath.Join(dlD, "Blue Moon Song.ogg"), content)
	outF := filepath.Join(base, "f-song.ogg")
	if r := kwRun(t, bin, "", f.Repo, "get", "-o", outF, cid); r.Code != 0 {
		t.Fatalf("get on f: %d %s", r.Code, r.Stderr)
	}
	kwCheckFile(t, outF, content)

	// C shares the same bytes under another name: a second provider.
	os.MkdirAll(filepath.Join(base, "c-files"), 0o755)
	os.WriteFile(filepath.Join(base, "c-files", "moon song copy.ogg"), content, 0o644)
	if r := kwRun(t, bin, "", c.Repo, "share", filepath.Join(base, "c-files")); r.Code != 0 || !strings.HasPrefix(r.Stdout, cid+"\t") {
		t.Fatalf("share on c: %d %q %s", r.Code, r.Stdout, r.Stderr)
	}
	kwEventually(t, "two providers", 30*time.Second, func() error {
		h, err := findHit(t, bin, e, cid, "moon", "song")
		if err != nil {
			return err
		}
		return providersInclude(h, b.PeerID, c.PeerID)
	})

	// Kill provider B and ring node D with -9: E still finds and gets the file.
	var before statusJSON
	kwJSON(t, bin, b.Repo, &before, "status", "--json")
	b.Kill9()
	d.Kill9()
	kwEventually(t, "search after kills", 60*time.Second, func() error {
		_, err := findHit(t, bin, e, cid, "blue", "song")
		return err
	})
	// What B held for the ring is on its disk, kill -9 notwithstanding.
	db, err := storage.Open(filepath.Join(b.Repo, "kwnode.db"), storage.Options{LockTimeout: 5 * time.Second})
	if err != nil {
		t.Fatalf("opening b's database after kill -9: %v", err)
	}
	held := db.Records().Len()
	db.Close()
	t.Logf("b held %d records before the kill, %d on disk after it", before.Ring.Records, held)
	if before.Ring.Records > 0 && held == 0 {
		t.Fatalf("b's %d records did not survive kill -9", before.Ring.Records)
	}
	dlE := filepath.Join(base, "e-downloads")
	os.MkdirAll(dlE, 0o755)
	kwEventually(t, "get from the remaining provider", 60*time.Second, func() error {
		if r := kwRun(t, bin, dlE, e.Repo, "get", "-o", filepath.Join(dlE, "song.ogg"), cid); r.Code != 0 {
			return fmt.Errorf("get on e: %d %s", r.Code, r.Stderr)
		}
		return nil
	})
	kwCheckFile(t, filepath.Join(dlE, "song.ogg"), content)

	// B restarts from its repository: same identity, same shares, its
	// stored records back, its files published again.
	b2 := start("b", "--mode", "server", "--bootstrap", e.TCPAddr())
	if b2.PeerID != b.PeerID {
		t.Fatalf("restarted b has peer ID %s, was %s", b2.PeerID, b.PeerID)
	}
	var shares []struct {
		CID string `json:"cid"`
	}
	if err := kwJSON(t, bin, b2.Repo, &shares, "shares", "--json"); err != nil || len(shares) != 2 {
		t.Fatalf("shares after restart: %+v %v", shares, err)
	}
	kwEventually(t, "b republished", 60*time.Second, func() error {
		h, err := findHit(t, bin, a, cid, "moon", "song")
		if err != nil {
			return err
		}
		return providersInclude(h, b.PeerID, c.PeerID)
	})

	// C unshares: its record goes, B's stays.
	if r := kwRun(t, bin, "", c.Repo, "unshare", cid); r.Code != 0 {
		t.Fatalf("unshare: %d %s", r.Code, r.Stderr)
	}
	kwEventually(t, "c withdrawn", 30*time.Second, func() error {
		h, err := findHit(t, bin, f, cid, "song", "moon")
		if err != nil {
			return err
		}
		if slices.Contains(h.Providers, c.PeerID) {
			return fmt.Errorf("c still a provider: %v", h.Providers)
		}
		return providersInclude(h, b.PeerID)
	})

	// A graceful stop exits 0 and removes REPO/api.
	if code := e.Stop(20 * time.Second); code != 0 {
		t.Fatalf("e exited %d after SIGTERM", code)
	}
	if _, err := os.Stat(filepath.Join(e.Repo, "api")); !os.IsNotExist(err) {
		t.Fatalf("REPO/api still there after a clean stop: %v", err)
	}
	if r := kwRun(t, bin, "", e.Repo, "status"); r.Code != 1 || !strings.Contains(r.Stderr, "no daemon") {
		t.Fatalf("status after stop: %d %q", r.Code, r.Stderr)
	}
}

func kwCheckFile(t *testing.T, path string, want []byte) {
	t.Helper()
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s: %d bytes differ from the %d shared", path, len(got), len(want))
	}
}

// TestCLIErrorPaths checks the contract's exit codes with the real binary.
func TestCLIErrorPaths(t *testing.T) {
	bin := kwBinary(t)
	repo := filepath.Join(t.TempDir(), "r")
	cases := []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"no daemon", []string{"status"}, 1, "no daemon is running"},
		{"no daemon search", []string{"search", "blue"}, 1, "no daemon is running"},
		{"bad CID", []string{"get", "not-a-cid"}, 1, "not a valid CID"},
		{"no words", []string{"search"}, 2, "at least 1 word"},
		{"unknown command", []string{"fly"}, 2, "unknown command"},
		{"bad flag", []string{"search", "--limit", "many", "x"}, 2, "invalid argument"},
		{"bad mode", []string{"daemon", "--mode", "boss"}, 2, "mode"},
	}
	for _, tc := range cases {
		r := kwRun(t, bin, "", repo, tc.args...)
		if r.Code != tc.code || !strings.Contains(r.Stderr, tc.msg) || strings.Count(r.Stderr, "\n") != 1 {
			t.Errorf("%s: exit %d stderr %q, want %d and one line containing %q", tc.name, r.Code, r.Stderr, tc.code, tc.msg)
		}
	}
	if r := kwRun(t, bin, "", "", "version"); r.Code != 0 || !strings.HasPrefix(r.Stdout, "kwnode ") {
		t.Errorf("version: %d %q", r.Code, r.Stdout)
	}
}
