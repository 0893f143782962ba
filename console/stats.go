package console

import (
	"context"
	"fmt"
	"time"

	"github.com/webhookd/webhookd/storage"
)

// The chart's windows when the search names no times: its span and the width of one bar.
type chartRange struct {
	Label  string
	Span   time.Duration
	Bucket time.Duration
}

var chartRanges = map[string]chartRange{
	"1h":  {"last hour", time.Hour, 5 * time.Minute},
	"24h": {"last 24 hours", 24 * time.Hour, time.Hour},
	"7d":  {"last 7 days", 7 * 24 * time.Hour, 6 * time.Hour},
	"30d": {"last 30 days", 30 * 24 * time.Hour, 24 * time.Hour},
}

var chartRangeOrder = []string{"1h", "24h", "7d", "30d"}

const defaultRange = "24h"

// maxBuckets bounds the bars of a chart over the search's own times.
const maxBuckets = 24

// statsBudget bounds the time the counts of one page may take: the page is shown without them
// rather than late.
const statsBudget = 3 * time.Second

// stats are the summary page's counts by state for the search, and its chart.
type stats struct {
	Successful, Rejected int64
	Chart                chart
}

func (s *stats) Total() int64 { return s.Successful + s.Rejected }

// chart is requests over time by state, as bars a template draws in SVG.
type chart struct {
	Title      string // what the chart shows, also its accessible name
	Bars       []bar
	Max        int64
	FromLabel  string
	ToLabel    string
	Successful int64
	Rejected   int64
}

// Geometry of the chart's SVG, in its viewBox units.
const (
	chartWidth  = 720.0
	chartHeight = 120.0
	chartTop    = 8.0
)

type bar struct {
	From, To   time.Time
	Successful int64
	Rejected   int64
	// Geometry in the SVG's coordinates: x and width; the successful part sits on the axis,
	// the rejected part on top of it.
	X, W       float64
	OkY, OkH   float64
	BadY, BadH float64
	Href       string // the search narrowed to this bar's time
}

func (b bar) Label() string {
	return fmt.Sprintf("%s – %s: %d successful, %d rejected", fmtTime(b.From), fmtTime(b.To), b.Successful, b.Rejected)
}

// counter counts within the page's budget; after the first failure it counts no more.
type counter struct {
	ctx   context.Context
	store Store
	err   error
}

func (c *counter) count(f storage.Filter, state string) int64 {
	if c.err != nil {
		return 0
	}
	if f.State != "" && f.State != state {
		return 0 // the search asks for the other state
	}
	f.State = state
	n, err := c.store.CountRequests(c.ctx, f)
	if err != nil {
		c.err = err
	}
	return n
}

// computeStats counts the search's requests by state and draws its chart: two counts for the
// totals and two for each bar, at most 2 + 2×30 store counts, each an indexed count, all within
// statsBudget.
func computeStats(ctx context.Context, st Store, form filterForm, f storage.Filter, now time.Time) (*stats, error) {
	ctx, cancel := context.WithTimeout(ctx, statsBudget)
	defer cancel()
	c := &counter{ctx: ctx, store: st}
	s := &stats{Successful: c.count(f, storage.StateSuccessful), Rejected: c.count(f, storage.StateRejected)}

	from, to, bucket, title := chartWindow(form, f, now)
	s.Chart.Title = title
	s.Chart.FromLabel, s.Chart.ToLabel = fmtTime(from), fmtTime(to)
	for t := from; t.Before(to); t = t.Add(bucket) {
		end := t.Add(bucket)
		if end.After(to) {
			end = to
		}
		bf := f
		bf.CreatedFrom, bf.CreatedTo = t, end
		b := bar{From: t, To: end, Successful: c.count(bf, storage.StateSuccessful), Rejected: c.count(bf, storage.StateRejected)}
		narrowed := form
		narrowed.CreatedFrom, narrowed.CreatedTo = t.UTC().Format(time.RFC3339), end.UTC().Format(time.RFC3339)
		b.Href = narrowed.url("")
		s.Chart.Bars = append(s.Chart.Bars, b)
		s.Chart.Max = max(s.Chart.Max, b.Successful+b.Rejected)
		s.Chart.Successful += b.Successful
		s.Chart.Rejected += b.Rejected
	}
	if c.err != nil {
		return nil, c.err
	}
	layout(&s.Chart)
	return s, nil
}

// chartWindow is the chart's window: the search's own times when it names them, else the
// chosen range up to now (or up to the search's end), cut into bars.
func chartWindow(form filterForm, f storage.Filter, now time.Time) (from, to time.Time, bucket time.Duration, title string) {
	rng := chartRanges[form.Range]
	to = now.UTC()
	if !f.CreatedTo.IsZero() {
		to = f.CreatedTo.UTC()
	}
	if !f.CreatedFrom.IsZero() {
		from = f.CreatedFrom.UTC()
		if !from.Before(to) {
			from = to.Add(-rng.Span)
		}
		bucket = max(time.Second, (to.Sub(from)+maxBuckets-1)/maxBuckets)
		return from, to, bucket, "Webhook requests over the searched time, by state"
	}
	// Bars on round times (whole hours, days in UTC), the last one ending after now.
	to = to.Truncate(rng.Bucket).Add(rng.Bucket)
	from = to.Add(-rng.Span)
	return from, to, rng.Bucket, "Webhook requests in the " + rng.Label + ", by state"
}

// layout places the bars in the SVG's viewBox.
func layout(c *chart) {
	n := len(c.Bars)
	if n == 0 {
		return
	}
	slot := chartWidth / float64(n)
	gap := min(4.0, slot*0.2)
	scale := 0.0
	if c.Max > 0 {
		scale = (chartHeight - chartTop) / float64(c.Max)
	}
	for i := range c.Bars {
		b := &c.Bars[i]
		b.X, b.W = float64(i)*slot+gap/2, slot-gap
		b.OkH = float64(b.Successful) * scale
		b.BadH = float64(b.Rejected) * scale
		b.OkY = chartHeight - b.OkH
		b.BadY = b.OkY - b.BadH
	}
}
