package consumer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
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
	// Conn, when set, lets hand-backs wait for the server's confirmation.
	Conn *nats.Conn
}

// Run pulls until fetchCtx is done, or until the consumer is deleted (an error wrapping
// jetstream.ErrConsumerDeleted), then waits for the handlers in flight; they run under
// workCtx, which the owner cancels when the shutdown grace period is over. Messages already
// prefetched when fetching stops are handed back at once, so another replica (or this one after
// a restart) takes them without waiting for their ack wait to run out.
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
			// Drain: no more pulls, but what is buffered still comes out of Next, to be handed back.
			it.Drain()
		case <-stopped:
			it.Stop()
		}
	}()

	sem := make(chan struct{}, n)
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		slot := false
		if fetchCtx.Err() == nil {
			select {
			case sem <- struct{}{}:
				slot = true
			case <-fetchCtx.Done():
			}
		}
		msg, err := it.Next()
		if err != nil {
			if slot {
				<-sem
			}
			if errors.Is(err, jetstream.ErrMsgIteratorClosed) {
				return nil
			}
			if errors.Is(err, jetstream.ErrConsumerDeleted) {
				// Nothing more will come: the owner decides whether that was expected.
				return fmt.Errorf("pull from consumer %s: %w", p.Consumer.CachedInfo().Name, err)
			}
			switch {
			case fetchCtx.Err() != nil:
			case errors.Is(err, jetstream.ErrNoHeartbeat):
				// The iterator re-issues its pull by itself. A server or JetStream restart makes
				// every running consumer miss one; the outage itself is said once elsewhere
				// (NATS disconnected, /readyz), not once per consumer.
				p.Log.Debug("pull from consumer: no heartbeat; pulling again", "error", err)
			default:
				p.Log.Warn("pull from consumer", "error", err)
			}
			continue
		}
		if !slot || fetchCtx.Err() != nil {
			if slot {
				<-sem
			}
			if p.Conn != nil && !p.Conn.IsConnected() {
				// Handing back needs the server; it redelivers after the ack wait anyway, and
				// waiting here would only stretch the shutdown.
				continue
			}
			if err := (Decision{Action: HandBack}).Apply(workCtx, p.Conn, msg); err != nil {
				p.Log.Warn("hand back prefetched message", "error", err)
			}
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			d := p.handle(workCtx, msg)
			if err := d.Apply(workCtx, p.Conn, msg); err != nil {
				p.Log.Warn("acknowledge message", "error", err)
			}
		}()
	}
}

// panicDelay is how long a message whose handler panicked waits before it is tried again: long
// enough that a message that always panics does not spin, short enough to retry a transient one.
const panicDelay = time.Minute

// handle runs the handler, turning a panic into a delayed retry: one bad message must not take
// the process down (it would be redelivered to every replica, crashing each in turn).
func (p *Pool) handle(ctx context.Context, msg jetstream.Msg) (d Decision) {
	defer func() {
		if r := recover(); r != nil {
			p.Log.Error("message handler panicked; the message is retried later", "subject", msg.Subject(),
				"panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			d = Decision{Action: Retry, Delay: panicDelay}
		}
	}()
	return p.Handler(ctx, msg)
}
