package sim

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"time"

	"kwsearch/chordrouting"
)

// RecordValidator is the trivial Validator the simulator stores records
// with. A value is "<publisher index>|<payload>": the publisher names the
// publishing node, the whole value is the record's identity, every record
// has version 1 and expires a year after the virtual epoch (runs are far
// shorter). A query matches values that contain it.
type RecordValidator struct{}

var _ chordrouting.Validator = RecordValidator{}

// maxRecordSize bounds a simulated record.
const maxRecordSize = 1024

// Validate implements chordrouting.Validator.
func (RecordValidator) Validate(key chordrouting.ID, value []byte, now time.Time) (chordrouting.ValueInfo, error) {
	if len(value) == 0 || len(value) > maxRecordSize {
		return chordrouting.ValueInfo{}, fmt.Errorf("sim: record of %d bytes, want 1..%d", len(value), maxRecordSize)
	}
	i := bytes.IndexByte(value, '|')
	if i <= 0 {
		return chordrouting.ValueInfo{}, errors.New("sim: record has no publisher prefix")
	}
	if _, err := strconv.Atoi(string(value[:i])); err != nil {
		return chordrouting.ValueInfo{}, fmt.Errorf("sim: record publisher: %w", err)
	}
	return chordrouting.ValueInfo{
		Identity:  string(value),
		Version:   1,
		Expiry:    epochTime.Add(365 * 24 * time.Hour),
		Publisher: string(value[:i]),
	}, nil
}

// Match implements chordrouting.Validator.
func (RecordValidator) Match(_ chordrouting.ID, query, value []byte) bool {
	return len(query) == 0 || bytes.Contains(value, query)
}

// Record is one value the simulation published, remembered so that the
// checks can look for it.
type Record struct {
	Key       chordrouting.ID
	Value     []byte
	Publisher int // node index
}

// NewRecord returns record number seq of publisher pub: its key is the hash
// of its value.
func NewRecord(pub, seq int) Record {
	v := []byte(strconv.Itoa(pub) + "|r" + strconv.Itoa(seq))
	return Record{Key: chordrouting.HashID([]byte("simrec/"), v), Value: v, Publisher: pub}
}
