package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestEndToEnd runs the whole benchmark small: it builds webhookd, so it is left out of -short.
func TestEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs webhookd; skipped with -short")
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	plot := filepath.Join(t.TempDir(), "plot.png")
	opts := &Options{
		Events: 300, Warmup: 20, BodyBytes: 600, Concurrency: 8, BaselineMin: 200 * time.Millisecond,
		Loads: []Load{{Rate: 200}, {Percent: 20}}, SteadyDuration: time.Second,
		Output: "json", Plot: plot, Timeout: 5 * time.Minute, Verify: 50, self: self,
	}
	var progress bytes.Buffer
	rep, err := Run(t.Context(), opts, &progress)
	if err != nil {
		t.Fatalf("%v\nprogress:\n%s", err, progress.String())
	}
	b := rep.Burst
	if b.Events != 300 || b.Receipt.N != 300 || b.Stored.N != 300 || b.EventsPerSec <= 0 {
		t.Errorf("burst %+v", b)
	}
	if b.DuplicateRequests != 0 || b.RejectedRequests != 0 {
		t.Errorf("burst: %d duplicate and %d rejected requests, want none", b.DuplicateRequests, b.RejectedRequests)
	}
	if b.Signatures.Checked != 50 || b.Signatures.Failed != 0 {
		t.Errorf("burst signatures %+v, want 50 verified", b.Signatures)
	}
	if b.Webhookd.CPUSeconds <= 0 || b.Webhookd.PeakRSSMiB <= 0 {
		t.Errorf("webhookd use %+v", b.Webhookd)
	}
	if b.Receipt.P50 > b.Receipt.P99 || b.Receipt.P99 > b.Receipt.Max {
		t.Errorf("receipt percentiles out of order: %+v", b.Receipt)
	}
	if rep.Baseline.Rounds < 1 || rep.Baseline.Requests != 300*rep.Baseline.Rounds || rep.Baseline.ReqPerSec <= 0 || rep.Ratio <= 0 {
		t.Errorf("baseline %+v, ratio %v", rep.Baseline, rep.Ratio)
	}
	if len(rep.Steady) != 2 || rep.Steady[0].Events != 200 || rep.Steady[0].Receipt.N != 200 || rep.Steady[1].Load != "20%" {
		t.Errorf("steady %+v", rep.Steady)
	}
	if _, err := os.Stat(plot); err != nil {
		t.Error(err)
	}
	var buf bytes.Buffer
	if err := writeReport(&buf, rep, "json"); err != nil || !json.Valid(buf.Bytes()) {
		t.Errorf("JSON report: %v\n%s", err, buf.Bytes())
	}
	t.Logf("\n%s", formatText(rep))
}
