// Package startstop is the lifecycle of webhookd's background loops, in the manner of River's
// rivershared/startstop: a service starts its loop once, Stop ends it and waits for it, and both
// are safe to call twice, concurrently, or (Stop) before Start.
package startstop

import (
	"context"
	"sync"
)

// Service is a background loop with an idempotent lifecycle.
type Service interface {
	// Start starts the loop under ctx; a second Start while it runs does nothing.
	Start(ctx context.Context) error
	// Stop cancels the loop's context and returns once the loop has returned. It does nothing
	// before Start or after an earlier Stop.
	Stop()
}

// Base is embedded in a service to give it Stop and the bookkeeping its Start needs:
//
//	func (s *loop) Start(ctx context.Context) error {
//		ctx, ok, stopped := s.StartInit(ctx)
//		if !ok {
//			return nil
//		}
//		go func() { defer stopped(); s.run(ctx) }()
//		return nil
//	}
type Base struct {
	mu     sync.Mutex
	cancel context.CancelFunc
	done   chan struct{} // closed by stopped; nil before Start
}

// StartInit prepares a start: the context the loop runs under (ended by Stop or by ctx), whether
// the caller should start it (false: it is already running), and the function the loop calls
// when it returns.
func (b *Base) StartInit(ctx context.Context) (_ context.Context, start bool, stopped func()) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.done != nil {
		return ctx, false, func() {}
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	b.cancel, b.done = cancel, done
	var once sync.Once
	return ctx, true, func() { once.Do(func() { close(done) }) }
}

// Stop cancels the loop's context and waits for the loop. After it returns the service may be
// started again.
func (b *Base) Stop() {
	b.mu.Lock()
	cancel, done := b.cancel, b.done
	b.mu.Unlock()
	if done == nil {
		return
	}
	cancel()
	<-done
	b.mu.Lock()
	if b.done == done {
		b.cancel, b.done = nil, nil
	}
	b.mu.Unlock()
}

// Wait returns once the loop has returned (at once if it is not running), without ending it:
// for an owner that ends the loop through the context it started it with.
func (b *Base) Wait() {
	b.mu.Lock()
	done := b.done
	b.mu.Unlock()
	if done != nil {
		<-done
	}
}

// Func is a service whose loop is one function, which returns when its context ends.
type Func struct {
	Base
	run func(ctx context.Context)
}

// NewFunc makes a service of run.
func NewFunc(run func(ctx context.Context)) *Func { return &Func{run: run} }

// Start starts run in its own goroutine, once.
func (f *Func) Start(ctx context.Context) error {
	ctx, ok, stopped := f.StartInit(ctx)
	if !ok {
		return nil
	}
	go func() { defer stopped(); f.run(ctx) }()
	return nil
}

var _ Service = (*Func)(nil)
