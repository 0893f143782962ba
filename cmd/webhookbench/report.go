package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// Report is everything one run measured; -o json prints it as it is.
type Report struct {
	Commit   string   `json:"commit,omitempty"` // of the webhookd built, from git describe
	Config   Config   `json:"config"`
	Machine  Machine  `json:"machine"`
	Burst    Phase    `json:"burst"`
	Baseline Baseline `json:"baseline"`
	Ratio    float64  `json:"ratio"` // burst events/s ÷ baseline req/s
	Steady   []Phase  `json:"steady"`
	Plot     string   `json:"plot,omitempty"`
	// Isolation is the no-starvation phase (-isolation); nil when it did not run.
	Isolation *Isolation `json:"isolation,omitempty"`
	// Definitions has one entry per -definitions count.
	Definitions []DefinitionsRun `json:"definitions,omitempty"`
}

// Config is what was asked for.
type Config struct {
	Events              int     `json:"events"`
	BodyBytes           int     `json:"body_bytes"`       // as asked
	EventBodyBytes      int     `json:"event_body_bytes"` // mean, as published
	BaselineConcurrency int     `json:"baseline_concurrency"`
	SteadySeconds       float64 `json:"steady_seconds"`
	Definition          string  `json:"definition"`
}

// Machine is where it ran, and how busy the machine was.
type Machine struct {
	CPUs      int        `json:"cpus"`
	GoVersion string     `json:"go_version"`
	LoadStart [3]float64 `json:"load_average_start"`
	LoadEnd   [3]float64 `json:"load_average_end"`
}

func writeReport(w io.Writer, rep *Report, format string) error {
	if format == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return fmt.Errorf("write the JSON report: %w", err)
		}
		return nil
	}
	if _, err := io.WriteString(w, formatText(rep)); err != nil {
		return fmt.Errorf("write the report: %w", err)
	}
	return nil
}

// formatText is the report for people.
func formatText(rep *Report) string {
	var sb strings.Builder
	commit := rep.Commit
	if commit == "" {
		commit = "(given binary)"
	}
	if rep.Burst.Events == 0 { // -main=false
		fmt.Fprintf(&sb, "webhookd %s, standalone; %d CPUs, %s; load average %s at start, %s at end\n", commit,
			rep.Machine.CPUs, rep.Machine.GoVersion, loadString(rep.Machine.LoadStart), loadString(rep.Machine.LoadEnd))
		formatIsolation(&sb, rep.Isolation)
		formatDefinitions(&sb, rep.Definitions)
		return sb.String()
	}
	fmt.Fprintf(&sb, "webhookd %s, standalone, one definition (%s)\n", commit, rep.Config.Definition)
	fmt.Fprintf(&sb, "%d events of %d bytes (webhook bodies %d bytes); %d CPUs, %s; load average %s at start, %s at end\n\n",
		rep.Config.Events, rep.Config.EventBodyBytes, rep.Burst.DeliveredBodyBytes, rep.Machine.CPUs, rep.Machine.GoVersion,
		loadString(rep.Machine.LoadStart), loadString(rep.Machine.LoadEnd))

	b := rep.Burst
	fmt.Fprintf(&sb, "burst      %8.0f events/s  (%d events in %.2f s, published in %.2f s)\n", b.EventsPerSec, b.Events, b.Seconds, b.PublishSeconds)
	bl := rep.Baseline
	fmt.Fprintf(&sb, "baseline   %8.0f req/s     (plain Go client, %d concurrent, same receiver, same bodies: %d requests in %.2f s)\n",
		bl.ReqPerSec, bl.Concurrency, bl.Requests, bl.Seconds)
	fmt.Fprintf(&sb, "ratio      %8.3f\n", rep.Ratio)
	fmt.Fprintf(&sb, "webhookd   %8.1f CPU s (%.2f ms per event, %.2f cores), peak RSS %.0f MiB\n",
		b.Webhookd.CPUSeconds, b.Webhookd.CPUPerEvent, b.Webhookd.CPUCores, b.Webhookd.PeakRSSMiB)
	fmt.Fprintf(&sb, "machine    burst: %.2f cores used by the receiver, %.2f by webhookbench, %.2f by other processes\n",
		b.Receiver.CPUCores, b.Publisher.CPUCores, b.OtherCores)
	fmt.Fprintf(&sb, "           baseline: %.2f by the receiver, %.2f by the client, %.2f by other processes\n",
		bl.ReceiverCores, bl.ClientCores, bl.OtherCores)
	fmt.Fprintf(&sb, "checks     %d duplicate deliveries, %d duplicate requests, %d rejected, %d of %d signatures verified\n\n",
		b.DuplicateDeliveries, b.DuplicateRequests, b.RejectedRequests, b.Signatures.Checked-b.Signatures.Failed, b.Signatures.Checked)

	tw := tabwriter.NewWriter(&sb, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "load\toffered/s\tachieved/s\treceipt p50\tp90\tp99\tmax\tstored p50\tp90\tp99\tmax\tCPU cores\tpeak RSS MiB\tothers' cores\tmax gap\t")
	row := func(load string, offered string, p Phase) {
		fmt.Fprintf(tw, "%s\t%s\t%.0f\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%.2f\t%.0f\t%.2f\t%s\t\n", load, offered, p.EventsPerSec,
			ms(p.Receipt.P50), ms(p.Receipt.P90), ms(p.Receipt.P99), ms(p.Receipt.Max),
			ms(p.Stored.P50), ms(p.Stored.P90), ms(p.Stored.P99), ms(p.Stored.Max), p.Webhookd.CPUCores, p.Webhookd.PeakRSSMiB, p.OtherCores, ms(p.MaxGapMS))
	}
	row("burst", "-", b)
	for _, p := range rep.Steady {
		row(p.Load, fmt.Sprintf("%.0f", p.OfferedPerSec), p)
	}
	tw.Flush()
	sb.WriteString("latencies in ms: publish to receipt, and publish to the stored request's log.created_at;\n" +
		"CPU cores: webhookd's; others' cores: every process on the machine but webhookd, the receiver and webhookbench;\n" +
		"max gap: the longest time in ms the receiver got no delivery of that load\n")
	if rep.Plot != "" {
		fmt.Fprintf(&sb, "plot: %s\n", rep.Plot)
	}
	formatIsolation(&sb, rep.Isolation)
	formatDefinitions(&sb, rep.Definitions)
	return sb.String()
}

