package pipeline

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

// NewTestDeliverer is the pipeline's delivery path without the rest of the pipeline, for the
// control plane's suite (internal/controltest) run by this package's tests: the attempt, its
// metrics in m, endpoint health written to store (flushed every 100ms until the test ends) and
// announced on nc, and the pipeline's webhook request builder. Its catalog stays empty: nothing
// here loads one, and a resend takes its definition from the store.
func NewTestDeliverer(t testing.TB, store Store, nc *nats.Conn, m *metrics.Metrics) control.Deliverer {
	log := slog.New(slog.DiscardHandler)
	sender := delivery.NewClient(delivery.Options{AllowPrivateNetworks: true, UserAgent: "webhookd/test"})
	t.Cleanup(sender.CloseIdleConnections)
	cat := NewCatalog(store, m, log)
	h := NewHealth(store, nc, cat, m, log, time.Now, 100*time.Millisecond, nil)
	_ = h.Start(context.Background())
	t.Cleanup(h.Stop)
	return NewDeliverer(DelivererOptions{Catalog: cat, Sender: sender, Health: h, Metrics: m, Log: log, Now: time.Now})
}
