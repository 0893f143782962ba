package pipeline

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/webhookd/webhookd/config"
	"github.com/webhookd/webhookd/consumer"
	"github.com/webhookd/webhookd/control"
	"github.com/webhookd/webhookd/control/controlapi"
	"github.com/webhookd/webhookd/delivery"
	"github.com/webhookd/webhookd/metrics"
	"github.com/webhookd/webhookd/storage"
)

// Sender makes one HTTP attempt; *delivery.Client is the real one.
type Sender interface {
	Send(ctx context.Context, a delivery.Attempt) delivery.Result
}

// Deliverer is the one delivery path: every attempt, a first one made by the fan-out or a
// retry from the definition's consumer, goes through deliver, which waits for the definition's
// gate, makes the attempt, counts it, feeds endpoint health and finishes the delivery (its
// webhook request stored, or its next attempt queued).
type Deliverer struct {
	js       jetstream.JetStream
	catalog  *Catalog
	sender   Sender
	recorder *Recorder
	health   *Health
	keeper   *Keeper
	queueing *WriteHealth // an outage of JetStream said once, not once per retry
	metrics  *metrics.Metrics
	log      *slog.Logger
	now      func() time.Time

	// queued says a retry of a definition was queued, so its consumer runs (Pools.queued; set
	// by NewPools).
	queued func(definitionID string)

	inFlight atomic.Int64 // deliveries past their due time and not yet decided: what a shutdown waits for
	gates    gates

	// waits ends, at the start of a shutdown, every wait for a gate (a free slot, an open
	// breaker's probe): a delivery not yet attempted is handed back at once instead of holding
	// the shutdown's grace period (StopWaiting).
	waits     context.Context
	stopWaits context.CancelFunc
}

// DelivererOptions is what the delivery path is made of.
type DelivererOptions struct {
	JS       jetstream.JetStream // where retries are queued
	Catalog  *Catalog
	Sender   Sender
	Recorder *Recorder
	Health   *Health
	Keeper   *Keeper      // keeps the messages being worked on in progress
	Queueing *WriteHealth // the queueing of retries on JetStream: an outage said once
	Metrics  *metrics.Metrics
	Log      *slog.Logger
	Now      func() time.Time
}

// NewDeliverer makes the one delivery path.
func NewDeliverer(o DelivererOptions) *Deliverer {
	d := &Deliverer{js: o.JS, catalog: o.Catalog, sender: o.Sender, recorder: o.Recorder, health: o.Health,
		keeper: o.Keeper, queueing: o.Queueing, metrics: o.Metrics, log: o.Log, now: o.Now}
	d.waits, d.stopWaits = context.WithCancel(context.Background())
	return d
}

// StopWaiting hands back, from now on, every delivery that waits for its definition's gate; the
// attempts under way go on. The shutdown calls it as it stops fetching.
func (d *Deliverer) StopWaiting() {
	if d != nil && d.stopWaits != nil {
		d.stopWaits()
	}
}

// acquire waits for g under ctx, and no longer than until StopWaiting.
func (d *Deliverer) acquire(ctx context.Context, g *gate) (probe bool, err error) {
	if d.waits == nil {
		return g.acquire(ctx)
	}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(d.waits, cancel)
	defer stop()
	return g.acquire(wctx)
}

// InFlight is how many deliveries are past their due time and not yet decided: what a
// shutdown waits for.
func (d *Deliverer) InFlight() int64 { return d.inFlight.Load() }

// Prune forgets the gates of the definitions snap no longer has.
func (d *Deliverer) Prune(snap *Snapshot) { d.gates.prune(snap) }

// verdict is how an attempt ends its delivery.
type verdict int

const (
	succeeded   verdict = iota
	retryLater          // a retryable failure with attempts left
	rejected            // a final failure
	interrupted         // the shutdown cut the attempt short: nobody's failure
)

// handle is a definition consumer's handler.
func (d *Deliverer) handle(ctx context.Context, msg jetstream.Msg) consumer.Decision {
	t, err := decodeTask(msg.Data())
	if err != nil {
		// Only webhookd writes these messages; one it cannot read is a bug, never retried.
		d.log.Error("drop unreadable delivery task", "subject", msg.Subject(), "error", err)
		return consumer.Decision{Action: consumer.Term, Reason: "unreadable delivery task"}
	}
	if wait := t.NotBefore.Sub(d.now()); wait > 0 {
		// Parked until its retry is due: held by this definition's consumer only.
		return consumer.Decision{Action: consumer.Retry, Delay: wait}
	}
	// From here on the message is held (InProgress) for as long as it takes, the store
	// included: see record.
	defer d.keeper.hold(msg)()
	return d.deliver(ctx, t, d.catalog.Current().Definition(t.DefinitionID), nil, nil)
}

// directGate is def's gate if a first attempt may be made at once by the fan-out: the
// definition is active and its last attempt did not fail (otherwise the delivery is queued, and
// the event takes no slot of those that may wait on attempts for it). The fan-out then takes a
// slot of the gate with tryAcquire.
func (d *Deliverer) directGate(def *config.Definition) (*gate, bool) {
	if !def.Active {
		return nil, false
	}
	g := d.gates.of(def)
	return g, !g.failing.Load()
}

