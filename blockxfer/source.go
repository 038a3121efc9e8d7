package blockxfer

import (
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/ipfs/go-cid"
)

// Source is what a Server serves from. Implementations must be safe for
// concurrent use.
type Source interface {
	// Manifest returns the encoded manifest whose CID is root, or an error
	// wrapping ErrNotFound or ErrChanged. The caller does not modify it.
	Manifest(root cid.Cid) ([]byte, error)
	// ReadBlock reads block index of root into buf (len(buf) >= BlockSize)
	// and returns the block's length. It must return only bytes that match
	// the manifest's digest for that block; otherwise an error wrapping
	// ErrNotFound, ErrChanged or another cause. It should not block
	// indefinitely: Server.Close waits for reads in progress.
	ReadBlock(root cid.Cid, index int, buf []byte) (int, error)
}

// Changed reports a shared file found changed on disk.
type Changed struct {
	Root cid.Cid
	Path string
	Err  error // what was seen: size, mtime or a block's hash
}

// FileSource serves shared files in place, without copying them. Each read
// re-checks the file's size and modification time and re-hashes the block:
// CRC-32C against the index's Checksums, or SHA-256 against the manifest
// when the index has none. A file that changed is marked stale, no longer
// served (ErrChanged), and reported once to the onChanged callback so the
// caller can re-index or withdraw it.
//
// Why a checksum suffices here: the re-check only has to notice that the
// provider's own file changed since it was indexed (an edit, a truncation,
// a tool that restores the mtime); it defends against accidents, not an
// attacker, who would be the provider itself. A change slips past CRC-32C
// with probability 2^-32 per block, and even then the fetcher's SHA-256
// check, which is what guarantees a download's integrity, rejects the
// block. CRC-32C runs in hardware at over ten times SHA-256's speed, so
// serving no longer hashes every byte twice per transfer.
type FileSource struct {
	onChanged func(Changed)
	mu        sync.RWMutex
	files     map[cid.Cid]*sharedFile
}

type sharedFile struct {
	index   FileIndex
	encoded []byte
	mu      sync.Mutex
	stale   bool
}

var _ Source = (*FileSource)(nil)

// NewFileSource returns an empty source. onChanged (may be nil) is called
// once per stale file, on the goroutine that found it; it must not block.
func NewFileSource(onChanged func(Changed)) *FileSource {
	return &FileSource{onChanged: onChanged, files: make(map[cid.Cid]*sharedFile)}
}

// Add shares an indexed file (from IndexFile or UnmarshalFileIndex) and
// returns its root. A file already shared under the same root is replaced.
func (s *FileSource) Add(fi FileIndex) cid.Cid {
	root := fi.Root()
	sf := &sharedFile{index: fi, encoded: fi.Manifest.Encode()}
	s.mu.Lock()
	s.files[root] = sf
	s.mu.Unlock()
	return root
}

// AddFile indexes the file at path and shares it.
func (s *FileSource) AddFile(path string) (FileIndex, error) {
	fi, err := IndexFile(path)
	if err != nil {
		return FileIndex{}, err
	}
	s.Add(fi)
	return fi, nil
}

// Remove stops sharing root; it reports whether it was shared.
func (s *FileSource) Remove(root cid.Cid) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.files[root]
	delete(s.files, root)
	return ok
}

// Files lists the shared files that are not stale.
func (s *FileSource) Files() []FileIndex {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]FileIndex, 0, len(s.files))
	for _, sf := range s.files {
		if !sf.isStale() {
			out = append(out, sf.index)
		}
	}
	return out
}

func (s *FileSource) lookup(root cid.Cid) (*sharedFile, error) {
	s.mu.RLock()
	sf := s.files[root]
	s.mu.RUnlock()
	if sf == nil {
		return nil, fmt.Errorf("blockxfer: %s: %w", root, ErrNotFound)
	}
	if sf.isStale() {
		return nil, fmt.Errorf("blockxfer: %s: %w", root, ErrChanged)
	}
	return sf, nil
}

