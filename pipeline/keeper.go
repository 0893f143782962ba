package pipeline

import (
	"context"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/webhookd/webhookd/internal/startstop"
)

// Keeper tells JetStream that the messages being worked on are still in progress, so a long
// rate-limit wait, a slow receiver or a store outage does not get them redelivered to another
// replica meanwhile. One goroutine ticks for every held message: holding one costs a map entry,
// not a goroutine and a timer.
type Keeper struct {
	startstop.Base
	every time.Duration
	mu    sync.Mutex
	held  map[*heldMsg]struct{}
}

type heldMsg struct{ msg jetstream.Msg }

// NewKeeper ticks on a fixed interval well inside the shortest AckWait any replica gives a
// consumer (the margin alone), because the AckWait in force may come from another replica's
// newer configuration.
func NewKeeper() *Keeper {
	return &Keeper{every: ackWaitMargin / 3, held: map[*heldMsg]struct{}{}}
}

// hold keeps msg in progress until release is called.
func (k *Keeper) hold(msg jetstream.Msg) (release func()) {
	if k == nil {
		return func() {}
	}
	h := &heldMsg{msg: msg}
	k.mu.Lock()
	k.held[h] = struct{}{}
	k.mu.Unlock()
	return func() {
		k.mu.Lock()
		delete(k.held, h)
		k.mu.Unlock()
	}
}

// Start starts the ticking, under the worker's work context: nothing is held once it is over.
func (k *Keeper) Start(ctx context.Context) error {
	ctx, ok, stopped := k.StartInit(ctx)
	if !ok {
		return nil
	}
	go func() { defer stopped(); k.run(ctx) }()
	return nil
}

// run ticks until ctx ends (the worker's work context: nothing is held once it is over).
func (k *Keeper) run(ctx context.Context) {
	t := time.NewTicker(k.every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		k.mu.Lock()
		msgs := make([]jetstream.Msg, 0, len(k.held))
		for h := range k.held {
			msgs = append(msgs, h.msg)
		}
		k.mu.Unlock()
		for _, m := range msgs {
			_ = m.InProgress()
		}
	}
}

// ackWaitMargin is added to a definition's attempt timeout to make its consumer's AckWait.
const ackWaitMargin = 30 * time.Second
