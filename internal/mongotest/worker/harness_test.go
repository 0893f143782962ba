package worker_test

// What the replica and round-trip tests share: a worker started on a NATS URL and a MongoDB URI
// with a metrics registry of its own, the store the test reads back through, a burst publisher
// and the sums of a worker's metrics.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/webhookd/webhookd/broker"
	"github.com/webhookd/webhookd/internal/testutil"
	"github.com/webhookd/webhookd/internal/workertest"
	"github.com/webhookd/webhookd/storage"
	"github.com/webhookd/webhookd/storage/mongo"
	"github.com/webhookd/webhookd/worker"
)

// cluster is what replicas share: one NATS server, one MongoDB database, one key file and one
// configuration file.
type cluster struct {
	natsURL, mongoURI, database string
	keyFile, configFile         string
}

func newCluster(t testing.TB, natsURL, mongoURI, database, configYAML string) *cluster {
	t.Helper()
	dir := t.TempDir()
	return &cluster{natsURL: natsURL, mongoURI: mongoURI, database: database,
		keyFile: testutil.KeyFile(t, dir), configFile: workertest.WriteConfig(t, dir, configYAML)}
}

// replica is one running worker and its own metrics.
type replica struct {
	name string
	w    *worker.Worker
	reg  *prometheus.Registry
}

// start starts a replica at the product's defaults (config poll, health flush, event
// concurrency), with its own HTTP port and registry, and stops it when the test ends.
// mongoURI, when not empty, replaces the cluster's (a wire tap in front of it).
func (c *cluster) start(t testing.TB, name, mongoURI string) *replica {
	t.Helper()
	if mongoURI == "" {
		mongoURI = c.mongoURI
	}
	r := &replica{name: name, reg: prometheus.NewRegistry()}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})).With("replica", name)
	}
	opts := worker.Options{
		NATS:             broker.Options{URL: c.natsURL, Name: "webhookd-" + name},
		MongoURI:         mongoURI,
		MongoDatabase:    c.database,
		SecretsKeyFile:   c.keyFile,
		ConfigFile:       c.configFile,
		DataDir:          filepath.Join(t.TempDir(), "data"),
		HTTPAddr:         "127.0.0.1:0",
		AllowPrivateNets: true,
		Version:          "test",
		Logger:           logger,
		Registry:         r.reg,
		ShutdownTimeout:  15 * time.Second,
	}
	// No deadline: the driver turns one into maxTimeMS, which FerretDB's createIndexes mishandles.
	w, err := worker.Start(context.Background(), opts)
	if err != nil {
		t.Fatalf("start replica %s: %v", name, err)
	}
	r.w = w
	t.Cleanup(func() {
		if err := w.Stop(context.Background()); err != nil {
			t.Errorf("stop replica %s: %v", name, err)
		}
	})
	return r
}

// openStore opens the store the test reads back through, on the cluster's MongoDB.
func (c *cluster) openStore(t testing.TB, opts ...mongo.Option) *mongo.Store {
	t.Helper()
	s, err := mongo.Open(context.Background(), c.mongoURI, c.database, testutil.LoadKeyFile(t, c.keyFile), opts...)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { _ = s.Close(context.Background()) })
	return s
}

// publishBurst publishes the events at once, each with its id as the JetStream message id, and
// waits for every publish acknowledgement.
func publishBurst(t testing.TB, js jetstream.JetStream, events []workertest.Event) {
	t.Helper()
	futs := make([]jetstream.PubAckFuture, 0, len(events))
	for _, x := range events {
		if x.OccurredAt == "" {
			x.OccurredAt = "2026-11-27T10:00:00Z"
		}
		body, err := json.Marshal(x)
		if err != nil {
			t.Fatal(err)
		}
		m := nats.NewMsg(fmt.Sprintf("crm.events.%s.%s", x.Entity, x.Action))
		m.Data = body
		m.Header.Set(jetstream.MsgIDHeader, x.ID)
		f, err := js.PublishMsgAsync(m)
		if err != nil {
			t.Fatalf("publish %s: %v", x.ID, err)
		}
		futs = append(futs, f)
	}
	select {
	case <-js.PublishAsyncComplete():
	case <-time.After(time.Minute):
		t.Fatalf("%d publish acknowledgements still pending after a minute", js.PublishAsyncPending())
	}
	for _, f := range futs {
		select {
		case <-f.Ok():
		case err := <-f.Err():
			t.Fatalf("publish %s: %v", f.Msg().Header.Get(jetstream.MsgIDHeader), err)
		}
	}
}

