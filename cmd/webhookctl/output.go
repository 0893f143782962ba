package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/webhookd/webhookd/control/controlapi"
)

// Tables are text/tabwriter's, as kubectl and docker print theirs: aligned columns without
// borders, which read well in a terminal and are easy to grep and cut. Nothing here needs
// more (no wrapping, no colours), so no table library is pulled in.
func newTable(w io.Writer, header ...string) *tabwriter.Writer {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	return tw
}

func newTableNoHeader(w io.Writer) *tabwriter.Writer {
	return tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
}

func row(tw *tabwriter.Writer, cells ...string) {
	for i, c := range cells {
		// A tab or a line break in a value would break the columns.
		c = strings.NewReplacer("\t", " ", "\n", " ", "\r", " ").Replace(c)
		if c == "" {
			c = "-"
		}
		cells[i] = c
	}
	fmt.Fprintln(tw, strings.Join(cells, "\t"))
}

// writeJSON prints v indented.
func writeJSON(w io.Writer, v any) error {
	var b []byte
	var err error
	if raw, ok := v.(json.RawMessage); ok {
		var buf bytes.Buffer
		if err = json.Indent(&buf, raw, "", "  "); err != nil {
			return fmt.Errorf("indent JSON: %w", err)
		}
		b = buf.Bytes()
	} else if b, err = json.MarshalIndent(v, "", "  "); err != nil {
		return fmt.Errorf("encode JSON: %w", err)
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}

// when shows a time in UTC, to the second.
func when(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04:05Z")
}

// clip shortens a cell.
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// isTerminal reports whether f is a character device (a terminal), without a dependency.
func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// progressBar draws bulk work's progress on stderr, on one line redrawn in place.
type progressBar struct {
	w     io.Writer
	label string
	mu    sync.Mutex
	drawn bool
	start time.Time
}

const barWidth = 30

// newProgress returns a bar, or nil when none is to be shown: stderr is not a terminal and
// --progress was not given.
func (a *app) newProgress(label string) *progressBar {
	show := a.Progress
	if !show {
		if f, ok := a.stderr.(*os.File); ok && isTerminal(f) {
			show = true
		}
	}
	if !show {
		return nil
	}
	return &progressBar{w: a.stderr, label: label, start: time.Now()}
}

// update is the control client's progress callback.
func (p *progressBar) update(pr controlapi.Progress) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	total := max(pr.Total, pr.Done)
	filled := barWidth
	pct := 100
	if total > 0 {
		filled = int(int64(barWidth) * pr.Done / total)
		pct = int(100 * pr.Done / total)
	}
	bar := strings.Repeat("=", filled) + strings.Repeat(" ", barWidth-filled)
	if filled > 0 && filled < barWidth {
		bar = strings.Repeat("=", filled-1) + ">" + strings.Repeat(" ", barWidth-filled)
	}
	rate := ""
	if el := time.Since(p.start).Seconds(); el >= 1 && pr.Done > 0 {
		rate = fmt.Sprintf("  %.0f/s", float64(pr.Done)/el)
	}
	fmt.Fprintf(p.w, "\r%s [%s] %d/%d %3d%%%s\033[K", p.label, bar, pr.Done, total, pct, rate)
	p.drawn = true
}

// finish draws the bar full with the final reply's count, then ends its line.
func (p *progressBar) finish(n int) {
	if p == nil {
		return
	}
	p.mu.Lock()
	drawn := p.drawn
	p.mu.Unlock()
	if drawn {
		p.update(controlapi.Progress{Done: int64(n), Total: int64(n)})
	}
	p.done()
}

// done ends the bar's line.
func (p *progressBar) done() {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.drawn {
		fmt.Fprintln(p.w)
	}
}

// callback returns the progress callback to pass to a call: always non-nil, so that bulk
// commands ask for progress messages (they keep the call alive while webhookd works).
func (p *progressBar) callback() func(controlapi.Progress) {
	return func(pr controlapi.Progress) { p.update(pr) }
}
