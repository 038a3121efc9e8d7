package webui

import (
	"context"
	"crypto/rand"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"kwsearch/api"
)

// Options are what New needs besides the configuration.
type Options struct {
	// Backend is the node, as the API sees it.
	Backend api.Backend
	// Token is the API token; session keys are derived from it.
	Token string
	// APIAddr is the API's HOST:PORT; it names the session cookie, so that
	// two daemons on one machine keep separate sessions.
	APIAddr string
	// Log receives debug logs; nil discards them.
	Log *slog.Logger
	// Now and Rand are the clock and randomness (nil: the real ones).
	Now  func() time.Time
	Rand io.Reader
}

// UI is the web page of one daemon.
type UI struct {
	cfg      Config
	backend  api.Backend
	log      *slog.Logger
	now      func() time.Time
	sess     *sessions
	tracker  *tracker
	index    *template.Template
	static   http.Handler
	cancel   context.CancelFunc
	dlFolder string
}

// New returns the page for opt.Backend. Close ends the downloads it started.
func New(cfg Config, opt Options) (*UI, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if opt.Backend == nil || opt.Token == "" {
		return nil, fmt.Errorf("webui: a backend and an API token are needed")
	}
	if opt.Log == nil {
		opt.Log = slog.New(slog.DiscardHandler)
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Rand == nil {
		opt.Rand = rand.Reader
	}
	sub, err := fs.Sub(assets, "assets")
	if err != nil {
		return nil, fmt.Errorf("webui: %w", err)
	}
	index, err := template.ParseFS(sub, "index.html")
	if err != nil {
		return nil, fmt.Errorf("webui: parsing the page: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	u := &UI{cfg: cfg, backend: opt.Backend, log: opt.Log, now: opt.Now, index: index, cancel: cancel,
		sess:     newSessions(opt.Token, cookieName(opt.APIAddr), cfg, opt.Now, opt.Rand),
		tracker:  newTracker(ctx, opt.Backend, opt.Now, opt.Log),
		static:   http.StripPrefix("/ui/static/", http.FileServerFS(sub)),
		dlFolder: defaultDownloadDir(cfg.DownloadDir)}
	return u, nil
}

// cookieName is the session cookie's name for the API at addr. Browsers
// share cookies between ports of one host; the port in the name keeps
// daemons apart.
func cookieName(addr string) string {
	_, port, err := net.SplitHostPort(addr)
	if err != nil || port == "" {
		return "kwnode_session"
	}
	return "kwnode_session_" + port
}

func defaultDownloadDir(dir string) string {
	if dir != "" {
		return dir
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, "Downloads")
	}
	return os.TempDir()
}

// Mount adds the page's routes to srv and lets a page session (with its
// CSRF token for state-changing calls) stand in for the bearer token.
func (u *UI) Mount(srv *api.Server) {
	srv.Handle("POST "+api.UILoginPath, u.loginTicket)
	srv.HandlePublic("GET /{$}", u.redirectToPage)
	srv.HandlePublic("GET /ui/login", u.login)
	srv.HandlePublic("GET /ui/{$}", u.session(u.page))
	srv.HandlePublic("GET /ui/static/", u.session(u.staticFile))
	srv.HandlePublic("GET /ui/events", u.session(u.events))
	srv.HandlePublic("GET /ui/downloads", u.session(u.listDownloads))
	srv.HandlePublic("POST /ui/downloads", u.session(u.startDownload))
	srv.SetAuthorizer(func(r *http.Request) bool { return u.sess.check(r) == nil })
}

// Close stops the downloads the page started and waits for them.
func (u *UI) Close() {
	u.cancel()
	u.tracker.wait()
}

// session wraps h: requests without a valid session (and CSRF token when
// they change state) are refused.
func (u *UI) session(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := u.sess.check(r); err != nil {
			status := http.StatusForbidden
			if err == errNoSession {
				status = http.StatusUnauthorized
			}
			if r.Method == http.MethodGet && !strings.HasPrefix(r.URL.Path, "/ui/static/") && r.URL.Path != "/ui/events" &&
				r.URL.Path != "/ui/downloads" {
				writeLoginPage(w, status)
				return
			}
			writeJSON(w, status, api.ErrorBody{Error: err.Error()})
			return
		}
		setPageHeaders(w)
		h(w, r)
	}
}

// setPageHeaders forbids framing and outside content: the page needs
// nothing but its own origin.
func setPageHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Content-Type-Options", "nosniff")
}
