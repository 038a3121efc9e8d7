package api

import (
	"encoding/json"
	"net/http"
	"sync"
	"time"
)

func (s *Server) status(w http.ResponseWriter, r *http.Request) {
	st, err := s.backend.Status(r.Context())
	s.reply(w, r, st, err)
}

func (s *Server) peers(w http.ResponseWriter, r *http.Request) {
	p, err := s.backend.Peers(r.Context())
	if p == nil {
		p = []Peer{}
	}
	s.reply(w, r, p, err)
}

func (s *Server) shares(w http.ResponseWriter, r *http.Request) {
	sh, err := s.backend.Shares(r.Context())
	if sh == nil {
		sh = []ShareInfo{}
	}
	s.reply(w, r, sh, err)
}

func (s *Server) downloads(w http.ResponseWriter, r *http.Request) {
	d, err := s.backend.Downloads(r.Context())
	if d == nil {
		d = []Download{}
	}
	s.reply(w, r, d, err)
}

func (s *Server) unshare(w http.ResponseWriter, r *http.Request) {
	req, ok := readBody(w, r, DecodeUnshareRequest)
	if !ok {
		return
	}
	res, err := s.backend.Unshare(r.Context(), req)
	s.reply(w, r, res, err)
}

func (s *Server) search(w http.ResponseWriter, r *http.Request) {
	req, ok := readBody(w, r, DecodeSearchRequest)
	if !ok {
		return
	}
	hits, err := s.backend.Search(r.Context(), req)
	if hits == nil {
		hits = []SearchHit{}
	}
	s.reply(w, r, hits, err)
}

func (s *Server) share(w http.ResponseWriter, r *http.Request) {
	req, ok := readBody(w, r, DecodeShareRequest)
	if !ok {
		return
	}
	st := newStream(w)
	done, err := s.backend.Share(r.Context(), req, func(e ShareEvent) { st.send(e) })
	if err != nil {
		s.log.Debug("api: share failed", "err", err)
		st.fail(err, ShareEvent{Type: EventError, Error: err.Error()})
		return
	}
	done.Type = EventDone
	st.finish(done)
}

func (s *Server) get(w http.ResponseWriter, r *http.Request) {
	req, ok := readBody(w, r, DecodeGetRequest)
	if !ok {
		return
	}
	st := newStream(w)
	done, err := s.backend.Get(r.Context(), req, func(e GetEvent) { st.send(e) })
	if err != nil {
		s.log.Debug("api: get failed", "cid", req.CID, "err", err)
		st.fail(err, GetEvent{Type: EventError, CID: req.CID, Error: err.Error()})
		return
	}
	done.Type = EventDone
	st.finish(done)
}

func (s *Server) reply(w http.ResponseWriter, r *http.Request, v any, err error) {
	if err != nil {
		if statusOf(err) >= 500 {
			s.log.Warn("api: request failed", "path", r.URL.Path, "err", err)
		}
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

// stream writes newline-delimited JSON events. The HTTP status is sent with
// the first event, so an error before any event is an ordinary HTTP error.
// send is safe for concurrent use and a no-op once the stream has ended.
type stream struct {
	mu      sync.Mutex
	w       http.ResponseWriter
	rc      *http.ResponseController
	enc     *json.Encoder
	started bool
	ended   bool
}

// newStream is called once the request body is read. It lifts the
// server's read deadline (ReadTimeout) for this connection so that a long
// download is never cut by it. net/http clears it too when the body was read
// to its end; this keeps that true whatever the decoder left unread.
func newStream(w http.ResponseWriter) *stream {
	rc := http.NewResponseController(w)
	rc.SetReadDeadline(time.Time{})
	return &stream{w: w, rc: rc, enc: json.NewEncoder(w)}
}

func (st *stream) send(v any) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.sendLocked(v)
}

func (st *stream) sendLocked(v any) {
	if st.ended {
		return
	}
	if !st.started {
		st.w.Header().Set("Content-Type", "application/x-ndjson")
		st.w.Header().Set("X-Content-Type-Options", "nosniff")
		st.w.Header().Set("Cache-Control", "no-store")
		st.w.WriteHeader(http.StatusOK)
		st.started = true
	}
	if st.enc.Encode(v) == nil {
		st.rc.Flush()
	}
}

// finish sends the last event and ends the stream.
func (st *stream) finish(last any) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.sendLocked(last)
	st.ended = true
}

// fail ends the stream with an error: an HTTP error if nothing was sent
// yet, else a final error event.
func (st *stream) fail(err error, event any) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if !st.started {
		st.ended = true
		writeError(st.w, err)
		return
	}
	st.sendLocked(event)
	st.ended = true
}
