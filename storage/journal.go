package storage

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"kwsearch/chordrouting"
)

// A journal makes every ring record change survive the death of the
// process from the moment Put or Delete returns, although records reach
// bbolt only at the next flush: each change is appended to the current
// journal file with one write(2) and no fsync (the page cache outlives a
// kill -9; a power cut may lose the last flush interval, as before). A
// flush switches to a new file first, so the files up to the switch hold
// only changes the flush writes, and deletes them once bbolt committed.
// Opening the database replays what is left, in order, except the files
// bbolt already holds: each flush records the last file it covers in the
// same transaction (a file whose removal failed never rolls bbolt back).
//
// Files are the database's path + ".journal." + a sequence number. A
// frame is: uint32 length of the entry (little endian), uint32 CRC-32C of
// the entry, the entry. An entry is 'p', the 32-byte key and the value as
// bbolt stores it (encodeValue), or 'd', the key and the identity. A file
// is read up to its first bad frame: a kill can tear only the last one,
// and a write that fails part-way is cut off (or the file abandoned for a
// new one) before the next.
type journal struct {
	base string // the database's path, cleaned
	seq  uint64 // the current file's number
	f    *os.File
	size int64 // bytes of whole frames in f
}

// Journal entry kinds.
const (
	journalPut    = 'p'
	journalDelete = 'd'
)

// maxJournalEntry bounds an entry: a key, an identity and a value.
const maxJournalEntry = 64 + 2*maxValueSize

var crc32c = crc32.MakeTable(crc32.Castagnoli)

// journalEntry is one replayed change; a delete has only Key and
// Value.Identity.
type journalEntry struct {
	Delete bool
	Key    chordrouting.ID
	Value  chordrouting.StoredValue
}

// openJournal reads the journal files left at base above covered (the
// last file bbolt holds) and starts a new one after every number used.
// The caller applies the entries, in order; the old files go with the
// first flush that follows (removeUpTo of the sequence rotate returns
// then).
func openJournal(base string, covered uint64) (*journal, []journalEntry, error) {
	j := &journal{base: filepath.Clean(base), seq: covered}
	seqs, err := j.seqs()
	if err != nil {
		return nil, nil, err
	}
	var entries []journalEntry
	for _, s := range seqs {
		j.seq = max(j.seq, s)
		if s <= covered {
			continue
		}
		data, err := os.ReadFile(journalPath(j.base, s))
		if err != nil {
			return nil, nil, fmt.Errorf("storage: reading record journal: %w", err)
		}
		entries = append(entries, readJournal(data)...)
	}
	if err := j.next(); err != nil {
		return nil, nil, err
	}
	return j, entries, nil
}

func journalPath(base string, seq uint64) string {
	return base + ".journal." + strconv.FormatUint(seq, 10)
}

// seqs lists the numbers of the journal files next to the database,
// ascending.
func (j *journal) seqs() ([]uint64, error) {
	dir, prefix := filepath.Dir(j.base), filepath.Base(j.base)+".journal."
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("storage: listing record journals: %w", err)
	}
	var seqs []uint64
	for _, e := range ents {
		if rest, ok := strings.CutPrefix(e.Name(), prefix); ok {
			if s, err := strconv.ParseUint(rest, 10, 64); err == nil {
				seqs = append(seqs, s)
			}
		}
	}
	slices.Sort(seqs)
	return seqs, nil
}

// next closes the current file and creates the one after it.
func (j *journal) next() error {
	if j.f != nil {
		if err := j.f.Close(); err != nil {
			return fmt.Errorf("storage: closing record journal: %w", err)
		}
		j.f = nil
	}
	f, err := os.OpenFile(journalPath(j.base, j.seq+1), os.O_WRONLY|os.O_CREATE|os.O_EXCL|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("storage: creating record journal: %w", err)
	}
	j.seq++
	j.f, j.size = f, 0
	return nil
}

// rotate starts a new file and returns the number of the last one that
// holds changes taken for a flush.
func (j *journal) rotate() (uint64, error) {
	covered := j.seq
	return covered, j.next()
}

