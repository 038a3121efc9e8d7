package storage

import "time"

// Download is an unfinished download, resumed after a restart.
type Download struct {
	CID     string    `json:"cid"`
	Name    string    `json:"name"`
	Size    int64     `json:"size"`
	Output  string    `json:"output"` // final path
	Started time.Time `json:"started"`
	// State is the transfer layer's opaque resume state, if it keeps one here.
	State []byte `json:"state,omitempty"`
}

// PutDownload records or updates an unfinished download.
func (db *DB) PutDownload(d Download) error { return putJSON(db.bolt, bucketDownloads, d.CID, d) }

// DeleteDownload forgets a download (finished or cancelled).
func (db *DB) DeleteDownload(cid string) error {
	_, err := deleteKey(db.bolt, bucketDownloads, cid)
	return err
}

// Downloads lists unfinished downloads, ordered by CID.
func (db *DB) Downloads() ([]Download, error) {
	return listJSON[Download](db.bolt, bucketDownloads)
}
