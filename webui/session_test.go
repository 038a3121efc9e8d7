package webui

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"kwsearch/api"
)

const goodCID = "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy"

func TestLoginTicketWorksOnce(t *testing.T) {
	e := newTestEnv(t)
	if r := e.do("POST", api.UILoginPath, "", nil); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("ticket without the token: %s", r.Status)
	}
	u := e.ticketURL()
	if r := e.do("GET", u, "", nil); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("first use: %s", r.Status)
	}
	if r := e.do("GET", u, "", nil); r.StatusCode != http.StatusUnauthorized || len(r.Cookies()) != 0 {
		t.Fatalf("second use: %s, %d cookies", r.Status, len(r.Cookies()))
	}
	u = e.ticketURL()
	e.clock.Advance(DefaultConfig().TicketTTL)
	if r := e.do("GET", u, "", nil); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("expired ticket: %s", r.Status)
	}
	if r := e.do("GET", "/ui/login?ticket=made-up", "", nil); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("made-up ticket: %s", r.Status)
	}
}

func TestTicketsAreCapped(t *testing.T) {
	e := newTestEnv(t)
	first := e.ticketURL()
	for range DefaultConfig().MaxTickets {
		e.clock.Advance(time.Second)
		e.ticketURL()
	}
	if r := e.do("GET", first, "", nil); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("oldest ticket beyond the cap still works: %s", r.Status)
	}
}

func TestRequestsWithoutSessionRefused(t *testing.T) {
	e := newTestEnv(t)
	cookie, _ := e.login()
	name, value, _ := strings.Cut(cookie, "=")
	flipped := []byte(value)
	flipped[3] ^= 1
	other := newSessions("another-token", name, DefaultConfig(), e.clock.Now, strings.NewReader(strings.Repeat("x", 64)))
	foreign, _ := other.newSession()
	cookies := []struct{ name, cookie string }{
		{"none", ""},
		{"forged", name + "=" + string(flipped)},
		{"other token", name + "=" + foreign},
		{"other daemon's name", "kwnode_session_1=" + value},
		{"garbage", name + "=%%%"},
	}
	paths := []string{"/ui/", "/ui/static/app.js", "/ui/events", "/ui/downloads", "/v1/status", "/v1/shares"}
	for _, c := range cookies {
		for _, p := range paths {
			hdr := map[string]string{}
			if c.cookie != "" {
				hdr["Cookie"] = c.cookie
			}
			if r := e.do("GET", p, "", hdr); r.StatusCode != http.StatusUnauthorized {
				t.Errorf("%s cookie, GET %s: %s, want 401", c.name, p, r.Status)
			}
		}
	}
	for _, p := range paths {
		if r := e.do("GET", p, "", map[string]string{"Cookie": cookie}); r.StatusCode != http.StatusOK {
			t.Errorf("good session, GET %s: %s", p, r.Status)
		}
	}
	e.clock.Advance(DefaultConfig().SessionTTL)
	if r := e.do("GET", "/v1/status", "", map[string]string{"Cookie": cookie}); r.StatusCode != http.StatusUnauthorized {
		t.Errorf("expired session: %s", r.Status)
	}
}

