package blockxfer

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"

	"github.com/ipfs/go-cid"
)

// Suffixes of the files an unfinished download keeps next to its target.
const (
	PartSuffix  = ".kwpart"       // the data, at its final offsets
	StateSuffix = ".kwpart.state" // which blocks of it are verified
)

// stateMagic starts a state file; stateVersion follows it.
const stateMagic = "KWXP"

const stateVersion = 1

// PartialPaths returns the temporary data and state files of a download to
// outPath. RemovePartial deletes them (a cancelled download).
func PartialPaths(outPath string) (part, state string) {
	return outPath + PartSuffix, outPath + StateSuffix
}

// RemovePartial deletes an unfinished download's files, if any.
func RemovePartial(outPath string) error {
	part, state := PartialPaths(outPath)
	err := errors.Join(removeIfExists(part), removeIfExists(state))
	if err != nil {
		return fmt.Errorf("blockxfer: removing partial download: %w", err)
	}
	return nil
}

func removeIfExists(p string) error {
	if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

// partial is a download in progress: the data file and the state file,
// whose tail is a bitmap with one bit per verified block. A block's bit is
// written (one byte, in place) only after its data is written, so after a
// crash a set bit means the data reached the file; resume re-hashes the
// marked blocks anyway (cheap, local) so a lost write or a tampered file
// costs a refetch, never a corrupt result.
type partial struct {
	part, state string
	data        *os.File
	st          *os.File
	unlock      func()
	m           *Manifest
	mu          sync.Mutex
	bitmap      []byte
	bitmapOff   int64
}

// encodeStateHeader is: magic, version byte, uvarint root length, root
// bytes, uvarint file size. The bitmap follows.
func encodeStateHeader(root cid.Cid, size int64) []byte {
	b := append([]byte(nil), stateMagic...)
	b = append(b, stateVersion)
	rb := root.Bytes()
	b = binary.AppendUvarint(b, uint64(len(rb)))
	b = append(b, rb...)
	return binary.AppendUvarint(b, uint64(size))
}

// openPartial opens or creates the download of root to outPath. It returns
// the verified blocks found from an earlier run.
func openPartial(outPath string, root cid.Cid, m *Manifest, recheck bool) (*partial, []int, error) {
	p := &partial{m: m}
	p.part, p.state = PartialPaths(outPath)
	var err error
	if p.st, err = os.OpenFile(p.state, os.O_RDWR|os.O_CREATE, 0o600); err != nil {
		return nil, nil, fmt.Errorf("blockxfer: opening download state: %w", err)
	}
	if p.unlock, err = lockFile(p.st); err != nil {
		p.st.Close()
		return nil, nil, fmt.Errorf("blockxfer: %s is being downloaded by another fetch: %w", filepath.Base(outPath), err)
	}
	header := encodeStateHeader(root, m.Size())
	p.bitmapOff = int64(len(header))
	p.bitmap = make([]byte, (m.NumBlocks()+7)/8)
	done, err := p.load(header, recheck)
	if err != nil {
		p.close()
		return nil, nil, err
	}
	return p, done, nil
}

// load resumes from the files on disk when they belong to this download,
// else starts afresh.
func (p *partial) load(header []byte, recheck bool) ([]int, error) {
	old := make([]byte, len(header)+len(p.bitmap))
	n, _ := io.ReadFull(p.st, old)
	data, err := os.OpenFile(p.part, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("blockxfer: opening partial file: %w", err)
	}
	p.data = data
	info, err := data.Stat()
	if err != nil {
		return nil, fmt.Errorf("blockxfer: partial file: %w", err)
	}
	if n == len(old) && bytes.Equal(old[:len(header)], header) && info.Size() <= p.m.Size() {
		copy(p.bitmap, old[len(header):])
		return p.verifyMarked(recheck, info.Size())
	}
	return nil, p.reset(header)
}

// reset starts a fresh download: an empty (sparse) data file of the final
// size and a state file with no block marked.
func (p *partial) reset(header []byte) error {
	if err := p.data.Truncate(0); err != nil {
		return fmt.Errorf("blockxfer: resetting partial file: %w", err)
	}
	clear(p.bitmap)
	if err := p.st.Truncate(0); err != nil {
		return fmt.Errorf("blockxfer: resetting state: %w", err)
	}
	if _, err := p.st.WriteAt(append(header, p.bitmap...), 0); err != nil {
		return fmt.Errorf("blockxfer: writing state: %w", err)
	}
	return nil
}

// verifyMarked re-hashes each marked block (without recheck, only checks
// that the data file reaches it); a block that fails is unmarked.
func (p *partial) verifyMarked(recheck bool, dataSize int64) ([]int, error) {
	var done []int
	buf := make([]byte, BlockSize)
	for i := range p.m.NumBlocks() {
		if p.bitmap[i/8]&(1<<(i%8)) == 0 {
			continue
		}
		off, n := p.m.BlockRange(i)
		if off+int64(n) > dataSize {
			p.bitmap[i/8] &^= 1 << (i % 8)
			continue
		}
		if recheck {
			if _, err := p.data.ReadAt(buf[:n], off); err != nil || sha256.Sum256(buf[:n]) != p.m.BlockDigest(i) {
				p.bitmap[i/8] &^= 1 << (i % 8)
				continue
			}
		}
		done = append(done, i)
	}
	if _, err := p.st.WriteAt(p.bitmap, p.bitmapOff); err != nil {
		return nil, fmt.Errorf("blockxfer: writing state: %w", err)
	}
	return done, nil
}

// writeBlock writes verified block i's data; safe for concurrent use.
func (p *partial) writeBlock(i int, data []byte) error {
	off, _ := p.m.BlockRange(i)
	if _, err := p.data.WriteAt(data, off); err != nil {
		return fmt.Errorf("blockxfer: writing block %d: %w", i, err)
	}
	return nil
}

// markDone records block i as verified and written.
func (p *partial) markDone(i int) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.bitmap[i/8] |= 1 << (i % 8)
	if _, err := p.st.WriteAt(p.bitmap[i/8:i/8+1], p.bitmapOff+int64(i/8)); err != nil {
		return fmt.Errorf("blockxfer: recording block %d: %w", i, err)
	}
	return nil
}

