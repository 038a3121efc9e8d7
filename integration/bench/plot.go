package main

import (
	"fmt"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// sizeTicks marks the x axis at the measured network sizes.
type sizeTicks []int

func (t sizeTicks) Ticks(_, _ float64) []plot.Tick {
	out := make([]plot.Tick, len(t))
	for i, n := range t {
		out[i] = plot.Tick{Value: float64(n), Label: strconv.Itoa(n)}
	}
	return out
}

// writePlot draws search latency (p50 and p99) against network size for both
// systems into a PNG file, from the run's own figures.
func writePlot(path string, r *Result) error {
	p := plot.New()
	p.Title.Text = fmt.Sprintf("One-word search latency, RTT %.0f-%.0f ms (mean %.0f ms), seed %d", r.RTTMinMs, r.RTTMaxMs, r.MeanRTTMs, r.Seed)
	p.X.Label.Text = "hosts"
	p.Y.Label.Text = "ms"
	p.X.Scale = plot.LogScale{}
	var sizes sizeTicks
	for _, s := range r.Sizes {
		sizes = append(sizes, s.Nodes)
	}
	p.X.Tick.Marker = sizes
	p.Legend.Top = true
	p.Legend.Left = true
	series := []struct {
		name string
		get  func(sizePoint) *float64
	}{
		{"kwsearch p50 (first full result)", func(s sizePoint) *float64 { return s.SearchP50Ms }},
		{"kwsearch p99", func(s sizePoint) *float64 { return s.SearchP99Ms }},
		{"kad-dht p50 (first provider)", func(s sizePoint) *float64 { return s.KadFirstP50Ms }},
		{"kad-dht p99 (first provider)", func(s sizePoint) *float64 { return s.KadFirstP99Ms }},
		{"kad-dht p50 (lookup complete)", func(s sizePoint) *float64 { return s.KadDoneP50Ms }},
	}
	var args []any
	positive := true
	for _, se := range series {
		var xys plotter.XYs
		for _, s := range r.Sizes {
			if v := se.get(s); v != nil {
				xys = append(xys, plotter.XY{X: float64(s.Nodes), Y: *v})
				positive = positive && *v > 0
			}
		}
		if len(xys) > 0 {
			args = append(args, se.name, xys)
		}
	}
	if len(args) == 0 {
		return fmt.Errorf("bench: plot: no figures to draw")
	}
	if err := plotutil.AddLinePoints(p, args...); err != nil {
		return fmt.Errorf("bench: plot: %w", err)
	}
	// Latencies span three orders of magnitude across systems and sizes.
	if positive {
		p.Y.Scale = plot.LogScale{}
		p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
		p.Y.Label.Text = "ms (log scale)"
	} else {
		p.Y.Min = 0
	}
	if err := p.Save(8*vg.Inch, 5*vg.Inch, path); err != nil {
		return fmt.Errorf("bench: saving plot: %w", err)
	}
	return nil
}