func TestStateChangesNeedSameOriginAndToken(t *testing.T) {
	e := newTestEnv(t)
	cookie, csrf := e.login()
	origin := e.ts.URL
	cases := []struct {
		name string
		hdr  map[string]string
		ok   bool
	}{
		{"same origin with token", map[string]string{"Origin": origin, CSRFHeader: csrf, "Sec-Fetch-Site": "same-origin"}, true},
		{"origin only, with token", map[string]string{"Origin": origin, CSRFHeader: csrf}, true},
		{"no token", map[string]string{"Origin": origin, "Sec-Fetch-Site": "same-origin"}, false},
		{"wrong token", map[string]string{"Origin": origin, CSRFHeader: csrf[1:] + "A", "Sec-Fetch-Site": "same-origin"}, false},
		{"cross-site with token", map[string]string{"Origin": "http://evil.example", CSRFHeader: csrf, "Sec-Fetch-Site": "cross-site"}, false},
		{"other origin with token", map[string]string{"Origin": "http://evil.example", CSRFHeader: csrf}, false},
		{"same-site other port", map[string]string{"Origin": "http://127.0.0.1:1", CSRFHeader: csrf, "Sec-Fetch-Site": "same-site"}, false},
		{"no browser headers", map[string]string{CSRFHeader: csrf}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			hdr := map[string]string{"Cookie": cookie, "Content-Type": "application/json"}
			for k, v := range c.hdr {
				hdr[k] = v
			}
			r := e.do("POST", "/v1/unshare", fmt.Sprintf(`{"cid":%q}`, goodCID), hdr)
			if got := r.StatusCode == http.StatusOK; got != c.ok {
				t.Errorf("POST /v1/unshare: %s, want ok=%v", r.Status, c.ok)
			}
			r = e.do("POST", "/ui/downloads", fmt.Sprintf(`{"cid":%q,"dir":%q}`, goodCID, t.TempDir()), hdr)
			if c.ok && r.StatusCode != http.StatusAccepted && r.StatusCode != http.StatusConflict {
				t.Errorf("POST /ui/downloads: %s, want accepted", r.Status)
			}
			if !c.ok && r.StatusCode != http.StatusForbidden {
				t.Errorf("POST /ui/downloads: %s, want 403", r.Status)
			}
		})
	}
	e.fb.mu.Lock()
	n := len(e.fb.unshares)
	e.fb.mu.Unlock()
	if n != 2 {
		t.Fatalf("backend saw %d unshares, want the 2 allowed ones", n)
	}
}

func TestDownloadBodyChecked(t *testing.T) {
	e := newTestEnv(t)
	cookie, csrf := e.login()
	hdr := map[string]string{"Cookie": cookie, "Origin": e.ts.URL, CSRFHeader: csrf, "Content-Type": "application/json"}
	for _, body := range []string{``, `{}`, `{"cid":"nope","dir":"/tmp"}`, fmt.Sprintf(`{"cid":%q}`, goodCID),
		fmt.Sprintf(`{"cid":%q,"dir":"relative"}`, goodCID), fmt.Sprintf(`{"cid":%q,"dir":"/x","extra":1}`, goodCID)} {
		if r := e.do("POST", "/ui/downloads", body, hdr); r.StatusCode != http.StatusBadRequest {
			t.Errorf("body %q: %s, want 400", body, r.Status)
		}
	}
	hdr["Content-Type"] = "text/plain"
	if r := e.do("POST", "/ui/downloads", fmt.Sprintf(`{"cid":%q,"dir":"/x"}`, goodCID), hdr); r.StatusCode != http.StatusUnsupportedMediaType {
		t.Errorf("text/plain body: %s", r.Status)
	}
}

// TestDownloadEvents starts a download and follows it on the event stream
// from the first progress event to done.
func TestDownloadEvents(t *testing.T) {
	e := newTestEnv(t)
	cookie, csrf := e.login()
	resp := e.do("GET", "/ui/events", "", map[string]string{"Cookie": cookie})
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != 200 || ct != "text/event-stream" {
		t.Fatalf("events: %s %q", resp.Status, ct)
	}
	events := make(chan []DownloadView, 64)
	go func() {
		defer close(events)
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if data, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
				var l []DownloadView
				if json.Unmarshal([]byte(data), &l) == nil {
					events <- l
				}
			}
		}
	}()
	next := func(want func([]DownloadView) bool) []DownloadView {
		t.Helper()
		deadline := time.After(10 * time.Second)
		for {
			select {
			case l, ok := <-events:
				if !ok {
					t.Fatal("event stream ended")
				}
				if want(l) {
					return l
				}
			case <-deadline:
				t.Fatal("no matching event within 10s")
			}
		}
	}
	next(func(l []DownloadView) bool { return len(l) == 0 })
	dir := t.TempDir()
	hdr := map[string]string{"Cookie": cookie, "Origin": e.ts.URL, CSRFHeader: csrf, "Content-Type": "application/json"}
	if r := e.do("POST", "/ui/downloads", fmt.Sprintf(`{"cid":%q,"dir":%q}`, goodCID, dir), hdr); r.StatusCode != http.StatusAccepted {
		t.Fatalf("start: %s", r.Status)
	}
	if r := e.do("POST", "/ui/downloads", fmt.Sprintf(`{"cid":%q,"dir":%q}`, goodCID, dir), hdr); r.StatusCode != http.StatusConflict {
		t.Fatalf("second start of a running download: %s, want 409", r.Status)
	}
	e.fb.events <- api.GetEvent{Type: "progress", Name: "a.ogg", Path: dir + "/a.ogg", Bytes: 0, Total: 1000, Peers: 2}
	next(func(l []DownloadView) bool { return len(l) == 1 && l[0].Total == 1000 })
	e.clock.Advance(time.Second)
	e.fb.events <- api.GetEvent{Type: "progress", Name: "a.ogg", Path: dir + "/a.ogg", Bytes: 500, Total: 1000, Peers: 2}
	l := next(func(l []DownloadView) bool { return len(l) == 1 && l[0].Bytes == 500 })
	if d := l[0]; d.State != StateRunning || d.Peers != 2 || d.Rate != 500 || d.Name != "a.ogg" || d.Total != 1000 {
		t.Fatalf("running download %+v: want running, 2 peers, 500 B/s", d)
	}
	close(e.fb.events)
	l = next(func(l []DownloadView) bool { return len(l) == 1 && l[0].State != StateRunning })
	if d := l[0]; d.State != StateDone || d.Bytes != 1000 || d.Rate != 0 {
		t.Fatalf("finished download %+v", d)
	}
	r := e.do("GET", "/ui/downloads", "", map[string]string{"Cookie": cookie})
	var list []DownloadView
	if json.NewDecoder(r.Body).Decode(&list) != nil || len(list) != 1 || list[0].State != StateDone {
		t.Fatalf("GET /ui/downloads: %+v", list)
	}
}