// Manifest implements Source.
func (s *FileSource) Manifest(root cid.Cid) ([]byte, error) {
	sf, err := s.lookup(root)
	if err != nil {
		return nil, err
	}
	// The manifest is only useful if the file still is what it describes.
	if err := sf.checkStat(); err != nil {
		s.markStale(root, sf, err)
		return nil, err
	}
	return sf.encoded, nil
}

// ReadBlock implements Source.
func (s *FileSource) ReadBlock(root cid.Cid, index int, buf []byte) (int, error) {
	sf, err := s.lookup(root)
	if err != nil {
		return 0, err
	}
	m := sf.index.Manifest
	if index < 0 || index >= m.NumBlocks() {
		return 0, fmt.Errorf("blockxfer: block %d of %s: %w", index, root, ErrNotFound)
	}
	n, err := sf.read(index, buf)
	if err != nil {
		if errorsIsChanged(err) {
			s.markStale(root, sf, err)
		}
		return 0, err
	}
	return n, nil
}

func (s *FileSource) markStale(root cid.Cid, sf *sharedFile, err error) {
	sf.mu.Lock()
	first := !sf.stale
	sf.stale = true
	sf.mu.Unlock()
	if first && s.onChanged != nil {
		s.onChanged(Changed{Root: root, Path: sf.index.Path, Err: err})
	}
}

func (sf *sharedFile) isStale() bool {
	sf.mu.Lock()
	defer sf.mu.Unlock()
	return sf.stale
}

func (sf *sharedFile) checkStat() error {
	st, err := os.Stat(sf.index.Path)
	if err != nil {
		return fmt.Errorf("blockxfer: %s: %w: %v", sf.index.Path, ErrChanged, err)
	}
	return sf.sameStat(st)
}

func (sf *sharedFile) sameStat(st os.FileInfo) error {
	if st.Size() != sf.index.Size || !st.ModTime().Equal(sf.index.ModTime) {
		return fmt.Errorf("blockxfer: %s: %w (size or mtime)", sf.index.Path, ErrChanged)
	}
	return nil
}

// read opens the file, checks it and reads and verifies one block.
func (sf *sharedFile) read(index int, buf []byte) (int, error) {
	f, err := os.Open(sf.index.Path)
	if err != nil {
		return 0, fmt.Errorf("blockxfer: %s: %w: %v", sf.index.Path, ErrChanged, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return 0, fmt.Errorf("blockxfer: %s: %w", sf.index.Path, err)
	}
	if err := sf.sameStat(st); err != nil {
		return 0, err
	}
	off, n := sf.index.Manifest.BlockRange(index)
	if len(buf) < n {
		return 0, fmt.Errorf("blockxfer: ReadBlock buffer of %d bytes, need %d", len(buf), n)
	}
	k, err := f.ReadAt(buf[:n], off)
	if k < n {
		if err == nil || err == io.EOF {
			return 0, fmt.Errorf("blockxfer: %s: %w (short)", sf.index.Path, ErrChanged)
		}
		return 0, fmt.Errorf("blockxfer: reading %s: %w", sf.index.Path, err)
	}
	if !sf.intact(index, buf[:n]) {
		return 0, fmt.Errorf("blockxfer: %s block %d: %w (hash)", sf.index.Path, index, ErrChanged)
	}
	return n, nil
}

// intact reports whether block index still has the bytes it was indexed
// with: its CRC-32C when the index has checksums, else its SHA-256.
func (sf *sharedFile) intact(index int, b []byte) bool {
	if cs := sf.index.Checksums; len(cs) == sf.index.Manifest.NumBlocks() {
		return blockCRC(b) == cs[index]
	}
	return sha256.Sum256(b) == sf.index.Manifest.BlockDigest(index)
}
