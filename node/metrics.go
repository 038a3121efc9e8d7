package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the node's Prometheus metrics, on a registry of its own (no
// package-level state). They are always counted; --metrics only serves them.
type metrics struct {
	reg          *prometheus.Registry
	lookupHops   prometheus.Histogram
	lookupTime   *prometheus.HistogramVec
	rpcErrors    *prometheus.CounterVec
	published    prometheus.Counter
	searches     prometheus.Counter
	downloads    *prometheus.CounterVec
	bytesFetched prometheus.Counter
}

func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		lookupHops: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "kwsearch_lookup_hops", Help: "Hops of ring operations started by this node.",
			Buckets: []float64{0, 1, 2, 3, 4, 5, 6, 8, 10, 12, 16, 20},
		}),
		lookupTime: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "kwsearch_operation_seconds", Help: "Latency of ring operations started by this node.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 16),
		}, []string{"op"}),
		rpcErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kwsearch_operation_errors_total", Help: "Failed ring operations, by operation.",
		}, []string{"op"}),
		published: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "kwsearch_files_published_total", Help: "Files published or republished.",
		}),
		searches: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "kwsearch_searches_total", Help: "Searches served for the local API.",
		}),
		downloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kwsearch_downloads_total", Help: "Downloads, by result.",
		}, []string{"result"}),
		bytesFetched: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "kwsearch_bytes_downloaded_total", Help: "Verified bytes downloaded.",
		}),
	}
	m.reg.MustRegister(m.lookupHops, m.lookupTime, m.rpcErrors, m.published, m.searches, m.downloads, m.bytesFetched,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// observe records one ring operation; hops < 0 means the operation does
// not report them.
func (m *metrics) observe(op string, start time.Time, hops int, err error) {
	m.lookupTime.WithLabelValues(op).Observe(time.Since(start).Seconds())
	if err != nil {
		m.rpcErrors.WithLabelValues(op).Inc()
		return
	}
	if hops >= 0 {
		m.lookupHops.Observe(float64(hops))
	}
}

// gauge registers a gauge computed on each scrape.
func (m *metrics) gauge(name, help string, f func() float64) {
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, f))
}

type metricsServer struct {
	srv  *http.Server
	addr string
	done chan struct{}
}

func serveMetrics(addr string, m *metrics, log *slog.Logger) (*metricsServer, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("node: metrics: listening on %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{}))
	s := &metricsServer{
		srv:  &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second},
		addr: ln.Addr().String(),
		done: make(chan struct{}),
	}
	go func() {
		defer close(s.done)
		if err := s.srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			log.Error("metrics server stopped", "err", err)
		}
	}()
	log.Info("serving metrics", "addr", "http://"+ln.Addr().String()+"/metrics")
	return s, nil
}

func (s *metricsServer) close(ctx context.Context) error {
	err := s.srv.Shutdown(ctx)
	<-s.done
	return err
}
