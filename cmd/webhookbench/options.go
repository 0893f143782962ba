package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
)

// Options are the benchmark's settings, filled from flags.
type Options struct {
	Events         int           // events published in the burst
	Warmup         int           // events published (and waited for) before the burst, not measured
	BodyBytes      int           // size of each event body
	Concurrency    int           // the baseline client's concurrent requests
	BaselineMin    time.Duration // the baseline repeats the bodies until this has passed
	Loads          []Load        // offered loads of the steady-load mode; empty: no steady mode
	SteadyDuration time.Duration // how long each offered load is published
	Output         string        // "text" or "json"
	Plot           string        // PNG file of throughput and p99 against offered load; empty: none
	Repo           string        // root of the webhookd repository; empty: found from the working directory
	Webhookd       string        // a webhookd binary to use instead of building one
	Timeout        time.Duration // bound on the whole run
	Verify         int           // deliveries per phase whose signature the receiver verifies
	Keep           bool          // keep the temporary directory (webhookd's log, data) for inspection

	Main            bool          // run the burst, the baseline and the steady loads
	Isolation       bool          // run the no-starvation phase
	IsolationEvents int           // healthy events in each part of the isolation phase
	HangTimeout     time.Duration // the hanging definition's timeout
	Definitions     DefinitionsSettings

	self string // this executable, re-executed as the receiver
}

// Load is one offered load: Rate events per second, or Percent of the burst's measured peak.
type Load struct {
	Rate    float64
	Percent float64
}

func (l Load) String() string {
	if l.Percent > 0 {
		return strconv.FormatFloat(l.Percent, 'f', -1, 64) + "%"
	}
	return strconv.FormatFloat(l.Rate, 'f', -1, 64)
}

// rate is the load in events per second given the burst's peak.
func (l Load) rate(peak float64) float64 {
	if l.Percent > 0 {
		return peak * l.Percent / 100
	}
	return l.Rate
}

// Bounds on what flags may ask for, so a typo cannot start an unbounded run.
const (
	maxEvents      = 1_000_000
	maxConcurrency = 1024
	maxBodyBytes   = 256 << 10
)

