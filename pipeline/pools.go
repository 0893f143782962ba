package pipeline

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/webhookd/webhookd/config"
	"github.com/webhookd/webhookd/consumer"
	"github.com/webhookd/webhookd/internal/startstop"
)

// deliveryMaxAckPending bounds the deliveries one definition's consumer holds at once: in flight
// plus parked until their retry is due. It is per definition, so a definition with this many
// retries parked stalls only its own new deliveries, never another definition's.
const deliveryMaxAckPending = 20000

// Pools runs a consumer.Pool for each webhook definition that has deliveries queued, and
// reconciles them with each snapshot. A healthy definition's deliveries are attempted by the
// fan-out and never queued, so it needs no consumer: one is made when a delivery is queued
// (queued, at once on this replica; the reconcile, within its interval, on the others), and
// deleted once it has been empty for drainGrace. Idle definitions thus cost the server and
// webhookd nothing, however many there are.
type Pools struct {
	startstop.Base
	every   time.Duration    // the reconciler's interval
	current func() *Snapshot // what the reconciler reconciles with

	stream  jetstream.Stream
	nc      *nats.Conn
	handler consumer.Handler
	log     *slog.Logger
	workCtx context.Context

	wake chan string // definitions whose deliveries this replica just queued

	mu      sync.Mutex
	running map[string]*runningPool
	wg      sync.WaitGroup
	stopped bool

	// drainedAt records when a gone definition's consumer was first seen empty: it is deleted
	// only when still empty a while later, since a replica on an older snapshot may still be
	// queueing to it.
	drainedMu sync.Mutex
	drainedAt map[string]time.Time
}

// NewPools runs the definitions' consumers on stream: their handler is d's, their in-flight work
// runs until workCtx ends. d's retries, once queued, start their definition's consumer at once
// (so do the fan-out's deliveries: FanoutOptions.Pools). Start reconciles them with current now
// and every interval.
//
// Standalone, m is the embedded server: a decision waits for its JetStream to take writes again
// before it is applied (afterJetStreamMends). Nil: decisions are applied at once.
func NewPools(stream jetstream.Stream, nc *nats.Conn, d *Deliverer, m Mender, log *slog.Logger, workCtx context.Context,
	every time.Duration, current func() *Snapshot) *Pools {
	p := &Pools{stream: stream, nc: nc, handler: afterJetStreamMends(m, d.keeper, d.handle), log: log, workCtx: workCtx, every: every, current: current,
		running: map[string]*runningPool{}, wake: make(chan string, 1024)}
	d.queued = p.queued
	return p
}

// Start reconciles the pools with the current snapshot, then starts the reconciler. Pools fetch
// until ctx ends or Stop.
func (p *Pools) Start(ctx context.Context) error {
	ctx, ok, stopped := p.StartInit(ctx)
	if !ok {
		return nil
	}
	p.reconcile(ctx, p.current())
	go func() { defer stopped(); p.run(ctx, p.every, p.current) }()
	return nil
}

// Reconcile brings the pools in line with snap at once (a configuration change), fetching
// under ctx.
func (p *Pools) Reconcile(ctx context.Context, snap *Snapshot) { p.reconcile(ctx, snap) }

// Stop stops the reconciler, then fetching on every pool, and waits for their in-flight work
// (bounded by the work context).
func (p *Pools) Stop() {
	p.Base.Stop()
	p.stop()
}

// drainGrace is how long a definition's consumer (or a gone definition's) must stay empty
// before it is deleted.
const drainGrace = 30 * time.Second

// queued says a delivery of definition id was just queued: its consumer runs at once instead of
// at the next reconcile. It never blocks the caller; a wake-up that does not fit is left to the
// reconcile.
func (p *Pools) queued(id string) {
	select {
	case p.wake <- id:
	default:
	}
}

// ensure starts the pool of definition id unless one runs.
func (p *Pools) ensure(ctx context.Context, id string, snap *Snapshot) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped || p.running[id] != nil {
		return
	}
	p.start(ctx, id, settingsOf(snap.Definition(id)))
}

type runningPool struct {
	settings poolSettings
	cancel   context.CancelFunc
	started  time.Time
}

type poolSettings struct {
	// concurrency is how many of the consumer's messages are handled at once: more than
	// max_in_flight, which the definition's gate enforces on the attempts themselves, so that
	// deliveries waiting for their webhook request's write do not hold back the next attempts,
	// and the store gets larger batches.
	concurrency int
	ackWait     time.Duration
}

// poolConcurrency is a pool's concurrency per max_in_flight slot.
const poolConcurrency = 4

func settingsOf(def *config.Definition) poolSettings {
	if def == nil {
		// A deleted definition whose queued deliveries still have to be finished (rejected).
		return poolSettings{concurrency: 4, ackWait: ackWaitMargin}
	}
	s := poolSettings{concurrency: poolConcurrency * max(def.MaxInFlight, 1), ackWait: def.Timeout.D() + ackWaitMargin}
	if def.RateLimit > 0 {
		// A prefetched message waits for a handler without InProgress (a handler holds it in
		// progress while it waits for the gate): the last of the prefetched ones waits about
		// concurrency / rate_limit.
		s.ackWait += time.Duration(float64(s.concurrency) / def.RateLimit * float64(time.Second))
	}
	return s
}

