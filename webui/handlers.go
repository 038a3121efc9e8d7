package webui

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"html"
	"mime"
	"net/http"
	"os"
	"time"

	"kwsearch/api"
)

//go:embed assets
var assets embed.FS

// loginTicket answers POST /v1/ui/login (bearer token): a one-time URL.
func (u *UI) loginTicket(w http.ResponseWriter, r *http.Request) {
	t, exp, err := u.sess.newTicket()
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, api.ErrorBody{Error: err.Error()})
		return
	}
	// The API server has checked that Host is a loopback name.
	writeJSON(w, http.StatusOK, api.UILogin{URL: "http://" + r.Host + "/ui/login?ticket=" + t, Expires: exp.UTC()})
}

func (u *UI) redirectToPage(w http.ResponseWriter, r *http.Request) {
	http.Redirect(w, r, "/ui/", http.StatusSeeOther)
}

// login redeems a one-time ticket for a session cookie.
func (u *UI) login(w http.ResponseWriter, r *http.Request) {
	setPageHeaders(w)
	w.Header().Set("Cache-Control", "no-store")
	t := r.URL.Query().Get("ticket")
	if len(t) > 128 || !u.sess.redeem(t) {
		writeLoginPage(w, http.StatusUnauthorized)
		return
	}
	v, err := u.sess.newSession()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	u.sess.setCookie(w, v)
	http.Redirect(w, r, "/ui/", http.StatusSeeOther)
}

// pageData fills the page template.
type pageData struct {
	CSRF        string
	CSRFHeader  string
	DownloadDir string
}

func (u *UI) page(w http.ResponseWriter, r *http.Request) {
	id, _ := u.sess.fromRequest(r) // checked by u.session
	var buf bytes.Buffer
	err := u.index.Execute(&buf, pageData{CSRF: u.sess.csrfToken(id), CSRFHeader: CSRFHeader, DownloadDir: u.dlFolder})
	if err != nil {
		http.Error(w, "webui: rendering the page: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Write(buf.Bytes())
}

func (u *UI) staticFile(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/ui/static/index.html" {
		http.NotFound(w, r) // the page is a template, served at /ui/
		return
	}
	u.static.ServeHTTP(w, r)
}

// listDownloads answers GET /ui/downloads: the download list once.
func (u *UI) listDownloads(w http.ResponseWriter, r *http.Request) {
	u.tracker.poll(r.Context())
	list, _ := u.tracker.snapshot()
	writeJSON(w, http.StatusOK, list)
}

// startDownload answers POST /ui/downloads (body: an api.GetRequest).
func (u *UI) startDownload(w http.ResponseWriter, r *http.Request) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		writeJSON(w, http.StatusUnsupportedMediaType, api.ErrorBody{Error: "webui: request body must be application/json"})
		return
	}
	req, err := api.DecodeGetRequest(http.MaxBytesReader(w, r.Body, api.MaxBodyBytes))
	if err != nil {
		writeErr(w, err)
		return
	}
	if req.Dir != "" {
		if err := os.MkdirAll(req.Dir, 0o755); err != nil {
			writeErr(w, api.BadRequest("webui: download folder %s: %v", req.Dir, err))
			return
		}
	}
	if err := u.tracker.start(req); err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]string{"cid": req.CID})
}

// events answers GET /ui/events: server-sent events, one "downloads" event
// with the whole list whenever it changes (at most every MinEventGap).
func (u *UI) events(w http.ResponseWriter, r *http.Request) {
	rc := http.NewResponseController(w)
	rc.SetReadDeadline(time.Time{}) // a stream outlives the server's ReadTimeout
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	rc.Flush()
	tick := time.NewTicker(u.cfg.EventInterval)
	defer tick.Stop()
	u.tracker.poll(r.Context())
	var last []byte
	for {
		list, changed := u.tracker.snapshot()
		b, _ := json.Marshal(list)
		if !bytes.Equal(b, last) {
			if _, err := fmt.Fprintf(w, "event: downloads\ndata: %s\n\n", b); err != nil {
				return
			}
			if rc.Flush() != nil {
				return
			}
			last = b
			if !u.pause(r, u.cfg.MinEventGap) {
				return
			}
		}
		select {
		case <-r.Context().Done():
			return
		case <-u.tracker.ctx.Done():
			return
		case <-changed:
		case <-tick.C:
			u.tracker.poll(r.Context())
		}
	}
}

// pause waits d unless the request or the page ends first.
func (u *UI) pause(r *http.Request, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
	case <-u.tracker.ctx.Done():
	}
	return false
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func writeErr(w http.ResponseWriter, err error) {
	status := http.StatusInternalServerError
	if ae, ok := err.(*api.Error); ok && ae.Status >= 400 && ae.Status <= 599 {
		status = ae.Status
	}
	writeJSON(w, status, api.ErrorBody{Error: err.Error()})
}

// writeLoginPage tells a browser without a session how to get one.
func writeLoginPage(w http.ResponseWriter, status int) {
	setPageHeaders(w)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	fmt.Fprintf(w, `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>kwnode: sign in</title></head>
<body><main><h1>kwnode</h1><p>%s</p></main></body></html>`,
		html.EscapeString("This page needs a session. Run `kwnode ui` in a terminal and open the one-time URL it prints (each URL works once, for two minutes)."))
}
