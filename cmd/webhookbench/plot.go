package main

import (
	"cmp"
	"fmt"
	"image/color"
	"math"
	"os"
	"slices"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// writePlot draws achieved throughput and latency percentiles against offered load, one panel
// above the other, as a PNG.
func writePlot(path string, rep *Report) error {
	thr, lat, err := plots(rep)
	if err != nil {
		return fmt.Errorf("plot %s: %w", path, err)
	}
	img := vgimg.NewWith(vgimg.UseWH(6*vg.Inch, 6*vg.Inch), vgimg.UseDPI(96))
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: 2, Cols: 1, PadTop: vg.Points(6), PadBottom: vg.Points(6), PadLeft: vg.Points(6), PadRight: vg.Points(12), PadY: vg.Points(12)}
	canvases := plot.Align([][]*plot.Plot{{thr}, {lat}}, tiles, dc)
	thr.Draw(canvases[0][0])
	lat.Draw(canvases[1][0])

	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("plot: %w", err)
	}
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(f); err != nil {
		f.Close()
		return fmt.Errorf("plot %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("plot %s: %w", path, err)
	}
	return nil
}

// dashedLine is a line through xys in colour c, dashed dash points on, gap points off.
func dashedLine(xys plotter.XYs, c color.Color, dash, gap float64) (*plotter.Line, error) {
	l, err := plotter.NewLine(xys)
	if err != nil {
		return nil, err
	}
	l.Color = c
	l.Dashes = []vg.Length{vg.Points(dash), vg.Points(gap)}
	return l, nil
}

// linePoints is a line through xys with a point at each, both in colour c.
func linePoints(xys plotter.XYs, c color.Color) (*plotter.Line, *plotter.Scatter, error) {
	l, s, err := plotter.NewLinePoints(xys)
	if err != nil {
		return nil, nil, err
	}
	l.Color, s.Color = c, c
	return l, s, nil
}

func plots(rep *Report) (thr, lat *plot.Plot, err error) {
	achieved := make(plotter.XYs, len(rep.Steady))
	p50 := make(plotter.XYs, len(rep.Steady))
	p99 := make(plotter.XYs, len(rep.Steady))
	maxOffered := rep.Burst.EventsPerSec
	for i, p := range rep.Steady {
		achieved[i] = plotter.XY{X: p.OfferedPerSec, Y: p.EventsPerSec}
		p50[i] = plotter.XY{X: p.OfferedPerSec, Y: max(p.Receipt.P50, 0.5)} // the log scale's floor
		p99[i] = plotter.XY{X: p.OfferedPerSec, Y: max(p.Receipt.P99, 0.5)}
		maxOffered = max(maxOffered, p.OfferedPerSec)
	}
	sortByX(achieved, p50, p99)

	thr = plot.New()
	thr.Title.Text = fmt.Sprintf("webhookd %s: burst %.0f events/s, baseline %.0f req/s, ratio %.2f",
		rep.Commit, rep.Burst.EventsPerSec, rep.Baseline.ReqPerSec, rep.Ratio)
	thr.X.Label.Text = "offered load (events/s)"
	thr.Y.Label.Text = "achieved (events/s)"
	thr.X.Min, thr.Y.Min = 0, 0
	thr.X.Max, thr.Y.Max = maxOffered*1.05, maxOffered*1.25
	thr.Add(plotter.NewGrid())
	ideal, err := dashedLine(plotter.XYs{{X: 0, Y: 0}, {X: maxOffered * 1.05, Y: maxOffered * 1.05}}, color.Gray{Y: 160}, 4, 3)
	if err != nil {
		return nil, nil, err
	}
	peak, err := dashedLine(plotter.XYs{{X: 0, Y: rep.Burst.EventsPerSec}, {X: maxOffered * 1.05, Y: rep.Burst.EventsPerSec}}, color.RGBA{R: 200, G: 80, B: 0, A: 255}, 2, 2)
	if err != nil {
		return nil, nil, err
	}
	line, points, err := linePoints(achieved, color.RGBA{B: 200, A: 255})
	if err != nil {
		return nil, nil, err
	}
	thr.Add(ideal, peak, line, points)
	thr.Legend.Add("achieved", line, points)
	thr.Legend.Add("offered", ideal)
	thr.Legend.Add("burst peak", peak)
	thr.Legend.Top, thr.Legend.Left = false, false // below the diagonal, where no point goes
	thr.Title.TextStyle.Font.Size = vg.Points(10)

	lat = plot.New()
	lat.Title.Text = "latency, publish to receipt, at each offered load"
	lat.Title.TextStyle.Font.Size = vg.Points(10)
	lat.X.Label.Text = "offered load (events/s)"
	lat.Y.Label.Text = "ms (log scale)"
	lat.X.Min, lat.X.Max = 0, maxOffered*1.05
	lat.Add(plotter.NewGrid())
	l99, s99, err := linePoints(p99, color.RGBA{R: 200, A: 255})
	if err != nil {
		return nil, nil, err
	}
	l50, s50, err := linePoints(p50, color.RGBA{G: 140, A: 255})
	if err != nil {
		return nil, nil, err
	}
	lat.Add(l99, s99, l50, s50)
	lat.Legend.Add("p99", l99, s99)
	lat.Legend.Add("p50", l50, s50)
	lat.Legend.Top, lat.Legend.Left = true, true
	for _, a := range []*plot.Axis{&thr.X, &thr.Y, &lat.X} {
		a.Tick.Marker = linearTicks{}
	}
	// Latencies span milliseconds to seconds once a load is past the knee: a log scale keeps
	// the low ones readable.
	lat.Y.Scale = plot.LogScale{}
	lat.Y.Tick.Marker = plot.LogTicks{Prec: -1}
	lat.Y.Min = 0.5
	lat.Y.Max = max(lat.Y.Max, 10)
	return thr, lat, nil
}

// linearTicks label about five round values (1, 2 or 5 times a power of ten apart) with no
// decimals, and put four unlabelled ticks between them.
type linearTicks struct{}

func (linearTicks) Ticks(lo, hi float64) []plot.Tick {
	if hi <= lo {
		return nil
	}
	step := math.Pow(10, math.Floor(math.Log10((hi-lo)/5)))
	for _, m := range []float64{1, 2, 5, 10} {
		if (hi-lo)/(step*m) <= 6 {
			step *= m
			break
		}
	}
	var ticks []plot.Tick
	minor := step / 5
	for i := math.Ceil(lo / minor); i*minor <= hi && len(ticks) < 200; i++ {
		v := i * minor
		t := plot.Tick{Value: v}
		if r := math.Mod(math.Abs(v)+minor/2, step); r < minor {
			t.Label = strconv.FormatFloat(v, 'f', 0, 64)
		}
		ticks = append(ticks, t)
	}
	return ticks
}

// sortByX orders the points of each series by offered load (the loads may be given in any order).
func sortByX(series ...plotter.XYs) {
	for _, s := range series {
		slices.SortFunc(s, func(a, b plotter.XY) int { return cmp.Compare(a.X, b.X) })
	}
}
