package pipeline

import (
	"context"
	"log/slog"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/webhookd/webhookd/consumer"
	"github.com/webhookd/webhookd/internal/startstop"
)

// Events is the events consumer: CRM_EVENTS's messages, concurrency at a time, handed to the
// fan-out. It fetches from Start until Stop (or until Start's ctx ends); the work in flight
// then runs on until it is done or the work context ends, and Stop returns once it has.
type Events struct {
	startstop.Base
	pool    *consumer.Pool
	workCtx context.Context
	log     *slog.Logger
}

// NewEvents makes the events consumer of cons, whose handler is f's; m as for NewPools.
func NewEvents(cons jetstream.Consumer, concurrency int, f *Fanout, m Mender, nc *nats.Conn, log *slog.Logger, workCtx context.Context) *Events {
	return &Events{
		pool: &consumer.Pool{Consumer: cons, Concurrency: concurrency, Handler: afterJetStreamMends(m, f.keeper, f.handle),
			Conn: nc, Log: log},
		workCtx: workCtx, log: log,
	}
}

// Start starts fetching, once.
func (e *Events) Start(ctx context.Context) error {
	ctx, ok, stopped := e.StartInit(ctx)
	if !ok {
		return nil
	}
	go func() {
		defer stopped()
		if err := e.pool.Run(ctx, e.workCtx); err != nil {
			e.log.Error("events consumer stopped", "error", err)
		}
	}()
	return nil
}

// The pipeline's background loops, each a service the worker starts and stops (Recorder's
// writers stop with the deadline of their last write instead: Recorder.Stop(ctx)).
var (
	_ startstop.Service = (*Events)(nil)
	_ startstop.Service = (*Pools)(nil)
	_ startstop.Service = (*Watcher)(nil)
	_ startstop.Service = (*Keeper)(nil)
	_ startstop.Service = (*Health)(nil)
)