// formatIsolation is the no-starvation phase's part of the text report.
func formatIsolation(sb *strings.Builder, iso *Isolation) {
	if iso == nil {
		return
	}
	verdict := "met"
	if iso.Ratio < iso.Target {
		verdict = "NOT met"
	}
	a, w := iso.Alone, iso.WithOthers
	fmt.Fprintf(sb, "\nisolation  %8.3f  healthy definition's events/s beside a failing and a hanging one ÷ alone (target >= %.2f: %s)\n",
		iso.Ratio, iso.Target, verdict)
	fmt.Fprintf(sb, "           alone %.0f events/s (%d events, receipt p99 %s ms); beside them %.0f events/s (receipt p99 %s ms, webhookd %.2f cores)\n",
		a.EventsPerSec, a.Events, ms(a.Receipt.P99), w.EventsPerSec, ms(w.Receipt.P99), w.Webhookd.CPUCores)
	fmt.Fprintf(sb, "           the others: %d events each; meanwhile %d answers of 503 and %d requests held until the %gs timeout\n",
		iso.OtherEvents, iso.FailingAttempts, iso.HangingAttempts, iso.HangTimeoutSeconds)
}

// missedTargets names the definitions phase's targets a run missed; empty: every one was met.
// A run that ended early misses "run failed", and the targets it measured before that.
func missedTargets(r DefinitionsRun) []string {
	var missed []string
	if r.Error != "" {
		missed = append(missed, "run failed")
	}
	// check adds name when the figure was measured and misses, or was not measured in a run
	// that did not fail.
	check := func(name string, measured, ok bool) {
		if measured && !ok || !measured && r.Error == "" {
			missed = append(missed, name)
		}
	}
	check("not every definition delivers", r.TrickleEvents > 0, r.Trickle != nil)
	check("ready", r.ReadySeconds > 0, r.ReadySeconds <= targetReadySeconds)
	check("idle CPU", r.IdleSeconds > 0, r.IdleCPUPercent <= targetIdleCPUPercent)
	check("RSS", r.PeakRSSMiB > 0, r.PeakRSSMiB <= targetRSSMiB)
	seen := len(r.ConfigChanges) > 0
	for _, c := range r.ConfigChanges {
		seen = seen && c.SeenMS >= 0 && c.SeenMS <= targetSeenSeconds*1000
	}
	check("config change", len(r.ConfigChanges) > 0, seen)
	return missed
}

