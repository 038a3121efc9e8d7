// Package blockxfer moves files between kwsearch nodes: it cuts a file into
// content-addressed blocks, serves shared files in place over the libp2p
// protocol /kwsearch/blockxfer/1.0.0, and downloads a file from several
// providers at once, verifying every block, resuming after a crash and
// writing the result atomically.
//
// # Using it (the daemon's duties)
//
// Content side:
//
//  1. fi, err := IndexFile(path) hashes a file (one block in memory at a
//     time); fi.Root() is the file's CID. fi.Marshal() gives bytes to keep
//     (storage.Share.Index); UnmarshalFileIndex restores it after a restart
//     without hashing again.
//  2. src := NewFileSource(onChanged); src.Add(fi) (or src.AddFile(path))
//     shares it; src.Remove(root) stops. onChanged is called once when a
//     shared file is found changed on disk: re-index it (new CID, publish
//     it) or withdraw its records. It must not block.
//  3. srv, err := NewServer(host, src, DefaultServerConfig()) serves;
//     srv.Close() stops it and waits for its streams.
//
// Fetch side:
//
//  1. Check a CID typed by a user with CheckRoot.
//  2. Build the output path with SafeOutputPath(dir, nameFromRecord); never
//     join a name from the network yourself.
//  3. res, err := Fetch(ctx, host, root, providers, outPath, opts) with
//     opts := DefaultFetchOptions() and opts.Progress set for the progress
//     bar or the API's NDJSON stream. It returns when the file is in place.
//  4. On error (or after a crash) call Fetch again with the same root and
//     outPath: it resumes. To forget a download, RemovePartial(outPath).
//     The daemon only needs to remember (root, outPath) for unfinished
//     downloads (storage.Download); all transfer state lives in the two
//     files next to the output.
//  5. errors.Is(err, ErrOnlyRelayed): every provider was reachable only
//     through a relay and no direct connection appeared in time; the CLI
//     should say so ("provider behind NAT, hole punching failed").
//
// # Content IDs and the manifest
//
// Blocks are BlockSize (256 KiB) long, the last one shorter; a block's CID
// is CIDv1, codec raw, sha2-256 (BlockCID). The manifest lists the blocks
// (see Manifest for the byte layout): version, block size, file size, then
// the 32-byte sha2-256 digest of each block; nothing depends on the name,
// so the same bytes always give the same CID. The file's CID is the
// manifest's CID: CIDv1, sha2-256 of the encoded manifest, codec
// ManifestCodec (0x306b77, from the multicodec private-use range).
//
// Why a private codec and not raw: with raw, a file's CID would look like a
// block's CID, and a tool (or a user pasting a block CID into kwnode get)
// could not tell "these bytes are a manifest" from "these bytes are data".
// The codec makes a root self-describing, lets CheckRoot reject a wrong
// CID before any network traffic, and keeps a future manifest version free
// to pick another code. No registered codec describes this format
// (dag-pb/UnixFS would need protobuf links and a different tree shape),
// and the private-use range is meant for exactly this.
//
// Why digests and not full CIDs in the manifest: every block CID has the
// same prefix (v1, raw, sha2-256, 32), so storing it 4096 times per GiB
// would only add 12% to the manifest. A manifest is at most 4 MiB (32 GiB
// files, MaxFileSize); a tree of manifests would lift that limit and is a
// compatible change for version 2.
//
// # Wire protocol
//
// One stream per (fetcher, provider, file). Both directions carry
// protobuf-compatible messages (schema in wire.go, encoded with protowire)
// behind an unsigned varint length. The client sends Request{id, kind,
// root, index} — MANIFEST first, then BLOCK requests — without waiting for
// answers (pipelining, a window of requests per provider); the server
// answers each in order with Response{id, status, data}. Status NOT_FOUND
// or CHANGED answers one request and keeps the stream open; malformed
// input ends it (Reset). Limits: a request frame is at most 128 bytes, a
// block response BlockSize+48, a manifest response MaxManifestSize+48;
// larger length prefixes are refused before any allocation.
//
// Server: the handler attaches the stream to the resource manager service
// ServiceName and reserves Pipeline×(BlockSize+48) bytes; a reader
// goroutine decodes requests and reads each block from disk straight into
// one of Pipeline reusable buffers (after room for the header, so a block
// is never copied), re-checks size and mtime, re-checks the block's
// CRC-32C taken when the file was indexed (SHA-256 against the manifest
// for an index stored without checksums; see FileSource), and hands it to
// a writer goroutine. Memory per stream is
// therefore fixed whatever the file size. Every read has an idle deadline,
// every write a write deadline; at most MaxStreamsPerPeer streams per peer.
// Streams arriving over limited (relayed) connections are reset.
//
// The exchange is plain functions over io.Reader/io.Writer (serve in
// serve.go, clientConn in client.go), so it is tested over net.Pipe and
// fuzzed without a host; server.go and peer.go are the thin libp2p parts.
//
// # Fetching
//
// Fetch opens one stream per provider, concurrently, at most MaxPeers at a
// time in the order given; a provider that is dropped frees its place for
// the next one in the list. The first provider to
// answer supplies the manifest, checked against the root (a wrong one
// drops that provider as bad). The scheduler (schedule.go) hands out
// blocks, lowest index first, to whichever provider has a free slot, so
// faster providers take more; each provider's slots follow its measured
// rate (about QueueTime of its bandwidth, between MinWindow and MaxWindow),
// refilled a quarter window at a time (one write for several requests
// wakes the provider once instead of once per block), and near the end a busy provider takes a fresh block only if it would
// deliver it before the whole swarm, at its measured total rate, finishes
// what is outstanding, so the last blocks go to fast providers instead of
// queueing behind slow ones. In the endgame, when every missing block is already requested, a
// provider with a free slot re-asks for a block queued at another provider
// that it would deliver in less than half the time (a slow or stalled
// provider's last blocks); the first verified copy wins.
//
// Every block is checked for length and sha2-256 against the manifest
// before it is written; a provider that sends one bad block is dropped
// (EventPeerDropped with Bad), and its queued blocks go back to the pool.
// A provider whose stream fails or that answers NOT_FOUND/CHANGED is
// dropped likewise. The receive loop only reads: it hands each block to
// one of sinkWorkers (3) goroutines, which verify and write it, so the
// hash and the write overlap reading the next blocks, with sinkBuffers
// (5) buffers per provider, reserved with the resource manager like the
// server's; the provider's unread answers wait in the stream's receive
// window. Memory is thus at most MaxPeers×1.25 MiB whatever the file size.
//
// # Resume and atomic output
//
// Blocks are written at their final offsets into outPath+".kwpart". The
// file is not preallocated: on ext4, writing into fallocate-d (unwritten)
// extents took several times the CPU of writing a sparse file (1 GiB,
// measured on the benchmark host). Next
// to it, outPath+".kwpart.state" holds a header (magic "KWXP", version,
// root CID, size) and a bitmap with one bit per block. A block's bit is
// set (one byte written in place) only after its data has been written,
// so after kill -9 a set bit means the data is in the file (the page cache
// survives a killed process). On start Fetch re-hashes every marked block
// from the partial file (fast: local disk) and unmarks any that do not
// match, so a power loss, a torn write or a tampered file costs a refetch
// and never a corrupt result; SkipResumeCheck trusts the bitmap instead.
// A state file for another root, or a damaged one, starts the download
// afresh. The state file is flock-ed so two fetches never share it. When
// every block is verified the data is fsync-ed, and moved into place:
// rename with Overwrite, otherwise link-then-unlink, which fails with
// ErrOutputExists instead of replacing a file that appeared meanwhile;
// the directory is fsync-ed and the state file removed. outPath therefore
// either does not exist or holds the complete, verified file.
//
// # Where this differs from SPEC.md, and why
//
//   - SPEC §4 says a provider "re-checks on read"; the first design
//     re-hashed every block it served with SHA-256. It now re-checks each
//     block with CRC-32C, taken at indexing from the same read as the
//     digests. The re-check only has to notice that the provider's own
//     file changed (its owner is no attacker of it); integrity against a
//     bad or malicious provider rests on the fetcher's SHA-256 check of
//     every block, which is unchanged. SHA-256 runs at about 2 GB/s per
//     core, CRC-32C in hardware at over 10 GB/s, so a transfer no longer
//     hashes every byte twice with SHA-256 (the provider's pass was about
//     an eighth of a single-provider loopback download's CPU).
//   - SPEC §4 says a changed shared file is "re-indexed or withdrawn". The
//     package cannot publish records, so it marks the file stale, refuses
//     to serve it (status CHANGED; the fetcher moves to other providers)
//     and reports it through the onChanged callback; the daemon decides.
//   - Progress is kept in a sidecar file, not in the daemon's database: a
//     bit per block written in place is cheaper than a database
//     transaction per block, survives kill -9 just as well, and keeps the
//     partial download self-describing (move both files and it still
//     resumes). The daemon stores only root and output path.
//   - Blocks never travel over relayed connections (SPEC leaves this
//     open): relays are for signalling and small messages, with strict data
//     limits. Fetch waits up to OpenTimeout for hole punching to give a
//     direct connection and otherwise fails with ErrOnlyRelayed.
//   - SafeName also strips leading dots (".bashrc" becomes "bashrc"): a
//     file downloaded into a home directory must not become a dotfile that
//     a shell or tool would run.
//   - Files are limited to 32 GiB (MaxFileSize) by the single-block
//     manifest; see above.
package blockxfer
