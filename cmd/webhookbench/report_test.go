package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func sampleReport() *Report {
	phase := func(name, load string, offered, eps float64) Phase {
		return Phase{
			Name: name, Load: load, OfferedPerSec: offered, Events: 20000, Seconds: 8.3, EventsPerSec: eps,
			Receipt:  Latency{N: 20000, P50: 1.2, P90: 3, P99: 6.5, Max: 19},
			Stored:   Latency{N: 20000, P50: 1.1, P90: 2.9, P99: 6.4, Max: 18},
			Webhookd: ProcessUse{CPUSeconds: 14.2, CPUCores: 1.71, CPUPerEvent: 0.71, PeakRSSMiB: 117},
		}
	}
	return &Report{
		Commit:   "79a69f2",
		Config:   Config{Events: 20000, BodyBytes: 600, EventBodyBytes: 600, BaselineConcurrency: 64, SteadySeconds: 10, Definition: "defaults"},
		Machine:  Machine{CPUs: 2, GoVersion: "go1.26", LoadStart: [3]float64{1, 2, 3}, LoadEnd: [3]float64{2, 2, 3}},
		Burst:    phase("burst", "", 0, 2400),
		Baseline: Baseline{Requests: 60000, Rounds: 3, Concurrency: 64, Seconds: 2.86, ReqPerSec: 21000, ClientCores: 0.9, ReceiverCores: 0.8, OtherCores: 0.1},
		Ratio:    2400.0 / 21000,
		Steady:   []Phase{phase("steady1", "1000", 1000, 998), phase("steady2", "80%", 1920, 1900), phase("steady3", "50%", 1200, 1195)},
	}
}

func TestJSONReportNames(t *testing.T) {
	var buf bytes.Buffer
	if err := writeReport(&buf, sampleReport(), "json"); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Ratio float64 `json:"ratio"`
		Burst struct {
			EventsPerSec float64            `json:"events_per_sec"`
			Receipt      map[string]float64 `json:"publish_to_receipt"`
			Stored       map[string]float64 `json:"publish_to_stored"`
			Webhookd     map[string]float64 `json:"webhookd"`
		} `json:"burst"`
		Baseline map[string]float64 `json:"baseline"`
		Steady   []map[string]any   `json:"steady"`
		Machine  map[string]any     `json:"machine"`
	}
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatalf("%v\n%s", err, buf.Bytes())
	}
	if got.Ratio < 0.114 || got.Ratio > 0.115 || got.Burst.EventsPerSec != 2400 || got.Baseline["req_per_sec"] != 21000 {
		t.Errorf("headline figures: %s", buf.Bytes())
	}
	for _, k := range []string{"n", "p50_ms", "p90_ms", "p99_ms", "max_ms"} {
		if _, ok := got.Burst.Receipt[k]; !ok {
			t.Errorf("publish_to_receipt has no %s", k)
		}
		if _, ok := got.Burst.Stored[k]; !ok {
			t.Errorf("publish_to_stored has no %s", k)
		}
	}
	for _, k := range []string{"cpu_seconds", "cpu_cores", "cpu_ms_per_event", "peak_rss_mib"} {
		if _, ok := got.Burst.Webhookd[k]; !ok {
			t.Errorf("webhookd has no %s", k)
		}
	}
	if len(got.Steady) != 3 || got.Steady[1]["load"] != "80%" || got.Steady[1]["offered_per_sec"] != 1920.0 {
		t.Errorf("steady: %v", got.Steady)
	}
	if _, ok := got.Machine["load_average_start"]; !ok {
		t.Errorf("machine: %v", got.Machine)
	}
}

func TestTextReport(t *testing.T) {
	text := formatText(sampleReport())
	for _, want := range []string{
		"webhookd 79a69f2",
		"burst          2400 events/s",
		"baseline      21000 req/s",
		"ratio         0.114",
		"(0.71 ms per event, 1.71 cores), peak RSS 117 MiB",
		"load average 1.00 2.00 3.00 at start",
		"receipt p50",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("text report lacks %q:\n%s", want, text)
		}
	}
	rows := map[string]bool{}
	for _, line := range strings.Split(text, "\n") {
		if f := strings.Fields(line); len(f) == 15 {
			rows[f[0]] = true
		}
	}
	for _, load := range []string{"burst", "1000", "80%", "50%"} {
		if !rows[load] {
			t.Errorf("no table row of 15 columns for %s:\n%s", load, text)
		}
	}
}

func TestWritePlot(t *testing.T) {
	path := filepath.Join(t.TempDir(), "plot.png")
	if err := writePlot(path, sampleReport()); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")) {
		t.Errorf("%s is not a PNG", path)
	}
}
