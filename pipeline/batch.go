package pipeline

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/webhookd/webhookd/internal/startstop"
)

// errBatcherStopped: the batcher has stopped; the caller hands its message back.
var errBatcherStopped = errors.New("batch writer stopped")

// batcher groups writes from many goroutines into one store call. A caller's Add returns only
// once its item is stored (or failed), so the caller can acknowledge its message after that:
// batching adds at most maxDelay to an acknowledgement, and cuts store round trips by up to maxSize.
type batcher[T any] struct {
	startstop.Base

	flush    func(ctx context.Context, items []T) error
	maxSize  int
	maxDelay time.Duration

	in       chan pending[T]
	queued   atomic.Int64 // items taken into the current batch (for tests)
	stopOnce sync.Once
	stop     chan struct{}
	stopCtx  context.Context // bounds the last write; set before stop is closed
}

type pending[T any] struct {
	item T
	res  chan error
}

func newBatcher[T any](maxSize int, maxDelay time.Duration, flush func(context.Context, []T) error) *batcher[T] {
	return &batcher[T]{
		flush: flush, maxSize: maxSize, maxDelay: maxDelay,
		in: make(chan pending[T]), stop: make(chan struct{}),
	}
}

// Add queues item and waits until it is written.
func (b *batcher[T]) Add(ctx context.Context, item T) error {
	p := pending[T]{item: item, res: make(chan error, 1)}
	select {
	case b.in <- p:
	case <-b.stop:
		return errBatcherStopped
	case <-ctx.Done():
		return ctx.Err()
	}
	// Once queued, the write happens whatever ctx says: wait for its result so the caller never
	// acknowledges (or hands back) a message whose document is half way to the store.
	return <-p.res
}

// Start starts the writer, once. Until it runs, an Add waits (or ends with its ctx).
func (b *batcher[T]) Start(ctx context.Context) error {
	_, ok, stopped := b.StartInit(ctx)
	if !ok {
		return nil
	}
	go func() { defer stopped(); b.run() }()
	return nil
}

// run collects and flushes batches until Stop; it flushes what it holds before returning.
func (b *batcher[T]) run() {
	var (
		batch []pending[T]
		timer *time.Timer
		fire  <-chan time.Time
	)
	write := func(parent context.Context) {
		if len(batch) == 0 {
			return
		}
		items := make([]T, len(batch))
		for i, p := range batch {
			items[i] = p.item
		}
		// A write is not cut by its callers' cancellation (they wait for it, see Add); only a
		// store that does not answer ends it, or the shutdown's deadline for the last one.
		ctx, cancel := context.WithTimeout(parent, writeTimeout)
		err := b.safeFlush(ctx, items)
		cancel()
		for _, p := range batch {
			p.res <- err
		}
		batch = batch[:0]
		b.queued.Store(0)
		fire = nil
		if timer != nil {
			timer.Stop()
		}
	}
	for {
		select {
		case p := <-b.in:
			batch = append(batch, p)
			b.queued.Store(int64(len(batch)))
			if len(batch) >= b.maxSize {
				write(context.Background())
			} else if fire == nil {
				if timer == nil {
					timer = time.NewTimer(b.maxDelay)
				} else {
					timer.Reset(b.maxDelay)
				}
				fire = timer.C
			}
		case <-fire:
			write(context.Background())
		case <-b.stop:
			// Take what is still being handed in without blocking, then write it all.
			for {
				select {
				case p := <-b.in:
					batch = append(batch, p)
					continue
				default:
				}
				break
			}
			write(b.stopCtx)
			return
		}
	}
}

// safeFlush turns a panic of the flush into an error for every caller of the batch, so none
// waits forever and the writer goes on.
func (b *batcher[T]) safeFlush(ctx context.Context, items []T) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("batch write panicked: %v", r)
		}
	}()
	return b.flush(ctx, items)
}

// pendingForTest reports whether items wait in the current batch.
func (b *batcher[T]) pendingForTest() bool { return b.queued.Load() > 0 }

// Stop writes what is queued, within ctx, and stops. Adds after Stop fail with
// errBatcherStopped. An item whose write ctx cuts short is not stored and its caller is told
// so: its message is not acknowledged, and JetStream redelivers it. Unlike startstop.Service's,
// this Stop takes the deadline of the last write; it too is safe twice or before Start.
func (b *batcher[T]) Stop(ctx context.Context) {
	b.stopOnce.Do(func() {
		b.stopCtx = ctx
		close(b.stop)
	})
	b.Wait()
}

// writeTimeout bounds one batch write.
const writeTimeout = 30 * time.Second
