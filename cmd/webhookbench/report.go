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
	return sb.String()
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
