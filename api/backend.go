package api

import "context"

// Backend is what the server needs from the node. Implementations return
// errors made with BadRequest, NotFound or Unavailable for the caller's
// mistakes and the node's state, any other error for internal failures.
// Every method must honour ctx: it is cancelled when the client goes away.
type Backend interface {
	Status(ctx context.Context) (Status, error)
	Peers(ctx context.Context) ([]Peer, error)
	Shares(ctx context.Context) ([]ShareInfo, error)
	// Share indexes and publishes; it reports each file through emit (types
	// file, failed, progress) and returns when all are done. The server
	// sends the final done or error event itself.
	Share(ctx context.Context, req ShareRequest, emit func(ShareEvent)) (ShareEvent, error)
	Unshare(ctx context.Context, req UnshareRequest) (UnshareResult, error)
	Search(ctx context.Context, req SearchRequest) ([]SearchHit, error)
	// Get downloads; it reports progress events through emit and returns
	// the final done event.
	Get(ctx context.Context, req GetRequest, emit func(GetEvent)) (GetEvent, error)
	Downloads(ctx context.Context) ([]Download, error)
}
