package blockxfer

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"

	"github.com/ipfs/go-cid"
)

// manifestVersion is the first byte of an encoded manifest.
const manifestVersion = 1

// MaxManifestSize bounds an encoded manifest: version, two varints and one
// digest per block.
const MaxManifestSize = 1 + 2*binary.MaxVarintLen64 + MaxBlocks*digestLen

// Manifest lists a file's blocks. It holds nothing that depends on the
// file's name, so the same bytes always give the same manifest and CID.
//
// Encoding (version 1), all integers unsigned LEB128 varints, minimal:
//
//	byte     version    = 1
//	varint   block size = 262144 (the only size version 1 accepts)
//	varint   file size in bytes (at most MaxFileSize)
//	32 bytes sha2-256 digest of block 0, block 1, … (ceil(size/blocksize) digests)
//
// Nothing follows the digests. The block count is implied by the size, so a
// manifest cannot disagree with itself. Decoding re-encodes and requires
// the same bytes, so every manifest has exactly one encoding.
type Manifest struct {
	size    int64
	digests []Digest
}

// NewManifest builds a manifest from the file size and its block digests.
func NewManifest(size int64, digests []Digest) (*Manifest, error) {
	if size < 0 || size > MaxFileSize {
		return nil, fmt.Errorf("blockxfer: manifest of %d bytes: %w", size, ErrTooLarge)
	}
	if len(digests) != numBlocks(size) {
		return nil, fmt.Errorf("blockxfer: manifest of %d bytes has %d digests, want %d: %w",
			size, len(digests), numBlocks(size), ErrBadManifest)
	}
	return &Manifest{size: size, digests: digests}, nil
}

// Size is the file size in bytes.
func (m *Manifest) Size() int64 { return m.size }

// NumBlocks is the number of blocks.
func (m *Manifest) NumBlocks() int { return len(m.digests) }

// BlockDigest is the sha2-256 digest of block i.
func (m *Manifest) BlockDigest(i int) Digest { return m.digests[i] }

// BlockCID is the raw CIDv1 of block i.
func (m *Manifest) BlockCID(i int) cid.Cid { return digestCID(cid.Raw, m.digests[i]) }

// BlockRange is block i's offset in the file and its length.
func (m *Manifest) BlockRange(i int) (offset int64, length int) { return blockRange(m.size, i) }

// Encode returns the canonical encoding described on Manifest.
func (m *Manifest) Encode() []byte {
	b := make([]byte, 0, 1+2*binary.MaxVarintLen64+len(m.digests)*digestLen)
	b = append(b, manifestVersion)
	b = binary.AppendUvarint(b, BlockSize)
	b = binary.AppendUvarint(b, uint64(m.size))
	for i := range m.digests {
		b = append(b, m.digests[i][:]...)
	}
	return b
}

// CID is the file's CID: CIDv1, codec ManifestCodec, sha2-256 of Encode().
func (m *Manifest) CID() cid.Cid { return manifestCID(m.Encode()) }

func manifestCID(encoded []byte) cid.Cid {
	return digestCID(ManifestCodec, sha256.Sum256(encoded))
}

// CheckRoot reports whether c can name a file: CIDv1, ManifestCodec,
// sha2-256. Use it on CIDs typed by users before asking the network.
func CheckRoot(c cid.Cid) error {
	if _, err := cidDigest(c, ManifestCodec); err != nil {
		return fmt.Errorf("%w: %v", ErrNotManifestCID, err)
	}
	return nil
}

// DecodeManifest decodes an encoded manifest, rejecting anything but the
// canonical version 1 encoding.
func DecodeManifest(b []byte) (*Manifest, error) {
	if len(b) > MaxManifestSize {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrBadManifest, len(b), MaxManifestSize)
	}
	if len(b) < 1 || b[0] != manifestVersion {
		return nil, fmt.Errorf("%w: unknown version", ErrBadManifest)
	}
	rest := b[1:]
	bs, n := binary.Uvarint(rest)
	if n <= 0 || bs != BlockSize {
		return nil, fmt.Errorf("%w: block size must be %d", ErrBadManifest, BlockSize)
	}
	rest = rest[n:]
	size, n := binary.Uvarint(rest)
	if n <= 0 || size > uint64(MaxFileSize) {
		return nil, fmt.Errorf("%w: bad file size", ErrBadManifest)
	}
	rest = rest[n:]
	count := numBlocks(int64(size))
	if len(rest) != count*digestLen {
		return nil, fmt.Errorf("%w: %d digest bytes for %d blocks", ErrBadManifest, len(rest), count)
	}
	digests := make([]Digest, count)
	for i := range digests {
		copy(digests[i][:], rest[i*digestLen:])
	}
	m := &Manifest{size: int64(size), digests: digests}
	if !bytes.Equal(m.Encode(), b) {
		return nil, fmt.Errorf("%w: not canonical", ErrBadManifest)
	}
	return m, nil
}

// VerifyManifest checks that b hashes to root and decodes it.
func VerifyManifest(root cid.Cid, b []byte) (*Manifest, error) {
	want, err := cidDigest(root, ManifestCodec)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotManifestCID, err)
	}
	if sha256.Sum256(b) != want {
		return nil, fmt.Errorf("%w: does not hash to %s", ErrBadManifest, root)
	}
	return DecodeManifest(b)
}