// formatDefinitions is the definitions phase's part of the text report.
func formatDefinitions(sb *strings.Builder, runs []DefinitionsRun) {
	if len(runs) == 0 {
		return
	}
	sb.WriteString("\n")
	tw := tabwriter.NewWriter(sb, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "definitions\tconsumers\tready s\tstart CPU s\tidle CPU %\tRSS MiB\tpeak RSS MiB\ttrickle/s\tcores\tp50\tp99\tmax\tchange seen ms\tstop s\ttargets\t")
	for _, r := range runs {
		trickle, cores, p50, p99, pmax := "-", "-", "-", "-", "-"
		if t := r.Trickle; t != nil {
			trickle, cores = fmt.Sprintf("%.0f", t.EventsPerSec), fmt.Sprintf("%.2f", t.Webhookd.CPUCores)
			p50, p99, pmax = ms(t.Receipt.P50), ms(t.Receipt.P99), ms(t.Receipt.Max)
		} else if r.TrickleEvents > 0 {
			trickle = fmt.Sprintf("%d/%d-received", r.TrickleReceived, r.TrickleEvents)
		}
		seen := make([]string, 0, len(r.ConfigChanges))
		for _, c := range r.ConfigChanges {
			if c.SeenMS < 0 {
				seen = append(seen, "never")
			} else {
				seen = append(seen, ms(c.SeenMS))
			}
		}
		if len(seen) == 0 {
			seen = append(seen, "-")
		}
		verdict := "met"
		if m := missedTargets(r); len(m) > 0 {
			verdict = "missed:" + strings.ReplaceAll(strings.Join(m, ","), " ", "-")
		}
		fmt.Fprintf(tw, "%d\t%d\t%s\t%.1f\t%.1f\t%.0f\t%.0f\t%s\t%s\t%s\t%s\t%s\t%s\t%.1f\t%s\t\n", r.Definitions, r.DeliveryConsumers, orDash(r.ReadySeconds, "%.2f"),
			r.StartCPUSeconds, r.IdleCPUPercent, r.RSSMiB, r.PeakRSSMiB, trickle, cores, p50, p99, pmax, strings.Join(seen, "/"), r.StopSeconds, verdict)
	}
	tw.Flush()
	fmt.Fprintf(sb, "a fresh webhookd per row, each definition with a rule of its own; consumers: of the deliveries stream once ready;\n"+
		"ready: from the process's start to /readyz 200;\n"+
		"idle CPU: %% of one core over the idle window after ready; RSS: VmRSS then; peak RSS: VmHWM at the end;\n"+
		"cores: webhookd's during the trickle; p50/p99/max: publish to receipt (ms) of the trickle; change seen: config.apply reply to the first delivery under it (ms),\n"+
		"a new rule for an existing definition / a new definition and its rule\n"+
		"targets: ready <= %d s, idle CPU <= %d%% of a core, RSS <= %d MiB, a config change seen within %d s\n",
		targetReadySeconds, targetIdleCPUPercent, targetRSSMiB, targetSeenSeconds)
	for _, r := range runs {
		if r.Error == "" && len(r.Problems) == 0 && len(r.LogWarnings) == 0 {
			continue
		}
		fmt.Fprintf(sb, "\n%d definitions:\n", r.Definitions)
		for _, p := range r.Problems {
			fmt.Fprintf(sb, "  problem: %s\n", p)
		}
		if r.Error != "" {
			fmt.Fprintf(sb, "  ended early: %s\n", r.Error)
		}
		for _, w := range r.LogWarnings {
			fmt.Fprintf(sb, "  webhookd logged %s %q %d times, first: %s\n", w.Level, w.Msg, w.Count, w.Example)
		}
		if len(r.LogTail) > 0 {
			sb.WriteString("  last lines of webhookd's log:\n")
			for _, l := range r.LogTail {
				fmt.Fprintf(sb, "    %s\n", l)
			}
		}
	}
}

func orDash(v float64, format string) string {
	if v == 0 {
		return "-"
	}
	return fmt.Sprintf(format, v)
}

func ms(v float64) string {
	if v < 10 {
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.0f", v)
}

func loadString(la [3]float64) string {
	return fmt.Sprintf("%.2f %.2f %.2f", la[0], la[1], la[2])
}
