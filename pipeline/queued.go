package pipeline

import (
	"errors"
	"strings"
	"sync"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/webhookd/webhookd/config"
)

// QueueDepths holds each definition's queued deliveries (waiting, parked for a retry or in
// flight), as last sampled from its consumer. The fan-out checks max_queued against it: a
// sample is at most one gauge interval old, and the stream's per-definition cap
// (config.MaxMaxQueued) stops the rest.
type QueueDepths struct {
	mu sync.RWMutex
	n  map[string]uint64
}

func (q *QueueDepths) Set(all map[string]uint64) {
	q.mu.Lock()
	q.n = all
	q.mu.Unlock()
}

// full reports whether def has no room for another delivery, and how many it holds.
func (q *QueueDepths) full(def *config.Definition) (bool, uint64) {
	q.mu.RLock()
	n := q.n[def.ID]
	q.mu.RUnlock()
	return n >= uint64(maxQueued(def)), n
}

// maxQueued is a definition's bound; one stored before the field existed has the default.
func maxQueued(def *config.Definition) int {
	if def.MaxQueued <= 0 {
		return config.DefaultMaxQueued
	}
	return min(def.MaxQueued, config.MaxMaxQueued)
}

// isSubjectFull reports whether a publish failed because the definition's subject holds the
// stream's per-definition cap.
func isSubjectFull(err error) bool {
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && strings.Contains(apiErr.Description, "maximum messages per subject")
}