// events returns n events of entity, with ids prefix-0 to prefix-(n-1).
func events(prefix, entity string, n int) []workertest.Event {
	out := make([]workertest.Event, n)
	for i := range out {
		out[i] = workertest.Event{ID: fmt.Sprintf("%s-%d", prefix, i), Entity: entity, EntityID: fmt.Sprintf("E-%d", i),
			Action: "updated", Data: map[string]any{"i": i, "name": "Ada Lovelace", "email": "ada@example.com"}}
	}
	return out
}

// waitCount waits until the store holds n webhook requests matching f, and fails the test if it
// holds more.
func waitCount(t testing.TB, s *mongo.Store, f storage.Filter, n int64, within time.Duration) {
	t.Helper()
	var got int64
	testutil.Eventually(t, within, fmt.Sprintf("%d webhook requests matching %+v", n, f), func() bool {
		var err error
		got, err = s.CountRequests(context.Background(), f)
		return err == nil && got >= n
	})
	if got > n {
		t.Fatalf("%d webhook requests matching %+v, want %d", got, f, n)
	}
}

// allRequests lists every stored webhook request matching f, page by page.
func allRequests(t testing.TB, s *mongo.Store, f storage.Filter) []*storage.WebhookRequest {
	t.Helper()
	var out []*storage.WebhookRequest
	var before int64
	for {
		page, err := s.ListRequests(context.Background(), storage.ListQuery{Filter: f, Limit: storage.MaxLimit, BeforeSeq: before})
		if err != nil {
			t.Fatalf("list webhook requests: %v", err)
		}
		out = append(out, page...)
		if len(page) < storage.MaxLimit {
			return out
		}
		before = page[len(page)-1].Seq
	}
}

// metric sums the samples of the counter or gauge name whose labels include every pair of
// labels (name, value, name, value...).
func (r *replica) metric(t testing.TB, name string, labels ...string) float64 {
	t.Helper()
	var sum float64
	r.each(t, name, labels, func(m *dto.Metric) {
		switch {
		case m.Counter != nil:
			sum += m.Counter.GetValue()
		case m.Gauge != nil:
			sum += m.Gauge.GetValue()
		}
	})
	return sum
}

// histogram returns the count and sum of the histogram name's samples whose labels match.
func (r *replica) histogram(t testing.TB, name string, labels ...string) (count uint64, sum float64) {
	t.Helper()
	r.each(t, name, labels, func(m *dto.Metric) {
		if h := m.Histogram; h != nil {
			count += h.GetSampleCount()
			sum += h.GetSampleSum()
		}
	})
	return count, sum
}

func (r *replica) each(t testing.TB, name string, labels []string, f func(*dto.Metric)) {
	t.Helper()
	fams, err := r.reg.Gather()
	if err != nil {
		t.Fatalf("replica %s: gather metrics: %v", r.name, err)
	}
	for _, fam := range fams {
		if fam.GetName() != name {
			continue
		}
	metrics:
		for _, m := range fam.GetMetric() {
			for i := 0; i+1 < len(labels); i += 2 {
				found := false
				for _, lp := range m.GetLabel() {
					if lp.GetName() == labels[i] && lp.GetValue() == labels[i+1] {
						found = true
					}
				}
				if !found {
					continue metrics
				}
			}
			f(m)
		}
	}
}
