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

func sampleNewPhases(rep *Report) *Report {
	rep.Isolation = &Isolation{
		Events: 20000, OtherEvents: 2000, HangTimeoutSeconds: 2, Target: isolationTarget,
		Alone:      Phase{Name: "isolation-alone", Events: 20000, EventsPerSec: 3000, Receipt: Latency{P99: 5000}},
		WithOthers: Phase{Name: "isolation-mixed", Events: 20000, EventsPerSec: 2850, Receipt: Latency{P99: 5400}},
		Ratio:      0.95, FailingAttempts: 4100, HangingAttempts: 160,
	}
	rep.Definitions = []DefinitionsRun{
		{
			Definitions: 1000, DeliveryConsumers: 1000, ReadySeconds: 4.96, StartCPUSeconds: 3.6, IdleSeconds: 15, IdleCPUPercent: 6.4,
			RSSMiB: 158, IdlePeakRSSMiB: 170, PeakRSSMiB: 239, StopSeconds: 11.1, TrickleEvents: 1000, TrickleReceived: 1000,
			Trickle: &Phase{Name: "definitions1000-trickle", Load: "100", EventsPerSec: 97, Receipt: Latency{P50: 2.8, P99: 26.9, Max: 65},
				Webhookd: ProcessUse{CPUCores: 0.5}},
			ConfigChanges: []ConfigChange{{Change: "new rule, existing definition", ApplyMS: 35, SeenMS: 77, Probes: 9}, {Change: "new definition and rule", ApplyMS: 17, SeenMS: -1, Probes: 3000}},
			Problems:      []string{"new definition and rule: no probe delivered within 30s of the reply"},
			LogWarnings:   []logCount{{Level: "ERROR", Msg: "bind delivery consumer", Count: 5, Example: `{"msg":"bind delivery consumer"}`}},
		},
		{Definitions: 5000, Error: "webhookd not ready within 5m0s", LogTail: []string{"line one", "line two"}},
	}
	return rep
}

func TestJSONReportNewPhases(t *testing.T) {
	var buf bytes.Buffer
	if err := writeReport(&buf, sampleNewPhases(sampleReport()), "json"); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Isolation   map[string]any   `json:"isolation"`
		Definitions []map[string]any `json:"definitions"`
	}
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatalf("%v\n%s", err, buf.Bytes())
	}
	for _, k := range []string{"events", "other_events", "hang_timeout_seconds", "alone", "with_others", "ratio", "target", "failing_attempts", "hanging_attempts"} {
		if _, ok := got.Isolation[k]; !ok {
			t.Errorf("isolation has no %s: %v", k, got.Isolation)
		}
	}
	if got.Isolation["ratio"] != 0.95 {
		t.Errorf("isolation ratio %v", got.Isolation["ratio"])
	}
	if len(got.Definitions) != 2 {
		t.Fatalf("definitions: %v", got.Definitions)
	}
	for _, k := range []string{"definitions", "delivery_consumers", "ready_seconds", "start_cpu_seconds", "idle_seconds", "idle_cpu_percent",
		"idle_other_cores", "rss_mib", "idle_peak_rss_mib", "trickle", "trickle_events", "trickle_received", "config_changes", "peak_rss_mib",
		"stop_seconds", "problems", "log_warnings"} {
		if _, ok := got.Definitions[0][k]; !ok {
			t.Errorf("definitions[0] has no %s", k)
		}
	}
	if got.Definitions[1]["error"] == nil || got.Definitions[1]["log_tail"] == nil {
		t.Errorf("definitions[1]: %v", got.Definitions[1])
	}
	// Without the new phases the report has no trace of them.
	buf.Reset()
	if err := writeReport(&buf, sampleReport(), "json"); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(buf.Bytes(), []byte(`"isolation"`)) || bytes.Contains(buf.Bytes(), []byte(`"definitions"`)) {
		t.Errorf("report without the new phases mentions them:\n%s", buf.Bytes())
	}
}

func TestTextReportNewPhases(t *testing.T) {
	for _, main := range []bool{true, false} {
		rep := sampleNewPhases(sampleReport())
		if !main {
			rep.Burst, rep.Baseline, rep.Steady, rep.Ratio = Phase{}, Baseline{}, nil, 0
		}
		text := formatText(rep)
		for _, want := range []string{
			"isolation     0.950  healthy definition's events/s beside a failing and a hanging one ÷ alone (target >= 0.90: met)",
			"alone 3000 events/s (20000 events, receipt p99 5000 ms); beside them 2850 events/s",
			"2000 events each; meanwhile 4100 answers of 503 and 160 requests held until the 2s timeout",
			"targets: ready <= 10 s, idle CPU <= 5% of a core, RSS <= 250 MiB, a config change seen within 2 s",
			"problem: new definition and rule: no probe delivered within 30s of the reply",
			`webhookd logged ERROR "bind delivery consumer" 5 times`,
			"5000 definitions:\n  ended early: webhookd not ready within 5m0s",
			"    line two",
		} {
			if !strings.Contains(text, want) {
				t.Errorf("main %v: text report lacks %q:\n%s", main, want, text)
			}
		}
		if strings.Contains(text, "baseline") != main {
			t.Errorf("main %v: the burst's part is there: %v\n%s", main, !main, text)
		}
		row := ""
		for _, line := range strings.Split(text, "\n") {
			if f := strings.Fields(line); len(f) > 0 && f[0] == "1000" && len(f) == 15 {
				row = line
			}
		}
		if f := strings.Fields(row); len(f) != 15 || f[1] != "1000" || f[2] != "4.96" || f[4] != "6.4" || f[6] != "239" ||
			f[8] != "0.50" || f[9] != "2.8" || f[10] != "27" || f[12] != "77/never" || f[14] != "missed:idle-CPU,config-change" {
			t.Errorf("main %v: the 1000 definitions row is %q:\n%s", main, row, text)
		}
	}
}
