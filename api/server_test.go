package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"kwsearch/repo"
)

const testToken = "0123456789abcdef0123456789abcdef"

const testCID = "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy"

type fakeBackend struct {
	shareEvents []ShareEvent
	shareErr    error
	searchReq   SearchRequest
	getErrAfter bool
	unshareErr  error
}

func (f *fakeBackend) Status(context.Context) (Status, error) {
	return Status{PeerID: "12D3KooWtest", Addrs: []string{"/ip4/127.0.0.1/tcp/1"}, Mode: "server",
		Reachability: "public", Ring: Ring{ID: "ab", Records: 7}, Peers: 3}, nil
}
func (f *fakeBackend) Peers(context.Context) ([]Peer, error) { return nil, nil }
func (f *fakeBackend) Shares(context.Context) ([]ShareInfo, error) {
	return []ShareInfo{{CID: testCID, Path: "/a", Name: "a", Size: 1}}, nil
}
func (f *fakeBackend) Downloads(context.Context) ([]Download, error) { return nil, nil }
func (f *fakeBackend) Share(_ context.Context, req ShareRequest, emit func(ShareEvent)) (ShareEvent, error) {
	for _, e := range f.shareEvents {
		emit(e)
	}
	return ShareEvent{FilesDone: len(f.shareEvents)}, f.shareErr
}
func (f *fakeBackend) Unshare(_ context.Context, req UnshareRequest) (UnshareResult, error) {
	if f.unshareErr != nil {
		return UnshareResult{}, f.unshareErr
	}
	return UnshareResult{CID: req.CID, Path: "/a"}, nil
}
func (f *fakeBackend) Search(_ context.Context, req SearchRequest) ([]SearchHit, error) {
	f.searchReq = req
	return []SearchHit{{CID: testCID, Name: "blue song.ogg", Size: 10, Providers: []string{"p"}, Score: 2}}, nil
}
func (f *fakeBackend) Get(_ context.Context, req GetRequest, emit func(GetEvent)) (GetEvent, error) {
	emit(GetEvent{Type: EventProgress, Bytes: 5, Total: 10})
	if f.getErrAfter {
		return GetEvent{}, errors.New("all providers failed")
	}
	emit(GetEvent{Type: EventProgress, Bytes: 10, Total: 10})
	return GetEvent{CID: req.CID, Path: req.Output, Bytes: 10, Total: 10}, nil
}

func newTest(t *testing.T, b Backend) (*httptest.Server, *Client) {
	t.Helper()
	ts := httptest.NewServer(NewServer(b, testToken, nil).Handler())
	t.Cleanup(ts.Close)
	return ts, NewClient(strings.TrimPrefix(ts.URL, "http://"), testToken)
}

