package pipeline

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// WriteHealth follows the outcome of one kind of write, so an outage is told once when it
// starts and once when it ends, not once per message: while it lasts, every write is retried
// with backoff by its caller and nothing is acknowledged before its write succeeds. /readyz
// reports it too. There are two: the store's writes (a store can answer pings and still refuse
// writes: a full disk, a lock held by another process) and the queueing of deliveries on
// JetStream (a stream whose disk is full takes no message and does not even say so: the
// publish times out). The catalog's reloads use one too, for their log alone (NewReloadHealth).
//
// Writes come in parts (the store's: webhook requests, invalid events, endpoint health), each
// retried by its own caller: the outage starts with the first part that fails and ends once
// every part that failed has succeeded again, so a part that works meanwhile does not end it
// early, to start it again with its next failure.
type WriteHealth struct {
	log *slog.Logger
	now func() time.Time
	// What the log says, at level, when writes start failing and when they succeed again.
	failingMsg, backMsg string
	level               slog.Level

	mu       sync.Mutex
	downFrom time.Time        // zero: no part is failing
	parts    map[string]error // the parts failing, with their last error
	failures int64            // failed writes since downFrom
	lastErr  error
}

// NewStoreHealth follows the store's writes of webhook requests and invalid events.
func NewStoreHealth(log *slog.Logger, now func() time.Time) *WriteHealth {
	return &WriteHealth{log: log, now: now, level: slog.LevelError,
		failingMsg: "store writes failing: deliveries and events are held and their writes retried; nothing is acknowledged until they are stored",
		backMsg:    "store writes succeed again: held deliveries and events are being stored"}
}

// partDeliveries is the one part of the queueing: delivery tasks, the fan-out's and the retries'.
const partDeliveries = "delivery tasks"

// NewQueueHealth follows the publishing of delivery tasks: the fan-out's and the retries'.
func NewQueueHealth(log *slog.Logger, now func() time.Time) *WriteHealth {
	return &WriteHealth{log: log, now: now, level: slog.LevelError,
		failingMsg: "queueing deliveries on JetStream failing: events are retried until their deliveries are queued, and an attempt whose retry cannot be queued is made again later; nothing is lost",
		backMsg:    "queueing deliveries on JetStream succeeds again"}
}

// partConfiguration is the one part of the catalog's reloads.
const partConfiguration = "configuration"

// NewReloadHealth follows the catalog's reloads of the configuration: a warning, since the
// configuration loaded last stays in force.
func NewReloadHealth(log *slog.Logger, now func() time.Time) *WriteHealth {
	return &WriteHealth{log: log, now: now, level: slog.LevelWarn,
		failingMsg: "reloading the configuration failing: the configuration loaded last stays in force",
		backMsg:    "reloading the configuration succeeds again"}
}

// observe records the outcome of a write of part. A nil WriteHealth follows nothing.
func (h *WriteHealth) observe(part string, err error) {
	if h == nil {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if err != nil {
		if h.downFrom.IsZero() {
			h.downFrom, h.failures = h.now(), 0
			h.log.Log(context.Background(), h.level, h.failingMsg, "writes", part, "error", err)
		}
		if h.parts == nil {
			h.parts = map[string]error{}
		}
		h.parts[part] = err
		h.failures++
		h.lastErr = err
		return
	}
	if _, failed := h.parts[part]; !failed {
		return
	}
	delete(h.parts, part)
	if len(h.parts) == 0 {
		h.log.Info(h.backMsg, "outage", h.now().Sub(h.downFrom).Round(time.Millisecond).String(), "failed_writes", h.failures)
		h.downFrom, h.failures, h.lastErr = time.Time{}, 0, nil
	}
}

// Failing returns the error of the outage in progress, or nil.
func (h *WriteHealth) Failing() (since time.Time, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.downFrom, h.lastErr
}