// reconcile starts pools for the definitions with deliveries queued, restarts those whose
// settings changed, and deletes the consumers that have stayed empty for drainGrace (a gone
// definition's, or an idle one's).
func (p *Pools) reconcile(ctx context.Context, snap *Snapshot) {
	want := map[string]poolSettings{}
	// A pool started after this (by queued) is newer than what the listings below say.
	listedAt := time.Now()
	existing, err := consumer.DeliveryConsumerDefinitions(ctx, p.stream)
	listed := err == nil
	if err != nil {
		p.log.Warn("list delivery consumers", "error", err)
	}
	hasConsumer := make(map[string]bool, len(existing))
	for _, id := range existing {
		hasConsumer[id] = true
	}
	queued, err := consumer.QueuedDeliveries(ctx, p.stream)
	if err != nil {
		p.log.Warn("list queued deliveries", "error", err)
		// Keep what runs rather than take every consumer for idle.
		queued = nil
		for _, id := range existing {
			want[id] = settingsOf(snap.Definition(id))
		}
	}
	candidates := existing
	for id := range queued {
		if !hasConsumer[id] {
			candidates = append(candidates, id)
		}
	}
	for _, id := range candidates {
		def := snap.Definition(id)
		if def != nil && queued[id] > 0 {
			continue // wanted, below
		}
		if err == nil && p.drainedLongEnough(ctx, id) {
			// Its pool stops first, so that the deletion is no surprise to it.
			p.stopPool(id)
			if err := p.stream.DeleteConsumer(ctx, consumer.DeliveryConsumerName(id)); err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
				p.log.Warn("delete drained delivery consumer", "webhook_definition", id, "error", err)
				continue
			}
			if def == nil {
				p.log.Info("delivery consumer of a deleted webhook definition removed, its queue drained", "webhook_definition", id)
			} else {
				p.log.Debug("idle delivery consumer removed; its definition's deliveries are attempted by the fan-out", "webhook_definition", id)
			}
			continue
		}
		want[id] = settingsOf(def)
	}
	for id, n := range queued {
		if def := snap.Definition(id); def != nil && n > 0 {
			want[id] = settingsOf(def)
		}
	}

	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped {
		return
	}
	for id, rp := range p.running {
		if rp.started.After(listedAt) {
			continue
		}
		s, ok := want[id]
		// A pool whose consumer is gone (deleted by an operator, or by another replica) may
		// not have noticed yet: its pulls wait for heartbeats first. It is made again now.
		gone := listed && !hasConsumer[id]
		if !ok || s != rp.settings || gone {
			rp.cancel()
			delete(p.running, id)
		}
	}
	for id, s := range want {
		if _, ok := p.running[id]; ok {
			continue
		}
		p.start(ctx, id, s)
	}
}

// start binds definition id's consumer and runs its pool; p.mu is held.
func (p *Pools) start(ctx context.Context, id string, s poolSettings) {
	cons, err := consumer.EnsureDeliveryConsumer(ctx, p.stream, id, s.ackWait, deliveryMaxAckPending)
	if err != nil {
		p.log.Error("bind delivery consumer", "webhook_definition", id, "error", err)
		return
	}
	fetchCtx, cancel := context.WithCancel(ctx)
	rp := &runningPool{settings: s, cancel: cancel, started: time.Now()}
	p.running[id] = rp
	pool := &consumer.Pool{Consumer: cons, Concurrency: s.concurrency, Handler: p.handler, Conn: p.nc,
		Log: p.log.With("webhook_definition", id)}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		err := pool.Run(fetchCtx, p.workCtx)
		if fetchCtx.Err() == nil {
			// It ended on its own (its consumer was deleted, or it could not pull): forget
			// it, so the next reconcile starts it again if it is still wanted.
			if errors.Is(err, jetstream.ErrConsumerDeleted) {
				// Drained and removed by another replica (an idle consumer, or a deleted
				// definition's), or by an operator.
				p.log.Debug("delivery consumer removed", "webhook_definition", id)
			} else {
				p.log.Warn("delivery consumer ended; it is started again at the next reconcile",
					"webhook_definition", id, "error", err)
			}
			p.mu.Lock()
			if p.running[id] == rp {
				delete(p.running, id)
			}
			p.mu.Unlock()
		}
	}()
}

// stopPool stops fetching on the pool of id, if one runs.
func (p *Pools) stopPool(id string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if rp, ok := p.running[id]; ok {
		rp.cancel()
		delete(p.running, id)
	}
}

// drainedLongEnough reports whether a gone definition's consumer has been empty for drainGrace.
func (p *Pools) drainedLongEnough(ctx context.Context, id string) bool {
	empty := false
	if c, err := p.stream.Consumer(ctx, consumer.DeliveryConsumerName(id)); err == nil {
		if info, err := c.Info(ctx); err == nil {
			empty = info.NumPending == 0 && info.NumAckPending == 0
		}
	}
	p.drainedMu.Lock()
	defer p.drainedMu.Unlock()
	if !empty {
		delete(p.drainedAt, id)
		return false
	}
	if p.drainedAt == nil {
		p.drainedAt = map[string]time.Time{}
	}
	first, seen := p.drainedAt[id]
	if !seen {
		p.drainedAt[id] = time.Now()
		return false
	}
	if time.Since(first) < drainGrace {
		return false
	}
	delete(p.drainedAt, id)
	return true
}

// run reconciles every interval as well as on each configuration change, so a consumer that
// failed to bind, or a pool that ended, comes back without waiting for the next change.
func (p *Pools) run(ctx context.Context, every time.Duration, current func() *Snapshot) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			p.reconcile(ctx, current())
		case id := <-p.wake:
			p.ensure(ctx, id, current())
		}
	}
}

// stop stops fetching on every pool and waits for their in-flight work (bounded by workCtx).
func (p *Pools) stop() {
	p.mu.Lock()
	p.stopped = true
	for id, rp := range p.running {
		rp.cancel()
		delete(p.running, id)
	}
	p.mu.Unlock()
	p.wg.Wait()
}
