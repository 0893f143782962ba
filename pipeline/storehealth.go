package pipeline

import (
	"log/slog"
	"sync"
	"time"
)

// StoreHealth follows the outcome of the store's writes, so an outage is told once when it
// starts and once when it ends, not once per message: while it lasts, every write is retried
// with backoff by its caller and nothing is acknowledged without its document. /readyz reports
// it too, since a store can answer pings and still refuse writes (a full disk, a lock held by
// another process).
type StoreHealth struct {
	log *slog.Logger
	now func() time.Time

	mu       sync.Mutex
	downFrom time.Time // zero: the last write succeeded
	failures int64     // failed writes since downFrom
	lastErr  error
}

// observe records a write's outcome.
func (h *StoreHealth) observe(err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case err != nil && h.downFrom.IsZero():
		h.downFrom, h.failures, h.lastErr = h.now(), 1, err
		h.log.Error("store writes failing: deliveries and events are held and their writes retried; nothing is acknowledged until they are stored",
			"error", err)
	case err != nil:
		h.failures++
		h.lastErr = err
	case !h.downFrom.IsZero():
		h.log.Info("store writes succeed again: held deliveries and events are being stored",
			"outage", h.now().Sub(h.downFrom).Round(time.Millisecond).String(), "failed_writes", h.failures)
		h.downFrom, h.failures, h.lastErr = time.Time{}, 0, nil
	}
}

// NewStoreHealth follows the store's writes, logging an outage on log.
func NewStoreHealth(log *slog.Logger, now func() time.Time) *StoreHealth {
	return &StoreHealth{log: log, now: now}
}

// Failing returns the error of the outage in progress, or nil.
func (h *StoreHealth) Failing() (since time.Time, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.downFrom, h.lastErr
}
