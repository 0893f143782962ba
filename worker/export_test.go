package worker

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/webhookd/webhookd/control"
	"github.com/webhookd/webhookd/delivery"
	"github.com/webhookd/webhookd/metrics"
)

// NewDeliverer is the worker's delivery path without the rest of the pipeline, for the control
// plane's suite (internal/controltest) run by the worker's tests: the attempt, its metrics in m,
// endpoint health written to store (flushed every 100ms until the test ends) and announced on
// nc, and the pipeline's webhook request builder. Its catalog stays empty: nothing here loads
// one, and a resend takes its definition from the store.
func NewDeliverer(t testing.TB, store Store, nc *nats.Conn, m *metrics.Metrics) control.Deliverer {
	log := slog.New(slog.DiscardHandler)
	sender := delivery.NewClient(delivery.Options{AllowPrivateNetworks: true, UserAgent: "webhookd/test"})
	t.Cleanup(sender.CloseIdleConnections)
	cat := NewCatalog(store, m, log)
	h := newHealth(store, nc, cat, m, log, time.Now)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); h.run(ctx, 100*time.Millisecond) }()
	t.Cleanup(func() { cancel(); <-done })
	return &deliverer{catalog: cat, sender: sender, health: h, metrics: m, log: log, now: time.Now}
}
