package worker

import (
	"context"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/webhookd/webhookd/consumer"
	"github.com/webhookd/webhookd/internal/startstop"
	"github.com/webhookd/webhookd/metrics"
	"github.com/webhookd/webhookd/pipeline"
)

// gauges samples consumer lag, queue depths and connection state for the metrics, every
// interval from Start until Stop.
type gauges struct {
	startstop.Base
	nc                 *nats.Conn
	store              pipeline.Store
	metrics            *metrics.Metrics
	every              time.Duration
	events, deliveries jetstream.Stream
	depths             *pipeline.QueueDepths // each definition's queued deliveries, for the fan-out's max_queued

	lagConsumers map[string]bool // delivery consumers whose lag is exported
}

// Start starts sampling, once.
func (g *gauges) Start(ctx context.Context) error {
	ctx, ok, stopped := g.StartInit(ctx)
	if !ok {
		return nil
	}
	go func() { defer stopped(); g.run(ctx) }()
	return nil
}

func (g *gauges) run(ctx context.Context) {
	t := time.NewTicker(g.every)
	defer t.Stop()
	for {
		g.sample(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (g *gauges) sample(ctx context.Context) {
	if g.nc.IsConnected() {
		g.metrics.NATSConnected.Set(1)
	} else {
		g.metrics.NATSConnected.Set(0)
	}
	pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := g.store.Ping(pctx); err != nil {
		g.metrics.StoreUp.Set(0)
	} else {
		g.metrics.StoreUp.Set(1)
	}
	if c, err := g.events.Consumer(pctx, consumer.EventsConsumer); err == nil {
		if info, err := c.Info(pctx); err == nil {
			g.setConsumerGauges(info)
		}
	}
	// The deliveries stream is webhookd's own: every consumer on it is a definition's. The lag
	// of one deleted since the last sample is dropped, not left at its last value.
	var infos []*jetstream.ConsumerInfo
	lister := g.deliveries.ListConsumers(pctx)
	for info := range lister.Info() {
		if _, ok := consumer.DeliveryConsumerDefinition(info.Name); ok {
			infos = append(infos, info)
		}
	}
	if lister.Err() != nil {
		return
	}
	// A definition's consumer runs only while it has deliveries queued: the depths are the work
	// queue's, by subject, consumer or not.
	depths, err := consumer.QueuedDeliveries(pctx, g.deliveries)
	if err != nil {
		return
	}
	// The fan-out's bound first, then what dashboards see: a gauge never shows a depth the
	// bound does not know yet.
	g.depths.Set(depths)
	seen := make(map[string]bool, len(infos))
	for _, info := range infos {
		g.setConsumerGauges(info)
		seen[info.Name] = true
	}
	for name := range g.lagConsumers {
		if !seen[name] {
			g.metrics.ConsumerPending.DeleteLabelValues(name)
			g.metrics.ConsumerAckPending.DeleteLabelValues(name)
		}
	}
	g.lagConsumers = seen
}

func (g *gauges) setConsumerGauges(info *jetstream.ConsumerInfo) {
	g.metrics.ConsumerPending.WithLabelValues(info.Name).Set(float64(info.NumPending))
	g.metrics.ConsumerAckPending.WithLabelValues(info.Name).Set(float64(info.NumAckPending))
}

var _ startstop.Service = (*gauges)(nil)
