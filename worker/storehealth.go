package worker

import (
	"log/slog"
	"sync"
	"time"
)

// writeHealth follows the outcome of one kind of write, so an outage is told once when it
// starts and once when it ends, not once per message: while it lasts, every write is retried
// with backoff by its caller and nothing is acknowledged before its write succeeds. /readyz
// reports it too. There are two: the store's writes (a store can answer pings and still refuse
// writes: a full disk, a lock held by another process) and the queueing of deliveries on
// JetStream (a stream whose disk is full takes no message and does not even say so: the
// publish times out).
type writeHealth struct {
	log *slog.Logger
	now func() time.Time
	// What the log says when writes start failing and when they succeed again.
	failingMsg, backMsg string

	mu       sync.Mutex
	downFrom time.Time // zero: the last write succeeded
	failures int64     // failed writes since downFrom
	lastErr  error
}

// newStoreHealth follows the store's writes of webhook requests and invalid events.
func newStoreHealth(log *slog.Logger, now func() time.Time) *writeHealth {
	return &writeHealth{log: log, now: now,
		failingMsg: "store writes failing: deliveries and events are held and their writes retried; nothing is acknowledged until they are stored",
		backMsg:    "store writes succeed again: held deliveries and events are being stored"}
}

// newQueueHealth follows the publishing of delivery tasks: the fan-out's and the retries'.
func newQueueHealth(log *slog.Logger, now func() time.Time) *writeHealth {
	return &writeHealth{log: log, now: now,
		failingMsg: "queueing deliveries on JetStream failing: events are retried until their deliveries are queued, and an attempt whose retry cannot be queued is made again later; nothing is lost",
		backMsg:    "queueing deliveries on JetStream succeeds again"}
}

// observe records a write's outcome.
func (h *writeHealth) observe(err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case err != nil && h.downFrom.IsZero():
		h.downFrom, h.failures, h.lastErr = h.now(), 1, err
		h.log.Error(h.failingMsg, "error", err)
	case err != nil:
		h.failures++
		h.lastErr = err
	case !h.downFrom.IsZero():
		h.log.Info(h.backMsg, "outage", h.now().Sub(h.downFrom).Round(time.Millisecond).String(), "failed_writes", h.failures)
		h.downFrom, h.failures, h.lastErr = time.Time{}, 0, nil
	}
}

// failing returns the error of the outage in progress, or nil.
func (h *writeHealth) failing() (since time.Time, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.downFrom, h.lastErr
}
