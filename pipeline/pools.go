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

// Pools runs one consumer.Pool per webhook definition and reconciles them with each snapshot.
type Pools struct {
	startstop.Base
	every   time.Duration    // the reconciler's interval
	current func() *Snapshot // what the reconciler reconciles with
	stream  jetstream.Stream
	nc      *nats.Conn
	handler consumer.Handler
	log     *slog.Logger
	workCtx context.Context

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
// runs until workCtx ends. Start reconciles them with current now and every interval.
func NewPools(stream jetstream.Stream, nc *nats.Conn, d *Deliverer, log *slog.Logger, workCtx context.Context,
	every time.Duration, current func() *Snapshot) *Pools {
	return &Pools{stream: stream, nc: nc, handler: d.handle, log: log, workCtx: workCtx, every: every, current: current,
		running: map[string]*runningPool{}}
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

// drainGrace is how long a gone definition's consumer must stay empty before it is deleted.
const drainGrace = 30 * time.Second

type runningPool struct {
	settings poolSettings
	cancel   context.CancelFunc
}

type poolSettings struct {
	maxInFlight int
	ackWait     time.Duration
}

func settingsOf(def *config.Definition) poolSettings {
	if def == nil {
		// A deleted definition whose queued deliveries still have to be finished (rejected).
		return poolSettings{maxInFlight: 4, ackWait: ackWaitMargin}
	}
	s := poolSettings{maxInFlight: max(def.MaxInFlight, 1), ackWait: def.Timeout.D() + ackWaitMargin}
	if def.RateLimit > 0 {
		// A prefetched message waits for a slot and for the rate limit without InProgress: the
		// last of max_in_flight prefetched ones waits about max_in_flight / rate_limit.
		s.ackWait += time.Duration(float64(s.maxInFlight) / def.RateLimit * float64(time.Second))
	}
	return s
}

// reconcile starts pools for new definitions, restarts those whose settings changed, and keeps
// pools for consumers whose definition is gone until their queue is empty.
func (p *Pools) reconcile(ctx context.Context, snap *Snapshot) {
	want := make(map[string]poolSettings, len(snap.Definitions))
	for id, def := range snap.Definitions {
		want[id] = settingsOf(def)
	}
	existing, err := consumer.DeliveryConsumerDefinitions(ctx, p.stream)
	listed := err == nil
	if err != nil {
		p.log.Warn("list delivery consumers", "error", err)
	}
	hasConsumer := make(map[string]bool, len(existing))
	for _, id := range existing {
		hasConsumer[id] = true
	}
	queued, err := consumer.QueuedDeliveryDefinitions(ctx, p.stream)
	if err != nil {
		p.log.Warn("list queued deliveries", "error", err)
	}
	for _, id := range append(existing, queued...) {
		if _, ok := want[id]; ok {
			continue
		}
		if p.drainedLongEnough(ctx, id) {
			// Its pool stops first, so that the deletion is no surprise to it.
			p.stopPool(id)
			if err := p.stream.DeleteConsumer(ctx, consumer.DeliveryConsumerName(id)); err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
				p.log.Warn("delete drained delivery consumer", "webhook_definition", id, "error", err)
				continue
			}
			p.log.Info("delivery consumer of a deleted webhook definition removed, its queue drained", "webhook_definition", id)
			continue
		}
		want[id] = settingsOf(nil)
	}

	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped {
		return
	}
	for id, rp := range p.running {
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
		cons, err := consumer.EnsureDeliveryConsumer(ctx, p.stream, id, s.ackWait, deliveryMaxAckPending)
		if err != nil {
			p.log.Error("bind delivery consumer", "webhook_definition", id, "error", err)
			continue
		}
		fetchCtx, cancel := context.WithCancel(ctx)
		rp := &runningPool{settings: s, cancel: cancel}
		p.running[id] = rp
		pool := &consumer.Pool{Consumer: cons, Concurrency: s.maxInFlight, Handler: p.handler, Conn: p.nc,
			Log: p.log.With("webhook_definition", id)}
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			err := pool.Run(fetchCtx, p.workCtx)
			if fetchCtx.Err() == nil {
				// It ended on its own (its consumer was deleted, or it could not pull): forget
				// it, so the next reconcile starts it again if it is still wanted.
				switch {
				case rp.settings == settingsOf(nil) && errors.Is(err, jetstream.ErrConsumerDeleted):
					// A deleted definition's drained consumer, removed by another replica.
					p.log.Debug("delivery consumer of a deleted webhook definition removed", "webhook_definition", id)
				default:
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
