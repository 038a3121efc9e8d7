package node

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestMetricsEndpoint(t *testing.T) {
	m := newMetrics()
	m.observe("search", time.Now(), 3, nil)
	m.observe("publish", time.Now(), 0, errors.New("no ring"))
	m.gauge("kwsearch_records_held", "test", func() float64 { return 42 })
	s, err := serveMetrics("127.0.0.1:0", m, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer s.close(context.Background())
	resp, err := http.Get("http://" + s.addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, want := range []string{
		`kwsearch_lookup_hops_count 1`,
		`kwsearch_operation_errors_total{op="publish"} 1`,
		`kwsearch_records_held 42`,
		`kwsearch_operation_seconds_count{op="search"} 1`,
		`go_goroutines`,
	} {
		if !strings.Contains(string(b), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}