// deliver makes t's next attempt to def and finishes the delivery. held is def's gate when the
// caller holds a slot of it already (the fan-out took it with tryAcquire), nil to wait for one:
// the definition is then read again after the wait, which an open breaker can make long.
// attempted, if not nil, is called once when the HTTP attempt is over or is known not to be
// made, before any outcome is stored.
func (d *Deliverer) deliver(ctx context.Context, t *task, def *config.Definition, held *gate, attempted func()) consumer.Decision {
	d.inFlight.Add(1)
	defer d.inFlight.Add(-1)
	attemptOver := func() {
		if attempted != nil {
			attempted()
			attempted = nil
		}
	}
	defer attemptOver()
	g, probe := held, false
	if g == nil && usable(def) {
		g = d.gates.of(def)
		var err error
		if probe, err = d.acquire(ctx, g); err != nil {
			return consumer.Decision{Action: consumer.HandBack}
		}
		def = d.catalog.Current().Definition(t.DefinitionID)
	}
	if !usable(def) {
		if g != nil {
			g.release()
			g.endProbe(probe)
		}
		attemptOver()
		if def == nil {
			return d.finishUnattempted(ctx, t, nil, controlapi.CodeDefinitionNotFound, "webhook definition "+t.DefinitionID+" does not exist")
		}
		return d.finishUnattempted(ctx, t, def, controlapi.CodeDefinitionInactive, "webhook definition "+def.ID+" is inactive")
	}
	res, v := d.attempt(ctx, g, def, t.WebhookID, t.Body, t.Attempts, false)
	g.release()
	g.endProbe(probe)
	attemptOver()
	attempts := t.Attempts + 1
	switch v {
	case interrupted:
		return consumer.Decision{Action: consumer.HandBack}
	case succeeded:
		if def.Logging == config.LoggingRejectedOnly {
			return consumer.Decision{Action: consumer.Ack}
		}
		return d.record(ctx, d.request(t, def, attempts, storage.StateSuccessful, &res))
	case retryLater:
		return d.scheduleRetry(ctx, t, def, attempts, res)
	default:
		// Operators look for these: one line per rejected delivery, never the URL or the secret
		// (the description is redacted by package delivery).
		d.log.Info("delivery rejected", "webhook_id", t.WebhookID, "webhook_definition", def.ID,
			"workflow_rule", t.Rule.ID, "event_id", t.EventID, "attempts", attempts,
			"error_code", res.ErrorCode, "error_description", res.ErrorDescription)
		return d.record(ctx, d.request(t, def, attempts, storage.StateRejected, &res))
	}
}

// usable reports whether deliveries to def can be attempted: it exists and is active.
func usable(def *config.Definition) bool { return def != nil && def.Active }

// attempt makes one attempt of body to def under webhookID, after made attempts, and
// classifies it; a final attempt is never retried. It counts the attempt and feeds endpoint
// health, unless the shutdown cut it short.
func (d *Deliverer) attempt(ctx context.Context, g *gate, def *config.Definition, webhookID string, body []byte, made int, final bool) (delivery.Result, verdict) {
	inFlight := d.metrics.DeliveriesInFlight.WithLabelValues(def.ID)
	inFlight.Inc()
	res := d.sender.Send(ctx, delivery.Attempt{
		WebhookID: webhookID,
		Method:    def.Method,
		URL:       def.URL,
		Headers:   def.Headers,
		SecretKey: def.SecretKey,
		Body:      body,
		Timeout:   def.Timeout.D(),

		PreviousSecretKey: def.PreviousSecretAt(d.now()),
	})
	inFlight.Dec()
	if ctx.Err() != nil {
		return res, interrupted
	}
	ok := res.Outcome == delivery.Success
	g.failing.Store(!ok)
	switch g.observe(res.Outcome == delivery.Retry) {
	case breakerOpened:
		d.log.Warn("receiver failing: deliveries paused, one attempt a second until one is answered",
			"webhook_definition", def.ID, "failures_in_a_row", tripAfter, "error_code", res.ErrorCode)
	case breakerClosed:
		d.log.Info("receiver answering again: deliveries resumed", "webhook_definition", def.ID)
	}
	d.metrics.DeliveryDuration.WithLabelValues(def.ID).Observe(res.Duration.Seconds())
	// A final attempt's 410 (a resend's) is deactivated by its caller at once (Redeliver), not
	// also by the flush: one deactivation, one announcement.
	gone := res.Response != nil && res.Response.Status == http.StatusGone
	d.health.observe(def, ok, gone && !final)
	switch {
	case ok:
		d.metrics.DeliveryAttempts.WithLabelValues(def.ID, metrics.OutcomeSuccess).Inc()
		return res, succeeded
	case res.Outcome == delivery.Retry && !final && made+1 < def.Retry.MaxAttempts:
		d.metrics.DeliveryAttempts.WithLabelValues(def.ID, metrics.OutcomeRetry).Inc()
		d.metrics.DeliveryErrors.WithLabelValues(def.ID, res.ErrorCode).Inc()
		return res, retryLater
	default:
		d.metrics.DeliveryAttempts.WithLabelValues(def.ID, metrics.OutcomeRejected).Inc()
		d.metrics.DeliveryErrors.WithLabelValues(def.ID, res.ErrorCode).Inc()
		return res, rejected
	}
}

