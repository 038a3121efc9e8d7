package api

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Server serves the local API.
type Server struct {
	backend Backend
	token   []byte
	log     *slog.Logger
	mux     *http.ServeMux
	paths   map[string][]string // path -> methods, for 405 answers
	// authorize is an additional way in (the web page's session cookie).
	authorize func(*http.Request) bool
	// readTimeout bounds reading a request; streams clear it once their
	// request is read (see newStream).
	readTimeout time.Duration

	mu   sync.Mutex
	srv  *http.Server
	shut bool // Shutdown was called
}

// NewServer returns a server for backend that admits requests carrying token.
func NewServer(backend Backend, token string, log *slog.Logger) *Server {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{backend: backend, token: []byte(token), log: log, mux: http.NewServeMux(), paths: map[string][]string{},
		readTimeout: 30 * time.Second}
	s.routes()
	return s
}

func (s *Server) routes() {
	s.Handle("GET /v1/status", s.status)
	s.Handle("GET /v1/peers", s.peers)
	s.Handle("GET /v1/shares", s.shares)
	s.Handle("GET /v1/downloads", s.downloads)
	s.Handle("POST /v1/share", s.share)
	s.Handle("POST /v1/unshare", s.unshare)
	s.Handle("POST /v1/search", s.search)
	s.Handle("POST /v1/get", s.get)
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if methods := s.paths[r.URL.Path]; len(methods) > 0 {
			w.Header().Set("Allow", strings.Join(methods, ", "))
			writeError(w, &Error{Status: http.StatusMethodNotAllowed,
				Message: fmt.Sprintf("%s needs method %s, not %s", r.URL.Path, strings.Join(methods, " or "), r.Method)})
			return
		}
		writeError(w, NotFound("no such endpoint: %s %s", r.Method, r.URL.Path))
	})
}

// Handle adds an authenticated route (a Go ServeMux pattern).
func (s *Server) Handle(pattern string, h http.HandlerFunc) {
	s.mux.Handle(pattern, s.auth(h))
	if method, path, ok := strings.Cut(pattern, " "); ok {
		s.paths[path] = append(s.paths[path], method)
	}
}

// HandlePublic adds a route without the token check (the web page's
// one-time login); it must authenticate by other means.
func (s *Server) HandlePublic(pattern string, h http.HandlerFunc) { s.mux.Handle(pattern, h) }

// SetAuthorizer adds a second way to be admitted, checked when the bearer
// token is absent (for example a session cookie). Call before serving.
func (s *Server) SetAuthorizer(f func(*http.Request) bool) { s.authorize = f }

// Handler returns the server's HTTP handler.
func (s *Server) Handler() http.Handler { return s.checkHost(s.mux) }

// checkHost refuses requests whose Host header is not a loopback name, so
// that a web page on another origin cannot reach the API through DNS
// rebinding.
func (s *Server) checkHost(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host := r.Host
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		ip := net.ParseIP(strings.Trim(host, "[]"))
		if !strings.EqualFold(host, "localhost") && (ip == nil || !ip.IsLoopback()) {
			writeError(w, &Error{Status: http.StatusForbidden, Message: fmt.Sprintf("host %q is not a loopback address", r.Host)})
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (s *Server) auth(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.tokenOK(r) && (s.authorize == nil || !s.authorize(r)) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="kwnode"`)
			writeError(w, &Error{Status: http.StatusUnauthorized, Message: "missing or wrong API token (see REPO/api.token)"})
			return
		}
		h(w, r)
	})
}

func (s *Server) tokenOK(r *http.Request) bool {
	const prefix = "Bearer "
	h := r.Header.Get("Authorization")
	if len(h) <= len(prefix) || !strings.EqualFold(h[:len(prefix)], prefix) {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(h[len(prefix):]), s.token) == 1
}

// Listen binds addr, refusing anything but a loopback address.
func Listen(addr string) (net.Listener, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("api: address %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); (ip == nil || !ip.IsLoopback()) && !strings.EqualFold(host, "localhost") {
		return nil, fmt.Errorf("api: refusing to listen on %q: the local API must be on a loopback address", addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("api: listening on %s: %w", addr, err)
	}
	if ta, ok := ln.Addr().(*net.TCPAddr); !ok || !ta.IP.IsLoopback() {
		ln.Close()
		return nil, fmt.Errorf("api: %q resolved to non-loopback %s", addr, ln.Addr())
	}
	return ln, nil
}

// Serve answers requests on ln until Shutdown. It returns nil after Shutdown.
func (s *Server) Serve(ln net.Listener) error {
	srv := &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       s.readTimeout,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	s.mu.Lock()
	if s.shut {
		// Shutdown came before Serve started: serve nothing.
		s.mu.Unlock()
		ln.Close()
		return nil
	}
	s.srv = srv
	s.mu.Unlock()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("api: serving: %w", err)
	}
	return nil
}

// Shutdown stops the server, waiting for running requests until ctx ends;
// then it closes the remaining connections (streams included).
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.shut = true
	srv := s.srv
	s.mu.Unlock()
	if srv == nil {
		return nil
	}
	if err := srv.Shutdown(ctx); err != nil {
		srv.Close()
		return nil
	}
	return nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, err error) {
	writeJSON(w, statusOf(err), ErrorBody{Error: err.Error()})
}

// readBody checks the content type and decodes a bounded body with dec.
func readBody[T any](w http.ResponseWriter, r *http.Request, dec func(io.Reader) (T, error)) (T, bool) {
	var zero T
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		writeError(w, &Error{Status: http.StatusUnsupportedMediaType, Message: "request body must be application/json"})
		return zero, false
	}
	v, err := dec(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		writeError(w, err)
		return zero, false
	}
	return v, true
}
