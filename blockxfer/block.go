package blockxfer

import (
	"crypto/sha256"
	"fmt"

	"github.com/ipfs/go-cid"
	mh "github.com/multiformats/go-multihash"
)

const (
	// BlockSize is the size of every block but the last (SPEC §4).
	BlockSize = 256 << 10
	// MaxBlocks bounds the number of blocks of one file, and so the manifest
	// size (32 bytes per block, 4 MiB at most) and the memory a fetch needs.
	MaxBlocks = 1 << 17
	// MaxFileSize is the largest file one manifest can describe: 32 GiB.
	MaxFileSize = int64(MaxBlocks) * BlockSize
	// ManifestCodec is the multicodec of a manifest CID: a code from the
	// multicodec table's private-use range (0x300000–0x3fffff), "kw" in its
	// low bytes. See doc.go for why it is not raw.
	ManifestCodec uint64 = 0x306b77
	// digestLen is the length of a sha2-256 digest.
	digestLen = sha256.Size
)

// Digest is the sha2-256 digest of a block.
type Digest [digestLen]byte

// BlockCID returns the CID of a block's bytes: CIDv1, raw codec, sha2-256.
func BlockCID(data []byte) cid.Cid {
	return digestCID(cid.Raw, sha256.Sum256(data))
}

// digestCID builds a CIDv1 with the given codec around a sha2-256 digest.
func digestCID(codec uint64, d Digest) cid.Cid {
	buf, err := mh.Encode(d[:], mh.SHA2_256)
	if err != nil { // cannot happen: the digest has the right length
		panic(fmt.Sprintf("blockxfer: encoding multihash: %v", err))
	}
	return cid.NewCidV1(codec, buf)
}

// cidDigest returns the sha2-256 digest in c, checking its codec.
func cidDigest(c cid.Cid, codec uint64) (Digest, error) {
	var d Digest
	if !c.Defined() || c.Version() != 1 || c.Type() != codec {
		return d, fmt.Errorf("blockxfer: CID %s: codec %#x, want %#x", c, c.Type(), codec)
	}
	dec, err := mh.Decode(c.Hash())
	if err != nil {
		return d, fmt.Errorf("blockxfer: CID %s: %w", c, err)
	}
	if dec.Code != mh.SHA2_256 || len(dec.Digest) != digestLen {
		return d, fmt.Errorf("blockxfer: CID %s: hash is not sha2-256", c)
	}
	copy(d[:], dec.Digest)
	return d, nil
}

// blockRange returns the offset and length of block i of a file of size bytes.
func blockRange(size int64, i int) (int64, int) {
	off := int64(i) * BlockSize
	n := size - off
	if n > BlockSize {
		n = BlockSize
	}
	return off, int(n)
}

// numBlocks is the number of blocks of a file of size bytes.
func numBlocks(size int64) int { return int((size + BlockSize - 1) / BlockSize) }