// removeUpTo deletes the files numbered up to seq (their changes are in
// bbolt now).
func (j *journal) removeUpTo(seq uint64) error {
	seqs, err := j.seqs()
	if err != nil {
		return err
	}
	var errs []error
	for _, s := range seqs {
		if s <= seq {
			if err := os.Remove(journalPath(j.base, s)); err != nil && !errors.Is(err, os.ErrNotExist) {
				errs = append(errs, err)
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("storage: removing flushed record journals: %w", err)
	}
	return nil
}

// put records that key now holds v.
func (j *journal) put(key chordrouting.ID, v chordrouting.StoredValue) error {
	return j.write(encodeEntry(journalEntry{Key: key, Value: v}))
}

// delete records that key's value of identity is gone.
func (j *journal) delete(key chordrouting.ID, identity string) error {
	return j.write(encodeEntry(journalEntry{Delete: true, Key: key, Value: chordrouting.StoredValue{ValueInfo: chordrouting.ValueInfo{Identity: identity}}}))
}

// encodeEntry is an entry's form in a journal file (decodeJournalEntry
// reads it).
func encodeEntry(e journalEntry) []byte {
	if e.Delete {
		return append(append([]byte{journalDelete}, e.Key[:]...), e.Value.Identity...)
	}
	return append(append([]byte{journalPut}, e.Key[:]...), encodeValue(e.Value)...)
}

// write appends one framed entry with a single write. A write that fails
// part-way is cut off, or, if that fails too, the file is left for a new
// one, so that no later entry follows a torn frame.
func (j *journal) write(entry []byte) error {
	if len(entry) > maxJournalEntry {
		return fmt.Errorf("storage: journal entry of %d bytes (the cap is %d)", len(entry), maxJournalEntry)
	}
	if j.f == nil {
		if err := j.next(); err != nil {
			return err
		}
	}
	frame := journalFrame(entry)
	if n, err := j.f.Write(frame); err != nil || n != len(frame) {
		j.cutTorn()
		return fmt.Errorf("storage: writing record journal: %w", cmp.Or(err, io.ErrShortWrite))
	}
	j.size += int64(len(frame))
	return nil
}

// cutTorn removes what a failed write left after the last whole frame, or,
// if it cannot, leaves the file so that the next write starts a new one.
func (j *journal) cutTorn() {
	if err := j.f.Truncate(j.size); err != nil {
		_ = j.f.Close()
		j.f = nil
	}
}

// journalFrame prefixes entry with its length and checksum.
func journalFrame(entry []byte) []byte {
	frame := binary.LittleEndian.AppendUint32(make([]byte, 0, 8+len(entry)), uint32(len(entry)))
	frame = binary.LittleEndian.AppendUint32(frame, crc32.Checksum(entry, crc32c))
	return append(frame, entry...)
}

// close closes the current file and, when its changes are flushed,
// removes it.
func (j *journal) close(flushed bool) error {
	var err error
	if j.f != nil {
		err = j.f.Close()
		j.f = nil
	}
	if flushed {
		return j.removeUpTo(j.seq)
	}
	if err != nil {
		return fmt.Errorf("storage: closing record journal: %w", err)
	}
	return nil
}

// readJournal decodes a journal file's entries up to its first bad frame
// or entry.
func readJournal(data []byte) []journalEntry {
	var out []journalEntry
	for len(data) >= 8 {
		n := binary.LittleEndian.Uint32(data)
		sum := binary.LittleEndian.Uint32(data[4:])
		if n > maxJournalEntry || uint64(n) > uint64(len(data)-8) {
			break
		}
		entry := data[8 : 8+n]
		if crc32.Checksum(entry, crc32c) != sum {
			break
		}
		e, ok := decodeJournalEntry(entry)
		if !ok {
			break
		}
		out = append(out, e)
		data = data[8+n:]
	}
	return out
}

func decodeJournalEntry(b []byte) (journalEntry, bool) {
	var e journalEntry
	if len(b) < 1+len(e.Key) {
		return e, false
	}
	copy(e.Key[:], b[1:])
	rest := b[1+len(e.Key):]
	switch b[0] {
	case journalPut:
		v, err := decodeValue(rest)
		if err != nil || len(recordKey(e.Key, v.Identity)) > maxRecordKey {
			return e, false
		}
		e.Value = v
	case journalDelete:
		if len(recordKey(e.Key, string(rest))) > maxRecordKey {
			return e, false
		}
		e.Delete = true
		e.Value.Identity = string(rest)
	default:
		return e, false
	}
	return e, true
}
