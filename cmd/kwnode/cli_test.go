package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"kwsearch/api"
	"kwsearch/repo"
	"kwsearch/webui"
)

const goodCID = "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy"

func kw(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(args, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

// fakeDaemon serves the API of a repository from a fake backend.
type fakeDaemon struct{}

func (fakeDaemon) Status(context.Context) (api.Status, error) {
	return api.Status{PeerID: "12D3KooWfake", Addrs: []string{"/ip4/127.0.0.1/tcp/4001/p2p/12D3KooWfake"},
		Mode: "server", Reachability: "public", Ring: api.Ring{ID: "ab", Successor: "s", Predecessor: "p", Records: 2},
		Peers: 1, Relays: []string{}}, nil
}
func (fakeDaemon) Peers(context.Context) ([]api.Peer, error) {
	return []api.Peer{{PeerID: "12D3KooWother", Addr: "/ip4/127.0.0.1/tcp/1", Direct: true}}, nil
}
func (fakeDaemon) Shares(context.Context) ([]api.ShareInfo, error) { return nil, nil }
func (fakeDaemon) Share(_ context.Context, req api.ShareRequest, emit func(api.ShareEvent)) (api.ShareEvent, error) {
	n := 0
	for _, p := range req.Paths {
		if strings.Contains(p, "missing") {
			emit(api.ShareEvent{Type: api.EventFailed, Path: p, Error: "no such file or folder"})
			continue
		}
		n++
		emit(api.ShareEvent{Type: api.EventFile, CID: goodCID, Path: p, Keywords: append([]string{"blue", "song"}, req.Keywords...)})
	}
	return api.ShareEvent{FilesDone: n}, nil
}
func (fakeDaemon) Unshare(context.Context, api.UnshareRequest) (api.UnshareResult, error) {
	return api.UnshareResult{}, api.NotFound("not shared")
}
func (fakeDaemon) Search(_ context.Context, req api.SearchRequest) ([]api.SearchHit, error) {
	if req.Words[0] == "zz" {
		return nil, api.BadRequest("no searchable word")
	}
	return []api.SearchHit{{CID: goodCID, Name: "Blue Song.ogg", Size: 3, Providers: []string{"12D3KooWfake"}, Score: 1.5}}, nil
}
func (fakeDaemon) Get(context.Context, api.GetRequest, func(api.GetEvent)) (api.GetEvent, error) {
	return api.GetEvent{}, errors.New("no provider answered")
}
func (fakeDaemon) Downloads(context.Context) ([]api.Download, error) { return nil, nil }

func startFakeDaemon(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "repo")
	r, err := repo.Init(dir, repo.DefaultConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := api.NewServer(fakeDaemon{}, r.Token, nil)
	ui, err := webui.New(webui.DefaultConfig(), webui.Options{Backend: fakeDaemon{}, Token: r.Token})
	if err != nil {
		t.Fatal(err)
	}
	ui.Mount(srv)
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	t.Cleanup(ui.Close)
	if err := r.WriteAPI(strings.TrimPrefix(ts.URL, "http://")); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestUsageErrors(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name string
		args []string
	}{
		{"no command", nil},
		{"unknown command", []string{"frobnicate"}},
		{"unknown flag", []string{"status", "--bogus"}},
		{"search without words", []string{"search"}},
		{"search bad limit", []string{"search", "--limit", "x", "a"}},
		{"search negative limit", []string{"search", "--limit", "-1", "a"}},
		{"get without CID", []string{"get"}},
		{"get two CIDs", []string{"get", goodCID, goodCID}},
		{"unshare without CID", []string{"unshare"}},
		{"share without path", []string{"share"}},
		{"status with argument", []string{"status", "x"}},
		{"daemon bad mode", []string{"daemon", "--mode", "boss"}},
		{"daemon public api", []string{"daemon", "--api", "0.0.0.0:5151"}},
		{"daemon bad listen", []string{"daemon", "--listen", "tcp:4001"}},
		{"daemon bootstrap without id", []string{"daemon", "--bootstrap", "/ip4/127.0.0.1/tcp/1"}},
		{"daemon bad cidr", []string{"daemon", "--public-cidr", "198.18.0.0"}},
		{"daemon bad log level", []string{"daemon", "--log-level", "loud"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := kw(t, append([]string{"--repo", dir}, tc.args...)...)
			if code != 2 {
				t.Fatalf("exit %d, want 2; stderr %q", code, stderr)
			}
			if strings.Count(stderr, "\n") != 1 || !strings.HasPrefix(stderr, "kwnode: ") {
				t.Fatalf("stderr is not one line: %q", stderr)
			}
			if repo.Exists(dir) {
				t.Fatal("a usage error created the repository")
			}
		})
	}
}

func TestNoDaemon(t *testing.T) {
	noRepo := filepath.Join(t.TempDir(), "none")
	withRepo := filepath.Join(t.TempDir(), "r")
	if code, _, stderr := kw(t, "--repo", withRepo, "init"); code != 0 {
		t.Fatalf("init: %d %s", code, stderr)
	}
	stale := filepath.Join(t.TempDir(), "stale")
	r, err := repo.Init(stale, repo.DefaultConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	r.WriteAPI(ln.Addr().String())
	ln.Close() // a daemon killed with -9 leaves REPO/api behind
	for _, dir := range []string{noRepo, withRepo, stale} {
		for _, args := range [][]string{{"status"}, {"search", "blue"}, {"shares"}, {"peers", "--json"}, {"get", goodCID}, {"ui"}} {
			code, stdout, stderr := kw(t, append([]string{"--repo", dir}, args...)...)
			if code != 1 || !strings.Contains(stderr, "no daemon is running") || stdout != "" {
				t.Errorf("%s %v: exit %d stdout %q stderr %q", filepath.Base(dir), args, code, stdout, stderr)
			}
		}
	}
	// KWNODE_REPO is honoured.
	t.Setenv("KWNODE_REPO", noRepo)
	if code, _, stderr := kw(t, "status"); code != 1 || !strings.Contains(stderr, noRepo) {
		t.Errorf("with KWNODE_REPO: exit %d stderr %q", code, stderr)
	}
}

func TestInitTwice(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "r")
	if code, out, _ := kw(t, "--repo", dir, "init"); code != 0 || !strings.Contains(out, "peer id") {
		t.Fatalf("init: %d %q", code, out)
	}
	st, err := os.Stat(filepath.Join(dir, repo.KeyFile))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("identity key: %v %v", st, err)
	}
	if code, _, stderr := kw(t, "--repo", dir, "init"); code != 1 || !strings.Contains(stderr, "already exists") {
		t.Fatalf("second init: %d %q", code, stderr)
	}
}

func TestBadCID(t *testing.T) {
	dir := startFakeDaemon(t)
	for _, args := range [][]string{{"get", "not-a-cid"}, {"unshare", "Qm123"}} {
		code, _, stderr := kw(t, append([]string{"--repo", dir}, args...)...)
		if code != 1 || !strings.Contains(stderr, "not a valid CID") {
			t.Errorf("%v: exit %d stderr %q", args, code, stderr)
		}
	}
}

func TestCommandsAgainstDaemon(t *testing.T) {
	// `ui` opens a browser where a desktop is present; not from a test.
	t.Setenv("DISPLAY", "")
	t.Setenv("WAYLAND_DISPLAY", "")
	dir := startFakeDaemon(t)
	code, out, stderr := kw(t, "--repo", dir, "search", "--json", "blue", "song")
	if code != 0 {
		t.Fatalf("search: %d %s", code, stderr)
	}
	var hits []map[string]any
	if err := json.Unmarshal([]byte(out), &hits); err != nil || len(hits) != 1 {
		t.Fatalf("search --json output %q: %v", out, err)
	}
	for _, k := range []string{"cid", "name", "size", "providers", "score"} {
		if _, ok := hits[0][k]; !ok {
			t.Errorf("search hit lacks %q: %v", k, hits[0])
		}
	}
	if code, _, stderr = kw(t, "--repo", dir, "search", "zz"); code != 1 || !strings.Contains(stderr, "no searchable word") {
		t.Errorf("search zz: %d %q", code, stderr)
	}
	code, out, _ = kw(t, "--repo", dir, "status", "--json")
	var st map[string]any
	if err := json.Unmarshal([]byte(out), &st); code != 0 || err != nil {
		t.Fatalf("status --json: %d %q %v", code, out, err)
	}
	for _, k := range []string{"peer_id", "addrs", "mode", "reachability", "ring", "peers"} {
		if _, ok := st[k]; !ok {
			t.Errorf("status lacks %q", k)
		}
	}
	ring, _ := st["ring"].(map[string]any)
	for _, k := range []string{"id", "successor", "predecessor", "records"} {
		if _, ok := ring[k]; !ok {
			t.Errorf("status.ring lacks %q", k)
		}
	}
	code, out, _ = kw(t, "--repo", dir, "peers", "--json")
	var peers []map[string]any
	if err := json.Unmarshal([]byte(out), &peers); code != 0 || err != nil || len(peers) != 1 || peers[0]["direct"] != true || peers[0]["addr"] == nil || peers[0]["peer_id"] == nil {
		t.Fatalf("peers --json: %d %q %v", code, out, err)
	}
	code, out, stderr = kw(t, "--repo", dir, "share", "--keywords", "live, 1999", "a.ogg", "missing.ogg")
	if code != 1 || out != goodCID+"\ta.ogg\tblue,song,live,1999\n" || !strings.Contains(stderr, "missing.ogg: no such file") {
		t.Fatalf("share: %d %q %q", code, out, stderr)
	}
	if code, _, stderr = kw(t, "--repo", dir, "get", goodCID); code != 1 || !strings.Contains(stderr, "no provider answered") {
		t.Fatalf("get: %d %q", code, stderr)
	}
	if code, _, stderr = kw(t, "--repo", dir, "unshare", goodCID); code != 1 || !strings.Contains(stderr, "not shared") {
		t.Fatalf("unshare: %d %q", code, stderr)
	}
	if code, out, _ = kw(t, "--repo", dir, "shares", "--json"); code != 0 || strings.TrimSpace(out) != "[]" {
		t.Fatalf("shares --json: %d %q", code, out)
	}
	if code, out, _ = kw(t, "--repo", dir, "ui"); code != 0 || !strings.HasPrefix(out, "http://127.0.0.1:") || !strings.Contains(out, "/ui/login?ticket=") {
		t.Fatalf("ui: %d %q", code, out)
	}
}
