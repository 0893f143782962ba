package pipeline

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/webhookd/webhookd/internal/startstop"
	"github.com/webhookd/webhookd/metrics"
)

// TestServicesStartOnceAndStopTwice: each background loop of the pipeline may be stopped before
// it starts, started twice (one loop), and stopped twice; Stop returns once its loop has (the
// package's goleak check sees any loop left behind).
func TestServicesStartOnceAndStopTwice(t *testing.T) {
	t.Parallel()
	log := slog.New(slog.DiscardHandler)
	m := metrics.New(prometheus.NewRegistry(), "test")
	cat := NewCatalog(nil, m, log) // nothing here loads: the intervals below never tick
	services := map[string]startstop.Service{
		"keeper":  NewKeeper(),
		"watcher": cat.Watcher(time.Hour, func(*Snapshot) {}),
		"health":  NewHealth(nil, nil, cat, m, log, time.Now, time.Hour, nil),
	}
	for name, s := range services {
		t.Run(name, func(t *testing.T) {
			s.Stop()
			_ = s.Start(context.Background())
			_ = s.Start(context.Background())
			s.Stop()
			s.Stop()
		})
	}

	rec := NewRecorder(nil, m, NewStoreHealth(log, time.Now))
	rec.Stop(context.Background()) // before Start: nothing to write, it returns at once
	_ = rec.Start(context.Background())
	rec.Stop(context.Background())
}
