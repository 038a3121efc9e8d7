package integration

import (
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
)

// TestWebUIRefusesWithoutSession checks the page's access rules on a real
// daemon with plain HTTP (no browser needed): nothing without a session,
// a login URL that works once, and state changes only with the session's
// CSRF token from the same origin.
func TestWebUIRefusesWithoutSession(t *testing.T) {
	bin := kwBinary(t)
	d := startWebUINet(t, bin, 1)[0]
	base := "http://" + d.API
	hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	do := func(method, path, body string, hdr map[string]string) (*http.Response, string) {
		t.Helper()
		req, err := http.NewRequest(method, base+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		return resp, string(b)
	}

	for _, p := range []string{"/ui/", "/ui/static/app.js", "/ui/events", "/ui/downloads", "/v1/status", "/v1/shares"} {
		if r, _ := do("GET", p, "", nil); r.StatusCode != http.StatusUnauthorized {
			t.Errorf("GET %s without a session: %s, want 401", p, r.Status)
		}
	}
	if r, _ := do("POST", "/ui/downloads", `{}`, map[string]string{"Content-Type": "application/json"}); r.StatusCode != http.StatusUnauthorized {
		t.Errorf("POST /ui/downloads without a session: %s", r.Status)
	}

	url := uiURL(t, bin, d)
	login := strings.TrimPrefix(url, base)
	r, _ := do("GET", login, "", nil)
	cs := r.Cookies()
	if r.StatusCode != http.StatusSeeOther || len(cs) != 1 || !cs[0].HttpOnly || cs[0].SameSite != http.SameSiteStrictMode {
		t.Fatalf("login: %s, cookies %v: want a redirect and one HttpOnly SameSite=Strict cookie", r.Status, cs)
	}
	cookie := cs[0].Name + "=" + cs[0].Value
	if r, _ := do("GET", login, "", nil); r.StatusCode != http.StatusUnauthorized {
		t.Errorf("login URL used twice: %s", r.Status)
	}
	r, page := do("GET", "/ui/", "", map[string]string{"Cookie": cookie})
	m := regexp.MustCompile(`name="kw-csrf" content="([^"]+)"`).FindStringSubmatch(page)
	if r.StatusCode != http.StatusOK || m == nil {
		t.Fatalf("page with the session: %s, CSRF meta found: %v", r.Status, m != nil)
	}
	if r, _ := do("GET", "/v1/status", "", map[string]string{"Cookie": cookie}); r.StatusCode != http.StatusOK {
		t.Errorf("GET /v1/status with the session: %s", r.Status)
	}

	// A state change: unshare of a CID that is not shared answers 404 once
	// admitted, 401 when refused.
	const cid = "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy"
	body := `{"cid":"` + cid + `"}`
	for _, c := range []struct {
		name string
		hdr  map[string]string
		want int
	}{
		{"session, no token", map[string]string{"Origin": base}, http.StatusUnauthorized},
		{"session and token from another site", map[string]string{"Origin": "http://evil.example", "Sec-Fetch-Site": "cross-site", "X-KW-CSRF": m[1]}, http.StatusUnauthorized},
		{"session and token, same origin", map[string]string{"Origin": base, "Sec-Fetch-Site": "same-origin", "X-KW-CSRF": m[1]}, http.StatusNotFound},
	} {
		hdr := map[string]string{"Cookie": cookie, "Content-Type": "application/json"}
		for k, v := range c.hdr {
			hdr[k] = v
		}
		if r, b := do("POST", "/v1/unshare", body, hdr); r.StatusCode != c.want {
			t.Errorf("%s: POST /v1/unshare: %s %s, want %d", c.name, r.Status, strings.TrimSpace(b), c.want)
		}
	}
}
