package api

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
)

// cannedTransport answers every request with one status and body, as a
// foreign process listening on the API port could.
type cannedTransport struct {
	status int
	body   []byte
}

func (c cannedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		_, _ = io.Copy(io.Discard, req.Body)
		req.Body.Close()
	}
	return &http.Response{
		StatusCode: c.status,
		Status:     http.StatusText(c.status),
		Header:     http.Header{"Content-Type": {"application/x-ndjson"}},
		Body:       io.NopCloser(bytes.NewReader(c.body)),
		Request:    req,
	}, nil
}

// FuzzClientResponses: whatever answers on the API port (the daemon is
// trusted, but another process may have taken the port), the client's
// streamed operations (share, get: NDJSON events) and plain calls end with
// a result or an error, never a panic; a stream succeeds only on a done
// event, and an error status is always an *Error.
func FuzzClientResponses(f *testing.F) {
	for _, s := range []struct {
		status int
		body   string
	}{
		{200, `{"type":"progress","done":1,"total":2}` + "\n" + `{"type":"done","cid":"` + testCID + `"}` + "\n"},
		{200, `{"type":"progress"}` + "\n\n  \n" + `{"type":"error","error":"disk full"}`},
		{200, `{"type":"progress"}`},
		{200, `{"type":"done"`},
		{200, `{"type":"done"}{"type":"error"}`},
		{200, "\x00\xff"},
		{200, `[{"cid":"` + testCID + `","name":"a","size":1}]`},
		{200, `{"peer_id":"x","mode":"server"}`},
		{400, `{"error":"bad words"}`},
		{401, ``},
		{500, `not json`},
		{204, ``},
	} {
		f.Add(s.status, []byte(s.body))
	}
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		if status < 100 || status > 999 {
			status = 200
		}
		c := NewClient("127.0.0.1:1", testToken)
		c.http = &http.Client{Transport: cannedTransport{status: status, body: body}}
		ctx := context.Background()
		checkErr := func(what string, err error) {
			var ae *Error
			if status/100 != 2 && (!errors.As(err, &ae) || ae.Status != status) {
				t.Fatalf("%s: status %d gave %v, want an *Error with that status", what, status, err)
			}
		}
		progress := 0
		ev, err := c.Get(ctx, GetRequest{CID: testCID}, func(e GetEvent) {
			if e.Type == EventDone || e.Type == EventError {
				t.Fatalf("callback given a final event %+v", e)
			}
			progress++
		})
		checkErr("get", err)
		if err == nil && ev.Type != EventDone {
			t.Fatalf("get succeeded with final event %+v", ev)
		}
		if err == nil && !bytes.Contains(body, []byte("done")) {
			t.Fatalf("get succeeded without a done event in %q", body)
		}
		if progress > strings.Count(string(body), "\n")+1 {
			t.Fatalf("%d progress events from %d lines", progress, strings.Count(string(body), "\n")+1)
		}
		sev, err := c.Share(ctx, ShareRequest{Paths: []string{"/a"}}, nil)
		checkErr("share", err)
		if err == nil && sev.Type != EventDone {
			t.Fatalf("share succeeded with final event %+v", sev)
		}
		_, err = c.Search(ctx, SearchRequest{Words: []string{"blue"}})
		checkErr("search", err)
		_, err = c.Status(ctx)
		checkErr("status", err)
	})
}
