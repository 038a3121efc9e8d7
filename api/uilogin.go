package api

import (
	"context"
	"net/http"
	"time"
)

// UILoginPath is the route (POST, bearer token) that hands out a one-time
// login URL for the web page; package webui serves it.
const UILoginPath = "/v1/ui/login"

// UILogin is the answer of POST /v1/ui/login.
type UILogin struct {
	// URL opens the web page once and sets its session cookie.
	URL string `json:"url"`
	// Expires is when the URL stops working if unused.
	Expires time.Time `json:"expires"`
}

// UILogin asks the daemon for a one-time URL to its web page.
func (c *Client) UILogin(ctx context.Context) (UILogin, error) {
	var out UILogin
	err := c.call(ctx, http.MethodPost, UILoginPath, nil, &out)
	return out, err
}
