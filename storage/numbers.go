package storage

import (
	"context"
	"fmt"
	"sync"
)

// Reserver reserves the block [first, first+n) of request sequences in the store's counter.
type Reserver interface {
	ReserveNumbers(ctx context.Context, n int) (first int64, err error)
}

// Numbers hands out request sequences from blocks reserved with one round trip each, so
// numbering costs a round trip per Block requests and numbers increase in time within a
// replica. It is safe for concurrent use; the zero value takes DefaultNumberBlock.
type Numbers struct {
	Block int

	mu          sync.Mutex
	next, limit int64
}

// DefaultNumberBlock is how many numbers a replica reserves at a time.
const DefaultNumberBlock = 500

// Next returns the next sequence, reserving a new block from r when the current one is used up.
func (n *Numbers) Next(ctx context.Context, r Reserver) (int64, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.next >= n.limit {
		block := n.Block
		if block <= 0 {
			block = DefaultNumberBlock
		}
		first, err := r.ReserveNumbers(ctx, block)
		if err != nil {
			return 0, fmt.Errorf("reserve %d webhook request numbers: %w", block, err)
		}
		n.next, n.limit = first, first+int64(block)
	}
	seq := n.next
	n.next++
	return seq, nil
}