func rawRequest(t *testing.T, ts *httptest.Server, method, path, ctype, auth, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, ts.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestAuth(t *testing.T) {
	ts, _ := newTest(t, &fakeBackend{})
	cases := []struct {
		name, auth string
		want       int
	}{
		{"none", "", 401},
		{"wrong", "Bearer " + strings.Repeat("0", len(testToken)), 401},
		{"prefix of token", "Bearer " + testToken[:10], 401},
		{"basic scheme", "Basic " + testToken, 401},
		{"right", "Bearer " + testToken, 200},
		{"lowercase scheme", "bearer " + testToken, 200},
	}
	for _, tc := range cases {
		code, body := rawRequest(t, ts, "GET", "/v1/status", "", tc.auth, "")
		if code != tc.want {
			t.Errorf("%s: status %d (%s), want %d", tc.name, code, body, tc.want)
		}
		if code == 401 && !strings.Contains(body, `"error"`) {
			t.Errorf("%s: 401 body is not a JSON error: %s", tc.name, body)
		}
	}
}

func TestHostCheck(t *testing.T) {
	ts, _ := newTest(t, &fakeBackend{})
	req, _ := http.NewRequest("GET", ts.URL+"/v1/status", nil)
	req.Host = "evil.example:5151"
	req.Header.Set("Authorization", "Bearer "+testToken)
	resp, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 403 {
		t.Fatalf("foreign Host: status %d, want 403", resp.StatusCode)
	}
}

func TestBadBodies(t *testing.T) {
	ts, _ := newTest(t, &fakeBackend{})
	auth := "Bearer " + testToken
	big := `{"words":["` + strings.Repeat("a", MaxBodyBytes) + `"]}`
	cases := []struct {
		name, path, ctype, body string
		want                    int
		msg                     string
	}{
		{"no content type", "/v1/search", "", `{"words":["a"]}`, 415, "application/json"},
		{"form", "/v1/search", "application/x-www-form-urlencoded", `words=a`, 415, "application/json"},
		{"empty", "/v1/search", "application/json", ``, 400, "empty"},
		{"garbled", "/v1/search", "application/json", `{"words":`, 400, "bad request body"},
		{"unknown field", "/v1/search", "application/json", `{"words":["a"],"x":1}`, 400, "unknown field"},
		{"trailing", "/v1/search", "application/json", `{"words":["a"]} {}`, 400, "after the JSON"},
		{"wrong type", "/v1/search", "application/json", `{"words":"a"}`, 400, "bad request body"},
		{"too large", "/v1/search", "application/json", big, 413, "larger than"},
		{"no words", "/v1/search", "application/json", `{"words":[]}`, 400, "none given"},
		{"negative limit", "/v1/search", "application/json", `{"words":["a"],"limit":-1}`, 400, "limit"},
		{"relative share", "/v1/share", "application/json", `{"paths":["a/b"]}`, 400, "not absolute"},
		{"no paths", "/v1/share", "application/json", `{"paths":[]}`, 400, "no paths"},
		{"bad cid", "/v1/get", "application/json", `{"cid":"nope","dir":"/tmp"}`, 400, "not a valid CID"},
		{"get no output", "/v1/get", "application/json", `{"cid":"` + testCID + `"}`, 400, "output"},
		{"unshare no cid", "/v1/unshare", "application/json", `{}`, 400, "no CID"},
		{"wrong method", "/v1/search", "", ``, 405, ""},
		{"unknown path", "/v1/nothing", "", ``, 404, "no such endpoint"},
	}
	for _, tc := range cases {
		method := "POST"
		if tc.name == "wrong method" || tc.name == "unknown path" {
			method = "GET"
		}
		code, body := rawRequest(t, ts, method, tc.path, tc.ctype, auth, tc.body)
		if code != tc.want || !strings.Contains(body, tc.msg) {
			t.Errorf("%s: %d %q, want %d containing %q", tc.name, code, truncate(body, 200), tc.want, tc.msg)
		}
	}
}

func TestClientCalls(t *testing.T) {
	fb := &fakeBackend{}
	_, c := newTest(t, fb)
	ctx := context.Background()
	st, err := c.Status(ctx)
	if err != nil || st.PeerID != "12D3KooWtest" || st.Ring.Records != 7 {
		t.Fatalf("Status = %+v, %v", st, err)
	}
	hits, err := c.Search(ctx, SearchRequest{Words: []string{"blue", "song"}, Limit: 5})
	if err != nil || len(hits) != 1 || hits[0].Name != "blue song.ogg" {
		t.Fatalf("Search = %+v, %v", hits, err)
	}
	if fb.searchReq.Limit != 5 || len(fb.searchReq.Words) != 2 {
		t.Fatalf("backend saw %+v", fb.searchReq)
	}
	peers, err := c.Peers(ctx)
	if err != nil || peers == nil || len(peers) != 0 {
		t.Fatalf("Peers = %#v, %v (want an empty, non-nil list)", peers, err)
	}
	fb.unshareErr = NotFound("not shared: %s", testCID)
	if _, err := c.Unshare(ctx, UnshareRequest{CID: testCID}); !IsStatus(err, 404) || !strings.Contains(err.Error(), "not shared") {
		t.Fatalf("Unshare error %v, want 404 not shared", err)
	}
}

func TestShareStream(t *testing.T) {
	fb := &fakeBackend{shareEvents: []ShareEvent{
		{Type: EventFile, CID: testCID, Path: "/a", Keywords: []string{"a"}},
		{Type: EventFailed, Path: "/missing", Error: "no such file"},
	}}
	_, c := newTest(t, fb)
	var got []ShareEvent
	done, err := c.Share(context.Background(), ShareRequest{Paths: []string{"/a", "/missing"}}, func(e ShareEvent) { got = append(got, e) })
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].CID != testCID || got[1].Error != "no such file" || done.FilesDone != 2 {
		t.Fatalf("events %+v done %+v", got, done)
	}
}

func TestStreamErrors(t *testing.T) {
	// An error before any event is an HTTP error.
	fb := &fakeBackend{shareErr: BadRequest("nothing to share")}
	_, c := newTest(t, fb)
	_, err := c.Share(context.Background(), ShareRequest{Paths: []string{"/a"}}, nil)
	if !IsStatus(err, 400) || !strings.Contains(err.Error(), "nothing to share") {
		t.Fatalf("share error %v, want 400", err)
	}
	// An error after events is a final error event.
	fb.getErrAfter = true
	var n int
	_, err = c.Get(context.Background(), GetRequest{CID: testCID, Dir: "/tmp"}, func(GetEvent) { n++ })
	if err == nil || !strings.Contains(err.Error(), "all providers failed") || n != 1 {
		t.Fatalf("get error %v after %d events", err, n)
	}
	fb.getErrAfter = false
	done, err := c.Get(context.Background(), GetRequest{CID: testCID, Output: "/tmp/x"}, nil)
	if err != nil || done.Bytes != 10 || done.Path != "/tmp/x" {
		t.Fatalf("get done %+v %v", done, err)
	}
}