// The control plane's resends take the pipeline's path.
var _ control.Deliverer = (*Deliverer)(nil)

// Redeliver is a resend's attempt (control.Deliverer): one final attempt of the delivery wr
// logs, made, counted and fed to endpoint health by attempt as the pipeline's are (its outcome
// sets def's gate's failing flag too, but the resend takes no slot of the gate: it is one
// operator's attempt, bounded by the control plane's ResendConcurrency). A 410 deactivates def
// before it returns, so the resend is answered with the definition inactive. On success the
// webhook request is built as the pipeline builds it (task.request).
func (d *Deliverer) Redeliver(ctx context.Context, def *config.Definition, wr *storage.WebhookRequest) (delivery.Result, *storage.WebhookRequest) {
	t := taskOf(wr)
	res, _ := d.attempt(ctx, d.gates.of(def), def, t.WebhookID, t.Body, wr.Attempts, true)
	if res.Response != nil && res.Response.Status == http.StatusGone {
		// A write after the attempt: under its own bound, whatever ctx has left.
		gctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), goneWriteTimeout)
		d.health.goneNow(gctx, def)
		cancel()
	}
	if res.Outcome != delivery.Success {
		return res, nil
	}
	return res, d.request(t, def, wr.Attempts+1, storage.StateSuccessful, &res)
}

// goneWriteTimeout bounds a resend's deactivation after a 410.
const goneWriteTimeout = 15 * time.Second

// scheduleRetry queues the next attempt as a new task with its not-before time, then lets this
// one go. The next task is deduplicated by (webhook-id, attempt), so a crash between the two
// steps re-publishes nothing new.
func (d *Deliverer) scheduleRetry(ctx context.Context, t *task, def *config.Definition, attempts int, res delivery.Result) consumer.Decision {
	delay := delivery.Backoff(def.Retry, attempts, res.RetryAfter, rand.Float64)
	next := *t
	next.Attempts = attempts
	next.NotBefore = d.now().Add(delay).UTC()
	fut, err := publishTask(d.js, &next)
	if err == nil {
		select {
		case <-fut.Ok():
		case err = <-fut.Err():
		case <-ctx.Done():
			return consumer.Decision{Action: consumer.HandBack}
		}
	}
	d.queueing.observe(partDeliveries, err)
	if err != nil {
		d.log.Debug("schedule retry", "webhook_id", t.WebhookID, "webhook_definition", def.ID, "error", err)
		// The attempt is repeated when this message comes back; receivers deduplicate by webhook-id.
		return consumer.Decision{Action: consumer.Retry, Delay: delay}
	}
	if d.queued != nil {
		d.queued(def.ID)
	}
	d.metrics.RetriesScheduled.WithLabelValues(def.ID).Inc()
	d.log.Debug("retry scheduled", "webhook_id", t.WebhookID, "webhook_definition", def.ID,
		"attempts", attempts, "delay", delay, "error_code", res.ErrorCode)
	return consumer.Decision{Action: consumer.Ack}
}

// finishUnattempted rejects a task whose definition is gone or inactive, without an attempt.
func (d *Deliverer) finishUnattempted(ctx context.Context, t *task, def *config.Definition, code controlapi.Code, desc string) consumer.Decision {
	if def == nil {
		def = &config.Definition{ID: t.DefinitionID, Method: config.DefaultMethod}
	}
	return d.record(ctx, t.unattempted(def, code, desc, d.now().UTC()))
}

func (d *Deliverer) request(t *task, def *config.Definition, attempts int, state string, res *delivery.Result) *storage.WebhookRequest {
	return t.request(def, attempts, state, res, d.now().UTC())
}

// record stores the webhook request; the message is acknowledged only once it is stored. A
// store that fails is retried here, with backoff, while the message is held: handing the message
// back would repeat an attempt the receiver already answered. Only a shutdown hands it back.
func (d *Deliverer) record(ctx context.Context, req *storage.WebhookRequest) consumer.Decision {
	wait := recordRetryMin
	for {
		err := d.recorder.record(ctx, req)
		if err == nil {
			return consumer.Decision{Action: consumer.Ack}
		}
		if ctx.Err() != nil {
			return consumer.Decision{Action: consumer.HandBack}
		}
		// Said once for the whole outage by the store's WriteHealth; per message only when debugging.
		d.log.Debug("store webhook request; retrying", "webhook_id", req.WebhookID, "in", wait, "error", err)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return consumer.Decision{Action: consumer.HandBack}
		case <-t.C:
		}
		wait = min(2*wait, recordRetryMax)
	}
}

// Backoff of record's retries while the store is failing.
const (
	recordRetryMin = 500 * time.Millisecond
	recordRetryMax = 30 * time.Second
)
