package pipeline

import (
	"context"
	"fmt"
	"time"

	"github.com/webhookd/webhookd/metrics"
	"github.com/webhookd/webhookd/storage"
)

// The parts of the store's writes that its WriteHealth follows.
const (
	partRequests      = "webhook requests"
	partInvalidEvents = "invalid events"
	partHealth        = "endpoint health"
)

// Recorder writes webhook requests and invalid events in batches, numbering the requests from
// blocks reserved in the store (storage.Numbers).
type Recorder struct {
	store   Store
	health  *WriteHealth
	metrics *metrics.Metrics
	numbers storage.Numbers
	reqs    *batcher[*storage.WebhookRequest]
	invalid *batcher[storage.InvalidEvent]
}

// NewRecorder makes the batch writers: Start starts them, Stop flushes and stops them.
func NewRecorder(store Store, m *metrics.Metrics, health *WriteHealth) *Recorder {
	r := &Recorder{store: store, metrics: m, health: health}
	r.reqs = newBatcher(maxRequestBatch, 5*time.Millisecond, r.writeRequests)
	r.invalid = newBatcher(100, 5*time.Millisecond, r.writeInvalid)
	return r
}

// Start starts the batch writers, once.
func (r *Recorder) Start(ctx context.Context) error {
	_ = r.reqs.Start(ctx)
	return r.invalid.Start(ctx)
}

// Stop writes what is queued, within ctx, and stops the writers (safe twice or before Start).
func (r *Recorder) Stop(ctx context.Context) {
	r.reqs.Stop(ctx)
	r.invalid.Stop(ctx)
}

// record stores a webhook request, numbering it, and returns once it is stored. Its Number is
// set when it returns nil. A request whose delivery was already logged is not written twice.
func (r *Recorder) record(ctx context.Context, req *storage.WebhookRequest) error {
	return r.reqs.Add(ctx, req)
}

// recordInvalid stores an invalid event and returns once it is stored.
func (r *Recorder) recordInvalid(ctx context.Context, ev storage.InvalidEvent) error {
	return r.invalid.Add(ctx, ev)
}

// Number allocates the next request number, for writes that do not go through the batches
// (a resend's replacement).
func (r *Recorder) Number(ctx context.Context) (int64, error) {
	return r.numbers.Next(ctx, r.store)
}

func (r *Recorder) writeRequests(ctx context.Context, reqs []*storage.WebhookRequest) error {
	for _, req := range reqs {
		if req.Number != "" {
			continue
		}
		seq, err := r.Number(ctx)
		if err != nil {
			// The next block of numbers is a write too: the outage may start here.
			r.health.observe(partRequests, err)
			r.metrics.StorageErrors.WithLabelValues(metrics.CollectionRequests).Inc()
			return err
		}
		req.Seq, req.Number = seq, storage.FormatNumber(seq)
	}
	start := time.Now()
	_, err := r.store.InsertRequests(ctx, reqs)
	r.health.observe(partRequests, err)
	r.metrics.StorageWriteSeconds.WithLabelValues(metrics.CollectionRequests).Observe(time.Since(start).Seconds())
	r.metrics.StorageBatchSize.WithLabelValues(metrics.CollectionRequests).Observe(float64(len(reqs)))
	if err != nil {
		r.metrics.StorageErrors.WithLabelValues(metrics.CollectionRequests).Inc()
		// Numbers already given stay with their requests: a retry of this write reuses them.
		return fmt.Errorf("write %d webhook requests: %w", len(reqs), err)
	}
	for _, req := range reqs {
		r.metrics.RequestsLogged.WithLabelValues(req.State).Inc()
	}
	return nil
}

func (r *Recorder) writeInvalid(ctx context.Context, evs []storage.InvalidEvent) error {
	start := time.Now()
	err := r.store.InsertInvalidEvents(ctx, evs)
	r.health.observe(partInvalidEvents, err)
	r.metrics.StorageWriteSeconds.WithLabelValues(metrics.CollectionInvalidEvents).Observe(time.Since(start).Seconds())
	r.metrics.StorageBatchSize.WithLabelValues(metrics.CollectionInvalidEvents).Observe(float64(len(evs)))
	if err != nil {
		r.metrics.StorageErrors.WithLabelValues(metrics.CollectionInvalidEvents).Inc()
		return fmt.Errorf("write %d invalid events: %w", len(evs), err)
	}
	return nil
}

// maxRequestBatch bounds one write of webhook requests: large enough that a store under load
// takes hundreds of deliveries per round trip, small enough to stay far below MongoDB's 16 MiB
// command and SQLite's transaction sizes with the largest bodies.
const maxRequestBatch = 500
