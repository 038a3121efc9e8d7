package hostile

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestLocalAPIWithoutToken plays a local process (or a web page the user
// visits) that does not have the API token, against a real daemon: every
// call without the right token is refused, a Host that is not loopback is
// refused even with the token (DNS rebinding), an oversized or unknown-field
// body is refused, a slow client is cut off, and the daemon keeps answering
// the real CLI afterwards.
func TestLocalAPIWithoutToken(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds and runs kwnode")
	}
	d := startDaemon(t)
	addrB, err := os.ReadFile(filepath.Join(d.repo, "api"))
	if err != nil {
		t.Fatal(err)
	}
	tokB, err := os.ReadFile(filepath.Join(d.repo, "api.token"))
	if err != nil {
		t.Fatal(err)
	}
	addr, token := strings.TrimSpace(string(addrB)), strings.TrimSpace(string(tokB))
	if st, err := os.Stat(filepath.Join(d.repo, "api.token")); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("api.token mode %v (%v), want 0600", st.Mode().Perm(), err)
	}
	client := &http.Client{Timeout: 10 * time.Second}
	do := func(method, path, host, auth string, body []byte) int {
		req, err := http.NewRequest(method, "http://"+addr+path, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if host != "" {
			req.Host = host
		}
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		return resp.StatusCode
	}
	cases := []struct {
		name, method, path, host, auth string
		body                           []byte
		want                           func(int) bool
	}{
		{"no token", "GET", "/v1/status", "", "", nil, is(401)},
		{"wrong token", "GET", "/v1/status", "", "Bearer " + strings.Repeat("0", len(token)), nil, is(401)},
		{"token as basic auth", "GET", "/v1/status", "", "Basic " + token, nil, is(401)},
		{"share without token", "POST", "/v1/share", "", "", []byte(`{"paths":["/etc/passwd"]}`), is(401)},
		{"get without token", "POST", "/v1/get", "", "", []byte(`{"cid":"x","output":"/tmp/evil"}`), is(401)},
		{"rebinding host with token", "GET", "/v1/status", "evil.example:80", "Bearer " + token, nil, is(403)},
		{"oversized body", "POST", "/v1/search", "", "Bearer " + token, append([]byte(`{"words":["`), bytes.Repeat([]byte("a"), 200<<10)...), is(413)},
		{"unknown field", "POST", "/v1/search", "", "Bearer " + token, []byte(`{"words":["a"],"evil":1}`), is(400)},
		{"garbage body", "POST", "/v1/unshare", "", "Bearer " + token, []byte("\x00\xff{{{"), is(400)},
		{"with token", "GET", "/v1/status", "", "Bearer " + token, nil, is(200)},
	}
	for _, c := range cases {
		got := do(c.method, c.path, c.host, c.auth, c.body)
		t.Logf("%-26s -> %d", c.name, got)
		if !c.want(got) {
			t.Errorf("%s: status %d", c.name, got)
		}
	}

	// A client that sends half a request and stalls is cut off by the
	// server's timeouts instead of holding a connection for ever.
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /v1/search HTTP/1.1\r\nHost: %s\r\n", addr)
	start := time.Now()
	conn.SetReadDeadline(time.Now().Add(90 * time.Second))
	io.Copy(io.Discard, conn)
	took := time.Since(start)
	t.Logf("half a request: connection closed after %v", took.Round(time.Millisecond))
	if took >= 90*time.Second {
		t.Error("a stalled half request held its connection for 90s")
	}

	if code, out := d.run(t, t.TempDir(), "status", "--json"); code != 0 {
		t.Errorf("status after the attack: %d %s", code, out)
	}
}

func is(code int) func(int) bool { return func(c int) bool { return c == code } }
