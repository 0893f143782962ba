package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/webhookd/webhookd/config"
	"github.com/webhookd/webhookd/consumer"
	"github.com/webhookd/webhookd/control/controlapi"
	"github.com/webhookd/webhookd/event"
	"github.com/webhookd/webhookd/metrics"
	"github.com/webhookd/webhookd/storage"
	"github.com/webhookd/webhookd/webhook"
)

// Fanout turns an event into deliveries: the first stage of the pipeline. A delivery whose
// definition has a free slot (and whose last attempt did not fail) gets its first attempt here,
// at once, through the deliverer; the others are queued as tasks for their definition's
// consumer. Either way the event is acknowledged only once each of its deliveries is finished
// and stored, or durably queued.
type Fanout struct {
	js        jetstream.JetStream
	catalog   *Catalog
	recorder  *Recorder
	deliverer *Deliverer
	keeper    *Keeper
	depths    *QueueDepths
	queueing  *WriteHealth // an outage of JetStream said once, not once per event
	metrics   *metrics.Metrics
	log       *slog.Logger
	now       func() time.Time
	// direct bounds the events whose deliveries are being attempted here, so that slow
	// receivers (each within its max_in_flight) can never take every event slot: the rest
	// queue their deliveries for the consumers, after waiting at most tokenWait for one, and
	// only while one comes free every so often (the gate's stall rule).
	direct *gate
	// queued says a delivery of a definition was queued, so its consumer runs (Pools.queued).
	queued func(definitionID string)
}

// FanoutOptions is what the fan-out is made of.
type FanoutOptions struct {
	JS        jetstream.JetStream // where deliveries are queued
	Catalog   *Catalog
	Recorder  *Recorder
	Deliverer *Deliverer // makes the first attempts
	Keeper    *Keeper
	Depths    *QueueDepths // each definition's queued deliveries, against max_queued
	Pools     *Pools       // told of each delivery queued, so its definition's consumer runs
	Queueing  *WriteHealth // the queueing of deliveries on JetStream: an outage said once
	Metrics   *metrics.Metrics
	Log       *slog.Logger
	Now       func() time.Time
	// Concurrency is the events consumer's: half of it (one at least) may be attempting
	// deliveries at once.
	Concurrency int
}

// NewFanout makes the fan-out, the events consumer's handler.
func NewFanout(o FanoutOptions) *Fanout {
	return &Fanout{js: o.JS, catalog: o.Catalog, recorder: o.Recorder, deliverer: o.Deliverer, keeper: o.Keeper,
		depths: o.Depths, metrics: o.Metrics, log: o.Log, now: o.Now, direct: newSlots(max(o.Concurrency/2, 1)),
		queued: o.Pools.queued, queueing: o.Queueing}
}

// firstAttempt is a first attempt the fan-out makes itself.
type firstAttempt struct {
	t    *task
	def  *config.Definition
	gate *gate // its slot held
}

