package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"os"
	"runtime"
	"time"

	"github.com/nats-io/nats.go"
)

// Run sets up the receiver and webhookd with one definition, runs the burst, the baseline, each
// offered load and the isolation phase on it, then a fresh webhookd for each definition count
// of the definitions phase, and tears everything down, also when ctx ends. Progress lines go to
// progress.
func Run(ctx context.Context, opts *Options, progress io.Writer) (rep *Report, err error) {
	ctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	say := func(format string, a ...any) { fmt.Fprintf(progress, "webhookbench: "+format+"\n", a...) }

	rep = &Report{
		Config: Config{
			Events: opts.Events, BodyBytes: opts.BodyBytes, BaselineConcurrency: opts.Concurrency,
			SteadySeconds: opts.SteadyDuration.Seconds(), Definition: "max_in_flight 32, logging all, default retry and timeout",
		},
		Machine: Machine{CPUs: runtime.NumCPU(), GoVersion: runtime.Version()},
	}
	if rep.Machine.LoadStart, err = loadAverage(); err != nil {
		return nil, err
	}
	repo, err := findRepo(opts.Repo)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "webhookbench-")
	if err != nil {
		return nil, fmt.Errorf("create a temporary directory: %w", err)
	}
	defer func() {
		if opts.Keep {
			say("kept %s", dir)
		} else if rmErr := os.RemoveAll(dir); rmErr != nil {
			say("remove %s: %v", dir, rmErr)
		}
	}()

	bin := opts.Webhookd
	if bin == "" {
		say("building ./cmd/webhookd in %s", repo)
		if bin, err = buildWebhookd(ctx, repo, dir); err != nil {
			return nil, err
		}
		rep.Commit = gitCommit(ctx, repo)
	}
	secret, err := newSecret()
	if err != nil {
		return nil, err
	}
	rc, err := startReceiver(ctx, opts.self, dir, secret, opts.Verify, opts.Timeout+time.Minute)
	if err != nil {
		return nil, err
	}
	defer func() {
		if cerr := rc.close(); cerr != nil {
			say("%v", cerr)
		}
	}()
	if opts.Main || opts.Isolation {
		if err := runMain(ctx, opts, rep, bin, dir, rc, secret, progress); err != nil {
			return nil, err
		}
	}
	for _, n := range opts.Definitions.Counts {
		say("definitions: a fresh webhookd with %d definitions, a rule each", n)
		r, err := runDefinitions(ctx, opts.Definitions, n, bin, dir, rc, secret, opts.BodyBytes, progress)
		if err != nil {
			return nil, err
		}
		rep.Definitions = append(rep.Definitions, r)
	}

	if rep.Machine.LoadEnd, err = loadAverage(); err != nil {
		return nil, err
	}
	if opts.Plot != "" && len(rep.Steady) > 0 {
		if err := writePlot(opts.Plot, rep); err != nil {
			return nil, err
		}
		rep.Plot = opts.Plot
		say("wrote %s", opts.Plot)
	}
	return rep, nil
}

