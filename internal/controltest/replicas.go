package controltest

import (
	"context"
	"sync"
	"testing"

	"github.com/webhookd/webhookd/control/controlapi"
	"github.com/webhookd/webhookd/storage"
)

// testReplicasShareTheQueueGroup: two responders (two replicas) on one NATS both answer, and
// each request is answered once.
func testReplicasShareTheQueueGroup(t *testing.T, st Store) {
	e := newEnv(t, st)
	r2, _, m2 := e.startResponder(e.store)
	wr := e.seed(storage.StateSuccessful, "d1")

	const n = 60
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var res controlapi.ItemResult[*storage.WebhookRequest]
			if err := e.client.Do(ctxT(t), controlapi.CmdRequestsGet, map[string]string{"number": wr.Number}, &res, nil); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	// Stop waits for commands in progress, so the counters are final.
	e.resp.Stop(context.Background())
	r2.Stop(context.Background())
	a := counter(t, e.metrics.ControlCommands.WithLabelValues(controlapi.CmdRequestsGet, "ok"))
	b := counter(t, m2.ControlCommands.WithLabelValues(controlapi.CmdRequestsGet, "ok"))
	if a+b != n {
		t.Fatalf("answered %v + %v times, want %d in all (one reply per request)", a, b, n)
	}
	if a == 0 || b == 0 {
		t.Fatalf("one replica answered everything (%v, %v): not a queue group", a, b)
	}
}