func TestConfigValidate(t *testing.T) {
	mod := func(f func(*Config)) Config { c := DefaultConfig(); f(&c); return c }
	cases := []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"default", DefaultConfig(), true},
		{"no ticket ttl", mod(func(c *Config) { c.TicketTTL = 0 }), false},
		{"no tickets", mod(func(c *Config) { c.MaxTickets = 0 }), false},
		{"session shorter than ticket", mod(func(c *Config) { c.SessionTTL = time.Second }), false},
		{"no event gap", mod(func(c *Config) { c.MinEventGap = 0 }), false},
		{"interval under gap", mod(func(c *Config) { c.EventInterval = time.Millisecond }), false},
	}
	for _, c := range cases {
		if err := c.cfg.Validate(); (err == nil) != c.ok {
			t.Errorf("%s: Validate() = %v, want ok=%v", c.name, err, c.ok)
		}
	}
}

// FuzzSessionCookie feeds arbitrary cookie values to the session check:
// no panic, and nothing but a cookie this key made is accepted.
func FuzzSessionCookie(f *testing.F) {
	now := func() time.Time { return time.Unix(1_700_000_000, 0) }
	s := newSessions(testToken, "kwnode_session", DefaultConfig(), now, strings.NewReader(strings.Repeat("k", 1024)))
	good, err := s.newSession()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add("")
	f.Add(good[:len(good)-1] + "A")
	f.Add(strings.Repeat("A", len(good)))
	f.Add("%%%" + good)
	f.Fuzz(func(t *testing.T, v string) {
		id, err := s.session(v)
		if err == nil && (v != good || len(id) != idLen) {
			t.Fatalf("accepted %q", v)
		}
	})
}

func TestTrackerKeepsBoundedHistory(t *testing.T) {
	clock := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	tr := newTracker(t.Context(), &fakeBackend{}, clock.Now, nil)
	for i := range maxFinished + 5 {
		cid := fmt.Sprintf("cid%04d", i)
		tr.mu.Lock()
		tr.items[cid] = &trackedDownload{view: DownloadView{CID: cid, State: StateRunning, Started: clock.Now()}, followed: true}
		tr.mu.Unlock()
		clock.Advance(time.Second)
		tr.finish(cid, api.GetEvent{Bytes: 1, Total: 1}, nil)
	}
	list, _ := tr.snapshot()
	if len(list) != maxFinished || list[len(list)-1].CID != "cid0005" || list[0].CID != fmt.Sprintf("cid%04d", maxFinished+4) {
		t.Fatalf("kept %d, oldest %s, newest %s", len(list), list[len(list)-1].CID, list[0].CID)
	}
}
