package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"syscall"
	"time"

	"kwsearch/api"
	"kwsearch/repo"
	"kwsearch/storage"
	"kwsearch/webui"
)

// Options are what Start needs.
type Options struct {
	// Repo is the opened repository (identity, token, database path).
	Repo *repo.Repo
	// Config is the effective configuration (the repo's, with flags applied).
	Config repo.Config
	// Log receives the node's structured logs; nil discards them.
	Log *slog.Logger
	// MetricsAddr, when not empty, serves Prometheus metrics on HOST:PORT.
	MetricsAddr string
	// Version is reported by status.
	Version string
}

// Node is a running kwsearch node. Its exported methods are safe for
// concurrent use.
type Node struct {
	opt Options
	cfg repo.Config
	log *slog.Logger

	ctx    context.Context // cancelled by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup

	db      *storage.DB
	net     *network
	metrics *metrics
	shares  *shareManager
	gets    *downloadManager

	apiSrv  *api.Server
	apiAddr string
	ui      *webui.UI // the web page, served by apiSrv
	metSrv  *metricsServer

	closeOnce sync.Once
	closeErr  error
}

// closeTimeout bounds a graceful Close (leave the ring, flush, stop).
const closeTimeout = 10 * time.Second

// Start opens the database, starts the libp2p host, joins the network,
// serves the local API and, when it is ready, writes REPO/api. On error
// everything started so far is stopped again.
func Start(ctx context.Context, opt Options) (*Node, error) {
	if opt.Repo == nil {
		return nil, errors.New("node: no repository")
	}
	if err := opt.Config.Validate(); err != nil {
		return nil, err
	}
	if opt.Log == nil {
		opt.Log = slog.New(slog.DiscardHandler)
	}
	n := &Node{opt: opt, cfg: opt.Config, log: opt.Log}
	n.ctx, n.cancel = context.WithCancel(context.Background())
	if err := n.start(ctx); err != nil {
		n.Close()
		return nil, err
	}
	return n, nil
}

func (n *Node) start(ctx context.Context) error {
	var err error
	n.metrics = newMetrics()
	dbOpt := storage.DefaultOptions()
	dbOpt.OnFlushError = func(err error) { n.log.Error("flushing records", "err", err) }
	if n.db, err = storage.Open(n.opt.Repo.DBPath(), dbOpt); err != nil {
		return fmt.Errorf("node: %w", err)
	}
	if n.opt.MetricsAddr != "" {
		if n.metSrv, err = serveMetrics(n.opt.MetricsAddr, n.metrics, n.log); err != nil {
			return err
		}
	}
	if n.net, err = startNetwork(ctx, n); err != nil {
		return err
	}
	n.shares = newShareManager(n)
	n.gets = newDownloadManager(n)
	if err := n.serveAPI(); err != nil {
		return err
	}
	n.shares.start()
	n.gets.start()
	if err := n.opt.Repo.WriteAPI(n.apiAddr); err != nil {
		return fmt.Errorf("node: %w", err)
	}
	n.log.Info("node ready", "peer_id", n.opt.Repo.ID, "api", n.apiAddr, "addrs", n.Addrs())
	return nil
}

func (n *Node) serveAPI() error {
	ln, err := api.Listen(n.cfg.API)
	if errors.Is(err, syscall.EADDRINUSE) {
		return fmt.Errorf("node: the local API address %s is taken, by another daemon perhaps (choose one with --api, port 0 for any): %w", n.cfg.API, err)
	}
	if err != nil {
		return fmt.Errorf("node: %w", err)
	}
	n.apiAddr = ln.Addr().String()
	n.apiSrv = api.NewServer(backend{n}, n.opt.Repo.Token, n.log.With("part", "api"))
	n.ui, err = webui.New(webui.DefaultConfig(), webui.Options{Backend: backend{n}, Token: n.opt.Repo.Token,
		APIAddr: n.apiAddr, Log: n.log.With("part", "webui")})
	if err != nil {
		ln.Close()
		return fmt.Errorf("node: %w", err)
	}
	n.ui.Mount(n.apiSrv)
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		if err := n.apiSrv.Serve(ln); err != nil {
			n.log.Error("local API stopped", "err", err)
		}
	}()
	return nil
}

// APIAddr is the HOST:PORT the local API listens on.
func (n *Node) APIAddr() string { return n.apiAddr }

// Addrs lists the node's listen addresses (with /p2p/ID).
func (n *Node) Addrs() []string {
	if n.net == nil {
		return nil
	}
	return n.net.fullAddrs()
}

// Close leaves the ring gracefully (handing records on), stops the API and
// the host, flushes and closes the database, and removes REPO/api.
func (n *Node) Close() error {
	n.closeOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
		defer cancel()
		var errs []error
		if n.apiAddr != "" {
			errs = append(errs, n.opt.Repo.RemoveAPI())
		}
		if n.ui != nil {
			// First end the page's event streams (and the downloads it
			// started; they resume at the next start), which would hold
			// the API's shutdown.
			n.ui.Close()
		}
		if n.apiSrv != nil {
			// Running streams (a share, a get) get two seconds to finish.
			sctx, scancel := context.WithTimeout(ctx, 2*time.Second)
			errs = append(errs, n.apiSrv.Shutdown(sctx))
			scancel()
		}
		n.cancel()
		if n.shares != nil {
			n.shares.wait()
		}
		if n.gets != nil {
			n.gets.wait()
		}
		if n.net != nil {
			errs = append(errs, n.net.close(ctx))
		}
		if n.metSrv != nil {
			errs = append(errs, n.metSrv.close(ctx))
		}
		n.wg.Wait()
		if n.db != nil {
			errs = append(errs, n.db.Close())
		}
		n.closeErr = errors.Join(errs...)
	})
	return n.closeErr
}
