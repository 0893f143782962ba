package worker

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"golang.org/x/time/rate"

	"github.com/webhookd/webhookd/config"
	"github.com/webhookd/webhookd/consumer"
	"github.com/webhookd/webhookd/control/controlapi"
	"github.com/webhookd/webhookd/delivery"
	"github.com/webhookd/webhookd/metrics"
	"github.com/webhookd/webhookd/storage"
)

// Sender makes one HTTP attempt; *delivery.Client is the real one.
type Sender interface {
	Send(ctx context.Context, a delivery.Attempt) delivery.Result
}

// deliverer is the second stage: one attempt per task, then the outcome.
type deliverer struct {
	js       jetstream.JetStream
	catalog  *Catalog
	sender   Sender
	recorder *Recorder
	health   *health
	metrics  *metrics.Metrics
	log      *slog.Logger
	now      func() time.Time

	inFlight atomic.Int64 // tasks past their due time and not yet decided: what a shutdown waits for

	mu       sync.Mutex
	limiters map[string]*rate.Limiter // by definition id
}

// limiterFor returns the definition's rate limiter, or nil when it has no limit. A changed
// rate_limit gets a new limiter.
func (d *deliverer) limiterFor(def *config.Definition) *rate.Limiter {
	if def.RateLimit <= 0 {
		return nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.limiters == nil {
		d.limiters = make(map[string]*rate.Limiter)
	}
	l := d.limiters[def.ID]
	if l == nil || float64(l.Limit()) != def.RateLimit {
		l = rate.NewLimiter(rate.Limit(def.RateLimit), max(int(def.RateLimit), 1))
		d.limiters[def.ID] = l
	}
	return l
}

// prune forgets the rate limiters of definitions that are gone, so the map stays bounded by
// the configuration.
func (d *deliverer) prune(snap *Snapshot) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for id := range d.limiters {
		if snap.Definition(id) == nil {
			delete(d.limiters, id)
		}
	}
}

// handle is a definition consumer's handler.
func (d *deliverer) handle(ctx context.Context, msg jetstream.Msg) consumer.Decision {
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
	stopKeepAlive := keepAlive(ctx, msg)
	defer stopKeepAlive()
	d.inFlight.Add(1)
	defer d.inFlight.Add(-1)
	def := d.catalog.Current().Definition(t.DefinitionID)
	switch {
	case def == nil:
		return d.finishUnattempted(ctx, t, nil, controlapi.CodeDefinitionNotFound, "webhook definition "+t.DefinitionID+" does not exist")
	case !def.Active:
		return d.finishUnattempted(ctx, t, def, controlapi.CodeDefinitionInactive, "webhook definition "+def.ID+" is inactive")
	}

	if lim := d.limiterFor(def); lim != nil {
		if err := lim.Wait(ctx); err != nil {
			return consumer.Decision{Action: consumer.HandBack}
		}
	}

	inFlight := d.metrics.DeliveriesInFlight.WithLabelValues(def.ID)
	inFlight.Inc()
	res := d.sender.Send(ctx, delivery.Attempt{
		WebhookID: t.WebhookID,
		Method:    def.Method,
		URL:       def.URL,
		Headers:   def.Headers,
		SecretKey: def.SecretKey,
		Body:      t.Body,
		Timeout:   def.Timeout.D(),

		PreviousSecretKey: def.PreviousSecretAt(d.now()),
	})
	inFlight.Dec()
	if ctx.Err() != nil {
		// Shutdown cut the attempt short: it is not the receiver's failure. Hand it back.
		return consumer.Decision{Action: consumer.HandBack}
	}
	attempts := t.Attempts + 1
	d.metrics.DeliveryDuration.WithLabelValues(def.ID).Observe(res.Duration.Seconds())
	d.health.observe(def, res.Outcome == delivery.Success, res.Response != nil && res.Response.Status == http.StatusGone)

	switch {
	case res.Outcome == delivery.Success:
		d.metrics.DeliveryAttempts.WithLabelValues(def.ID, metrics.OutcomeSuccess).Inc()
		if def.Logging == config.LoggingRejectedOnly {
			return consumer.Decision{Action: consumer.Ack}
		}
		return d.record(ctx, d.request(t, def, attempts, storage.StateSuccessful, &res))
	case res.Outcome == delivery.Retry && attempts < def.Retry.MaxAttempts:
		d.metrics.DeliveryAttempts.WithLabelValues(def.ID, metrics.OutcomeRetry).Inc()
		d.metrics.DeliveryErrors.WithLabelValues(def.ID, res.ErrorCode).Inc()
		return d.scheduleRetry(ctx, t, def, attempts, res)
	default:
		d.metrics.DeliveryAttempts.WithLabelValues(def.ID, metrics.OutcomeRejected).Inc()
		d.metrics.DeliveryErrors.WithLabelValues(def.ID, res.ErrorCode).Inc()
		// Operators look for these: one line per rejected delivery, never the URL or the secret
		// (the description is redacted by package delivery).
		d.log.Info("delivery rejected", "webhook_id", t.WebhookID, "webhook_definition", def.ID,
			"workflow_rule", t.Rule.ID, "event_id", t.EventID, "attempts", attempts,
			"error_code", res.ErrorCode, "error_description", res.ErrorDescription)
		return d.record(ctx, d.request(t, def, attempts, storage.StateRejected, &res))
	}
}