// handle is the events consumer's handler.
func (f *Fanout) handle(ctx context.Context, msg jetstream.Msg) consumer.Decision {
	ev, err := event.Parse(msg.Subject(), msg.Data())
	if err != nil {
		return f.invalid(ctx, msg, err)
	}
	snap := f.catalog.Current()
	matches, err := snap.Index.Match(ev)
	if err != nil {
		// Condition errors count as false (CONTRACT.md section 4); the index reports them here.
		f.log.Debug("rule condition failed", "event_id", ev.ID, "error", err)
	}
	if len(matches) == 0 {
		f.metrics.Events.WithLabelValues(metrics.EventUnmatched).Inc()
		return consumer.Decision{Action: consumer.Ack}
	}

	type queued struct {
		fut jetstream.PubAckFuture
		t   *task
		def *config.Definition
	}
	futures := make([]queued, 0, len(matches))
	direct := &directAttempts{f: f}
	defer direct.done()
	// Deliveries that cannot be queued are stored as rejected, visibly, instead of retrying
	// the event without end or growing a dead receiver's queue.
	var refused []*storage.WebhookRequest
	for _, m := range matches {
		var fields []string
		if m.Definition.FieldsSet != nil {
			fields = m.Definition.FieldsSet.Fields
		}
		body, err := webhook.BuildBody(ev, m.Rule.ID, m.Definition.ID, fields)
		if err != nil {
			// The event passed validation, so this is our bug; keep the event for a retry
			// rather than lose its deliveries.
			f.log.Error("build webhook body", "event_id", ev.ID, "webhook_definition", m.Definition.ID, "error", err)
			direct.giveBack()
			return consumer.Decision{Action: consumer.Retry, Delay: 30 * time.Second}
		}
		t := &task{
			WebhookID:    webhook.NewWebhookID(ev.ID, m.Rule.ID, m.Definition.ID),
			EventID:      ev.ID,
			Entity:       ev.Entity,
			EntityID:     ev.EntityID,
			Action:       ev.Action,
			Rule:         storage.Ref{ID: m.Rule.ID, Name: m.Rule.Name},
			DefinitionID: m.Definition.ID,
			FieldsSet:    m.Definition.FieldsSet,
			Body:         body,
			CreatedAt:    f.now().UTC(),
		}
		if full, n := f.depths.full(m.Definition); full {
			refused = append(refused, f.queueFull(t, m.Definition, n))
			continue
		}
		if f.tooLargeToQueue(t) {
			// Attempted at once it might succeed, but a retry could never be queued: such a
			// delivery is refused the same way whichever path it would take.
			refused = append(refused, f.tooLarge(t, m.Definition))
			continue
		}
		// A definition that is failing or inactive never waits for an event slot: it is queued.
		if g, ok := f.deliverer.directGate(m.Definition); ok && direct.add(ctx, t, m.Definition, g) {
			continue
		}
		fut, err := publishTask(f.js, t)
		if errors.Is(err, nats.ErrMaxPayload) {
			// It would fail the same way forever.
			refused = append(refused, f.tooLarge(t, m.Definition))
			continue
		}
		if err != nil {
			f.queueing.observe(partDeliveries, err)
			f.log.Debug("queue delivery; retrying the event", "event_id", ev.ID, "webhook_definition", m.Definition.ID, "error", err)
			direct.giveBack()
			return consumer.Decision{Action: consumer.Retry, Delay: time.Second}
		}
		futures = append(futures, queued{fut: fut, t: t, def: m.Definition})
	}
	// With no attempt made here after all, the event only waits for its queueing now.
	direct.releaseUnused()
	decided := f.attemptNow(ctx, msg, direct)
	queuing := consumer.Decision{Action: consumer.Ack}
wait:
	for _, q := range futures {
		select {
		case <-q.fut.Ok():
			f.queued(q.def.ID)
		case err := <-q.fut.Err():
			if isSubjectFull(err) {
				refused = append(refused, f.queueFull(q.t, q.def, config.MaxMaxQueued))
				continue
			}
			f.queueing.observe(partDeliveries, err)
			f.log.Debug("queue delivery; retrying the event", "event_id", ev.ID, "error", err)
			queuing = consumer.Decision{Action: consumer.Retry, Delay: time.Second}
			break wait
		case <-ctx.Done():
			queuing = consumer.Decision{Action: consumer.HandBack}
			break wait
		}
	}
	if queuing.Action == consumer.Ack && len(futures) > 0 {
		f.queueing.observe(partDeliveries, nil)
	}
	// The attempts made here are finished (their outcomes stored) before the event is decided.
	if d := decided(); d.Action != consumer.Ack {
		return d
	}
	if queuing.Action != consumer.Ack {
		return queuing
	}
	for _, req := range refused {
		if err := f.recorder.record(ctx, req); err != nil {
			if ctx.Err() != nil {
				return consumer.Decision{Action: consumer.HandBack}
			}
			f.log.Debug("store rejected delivery", "event_id", ev.ID, "error", err)
			return consumer.Decision{Action: consumer.Retry, Delay: 2 * time.Second}
		}
	}
	for _, m := range matches {
		f.metrics.DeliveriesScheduled.WithLabelValues(m.Definition.ID).Inc()
	}
	f.metrics.Events.WithLabelValues(metrics.EventMatched).Inc()
	return consumer.Decision{Action: consumer.Ack}
}

// tooLargeToQueue reports whether t's task exceeds the NATS server's max_payload. Only a body
// near the limit is encoded to find out.
func (f *Fanout) tooLargeToQueue(t *task) bool {
	limit := f.js.Conn().MaxPayload()
	if int64(len(t.Body))+taskOverhead < limit {
		return false
	}
	data, err := encodeTask(t)
	return err != nil || int64(len(data))+taskOverhead >= limit
}

// taskOverhead bounds what a task adds to its body: its other fields and the message's
// subject and headers.
const taskOverhead = 4096

