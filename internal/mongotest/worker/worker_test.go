package worker_test

// The pipeline on MongoDB: FerretDB in-process, or the real MongoDB of WEBHOOKD_TEST_MONGO_URI.

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/webhookd/webhookd/internal/mongotest/ferrettest"
	"github.com/webhookd/webhookd/internal/natstest"
	"github.com/webhookd/webhookd/internal/testutil"
	"github.com/webhookd/webhookd/internal/workertest"
	"github.com/webhookd/webhookd/storage"
	"github.com/webhookd/webhookd/worker"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// The HTTP client's idle keep-alive connections to httptest receivers close asynchronously.
		goleak.IgnoreTopFunction("internal/poll.runtime_pollWait"),
		goleak.IgnoreTopFunction("net/http.(*persistConn).writeLoop"),
		goleak.IgnoreTopFunction("net/http.(*persistConn).readLoop"),
	)
}

// TestPipelineOnMongoDB runs the pipeline with the MongoDB store (FerretDB in-process, or the
// real MongoDB of WEBHOOKD_TEST_MONGO_URI): the same behaviour as standalone.
func TestPipelineOnMongoDB(t *testing.T) {
	uri := ferrettest.MongoURI(t)
	db := ferrettest.Database(t, uri)
	ok := workertest.NewReceiver(t, nil)
	bad := workertest.NewReceiver(t, func(int, *http.Request) int { return http.StatusNotFound })
	quiet := workertest.NewReceiver(t, nil)
	e := workertest.Setup(t, workertest.ConfigOf(
		[]string{
			workertest.DefinitionYAML("ok", ok.URL, ""),
			workertest.DefinitionYAML("bad", bad.URL, ""),
			workertest.DefinitionYAML("quiet", quiet.URL, "    logging: rejected_only"),
		},
		[]string{workertest.RuleYAML("r1", "customer", "ok", "bad", "quiet")},
	), func(o *worker.Options) { o.MongoURI, o.MongoDatabase = uri, db })

	x := workertest.Event{ID: "ev-m1", Entity: "customer", EntityID: "C-1", Action: "updated", Data: map[string]any{"name": "Ada"}}
	e.Publish(x)
	e.Publish(x) // a duplicate publish is delivered once
	e.PublishRaw("crm.events.customer.updated", []byte("{"), "")

	reqs := e.WaitRequests(2, storage.Filter{})
	testutil.Eventually(t, 30*time.Second, "the quiet receiver's delivery", func() bool { return quiet.Count() == 1 })
	byDef := map[string]*storage.WebhookRequest{}
	for _, r := range reqs {
		byDef[r.WebhookDefinition.ID] = r
	}
	if r := byDef["ok"]; r == nil || r.State != storage.StateSuccessful {
		t.Errorf("ok: %+v", r)
	}
	if r := byDef["bad"]; r == nil || r.State != storage.StateRejected || r.ErrorCode != "HTTP_404" {
		t.Errorf("bad: %+v", r)
	}
	if r := byDef["quiet"]; r != nil {
		t.Errorf("a successful delivery of a rejected_only definition was logged: %+v", r)
	}
	if n := ok.Count(); n != 1 {
		t.Errorf("ok receiver got %d requests, want 1", n)
	}
	testutil.Eventually(t, 30*time.Second, "the invalid event", func() bool {
		evs, err := e.Store.ListInvalidEvents(context.Background(), 10)
		return err == nil && len(evs) == 1
	})
}

// TestNothingEmbeddedWithURLs: given a NATS URL and a MongoDB URI, webhookd starts no NATS
// server of its own and writes no standalone store.
func TestNothingEmbeddedWithURLs(t *testing.T) {
	uri := ferrettest.MongoURI(t)
	db := ferrettest.Database(t, uri)
	natsURL := natstest.URL(t)
	rc := workertest.NewReceiver(t, nil)
	e := workertest.Setup(t, workertest.ConfigOf([]string{workertest.DefinitionYAML("d1", rc.URL, "")}, []string{workertest.RuleYAML("r1", "customer", "d1")}),
		func(o *worker.Options) {
			o.MongoURI, o.MongoDatabase = uri, db
			o.NATS.URL = natsURL
			o.EmbeddedNATSListen = "127.0.0.1:1" // would fail if it were used
		})
	e.Publish(workertest.Event{ID: "ev-ext", Entity: "customer", EntityID: "C-1", Action: "updated", Data: map[string]any{}})
	e.WaitRequests(1, storage.Filter{})
	for _, p := range []string{"nats", "webhookd.db"} {
		if _, err := os.Stat(filepath.Join(e.Dir, p)); !os.IsNotExist(err) {
			t.Errorf("%s exists in the data dir (err %v): something was embedded", p, err)
		}
	}
}

func TestConfigFileAtRestartOnMongoDB(t *testing.T) {
	uri := ferrettest.MongoURI(t)
	db := ferrettest.Database(t, uri)
	workertest.ConfigFileAtRestart(t, func(o *worker.Options) { o.MongoURI, o.MongoDatabase = uri, db })
}

func TestResendTakesThePipelinesPathOnMongoDB(t *testing.T) {
	uri := ferrettest.MongoURI(t)
	db := ferrettest.Database(t, uri)
	workertest.ResendTakesThePipelinesPath(t, func(o *worker.Options) { o.MongoURI, o.MongoDatabase = uri, db })
}
