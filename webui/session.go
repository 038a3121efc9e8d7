package webui

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"
)

// CSRFHeader carries the per-session token on state-changing requests.
const CSRFHeader = "X-KW-CSRF"

// Session cookie layout: id (16 bytes) | expiry, Unix seconds (8) | HMAC (32).
const (
	idLen     = 16
	macLen    = sha256.Size
	cookieLen = idLen + 8 + macLen
)

var b64 = base64.RawURLEncoding.Strict() // one encoding per value: the padding bits must be zero (found by FuzzSessionCookie)

// sessions issues and checks one-time login tickets, session cookies and
// CSRF tokens. It is safe for concurrent use.
type sessions struct {
	key        []byte // HMAC key derived from the API token
	cookieName string
	cfg        Config
	now        func() time.Time
	rand       io.Reader
	cop        *http.CrossOriginProtection

	mu      sync.Mutex
	tickets map[string]time.Time // ticket -> expiry
}

func newSessions(token, cookieName string, cfg Config, now func() time.Time, rnd io.Reader) *sessions {
	m := hmac.New(sha256.New, []byte(token))
	m.Write([]byte("kwnode/webui/session/v1"))
	return &sessions{key: m.Sum(nil), cookieName: cookieName, cfg: cfg, now: now, rand: rnd,
		cop: http.NewCrossOriginProtection(), tickets: map[string]time.Time{}}
}

// newTicket returns a fresh one-time login ticket and its expiry.
func (s *sessions) newTicket() (string, time.Time, error) {
	b := make([]byte, 32)
	if _, err := io.ReadFull(s.rand, b); err != nil {
		return "", time.Time{}, fmt.Errorf("webui: making a login ticket: %w", err)
	}
	t := b64.EncodeToString(b)
	now := s.now()
	exp := now.Add(s.cfg.TicketTTL)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expireLocked(now)
	for len(s.tickets) >= s.cfg.MaxTickets {
		s.dropOldestLocked()
	}
	s.tickets[t] = exp
	return t, exp, nil
}

func (s *sessions) expireLocked(now time.Time) {
	for t, exp := range s.tickets {
		if !now.Before(exp) {
			delete(s.tickets, t)
		}
	}
}

func (s *sessions) dropOldestLocked() {
	var oldest string
	var at time.Time
	for t, exp := range s.tickets {
		if oldest == "" || exp.Before(at) {
			oldest, at = t, exp
		}
	}
	delete(s.tickets, oldest)
}

// redeem consumes a ticket: true once, for a known unexpired ticket.
func (s *sessions) redeem(ticket string) bool {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expireLocked(now)
	if _, ok := s.tickets[ticket]; !ok {
		return false
	}
	delete(s.tickets, ticket)
	return true
}

// newSession returns a session cookie value.
func (s *sessions) newSession() (string, error) {
	b := make([]byte, cookieLen)
	if _, err := io.ReadFull(s.rand, b[:idLen]); err != nil {
		return "", fmt.Errorf("webui: making a session: %w", err)
	}
	binary.BigEndian.PutUint64(b[idLen:], uint64(s.now().Add(s.cfg.SessionTTL).Unix()))
	copy(b[idLen+8:], s.mac("session", b[:idLen+8]))
	return b64.EncodeToString(b), nil
}

func (s *sessions) mac(purpose string, data []byte) []byte {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(purpose))
	m.Write([]byte{0})
	m.Write(data)
	return m.Sum(nil)
}

// errNoSession is returned for a missing, forged or expired session.
var errNoSession = errors.New("webui: no valid session (run `kwnode ui` for a login URL)")

// session checks a cookie value and returns the session ID.
func (s *sessions) session(value string) ([]byte, error) {
	if len(value) != b64.EncodedLen(cookieLen) {
		return nil, errNoSession
	}
	b, err := b64.DecodeString(value)
	if err != nil || len(b) != cookieLen {
		return nil, errNoSession
	}
	if !hmac.Equal(b[idLen+8:], s.mac("session", b[:idLen+8])) {
		return nil, errNoSession
	}
	exp := int64(binary.BigEndian.Uint64(b[idLen:]))
	if s.now().Unix() >= exp {
		return nil, errNoSession
	}
	return b[:idLen], nil
}

// fromRequest returns the request's session ID.
func (s *sessions) fromRequest(r *http.Request) ([]byte, error) {
	c, err := r.Cookie(s.cookieName)
	if err != nil {
		return nil, errNoSession
	}
	return s.session(c.Value)
}

// csrfToken is the token the page of session id sends in CSRFHeader.
func (s *sessions) csrfToken(id []byte) string { return b64.EncodeToString(s.mac("csrf", id)) }

// errCSRF is returned for a state-changing request that may be forged.
var errCSRF = errors.New("webui: cross-site request refused (missing or wrong " + CSRFHeader + " header, or another origin)")

// check admits r: a valid session, and for a state-changing method a
// same-origin request carrying the session's CSRF token.
func (s *sessions) check(r *http.Request) error {
	id, err := s.fromRequest(r)
	if err != nil {
		return err
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return nil
	}
	if err := s.cop.Check(r); err != nil {
		return errCSRF
	}
	if r.Header.Get("Origin") == "" && r.Header.Get("Sec-Fetch-Site") == "" {
		// A browser always sends one of them on a state-changing fetch;
		// a request with neither is not from the page.
		return errCSRF
	}
	got := r.Header.Get(CSRFHeader)
	if subtle.ConstantTimeCompare([]byte(got), []byte(s.csrfToken(id))) != 1 {
		return errCSRF
	}
	return nil
}

// setCookie sets the session cookie on w.
func (s *sessions) setCookie(w http.ResponseWriter, value string) {
	http.SetCookie(w, &http.Cookie{
		Name: s.cookieName, Value: value, Path: "/",
		MaxAge: int(s.cfg.SessionTTL / time.Second), HttpOnly: true, SameSite: http.SameSiteStrictMode,
	})
}
