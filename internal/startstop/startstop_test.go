package startstop_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"

	"go.uber.org/goleak"

	"github.com/webhookd/webhookd/internal/startstop"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestStopBeforeStart(t *testing.T) {
	t.Parallel()
	s := startstop.NewFunc(func(ctx context.Context) { <-ctx.Done() })
	s.Stop()
	s.Stop()
	s.Wait()
}

func TestStartOnceStopWaits(t *testing.T) {
	t.Parallel()
	var runs, running atomic.Int32
	s := startstop.NewFunc(func(ctx context.Context) {
		runs.Add(1)
		running.Add(1)
		defer running.Add(-1)
		<-ctx.Done()
	})
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() { defer wg.Done(); _ = s.Start(t.Context()) }()
	}
	wg.Wait()
	for range 2 {
		wg.Add(1)
		go func() { defer wg.Done(); s.Stop() }()
	}
	wg.Wait()
	if n := runs.Load(); n != 1 {
		t.Fatalf("loop ran %d times, want once", n)
	}
	if n := running.Load(); n != 0 {
		t.Fatalf("Stop returned with the loop still running")
	}
	s.Stop()

	// Stopped, it can be started again.
	_ = s.Start(t.Context())
	s.Stop()
	if n := runs.Load(); n != 2 {
		t.Fatalf("loop ran %d times after a restart, want 2", n)
	}
}

func TestWaitForParentContext(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	var ended atomic.Bool
	s := startstop.NewFunc(func(ctx context.Context) { <-ctx.Done(); ended.Store(true) })
	_ = s.Start(ctx)
	cancel()
	s.Wait()
	if !ended.Load() {
		t.Fatal("Wait returned before the loop")
	}
	s.Stop()
}