func TestListenLoopbackOnly(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", ":0", "[::]:0", "192.0.2.1:0", "example.com:0"} {
		if ln, err := Listen(addr); err == nil {
			ln.Close()
			t.Errorf("Listen(%q) accepted a non-loopback address", addr)
		}
	}
	ln, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln.Close()
}

func TestServeAndShutdown(t *testing.T) {
	ln, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := NewServer(&fakeBackend{}, testToken, nil)
	errc := make(chan error, 1)
	go func() { errc <- s.Serve(ln) }()
	c := NewClient(ln.Addr().String(), testToken)
	if _, err := c.Status(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err != nil {
		t.Fatalf("Serve returned %v after Shutdown", err)
	}
}

func TestClientNoDaemon(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now, like a daemon killed with -9
	_, err = NewClient(addr, testToken).Status(context.Background())
	if !errors.Is(err, repo.ErrNoDaemon) {
		t.Fatalf("error %v, want ErrNoDaemon", err)
	}
	if _, err := FromRepo(t.TempDir()); !errors.Is(err, repo.ErrNoDaemon) {
		t.Fatalf("FromRepo of a repo without daemon: %v", err)
	}
}

func FuzzRequestDecoders(f *testing.F) {
	for _, s := range []string{
		`{"paths":["/a","/b"],"keywords":["x"]}`,
		`{"words":["blue","song"],"limit":3}`,
		`{"cid":"` + testCID + `","dir":"/tmp"}`,
		`{"cid":"` + testCID + `"}`,
		`{"words":`, `[]`, `null`, `{"a":1}`, "\x00",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		check := func(name string, err error) {
			if err == nil {
				return
			}
			if s := statusOf(err); s < 400 || s > 499 {
				t.Fatalf("%s: error %v maps to status %d, want 4xx", name, err, s)
			}
		}
		if req, err := DecodeShareRequest(strings.NewReader(string(b))); err == nil {
			if len(req.Paths) == 0 || len(req.Paths) > MaxPaths {
				t.Fatalf("accepted share request with %d paths", len(req.Paths))
			}
		} else {
			check("share", err)
		}
		if req, err := DecodeSearchRequest(strings.NewReader(string(b))); err == nil {
			if len(req.Words) == 0 || req.Limit < 0 {
				t.Fatalf("accepted search %+v", req)
			}
		} else {
			check("search", err)
		}
		if req, err := DecodeGetRequest(strings.NewReader(string(b))); err == nil {
			if CheckCID(req.CID) != nil {
				t.Fatalf("accepted get with bad CID %q", req.CID)
			}
		} else {
			check("get", err)
		}
		_, err := DecodeUnshareRequest(strings.NewReader(string(b)))
		check("unshare", err)
	})
}

func ExampleClient_Search() {
	c := NewClient("127.0.0.1:5151", "token-from-REPO/api.token")
	_ = c
	fmt.Println("c.Search(ctx, api.SearchRequest{Words: []string{\"blue\", \"song\"}})")
	// Output: c.Search(ctx, api.SearchRequest{Words: []string{"blue", "song"}})
}

// slowBackend streams get progress for longer than the server's read timeout.
type slowBackend struct {
	fakeBackend
	steps int
	every time.Duration
}

func (s *slowBackend) Get(ctx context.Context, req GetRequest, emit func(GetEvent)) (GetEvent, error) {
	t := time.NewTicker(s.every)
	defer t.Stop()
	for i := 0; i < s.steps; i++ {
		select {
		case <-ctx.Done():
			return GetEvent{}, fmt.Errorf("cancelled after %d steps: %w", i, ctx.Err())
		case <-t.C:
			emit(GetEvent{Type: EventProgress, Bytes: int64(i)})
		}
	}
	return GetEvent{CID: req.CID, Bytes: int64(s.steps)}, nil
}

func TestLongStreamOutlivesReadTimeout(t *testing.T) {
	s := NewServer(&slowBackend{steps: 10, every: 50 * time.Millisecond}, testToken, nil)
	s.readTimeout = 100 * time.Millisecond
	ln, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve(ln)
	defer s.Shutdown(context.Background())
	c := NewClient(ln.Addr().String(), testToken)
	done, err := c.Get(context.Background(), GetRequest{CID: testCID, Dir: "/tmp"}, nil)
	if err != nil || done.Bytes != 10 {
		t.Fatalf("a stream of 500 ms under a 100 ms read timeout: %+v %v", done, err)
	}
}

// TestShutdownBeforeServe: a Shutdown that comes before the serving
// goroutine runs must still make Serve return.
func TestShutdownBeforeServe(t *testing.T) {
	ln, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := NewServer(&fakeBackend{}, testToken, nil)
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() { errc <- s.Serve(ln) }()
	select {
	case err := <-errc:
		if err != nil {
			t.Fatalf("Serve after Shutdown: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after an earlier Shutdown")
	}
}