// scheduleRetry queues the next attempt as a new task with its not-before time, then lets this
// one go. The next task is deduplicated by (webhook-id, attempt), so a crash between the two
// steps re-publishes nothing new.
func (d *deliverer) scheduleRetry(ctx context.Context, t *task, def *config.Definition, attempts int, res delivery.Result) consumer.Decision {
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
	if err != nil {
		d.log.Warn("schedule retry", "webhook_id", t.WebhookID, "webhook_definition", def.ID, "error", err)
		// The attempt is repeated when this message comes back; receivers deduplicate by webhook-id.
		return consumer.Decision{Action: consumer.Retry, Delay: delay}
	}
	d.metrics.RetriesScheduled.WithLabelValues(def.ID).Inc()
	d.log.Debug("retry scheduled", "webhook_id", t.WebhookID, "webhook_definition", def.ID,
		"attempts", attempts, "delay", delay, "error_code", res.ErrorCode)
	return consumer.Decision{Action: consumer.Ack}
}

// finishUnattempted rejects a task whose definition is gone or inactive, without an attempt.
func (d *deliverer) finishUnattempted(ctx context.Context, t *task, def *config.Definition, code controlapi.Code, desc string) consumer.Decision {
	if def == nil {
		def = &config.Definition{ID: t.DefinitionID, Method: config.DefaultMethod}
	}
	return d.record(ctx, t.unattempted(def, code, desc, d.now().UTC()))
}

func (d *deliverer) request(t *task, def *config.Definition, attempts int, state string, res *delivery.Result) *storage.WebhookRequest {
	return t.request(def, attempts, state, res, d.now().UTC())
}

// record stores the webhook request; the message is acknowledged only once it is stored. A
// store that fails is retried here, with backoff, while the message is held: handing the message
// back would repeat an attempt the receiver already answered. Only a shutdown hands it back.
func (d *deliverer) record(ctx context.Context, req *storage.WebhookRequest) consumer.Decision {
	wait := recordRetryMin
	for {
		err := d.recorder.Record(ctx, req)
		if err == nil {
			return consumer.Decision{Action: consumer.Ack}
		}
		if ctx.Err() != nil {
			return consumer.Decision{Action: consumer.HandBack}
		}
		// Said once for the whole outage by storeHealth; per message only when debugging.
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

// keepAlive tells JetStream the message is still being worked on, so a long rate-limit wait or
// a slow receiver does not get it redelivered to another replica meanwhile. It ticks on a fixed
// interval well inside the shortest AckWait any replica gives a delivery consumer (the margin
// alone), because the AckWait in force may come from another replica's newer configuration.
func keepAlive(ctx context.Context, msg jetstream.Msg) (stop func()) {
	every := ackWaitMargin / 3
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				_ = msg.InProgress()
			case <-done:
				return
			case <-ctx.Done():
				return
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}

// ackWaitMargin is added to a definition's attempt timeout to make its consumer's AckWait.
const ackWaitMargin = 30 * time.Second
