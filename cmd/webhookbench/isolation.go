package main

import (
	"context"
	"fmt"
	"time"
)

// Names of the isolation phase's two other definitions and their rules: each has a rule of its
// own for an entity of its own, so an event goes to exactly one of the three definitions.
const (
	failingDefinition = "bench-failing"
	hangingDefinition = "bench-hanging"
	failingEntity     = "bench_failing"
	hangingEntity     = "bench_hanging"
)

// isolationTarget is the share of its throughput the healthy definition must keep (issue 11).
const isolationTarget = 0.90

// otherShare is how many events each of the two other definitions gets for every healthy one.
const otherShare = 0.10

// Isolation is the no-starvation phase: the healthy definition's events/s alone, then with a
// definition answering 503 to everything (retried with backoff) and one whose receiver never
// answers (each attempt waits for the definition's timeout) active in the same run.
type Isolation struct {
	Events             int     `json:"events"`       // healthy events in each part
	OtherEvents        int     `json:"other_events"` // events for the failing and for the hanging definition each (with_others only)
	HangTimeoutSeconds float64 `json:"hang_timeout_seconds"`
	Alone              Phase   `json:"alone"`
	WithOthers         Phase   `json:"with_others"` // the healthy definition's figures; CPU includes the others' work
	Ratio              float64 `json:"ratio"`       // with_others events/s ÷ alone events/s
	Target             float64 `json:"target"`
	// What the receiver saw of the other two during with_others (from its first publish until
	// the last healthy request was stored): 503 answers given, and requests held.
	FailingAttempts int64 `json:"failing_attempts"`
	HangingAttempts int64 `json:"hanging_attempts"`
}

// isolationDocument adds the failing and the hanging definitions, each with its own rule. The
// hanging one's timeout is hangTimeout, so that each attempt gives up soon; both keep the
// default retries.
func isolationDocument(rc *receiverProc, secret string, hangTimeout time.Duration) document {
	return document{
		Definitions: []docDefinition{
			{ID: failingDefinition, Name: "webhookbench failing (503)", URL: rc.failingURL(), SecretKey: secret},
			{ID: hangingDefinition, Name: "webhookbench hanging", URL: rc.hangingURL(), SecretKey: secret, Timeout: hangTimeout.String()},
		},
		Rules: []docRule{
			{ID: failingDefinition, Name: "webhookbench failing", Entity: failingEntity, WebhookDefinitions: []string{failingDefinition}},
			{ID: hangingDefinition, Name: "webhookbench hanging", Entity: hangingEntity, WebhookDefinitions: []string{hangingDefinition}},
		},
	}
}

// isolation applies the two other definitions through the control plane (so the phases before
// it ran with one definition, as ever), then runs the healthy definition alone, then with the
// others. It runs last on its webhookd: the others' retries and held requests go on after it.
func (b *bench) isolation(ctx context.Context, events, bodyBytes int, hangTimeout time.Duration, secret string) (*Isolation, error) {
	iso := &Isolation{Events: events, OtherEvents: max(int(float64(events)*otherShare), 1), HangTimeoutSeconds: hangTimeout.Seconds(), Target: isolationTarget}
	if err := applyConfig(ctx, b.nc, isolationDocument(b.rc, secret, hangTimeout)); err != nil {
		return nil, fmt.Errorf("isolation: %w", err)
	}
	// Only the healthy definition's requests are successful: the others' (rejected, once their
	// retries are spent) must not count toward its phase.
	b.loggedState = "successful"
	defer func() { b.loggedState = "" }()
	var err error
	fmt.Fprintf(b.progress, "webhookbench: isolation: healthy definition alone, %d events\n", events)
	if iso.Alone, err = b.phase(ctx, "isolation-alone", events, bodyBytes, 0); err != nil {
		return nil, err
	}
	healthy, err := makeMessages("isolation-mixed", events, bodyBytes)
	if err != nil {
		return nil, err
	}
	failing, err := makeEntityMessages("isolation-failing", iso.OtherEvents, bodyBytes, func(int) string { return failingEntity })
	if err != nil {
		return nil, err
	}
	hanging, err := makeEntityMessages("isolation-hanging", iso.OtherEvents, bodyBytes, func(int) string { return hangingEntity })
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(b.progress, "webhookbench: isolation: healthy definition with the others, %d + %d failing + %d hanging events\n",
		events, iso.OtherEvents, iso.OtherEvents)
	a0, err := b.rc.attempts(ctx)
	if err != nil {
		return nil, err
	}
	if iso.WithOthers, err = b.runMixedPhase(ctx, "isolation-mixed", healthy, interleave(healthy, failing, hanging), 0); err != nil {
		return nil, err
	}
	a1, err := b.rc.attempts(ctx)
	if err != nil {
		return nil, err
	}
	iso.FailingAttempts, iso.HangingAttempts = a1.Failing-a0.Failing, a1.Hanging-a0.Hanging
	if iso.Alone.EventsPerSec > 0 {
		iso.Ratio = iso.WithOthers.EventsPerSec / iso.Alone.EventsPerSec
	}
	return iso, nil
}

// interleave spreads the events of others evenly among those of main, in order: after each
// share of main comes the next event of every other list.
func interleave(main []*message, others ...[]*message) []*message {
	total := len(main)
	for _, o := range others {
		total += len(o)
	}
	out := make([]*message, 0, total)
	next := make([]int, len(others))
	for i, m := range main {
		out = append(out, m)
		for k, o := range others {
			// Events of o due once i+1 of main are out: (i+1)·len(o)/len(main), rounded down.
			for due := (i + 1) * len(o) / len(main); next[k] < due; next[k]++ {
				out = append(out, o[next[k]])
			}
		}
	}
	for k, o := range others { // main was empty
		out = append(out, o[next[k]:]...)
	}
	return out
}
