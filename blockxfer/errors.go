package blockxfer

import "errors"

// Errors callers test with errors.Is.
var (
	// ErrNotFound: the source does not share the requested root, or the
	// provider answered that it does not have it.
	ErrNotFound = errors.New("blockxfer: not found")
	// ErrChanged: a shared file changed on disk after it was indexed; it is
	// no longer served until the caller re-indexes or withdraws it.
	ErrChanged = errors.New("blockxfer: shared file changed since it was indexed")
	// ErrBadManifest: manifest bytes that do not decode, are not canonical, or
	// do not hash to the requested root.
	ErrBadManifest = errors.New("blockxfer: bad manifest")
	// ErrNotManifestCID: a CID that cannot name a file (wrong codec or hash).
	ErrNotManifestCID = errors.New("blockxfer: CID does not name a file manifest")
	// ErrBadBlock: a block whose length or hash does not match the manifest.
	ErrBadBlock = errors.New("blockxfer: block does not match its CID")
	// ErrProtocol: a peer broke the wire protocol (bad framing, oversized or
	// garbled message, out-of-order response).
	ErrProtocol = errors.New("blockxfer: protocol violation")
	// ErrOnlyRelayed: the provider is reachable only through a relayed
	// (limited) connection. Blocks are never sent over relays: the fetch waits
	// for a direct connection (hole punching) and fails with this error when
	// none appears in time.
	ErrOnlyRelayed = errors.New("blockxfer: provider reachable only through a relay; blocks need a direct connection")
	// ErrNoProviders: every provider failed or was dropped before the file was
	// complete. The error also wraps each provider's own error.
	ErrNoProviders = errors.New("blockxfer: no provider left")
	// ErrOutputExists: the output file exists and FetchOptions.Overwrite is false.
	ErrOutputExists = errors.New("blockxfer: output file exists")
	// ErrBadName: a name that cannot be made into a safe file name.
	ErrBadName = errors.New("blockxfer: unusable file name")
	// ErrTooLarge: a file larger than MaxFileSize.
	ErrTooLarge = errors.New("blockxfer: file too large")
)

func errorsIsChanged(err error) bool { return errors.Is(err, ErrChanged) }
