package api

import "time"

// Status is the answer of GET /v1/status and `kwnode status --json`.
type Status struct {
	PeerID       string   `json:"peer_id"`
	Addrs        []string `json:"addrs"`
	Mode         string   `json:"mode"`         // "server" or "client"
	Reachability string   `json:"reachability"` // "public", "private" or "unknown"
	Ring         Ring     `json:"ring"`
	Peers        int      `json:"peers"`
	// Relays lists the relay addresses this node holds reservations on
	// (client mode behind NAT).
	Relays []string `json:"relays"`
	// Version is the daemon's program version.
	Version string `json:"version,omitempty"`
}

// Ring is this node's place on the ring; its fields are empty in client mode.
type Ring struct {
	ID          string `json:"id"`
	Successor   string `json:"successor"`
	Predecessor string `json:"predecessor"`
	Records     int    `json:"records"`
	// Successors and Fingers name peers (peer IDs) for the node's page.
	Successors []RingPeer `json:"successors,omitempty"`
	Fingers    []RingPeer `json:"fingers,omitempty"`
}

// RingPeer is a ring member seen from this node.
type RingPeer struct {
	ID     string `json:"id"`      // ring ID, 64 hex digits
	PeerID string `json:"peer_id"` // libp2p peer ID
}

// Peer is one connected peer (GET /v1/peers, `kwnode peers --json`).
type Peer struct {
	PeerID string `json:"peer_id"`
	Addr   string `json:"addr"`
	Direct bool   `json:"direct"`
}

// ShareRequest asks the node to index and publish files.
type ShareRequest struct {
	// Paths are absolute paths of files or directories (shared recursively).
	Paths []string `json:"paths"`
	// Keywords are added to every file's keywords.
	Keywords []string `json:"keywords,omitempty"`
}

// Share event types.
const (
	EventFile     = "file"     // one file shared (CID, Path, Keywords)
	EventFailed   = "failed"   // one path could not be shared (Path, Error); others go on
	EventProgress = "progress" // progress counters
	EventDone     = "done"     // the operation finished
	EventError    = "error"    // the operation failed as a whole (Error)
)

// ShareEvent is one line of the POST /v1/share stream.
type ShareEvent struct {
	Type     string   `json:"type"`
	CID      string   `json:"cid,omitempty"`
	Path     string   `json:"path,omitempty"`
	Keywords []string `json:"keywords,omitempty"`
	Error    string   `json:"error,omitempty"`
	// Counters, in progress and done events.
	FilesDone  int   `json:"files_done,omitempty"`
	FilesTotal int   `json:"files_total,omitempty"`
	BytesDone  int64 `json:"bytes_done,omitempty"`
	BytesTotal int64 `json:"bytes_total,omitempty"`
	Failed     int   `json:"failed,omitempty"`
}

// UnshareRequest withdraws a shared file.
type UnshareRequest struct {
	CID string `json:"cid"`
}

// UnshareResult says what unshare did.
type UnshareResult struct {
	CID  string `json:"cid"`
	Path string `json:"path"`
}

// ShareInfo is one shared file (GET /v1/shares, `kwnode shares --json`).
type ShareInfo struct {
	CID         string    `json:"cid"`
	Path        string    `json:"path"`
	Name        string    `json:"name"`
	Size        int64     `json:"size"`
	Keywords    []string  `json:"keywords"`
	SharedAt    time.Time `json:"shared_at"`
	PublishedAt time.Time `json:"published_at"`
}

// SearchRequest asks for files whose names match all Words.
type SearchRequest struct {
	Words []string `json:"words"`
	// Limit caps the results; 0 means the node's default.
	Limit int `json:"limit,omitempty"`
}

// MaxSearchLimit bounds SearchRequest.Limit.
const MaxSearchLimit = 1000

// SearchHit is one result (`kwnode search --json`), ranked best first.
type SearchHit struct {
	CID       string   `json:"cid"`
	Name      string   `json:"name"`
	Size      int64    `json:"size"`
	Providers []string `json:"providers"`
	Score     float64  `json:"score"`
}

// GetRequest asks the node to download a file.
type GetRequest struct {
	CID string `json:"cid"`
	// Output is the absolute path to write; when empty, the file's published
	// name inside Dir (never outside it).
	Output string `json:"output,omitempty"`
	// Dir is the absolute folder for a default output name (the CLI's
	// working directory).
	Dir string `json:"dir,omitempty"`
}

// GetEvent is one line of the POST /v1/get stream.
type GetEvent struct {
	Type  string `json:"type"` // progress, done or error
	CID   string `json:"cid,omitempty"`
	Name  string `json:"name,omitempty"`
	Path  string `json:"path,omitempty"` // output path
	Bytes int64  `json:"bytes"`
	Total int64  `json:"total"`
	Peers int    `json:"peers,omitempty"` // providers currently sending
	// Resumed counts bytes already present from an earlier attempt.
	Resumed int64  `json:"resumed,omitempty"`
	Error   string `json:"error,omitempty"`
}

// Download is an unfinished or running download (GET /v1/downloads).
type Download struct {
	CID    string `json:"cid"`
	Name   string `json:"name"`
	Path   string `json:"path"`
	Bytes  int64  `json:"bytes"`
	Total  int64  `json:"total"`
	Active bool   `json:"active"`
}

// ErrorBody is the JSON of every error response.
type ErrorBody struct {
	Error string `json:"error"`
}
