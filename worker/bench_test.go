package worker_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/webhookd/webhookd/internal/testutil"
	"github.com/webhookd/webhookd/internal/workertest"
	"github.com/webhookd/webhookd/storage"
)

// BenchmarkPipeline measures events per second through the whole pipeline in standalone mode:
// publish, match, queue, deliver to a loopback receiver, log the webhook request.
func BenchmarkPipeline(b *testing.B) {
	rc := workertest.NewReceiver(b, func(int, *http.Request) int { return http.StatusOK })
	e := workertest.Setup(b, workertest.ConfigOf([]string{workertest.DefinitionYAML("d1", rc.URL, `    max_in_flight: 64`)}, []string{workertest.RuleYAML("r1", "customer", "d1")}))
	b.ResetTimer()
	start := time.Now()
	for i := range b.N {
		body, _ := json.Marshal(workertest.Event{ID: fmt.Sprintf("bench-%d", i), Entity: "customer", EntityID: "C", Action: "updated",
			OccurredAt: "2026-11-27T10:00:00Z", Data: map[string]any{"i": i, "name": "Ada"}})
		if _, err := e.JS.PublishAsync("crm.events.customer.updated", body, jetstream.WithStallWait(time.Minute)); err != nil {
			b.Fatal(err)
		}
	}
	<-e.JS.PublishAsyncComplete()
	testutil.Eventually(b, 5*time.Minute, fmt.Sprintf("%d requests logged", b.N), func() bool {
		n, err := e.Store.CountRequests(b.Context(), storage.Filter{})
		return err == nil && int(n) >= b.N
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
}
