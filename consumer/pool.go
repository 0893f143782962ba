package consumer

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Handler processes one message. fetchCtx is not passed: a handler runs under the work context,
// which outlives the decision to stop fetching so in-flight work can finish.
type Handler func(ctx context.Context, msg jetstream.Msg) Decision

// Pool pulls messages from one consumer and runs at most Concurrency handlers at once.
type Pool struct {
	Consumer    jetstream.Consumer
	Concurrency int
	Handler     Handler
	Log         *slog.Logger
}

// Run pulls until fetchCtx is done, then waits for the handlers in flight; they run under
// workCtx, which the owner cancels when the shutdown grace period is over. Messages prefetched
// but not started are not acknowledged, so JetStream redelivers them after their ack wait.
func (p *Pool) Run(fetchCtx, workCtx context.Context) error {
	n := max(p.Concurrency, 1)
	it, err := p.Consumer.Messages(jetstream.PullMaxMessages(n), jetstream.PullHeartbeat(5*time.Second),
		jetstream.PullExpiry(30*time.Second))
	if err != nil {
		return err
	}
	stopped := make(chan struct{})
	defer close(stopped)
	go func() {
		select {
		case <-fetchCtx.Done():
		case <-stopped:
		}
		it.Stop()
	}()

	sem := make(chan struct{}, n)
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		select {
		case sem <- struct{}{}:
		case <-fetchCtx.Done():
			return nil
		}
		msg, err := it.Next()
		if err != nil {
			<-sem
			if errors.Is(err, jetstream.ErrMsgIteratorClosed) || fetchCtx.Err() != nil {
				return nil
			}
			// Missed heartbeats and the like: the iterator recovers by itself.
			p.Log.Warn("pull from consumer", "error", err)
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			d := p.Handler(workCtx, msg)
			if err := d.Apply(msg); err != nil {
				p.Log.Warn("acknowledge message", "error", err)
			}
		}()
	}
}
