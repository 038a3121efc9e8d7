// Package webui serves kwnode's local web page: search, download with live
// progress, shares and a picture of the node's place on the ring, on the
// same loopback address as the local API.
//
// Access. The page never sees the API token. `kwnode ui` asks the daemon
// (with the token) for a one-time login URL; opening it sets an HttpOnly,
// SameSite=Strict session cookie and redirects to the page. A session is a
// random ID, an expiry and an HMAC over both keyed by a secret derived from
// the API token, so sessions survive a daemon restart (the page keeps
// working while downloads resume) and die when the token is replaced.
// Login tickets are kept in memory: each works once and for a short time.
//
// Cross-site forgery. Requests with a session but without the bearer token
// that change state (any method but GET, HEAD and OPTIONS) must pass two
// checks: net/http's CrossOriginProtection (Sec-Fetch-Site, else Origin
// against Host) and a per-session token, an HMAC of the session ID, sent by
// the page in the X-KW-CSRF header. The API server's own Host check keeps
// DNS-rebinding pages out.
//
// The page calls the /v1 API directly (the server admits a valid session
// through api.Server.SetAuthorizer). Downloads are the exception: the page
// starts them through POST /ui/downloads, so that a download is not tied to
// the browser tab, and follows all downloads through one server-sent event
// stream (GET /ui/events) fed by the API's progress events and, for
// downloads the node resumed on its own after a restart, by polling the
// node's download list.
//
// Known limits. Browsers do not separate cookies by port: a page the user
// opens on another 127.0.0.1 port receives this cookie too (the cookie name
// carries the API port so that two daemons do not overwrite each other's).
// The ring drawing shows the fingers the core keeps, which are only those
// beyond the successor list, so a small ring has none.
//
// Where this differs from SPEC.md: the SPEC names only the bearer token;
// the session cookie is a second, narrower way in, for the browser only.
// Search results arrive in one answer (the API's search is not streamed);
// the page shows them as soon as that answer arrives.
package webui
