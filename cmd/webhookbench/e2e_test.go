package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestEndToEnd runs the whole benchmark small, every phase: it builds webhookd, so it is left
// out of -short.
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
		Main: true, Isolation: true, IsolationEvents: 200, HangTimeout: 500 * time.Millisecond,
		Definitions: DefinitionsSettings{Counts: []int{20}, ReadyTimeout: 2 * time.Minute, IdleDuration: time.Second,
			TrickleRate: 50, TrickleDuration: time.Second},
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
	iso := rep.Isolation
	if iso == nil {
		t.Fatal("no isolation phase")
	}
	if iso.Alone.Events != 200 || iso.WithOthers.Receipt.N != 200 || iso.OtherEvents != 20 || iso.Ratio <= 0 ||
		iso.WithOthers.DuplicateRequests != 0 || iso.WithOthers.RejectedRequests != 0 {
		t.Errorf("isolation %+v", iso)
	}
	if iso.FailingAttempts < 1 || iso.HangingAttempts < 1 {
		t.Errorf("isolation: %d failing and %d hanging attempts, want some of each", iso.FailingAttempts, iso.HangingAttempts)
	}
	if len(rep.Definitions) != 1 {
		t.Fatalf("definitions %+v", rep.Definitions)
	}
	d := rep.Definitions[0]
	if d.Error != "" || len(d.Problems) != 0 || len(d.LogWarnings) != 0 {
		t.Errorf("definitions: error %q, problems %q, warnings %+v", d.Error, d.Problems, d.LogWarnings)
	}
	if d.Definitions != 20 || d.ReadySeconds <= 0 || d.IdleSeconds < 1 || d.RSSMiB <= 0 || d.PeakRSSMiB < d.RSSMiB {
		t.Errorf("definitions %+v", d)
	}
	if d.Trickle == nil || d.Trickle.Receipt.N != 50 || d.TrickleReceived != 50 {
		t.Errorf("definitions trickle %+v (%d received)", d.Trickle, d.TrickleReceived)
	}
	if len(d.ConfigChanges) != 2 || d.ConfigChanges[0].SeenMS < 0 || d.ConfigChanges[1].SeenMS < 0 || d.ConfigChanges[1].Probes < 1 {
		t.Errorf("config changes %+v", d.ConfigChanges)
	}
	var buf bytes.Buffer
	if err := writeReport(&buf, rep, "json"); err != nil || !json.Valid(buf.Bytes()) {
		t.Errorf("JSON report: %v\n%s", err, buf.Bytes())
	}
	t.Logf("\n%s", formatText(rep))
}
