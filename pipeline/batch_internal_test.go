package pipeline

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

func TestBatcherGroupsWritesAndReportsEachResult(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var batches [][]int
	fail := errors.New("store down")
	b := newBatcher(5, time.Hour, func(_ context.Context, items []int) error {
		mu.Lock()
		defer mu.Unlock()
		batches = append(batches, append([]int(nil), items...))
		if items[0] < 0 {
			return fail
		}
		return nil
	})
	_ = b.Start(context.Background())

	// Five adds fill a batch: it is written without waiting for maxDelay (an hour here).
	var wg sync.WaitGroup
	errs := make([]error, 5)
	for i := range 5 {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = b.Add(context.Background(), i+1) }()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("add %d: %v", i, err)
		}
	}
	mu.Lock()
	if len(batches) != 1 || len(batches[0]) != 5 {
		t.Errorf("batches = %v, want one of 5", batches)
	}
	mu.Unlock()

	// A failed write is reported to every caller in its batch; Stop writes what is queued.
	res := make(chan error, 1)
	go func() { res <- b.Add(context.Background(), -1) }()
	testEventually(t, func() bool { return b.pendingForTest() })
	b.Stop(context.Background())
	if err := <-res; !errors.Is(err, fail) {
		t.Errorf("add in a failed batch = %v, want %v", err, fail)
	}
	if err := b.Add(context.Background(), 7); !errors.Is(err, errBatcherStopped) {
		t.Errorf("add after stop = %v, want errBatcherStopped", err)
	}
}

func TestBatcherFlushesAfterMaxDelay(t *testing.T) {
	t.Parallel()
	b := newBatcher(100, time.Millisecond, func(context.Context, []int) error { return nil })
	_ = b.Start(context.Background())
	defer b.Stop(context.Background())
	// One lonely item is written after maxDelay, not held until the batch fills.
	if err := b.Add(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
}

func testEventually(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met")
		}
		<-tick.C
	}
}