// takeDirect takes one of the slots of the events that may wait on attempts, waiting up to
// tokenWait for one while they come round; an event tries once. Under a burst every slot is
// taken and one comes free every fraction of a millisecond; without the wait most events queued
// every delivery (a task written, stored, pulled, decoded and acknowledged) while their
// definition had a slot a moment later. On a loaded machine the slots come round more slowly:
// at 20 ms, up to a quarter of a burst's deliveries were queued and each event cost a tenth more
// CPU.
// Receivers that hold every slot cost an event no more than the stall (20 ms).
func (f *Fanout) takeDirect(ctx context.Context) bool {
	return f.direct.tryAcquire(ctx, tokenWait)
}

const tokenWait = 100 * time.Millisecond

// directWait is how long, at most, an event waits for a healthy definition's slot before its
// delivery is queued instead: one budget for the whole event, spent only while the event holds
// no slot. Under a burst the fan-out's waiters and the definition's queued deliveries share
// max_in_flight slots, so a slot of even a fast receiver takes tens of milliseconds to come
// round; at 20 ms most first attempts were queued (a task written, stored, pulled, decoded and
// acknowledged for nothing) and the burst ran 10% slower. The wait ends as soon as no slot has
// been free for the gate's stall (20 ms): a receiver that holds its slots, hanging or slow,
// gets its deliveries queued. One whose last attempt failed is queued without a wait
// (directGate), and at most half the event slots ever wait.
const directWait = 500 * time.Millisecond

// directAttempts are the first attempts one event makes in the fan-out: the slot it holds among
// the events that may wait on attempts, and the definitions' slots it took.
type directAttempts struct {
	f     *Fanout
	list  []firstAttempt
	slot  bool // holds one of f.direct
	tried bool // an event tries for one of f.direct once
	// unattempted counts the attempts not over yet; the last one over gives the event's slot
	// back, before their outcomes are stored: storing is not the receivers' doing, and held
	// slots made half of a burst's events queue their deliveries while the store wrote.
	unattempted atomic.Int32
	released    atomic.Bool
	// One budget of directWait for the whole event, spent only while it holds no definition's
	// slot: an event never keeps one definition's slot idle while it waits for another's.
	waitUntil time.Time
}

// add takes a slot of def's gate g for t's first attempt, if the event may make it here.
func (d *directAttempts) add(ctx context.Context, t *task, def *config.Definition, g *gate) bool {
	if !d.tried {
		if g.stalled() {
			return false // its receiver holds every slot: no use waiting for an event slot
		}
		d.slot, d.tried = d.f.takeDirect(ctx), true
	}
	if !d.slot {
		return false
	}
	var wait time.Duration
	if len(d.list) == 0 {
		if d.waitUntil.IsZero() {
			d.waitUntil = time.Now().Add(directWait)
		}
		wait = time.Until(d.waitUntil)
	}
	if !g.tryAcquire(ctx, wait) {
		return false
	}
	d.list = append(d.list, firstAttempt{t: t, def: def, gate: g})
	return true
}

// giveBack releases the definitions' slots of first attempts that will not be made.
func (d *directAttempts) giveBack() {
	for _, n := range d.list {
		n.gate.release()
	}
}

// releaseUnused gives back the event's slot if it makes no attempt here.
func (d *directAttempts) releaseUnused() {
	if len(d.list) == 0 {
		d.done()
	}
}

// attempted is called as each first attempt is over (made or not).
func (d *directAttempts) attempted() {
	if d.unattempted.Add(-1) == 0 {
		d.done()
	}
}

// done gives back the event's slot, once, when its attempts are over or none is made here.
func (d *directAttempts) done() {
	if d.slot && d.released.CompareAndSwap(false, true) {
		d.f.direct.release()
	}
}