// finish syncs the data and moves it to outPath, then removes the state.
// Without overwrite it never replaces an existing file (hard link, which
// fails if outPath exists, then unlink).
func (p *partial) finish(outPath string, overwrite bool) error {
	if err := p.data.Truncate(p.m.Size()); err != nil { // only a 0-byte file was never written
		return fmt.Errorf("blockxfer: sizing download: %w", err)
	}
	// The partial file is private while it is written; the finished file
	// gets the mode of an ordinary download (as curl -o gives with the
	// usual umask): readable by others, writable by the owner.
	if err := p.data.Chmod(finishedMode); err != nil {
		return fmt.Errorf("blockxfer: setting the download's mode: %w", err)
	}
	if err := p.data.Sync(); err != nil {
		return fmt.Errorf("blockxfer: syncing download: %w", err)
	}
	if overwrite {
		if err := os.Rename(p.part, outPath); err != nil {
			return fmt.Errorf("blockxfer: moving download into place: %w", err)
		}
	} else if err := moveNoReplace(p.part, outPath); err != nil {
		return err
	}
	syncDir(filepath.Dir(outPath))
	p.close()
	if err := removeIfExists(p.state); err != nil {
		return fmt.Errorf("blockxfer: removing download state: %w", err)
	}
	return nil
}

// finishedMode is the file mode of a completed download.
const finishedMode = 0o644

func moveNoReplace(from, to string) error {
	err := os.Link(from, to)
	if errors.Is(err, os.ErrExist) {
		return fmt.Errorf("blockxfer: %s: %w", filepath.Base(to), ErrOutputExists)
	}
	if err != nil { // file systems without hard links
		if _, serr := os.Lstat(to); serr == nil {
			return fmt.Errorf("blockxfer: %s: %w", filepath.Base(to), ErrOutputExists)
		}
		if err := os.Rename(from, to); err != nil {
			return fmt.Errorf("blockxfer: moving download into place: %w", err)
		}
		return nil
	}
	if err := os.Remove(from); err != nil {
		return fmt.Errorf("blockxfer: removing partial file: %w", err)
	}
	return nil
}

func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
}

// close releases the files (the download stays resumable).
func (p *partial) close() {
	if p.data != nil {
		_ = p.data.Close()
		p.data = nil
	}
	if p.st != nil {
		if p.unlock != nil {
			p.unlock()
		}
		_ = p.st.Close()
		p.st = nil
	}
}
