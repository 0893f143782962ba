package worker_test

import (
	"testing"
	"time"

	"github.com/webhookd/webhookd/internal/mongotest/ferrettest"
	"github.com/webhookd/webhookd/internal/workertest"
	"github.com/webhookd/webhookd/worker"
)

// TestStoreUnreachableHoldsWorkAndSaysSoOnce: the MongoDB store (FerretDB, behind a TCP proxy)
// unreachable for 30 s mid-stream, every connection to it cut and new ones refused. Deliveries go
// on and are held until their webhook requests are stored, none attempted twice; webhookd stays
// up, /readyz says the store's writes fail, the log says so once. When the store is back,
// everything is stored once.
func TestStoreUnreachableHoldsWorkAndSaysSoOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("keeps the store unreachable for 30 s")
	}
	uri := ferrettest.URI(t)
	db := ferrettest.Database(t, uri)
	proxy, proxied := ferrettest.NewProxy(t, uri)
	workertest.OutageKeepsPromises(t, workertest.Outage{
		Begin:    func(*workertest.Env) { proxy.Cut() },
		End:      func(*workertest.Env) { proxy.Restore(t) },
		For:      30 * time.Second,
		StoreURI: uri, // the test reads past the cut
	}, func(o *worker.Options) { o.MongoURI, o.MongoDatabase = proxied, db })
}