// attemptNow starts the first attempts the fan-out makes itself; decided waits for them and
// says what becomes of the event: acknowledged when every one is finished (stored, or its
// retry queued), else the first other decision (a shutdown hands the event back, and its
// deliveries are attempted again; receivers deduplicate by webhook-id).
func (f *Fanout) attemptNow(ctx context.Context, msg jetstream.Msg, attempts *directAttempts) (decided func() consumer.Decision) {
	direct := attempts.list
	attempts.unattempted.Store(int32(len(direct)))
	switch len(direct) {
	case 0:
		return func() consumer.Decision { return consumer.Decision{Action: consumer.Ack} }
	case 1:
		// The common case, without a goroutine: the publishes queued meanwhile are waited for after.
		release := f.keeper.hold(msg)
		d := f.deliverer.deliver(ctx, direct[0].t, direct[0].def, direct[0].gate, attempts.attempted)
		release()
		return func() consumer.Decision { return d }
	}
	release := f.keeper.hold(msg)
	decisions := make([]consumer.Decision, len(direct))
	var wg sync.WaitGroup
	for i, n := range direct {
		wg.Add(1)
		go func() {
			defer wg.Done()
			decisions[i] = f.deliverer.deliver(ctx, n.t, n.def, n.gate, attempts.attempted)
		}()
	}
	return func() consumer.Decision {
		wg.Wait()
		release()
		for _, d := range decisions {
			if d.Action != consumer.Ack {
				return d
			}
		}
		return consumer.Decision{Action: consumer.Ack}
	}
}

// tooLarge is the rejected webhook request of a delivery that cannot be queued.
func (f *Fanout) tooLarge(t *task, def *config.Definition) *storage.WebhookRequest {
	f.log.Warn("delivery rejected: too large to queue", "event_id", t.EventID, "webhook_definition", def.ID,
		"body_bytes", len(t.Body))
	return t.unattempted(def, controlapi.CodePayloadTooLarge, fmt.Sprintf("the delivery (a %d-byte body) does not fit the NATS server's max_payload; raise it, or narrow the definition's fields_set", len(t.Body)), f.now().UTC())
}

// queueFull is the rejected webhook request of a delivery whose definition has max_queued
// deliveries queued. One line per delivery would flood the log while a receiver is down for
// days: the metric counts them, the debug log names them.
func (f *Fanout) queueFull(t *task, def *config.Definition, n uint64) *storage.WebhookRequest {
	f.metrics.DeliveryErrors.WithLabelValues(def.ID, string(controlapi.CodeQueueFull)).Inc()
	f.log.Debug("delivery rejected: queue full", "event_id", t.EventID, "webhook_definition", def.ID, "queued", n)
	return t.unattempted(def, controlapi.CodeQueueFull, fmt.Sprintf("webhook definition %s already has %d deliveries queued (max_queued %d): its receiver is not keeping up; resend this request once it has caught up", def.ID, n, maxQueued(def)), f.now().UTC())
}

func (f *Fanout) invalid(ctx context.Context, msg jetstream.Msg, cause error) consumer.Decision {
	md, err := msg.Metadata()
	if err != nil {
		f.log.Error("read message metadata", "subject", msg.Subject(), "error", err)
		return consumer.Decision{Action: consumer.Retry, Delay: time.Second}
	}
	body := msg.Data()
	if len(body) > storage.MaxInvalidBody {
		body = body[:storage.MaxInvalidBody]
	}
	reason := cause.Error()
	if ie := (*event.InvalidError)(nil); errors.As(cause, &ie) {
		reason = ie.Reason
	}
	err = f.recorder.recordInvalid(ctx, storage.InvalidEvent{
		Subject:    msg.Subject(),
		Body:       string(body),
		Reason:     reason,
		ReceivedAt: f.now().UTC(),
		MsgID:      fmt.Sprintf("%s:%d", md.Stream, md.Sequence.Stream),
	})
	if err != nil {
		if ctx.Err() != nil {
			return consumer.Decision{Action: consumer.HandBack}
		}
		f.log.Debug("store invalid event", "subject", msg.Subject(), "error", err)
		return consumer.Decision{Action: consumer.Retry, Delay: 2 * time.Second}
	}
	f.log.Info("invalid event stored", "subject", msg.Subject(), "reason", reason)
	f.metrics.Events.WithLabelValues(metrics.EventInvalid).Inc()
	return consumer.Decision{Action: consumer.Ack}
}

// publishTask queues a task on its definition's subject, deduplicated by its message id.
func publishTask(js jetstream.JetStream, t *task) (jetstream.PubAckFuture, error) {
	data, err := encodeTask(t)
	if err != nil {
		return nil, err
	}
	msg := nats.NewMsg(consumer.DeliverySubject(t.DefinitionID))
	msg.Data = data
	msg.Header.Set(jetstream.MsgIDHeader, t.msgID())
	fut, err := js.PublishMsgAsync(msg)
	if err != nil {
		return nil, fmt.Errorf("publish delivery task %s: %w", t.WebhookID, err)
	}
	return fut, nil
}