func parseFlags(args []string, stderr io.Writer) (*Options, error) {
	o := &Options{}
	fs := flag.NewFlagSet("webhookbench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.IntVar(&o.Events, "events", 20000, "events published as a burst")
	fs.IntVar(&o.Warmup, "warmup", 100, "events delivered before the burst to warm the pipeline up (not measured)")
	fs.IntVar(&o.BodyBytes, "body-bytes", 600, "size of each event body in bytes")
	fs.IntVar(&o.Concurrency, "baseline-concurrency", 64, "concurrent requests of the plain Go client baseline")
	fs.DurationVar(&o.BaselineMin, "baseline-min", 3*time.Second, "the baseline posts the bodies again until this has passed (at most 100 rounds)")
	loads := fs.String("steady", "1000,50%,80%", "offered loads of the steady-load mode, comma-separated: events/s, or a percentage of the burst's peak; empty: no steady mode")
	fs.DurationVar(&o.SteadyDuration, "steady-duration", 10*time.Second, "how long each offered load is published")
	fs.StringVar(&o.Output, "o", "text", "output: text or json")
	fs.StringVar(&o.Plot, "plot", "", "write a PNG plot of throughput and p99 against offered load to this file")
	fs.StringVar(&o.Repo, "repo", "", "root of the webhookd repository (default: found from the working directory)")
	fs.StringVar(&o.Webhookd, "webhookd", "", "use this webhookd binary instead of building ./cmd/webhookd")
	fs.DurationVar(&o.Timeout, "timeout", 15*time.Minute, "bound on the whole run")
	fs.IntVar(&o.Verify, "verify", 1000, "deliveries per phase whose signature the receiver verifies after the run (0: none)")
	fs.BoolVar(&o.Keep, "keep", false, "keep the temporary directory (webhookd's log and data) and print its path")
	fs.BoolVar(&o.Main, "main", true, "run the burst, the baseline and the steady loads (-main=false: only -isolation and -definitions)")
	fs.BoolVar(&o.Isolation, "isolation", true, "run the no-starvation phase: the healthy definition alone, then beside one answering 503 and one hanging")
	fs.IntVar(&o.IsolationEvents, "isolation-events", 20000, "healthy events in each part of the isolation phase (the other two get 10% as many each)")
	fs.DurationVar(&o.HangTimeout, "hang-timeout", 2*time.Second, "timeout of the isolation phase's hanging definition")
	counts := fs.String("definitions", defaultDefinitions, "definition counts, comma-separated: a fresh webhookd with that many definitions (a rule each) for each; empty: none")
	fs.DurationVar(&o.Definitions.ReadyTimeout, "definitions-ready-timeout", 5*time.Minute, "how long a webhookd with many definitions may take to be ready")
	fs.DurationVar(&o.Definitions.IdleDuration, "idle-duration", 15*time.Second, "the idle window of the definitions phase (webhookd checks its consumers every 15 s)")
	fs.Float64Var(&o.Definitions.TrickleRate, "trickle-rate", 100, "events/s of the definitions phase's trickle, spread over the definitions")
	fs.DurationVar(&o.Definitions.TrickleDuration, "trickle-duration", 10*time.Second, "how long the trickle is published")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: webhookbench [flags]\n\nBenchmarks webhookd standalone at its defaults against a plain Go HTTP client.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	fail := func(format string, a ...any) (*Options, error) {
		err := fmt.Errorf(format, a...)
		fmt.Fprintln(stderr, "webhookbench:", err)
		fs.Usage()
		return nil, err
	}
	if fs.NArg() > 0 {
		return fail("unexpected arguments %q", fs.Args())
	}
	var err error
	if o.Loads, err = parseLoads(*loads); err != nil {
		return fail("-steady: %w", err)
	}
	if o.Definitions.Counts, err = parseCounts(*counts); err != nil {
		return fail("-definitions: %w", err)
	}
	switch {
	case o.Events < 1 || o.Events > maxEvents:
		return fail("-events %d: want 1 to %d", o.Events, maxEvents)
	case o.Warmup < 0 || o.Warmup > maxEvents:
		return fail("-warmup %d: want 0 to %d", o.Warmup, maxEvents)
	case o.BodyBytes < 200 || o.BodyBytes > maxBodyBytes:
		return fail("-body-bytes %d: want 200 to %d", o.BodyBytes, maxBodyBytes)
	case o.Concurrency < 1 || o.Concurrency > maxConcurrency:
		return fail("-baseline-concurrency %d: want 1 to %d", o.Concurrency, maxConcurrency)
	case o.BaselineMin < 0 || o.BaselineMin > 10*time.Minute:
		return fail("-baseline-min %s: want 0 to 10m", o.BaselineMin)
	case o.SteadyDuration <= 0 || o.SteadyDuration > 10*time.Minute:
		return fail("-steady-duration %s: want more than 0 and at most 10m", o.SteadyDuration)
	case o.Output != "text" && o.Output != "json":
		return fail("-o %q: want text or json", o.Output)
	case o.Timeout <= 0:
		return fail("-timeout %s: want more than 0", o.Timeout)
	case o.Verify < 0:
		return fail("-verify %d: want 0 or more", o.Verify)
	case o.IsolationEvents < 10 || o.IsolationEvents > maxEvents:
		return fail("-isolation-events %d: want 10 to %d", o.IsolationEvents, maxEvents)
	case o.HangTimeout < 100*time.Millisecond || o.HangTimeout > time.Minute:
		return fail("-hang-timeout %s: want 100ms to 1m", o.HangTimeout)
	case o.Definitions.ReadyTimeout <= 0:
		return fail("-definitions-ready-timeout %s: want more than 0", o.Definitions.ReadyTimeout)
	case o.Definitions.IdleDuration <= 0 || o.Definitions.IdleDuration > 10*time.Minute:
		return fail("-idle-duration %s: want more than 0 and at most 10m", o.Definitions.IdleDuration)
	case o.Definitions.TrickleRate <= 0 || o.Definitions.TrickleRate > 10000:
		return fail("-trickle-rate %g: want more than 0 and at most 10000", o.Definitions.TrickleRate)
	case o.Definitions.TrickleDuration <= 0 || o.Definitions.TrickleDuration > 10*time.Minute:
		return fail("-trickle-duration %s: want more than 0 and at most 10m", o.Definitions.TrickleDuration)
	case !o.Main && !o.Isolation && len(o.Definitions.Counts) == 0:
		return fail("-main=false, -isolation=false and no -definitions: nothing to run")
	}
	if o.self, err = os.Executable(); err != nil {
		return fail("find this executable to run the receiver: %w", err)
	}
	return o, nil
}

// parseLoads reads "1000,50%,80%".
func parseLoads(s string) ([]Load, error) {
	var loads []Load
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		pct, isPct := strings.CutSuffix(f, "%")
		v, err := strconv.ParseFloat(pct, 64)
		switch {
		case err != nil:
			return nil, fmt.Errorf("load %q: %w", f, err)
		case isPct && (v <= 0 || v > 200):
			return nil, fmt.Errorf("load %q: a percentage of the peak must be more than 0 and at most 200", f)
		case !isPct && (v <= 0 || v > 1e6):
			return nil, fmt.Errorf("load %q: events/s must be more than 0 and at most 1000000", f)
		case isPct:
			loads = append(loads, Load{Percent: v})
		default:
			loads = append(loads, Load{Rate: v})
		}
	}
	if len(loads) > 20 {
		return nil, errors.New("at most 20 loads")
	}
	return loads, nil
}

// defaultDefinitions is -definitions by default.
const defaultDefinitions = "1000"

// parseCounts reads "1000,5000": definition counts, each 1 to maxDefinitions.
func parseCounts(s string) ([]int, error) {
	var counts []int
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		switch {
		case err != nil:
			return nil, fmt.Errorf("count %q: %w", f, err)
		case n < 1 || n > maxDefinitions:
			return nil, fmt.Errorf("count %q: want 1 to %d definitions", f, maxDefinitions)
		}
		counts = append(counts, n)
	}
	if len(counts) > maxDefinitionRuns {
		return nil, fmt.Errorf("at most %d counts", maxDefinitionRuns)
	}
	return counts, nil
}
