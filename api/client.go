package api

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"time"

	"kwsearch/repo"
)

// callTimeout bounds a request that is not a stream (a search waits for
// the ring, which answers or gives up well within this).
const callTimeout = 2 * time.Minute

// maxResponseBytes bounds a non-streamed response and one stream line.
const maxResponseBytes = 16 << 20

// Client is a typed client of the local API.
type Client struct {
	base  string
	token string
	http  *http.Client
}

// NewClient returns a client for the API at addr (HOST:PORT) using token.
func NewClient(addr, token string) *Client {
	tr := &http.Transport{
		// The API is local: never use a proxy from the environment.
		Proxy:                 nil,
		DialContext:           (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		ResponseHeaderTimeout: 0,
		MaxIdleConns:          4,
		IdleConnTimeout:       30 * time.Second,
	}
	return &Client{base: "http://" + addr, token: token, http: &http.Client{Transport: tr}}
}

// FromRepo returns a client for the daemon of the repository at path. It
// fails with an error wrapping repo.ErrNoDaemon when none is running.
func FromRepo(path string) (*Client, error) {
	addr, err := repo.ReadAPI(path)
	if err != nil {
		return nil, err
	}
	tok, err := repo.ReadToken(path)
	if err != nil {
		return nil, err
	}
	return NewClient(addr, tok), nil
}

// Status asks for the node's status.
func (c *Client) Status(ctx context.Context) (Status, error) {
	var s Status
	return s, c.call(ctx, http.MethodGet, "/v1/status", nil, &s)
}

// Peers lists connected peers.
func (c *Client) Peers(ctx context.Context) ([]Peer, error) {
	var p []Peer
	return p, c.call(ctx, http.MethodGet, "/v1/peers", nil, &p)
}

// Shares lists this node's shared files.
func (c *Client) Shares(ctx context.Context) ([]ShareInfo, error) {
	var s []ShareInfo
	return s, c.call(ctx, http.MethodGet, "/v1/shares", nil, &s)
}

// Downloads lists running and unfinished downloads.
func (c *Client) Downloads(ctx context.Context) ([]Download, error) {
	var d []Download
	return d, c.call(ctx, http.MethodGet, "/v1/downloads", nil, &d)
}

// Unshare withdraws a file.
func (c *Client) Unshare(ctx context.Context, req UnshareRequest) (UnshareResult, error) {
	var r UnshareResult
	return r, c.call(ctx, http.MethodPost, "/v1/unshare", req, &r)
}

// Search finds files matching all words.
func (c *Client) Search(ctx context.Context, req SearchRequest) ([]SearchHit, error) {
	var h []SearchHit
	return h, c.call(ctx, http.MethodPost, "/v1/search", req, &h)
}

// Share indexes and publishes; fn sees every event before the last, which
// is returned (type done). A final error event becomes the error.
func (c *Client) Share(ctx context.Context, req ShareRequest, fn func(ShareEvent)) (ShareEvent, error) {
	return streamEvents(ctx, c, "/v1/share", req, fn)
}

// Get downloads a file; fn sees progress events; the done event is returned.
func (c *Client) Get(ctx context.Context, req GetRequest, fn func(GetEvent)) (GetEvent, error) {
	return streamEvents(ctx, c, "/v1/get", req, fn)
}

// event is what a streamed operation's NDJSON lines have in common: a
// type (progress, done, error) and, for error, a message.
type event interface {
	kind() (typ, msg string)
}

func (e ShareEvent) kind() (typ, msg string) { return e.Type, e.Error }
func (e GetEvent) kind() (typ, msg string)   { return e.Type, e.Error }

// streamEvents posts req to path and reads the operation's events: fn
// sees every event before the last, the done event is returned, and an
// error event becomes the error.
func streamEvents[E event](ctx context.Context, c *Client, path string, req any, fn func(E)) (E, error) {
	var last E
	err := c.stream(ctx, path, req, func(dec func(any) error) error {
		var e E
		if err := dec(&e); err != nil {
			return err
		}
		typ, msg := e.kind()
		switch typ {
		case EventDone:
			last = e
			return io.EOF
		case EventError:
			return errors.New(msg)
		}
		if fn != nil {
			fn(e)
		}
		return nil
	})
	return last, err
}

func (c *Client) do(ctx context.Context, method, path string, body any) (*http.Response, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, fmt.Errorf("api: encoding request: %w", err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return nil, fmt.Errorf("api: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if isRefused(err) {
			return nil, fmt.Errorf("%w (nothing answers at %s; it may have stopped)", repo.ErrNoDaemon, strings.TrimPrefix(c.base, "http://"))
		}
		return nil, fmt.Errorf("api: %s %s: %w", method, path, err)
	}
	if resp.StatusCode/100 != 2 {
		defer resp.Body.Close()
		return nil, readError(resp)
	}
	return resp, nil
}

func isRefused(err error) bool {
	return errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET)
}

func readError(resp *http.Response) error {
	var eb ErrorBody
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if json.Unmarshal(b, &eb) != nil || eb.Error == "" {
		eb.Error = strings.TrimSpace(string(b))
		if eb.Error == "" {
			eb.Error = resp.Status
		}
	}
	return &Error{Status: resp.StatusCode, Message: eb.Error}
}

func (c *Client) call(ctx context.Context, method, path string, body, out any) error {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	resp, err := c.do(ctx, method, path, body)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	dec := json.NewDecoder(io.LimitReader(resp.Body, maxResponseBytes))
	if err := dec.Decode(out); err != nil {
		return fmt.Errorf("api: reading answer to %s: %w", path, err)
	}
	return nil
}

// stream posts body and calls line for each event until line returns
// io.EOF (the final event) or an error.
func (c *Client) stream(ctx context.Context, path string, body any, line func(func(any) error) error) error {
	resp, err := c.do(ctx, http.MethodPost, path, body)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 64<<10), maxResponseBytes)
	for sc.Scan() {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		b := sc.Bytes()
		err := line(func(v any) error {
			if err := json.Unmarshal(b, v); err != nil {
				return fmt.Errorf("api: bad event from daemon: %w", err)
			}
			return nil
		})
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("api: reading %s stream: %w", path, err)
	}
	return fmt.Errorf("api: the daemon ended the %s stream early (did it stop?)", path)
}
