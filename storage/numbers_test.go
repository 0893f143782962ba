package storage_test

import (
	"context"
	"sync"
	"testing"

	"github.com/webhookd/webhookd/storage"
)

type counter struct {
	mu    sync.Mutex
	value int64
	calls int
}

func (c *counter) ReserveNumbers(_ context.Context, n int) (int64, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls++
	first := c.value + 1
	c.value += int64(n)
	return first, nil
}

func TestNumbersComeFromBlocks(t *testing.T) {
	c := &counter{}
	n := &storage.Numbers{Block: 10}
	var mu sync.Mutex
	seen := map[int64]bool{}
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 25 {
				seq, err := n.Next(context.Background(), c)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				if seen[seq] {
					t.Errorf("sequence %d handed out twice", seq)
				}
				seen[seq] = true
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(seen) != 200 || c.calls != 20 {
		t.Errorf("%d sequences from %d reservations, want 200 from 20 (blocks of 10)", len(seen), c.calls)
	}
}
