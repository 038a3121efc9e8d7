package webui

import (
	"context"
	"encoding/json"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"kwsearch/api"
)

const testToken = "test-api-token"

// fakeClock is a settable clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// fakeBackend answers the API; Get sends the events it reads from events
// and ends when that channel is closed.
type fakeBackend struct {
	events   chan api.GetEvent
	mu       sync.Mutex
	unshares []string
}

func (f *fakeBackend) Status(context.Context) (api.Status, error) {
	return api.Status{PeerID: "12D3KooWfake", Mode: "server"}, nil
}
func (f *fakeBackend) Peers(context.Context) ([]api.Peer, error)         { return nil, nil }
func (f *fakeBackend) Shares(context.Context) ([]api.ShareInfo, error)   { return nil, nil }
func (f *fakeBackend) Downloads(context.Context) ([]api.Download, error) { return nil, nil }
func (f *fakeBackend) Search(context.Context, api.SearchRequest) ([]api.SearchHit, error) {
	return nil, nil
}
func (f *fakeBackend) Share(context.Context, api.ShareRequest, func(api.ShareEvent)) (api.ShareEvent, error) {
	return api.ShareEvent{}, nil
}
func (f *fakeBackend) Unshare(_ context.Context, req api.UnshareRequest) (api.UnshareResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.unshares = append(f.unshares, req.CID)
	return api.UnshareResult{CID: req.CID}, nil
}
func (f *fakeBackend) Get(ctx context.Context, req api.GetRequest, emit func(api.GetEvent)) (api.GetEvent, error) {
	var last api.GetEvent
	for {
		select {
		case e, ok := <-f.events:
			if !ok {
				return api.GetEvent{CID: req.CID, Name: last.Name, Path: last.Path, Bytes: last.Total, Total: last.Total}, nil
			}
			e.CID = req.CID
			last = e
			emit(e)
		case <-ctx.Done():
			return api.GetEvent{}, ctx.Err()
		}
	}
}

type testEnv struct {
	t     *testing.T
	clock *fakeClock
	ui    *UI
	ts    *httptest.Server
	fb    *fakeBackend
	hc    *http.Client
}

func newTestEnv(t *testing.T) *testEnv {
	t.Helper()
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	var key [32]byte
	for i := range key {
		key[i] = byte(seed >> (8 * (i % 8)))
	}
	clock := &fakeClock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	fb := &fakeBackend{events: make(chan api.GetEvent)}
	cfg := DefaultConfig()
	cfg.EventInterval, cfg.MinEventGap = 20*time.Millisecond, 10*time.Millisecond
	srv := api.NewServer(fb, testToken, nil)
	ui, err := New(cfg, Options{Backend: fb, Token: testToken, APIAddr: "127.0.0.1:5151", Now: clock.Now, Rand: rand.NewChaCha8(key)})
	if err != nil {
		t.Fatal(err)
	}
	ui.Mount(srv)
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(func() { ui.Close(); ts.Close() })
	hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return &testEnv{t: t, clock: clock, ui: ui, ts: ts, fb: fb, hc: hc}
}

func (e *testEnv) do(method, path string, body string, hdr map[string]string) *http.Response {
	e.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, e.ts.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := e.hc.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// ticketURL asks for a one-time URL with the bearer token; it returns the
// path and query.
func (e *testEnv) ticketURL() string {
	e.t.Helper()
	resp := e.do("POST", api.UILoginPath, "", map[string]string{"Authorization": "Bearer " + testToken})
	var l api.UILogin
	if resp.StatusCode != 200 || json.NewDecoder(resp.Body).Decode(&l) != nil {
		e.t.Fatalf("login ticket: %s", resp.Status)
	}
	return strings.TrimPrefix(l.URL, e.ts.URL)
}

// login returns a session cookie header value and the page's CSRF token.
func (e *testEnv) login() (cookie, csrf string) {
	e.t.Helper()
	resp := e.do("GET", e.ticketURL(), "", nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/ui/" {
		e.t.Fatalf("login: %s to %q", resp.Status, resp.Header.Get("Location"))
	}
	cs := resp.Cookies()
	if len(cs) != 1 {
		e.t.Fatalf("login set %d cookies", len(cs))
	}
	c := cs[0]
	if !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/" || c.Name != "kwnode_session_5151" {
		e.t.Fatalf("cookie %+v: want HttpOnly, SameSite=Strict, Path=/, named for the port", c)
	}
	cookie = c.Name + "=" + c.Value
	page := e.do("GET", "/ui/", "", map[string]string{"Cookie": cookie})
	b, _ := io.ReadAll(page.Body)
	m := regexp.MustCompile(`name="kw-csrf" content="([^"]+)"`).FindSubmatch(b)
	if page.StatusCode != 200 || m == nil {
		e.t.Fatalf("page: %s, csrf meta found: %v", page.Status, m != nil)
	}
	if csp := page.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") {
		e.t.Fatalf("page CSP %q", csp)
	}
	return cookie, string(m[1])
}