// runMain runs the phases of the webhookd with one definition (the burst, the baseline, the
// steady loads, then the isolation phase), and stops it.
func runMain(ctx context.Context, opts *Options, rep *Report, bin, dir string, rc *receiverProc, secret string, progress io.Writer) error {
	say := func(format string, a ...any) { fmt.Fprintf(progress, "webhookbench: "+format+"\n", a...) }
	wd, err := startWebhookd(ctx, bin, dir, configYAML(rc.hookURL(), secret))
	if err != nil {
		return err
	}
	defer func() {
		if serr := wd.shutdown(30 * time.Second); serr != nil {
			say("%v; last lines of %s:\n%s", serr, wd.logPath, tail(wd.logPath, 15))
		}
	}()
	say("webhookd (pid %d) starting, NATS %s, receiver %s", wd.pid(), wd.natsURL, rc.baseURL)
	if err := wd.waitReady(ctx, 2*time.Minute); err != nil {
		return err
	}
	nc, err := nats.Connect(wd.natsURL, nats.Name("webhookbench"))
	if err != nil {
		return fmt.Errorf("connect to webhookd's NATS at %s: %w", wd.natsURL, err)
	}
	defer nc.Close()
	pub, err := newPublisher(nc)
	if err != nil {
		return err
	}
	b := &bench{wd: wd, rc: rc, nc: nc, pub: pub, dir: dir, progress: progress, definition: definitionID}

	if opts.Warmup > 0 {
		say("warm-up: %d events", opts.Warmup)
		if _, err := b.phase(ctx, "warmup", opts.Warmup, opts.BodyBytes, 0); err != nil {
			return err
		}
	}
	if opts.Main {
		if err := b.mainPhases(ctx, opts, rep); err != nil {
			return err
		}
	}
	if opts.Isolation {
		say("isolation: adding a definition answering 503 and one hanging (timeout %s)", opts.HangTimeout)
		if rep.Isolation, err = b.isolation(ctx, opts.IsolationEvents, opts.BodyBytes, opts.HangTimeout, secret); err != nil {
			return err
		}
		say("isolation: healthy alone %.0f events/s, with the others %.0f events/s: ratio %.3f",
			rep.Isolation.Alone.EventsPerSec, rep.Isolation.WithOthers.EventsPerSec, rep.Isolation.Ratio)
	}
	return nil
}

// mainPhases runs the burst, the baseline and the steady loads.
func (b *bench) mainPhases(ctx context.Context, opts *Options, rep *Report) error {
	say := func(format string, a ...any) { fmt.Fprintf(b.progress, "webhookbench: "+format+"\n", a...) }
	say("burst: %d events", opts.Events)
	burstMsgs, err := makeMessages("burst", opts.Events, opts.BodyBytes)
	if err != nil {
		return err
	}
	rep.Config.EventBodyBytes = meanBodyBytes(burstMsgs)
	if rep.Burst, err = b.runPhase(ctx, "burst", burstMsgs, 0); err != nil {
		return err
	}
	say("burst: %.0f events/s", rep.Burst.EventsPerSec)

	say("baseline: %d requests a round, %d concurrent, for at least %s", opts.Events, opts.Concurrency, opts.BaselineMin)
	bodies := make([][]byte, len(burstMsgs))
	for i, m := range burstMsgs {
		bodies[i] = m.body
	}
	if rep.Baseline, err = b.baseline(ctx, bodies, opts.Concurrency, opts.BaselineMin); err != nil {
		return err
	}
	rep.Ratio = rep.Burst.EventsPerSec / rep.Baseline.ReqPerSec
	say("baseline: %.0f req/s; ratio %.3f", rep.Baseline.ReqPerSec, rep.Ratio)

	for k, l := range opts.Loads {
		rate := l.rate(rep.Burst.EventsPerSec)
		n := min(max(int(rate*opts.SteadyDuration.Seconds()), 1), maxEvents)
		name := fmt.Sprintf("steady%d", k+1)
		say("steady load %s: %.0f events/s for %s (%d events)", l, rate, opts.SteadyDuration, n)
		p, err := b.phase(ctx, name, n, opts.BodyBytes, rate)
		if err != nil {
			return err
		}
		p.Load = l.String()
		rep.Steady = append(rep.Steady, p)
	}
	return nil
}

// phase makes n events and runs them as a phase.
func (b *bench) phase(ctx context.Context, name string, n, bodyBytes int, rate float64) (Phase, error) {
	msgs, err := makeMessages(name, n, bodyBytes)
	if err != nil {
		return Phase{}, err
	}
	return b.runPhase(ctx, name, msgs, rate)
}

// newSecret is a fresh definition secret: whsec_ and the base64 of 32 random bytes.
func newSecret() (string, error) {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return "", fmt.Errorf("make a secret: %w", err)
	}
	return "whsec_" + base64.StdEncoding.EncodeToString(key), nil
}

func meanBodyBytes(msgs []*message) int {
	if len(msgs) == 0 {
		return 0
	}
	total := 0
	for _, m := range msgs {
		total += len(m.body)
	}
	return total / len(msgs)
}
