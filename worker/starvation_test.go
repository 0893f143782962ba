package worker_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/webhookd/webhookd/consumer"
	"github.com/webhookd/webhookd/control/controlapi"
	"github.com/webhookd/webhookd/internal/natstest"
	"github.com/webhookd/webhookd/internal/testutil"
	"github.com/webhookd/webhookd/internal/workertest"
	"github.com/webhookd/webhookd/storage"
	"github.com/webhookd/webhookd/worker"
)

// TestHundredThousandParkedRetriesDoNotStarveOthers parks 100,000 deliveries of a definition
// whose receiver has been down for hours (each waiting an hour for its next attempt), then
// checks that a healthy definition's deliveries go through at once.
func TestHundredThousandParkedRetriesDoNotStarveOthers(t *testing.T) {
	// Not parallel: it measures that a healthy definition is served on time, so it runs alone.
	if testing.Short() {
		t.Skip("parks 100,000 deliveries")
	}
	down := workertest.NewReceiver(t, func(int, *http.Request) int { return http.StatusServiceUnavailable })
	up := workertest.NewReceiver(t, nil)
	e := workertest.Setup(t, workertest.ConfigOf(
		[]string{
			workertest.DefinitionYAML("down", down.URL, `    retry: {max_attempts: 50, initial_interval: 1h, max_interval: 2h}`),
			workertest.DefinitionYAML("up", up.URL, ""),
		},
		[]string{workertest.RuleYAML("to-down", "customer", "down"), workertest.RuleYAML("to-up", "order", "up")},
	))
	// What the deliverer publishes after the fifth failed attempt of each delivery: a task that
	// is not due for an hour (the message format is the pipeline's own; see pipeline/task.go).
	const parked = 100_000
	notBefore := time.Now().Add(time.Hour).UTC().Format(time.RFC3339Nano)
	for i := range parked {
		m := nats.NewMsg(consumer.DeliverySubject("down"))
		m.Data = fmt.Appendf(nil, `{"webhook_id":"msg_parked_%d","attempts":5,"not_before":%q,"event_id":"c-%d","entity":"customer","entity_id":"C","action":"updated","workflow_rule":{"id":"to-down","name":"Rule to-down"},"webhook_definition":"down","body":{"type":"customer.updated"},"created_at":"2026-11-27T10:00:00Z"}`, i, notBefore, i)
		m.Header.Set(jetstream.MsgIDHeader, fmt.Sprintf("msg_parked_%d.5", i))
		// Under -race the server acknowledges slower than this loop publishes: each publish
		// waits for room in the window of unacknowledged ones instead of failing.
		if _, err := e.JS.PublishMsgAsync(m, jetstream.WithStallWait(time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case <-e.JS.PublishAsyncComplete():
	case <-time.After(2 * time.Minute):
		t.Fatal("publishing the parked deliveries did not finish")
	}
	ctx := context.Background()
	c := e.DeliveryConsumer(ctx, "down")
	// The failing definition's consumer fills up with parked deliveries to its own limit.
	testutil.Eventually(t, 2*time.Minute, "the failing definition's consumer to hold its parked deliveries", func() bool {
		info, err := c.Info(ctx)
		return err == nil && info.NumAckPending >= 10_000
	})

	start := time.Now()
	for i := range 50 {
		e.Publish(workertest.Event{ID: fmt.Sprintf("o-%d", i), Entity: "order", EntityID: "O", Action: "created", Data: map[string]any{}})
	}
	e.WaitRequests(50, storage.Filter{WebhookDefinition: "up"})
	t.Logf("50 deliveries of the healthy definition took %s beside %d parked ones", time.Since(start), parked)
	if n := down.Count(); n != 0 {
		t.Errorf("the down receiver got %d attempts before their time", n)
	}
}

// TestQueuedDeliveriesOfAGoneDefinitionAreRejectedNotLost: deliveries queued for a definition
// that was deleted before any replica made a consumer for it are still finished: rejected with
// DEFINITION_NOT_FOUND and logged, so an operator sees them.
func TestQueuedDeliveriesOfAGoneDefinitionAreRejectedNotLost(t *testing.T) {
	t.Parallel()
	rc := workertest.NewReceiver(t, nil)
	e := workertest.Setup(t, workertest.ConfigOf([]string{workertest.DefinitionYAML("d1", rc.URL, "")}, []string{workertest.RuleYAML("r1", "customer", "d1")}))
	m := nats.NewMsg(consumer.DeliverySubject("gone"))
	m.Data = []byte(`{"webhook_id":"msg_orphan","attempts":0,"event_id":"e-orphan","entity":"customer","entity_id":"C","action":"updated","workflow_rule":{"id":"r-gone","name":"Gone rule"},"webhook_definition":"gone","body":{"type":"customer.updated"},"created_at":"2026-11-27T10:00:00Z"}`)
	if _, err := e.JS.PublishMsg(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	// Any configuration change makes the replicas look at the queue again.
	e.Publish(workertest.Event{ID: "e-nudge", Entity: "customer", EntityID: "C", Action: "updated", Data: map[string]any{}})
	if err := os.WriteFile(e.Opts.ConfigFile, []byte(workertest.ConfigOf([]string{workertest.DefinitionYAML("d2", rc.URL, "")}, []string{workertest.RuleYAML("r2", "order", "d2")})), 0o600); err != nil {
		t.Fatal(err)
	}
	e.Stop()
	e.Start() // applies the new file: a config change
	reqs := e.WaitRequests(1, storage.Filter{WebhookDefinition: "gone"})
	if reqs[0].State != storage.StateRejected || reqs[0].ErrorCode != "DEFINITION_NOT_FOUND" || reqs[0].WebhookID != "msg_orphan" {
		t.Errorf("orphaned delivery logged as %+v", reqs[0])
	}
}

// TestDeletedDeliveryConsumerComesBack: a definition's consumer deleted under a running worker
// (by an operator, or by another replica that thought it drained) is made again and its
// deliveries go on without any configuration change.
func TestDeletedDeliveryConsumerComesBack(t *testing.T) {
	t.Parallel()
	rc := workertest.NewReceiver(t, nil)
	e := workertest.Setup(t, workertest.ConfigOf([]string{workertest.DefinitionYAML("d1", rc.URL, "")}, []string{workertest.RuleYAML("r1", "customer", "d1")}),
		func(o *worker.Options) { o.Reconcile = 100 * time.Millisecond })
	ctx := context.Background()
	// A queued delivery (as a retry is) makes the definition's consumer.
	queue := func(id string) {
		m := nats.NewMsg(consumer.DeliverySubject("d1"))
		m.Data = fmt.Appendf(nil, `{"webhook_id":"msg_%s","attempts":1,"event_id":%q,"entity":"customer","entity_id":"C","action":"updated","workflow_rule":{"id":"r1","name":"Rule r1"},"webhook_definition":"d1","body":{"type":"customer.updated"},"created_at":"2026-11-27T10:00:00Z"}`, id, id)
		if _, err := e.JS.PublishMsg(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	queue("before-delete")
	e.WaitRequests(1, storage.Filter{WebhookDefinition: "d1"})
	c := e.DeliveryConsumer(ctx, "d1")
	s, err := e.JS.Stream(ctx, consumer.DeliveriesStream)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteConsumer(ctx, c.CachedInfo().Name); err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
		t.Fatal(err)
	}
	queue("after-delete")
	e.WaitRequests(2, storage.Filter{WebhookDefinition: "d1"})
}

// TestDeliveryTooLargeToQueueIsRejectedNotRetried: an event that fits the NATS max_payload but
// whose delivery task (the body plus its envelope) does not is no poison message: its delivery
// is rejected with PAYLOAD_TOO_LARGE and the event acknowledged.
func TestDeliveryTooLargeToQueueIsRejectedNotRetried(t *testing.T) {
	t.Parallel()
	const maxPayload = 64 << 10
	url := natstest.URL(t, func(o *server.Options) { o.MaxPayload = maxPayload })
	rc := workertest.NewReceiver(t, nil)
	e := workertest.Setup(t, workertest.ConfigOf([]string{workertest.DefinitionYAML("d1", rc.URL, "")}, []string{workertest.RuleYAML("r1", "customer", "d1")}),
		func(o *worker.Options) { o.NATS.URL = url })
	x := workertest.Event{ID: "big", Entity: "customer", EntityID: "C", Action: "updated", OccurredAt: "2026-11-27T10:00:00Z", Data: map[string]any{"blob": ""}}
	overhead, _ := json.Marshal(x)
	x.Data["blob"] = strings.Repeat("x", maxPayload-len(overhead)-100) // the event fits, its task cannot
	e.Publish(x)
	e.Publish(workertest.Event{ID: "small", Entity: "customer", EntityID: "C", Action: "updated", Data: map[string]any{}})
	reqs := e.WaitRequests(2, storage.Filter{})
	byEvent := map[string]*storage.WebhookRequest{}
	for _, r := range reqs {
		byEvent[r.EventID] = r
	}
	if r := byEvent["big"]; r == nil || r.State != storage.StateRejected || r.ErrorCode != "PAYLOAD_TOO_LARGE" {
		t.Errorf("big event's delivery = %+v", r)
	}
	if r := byEvent["small"]; r == nil || r.State != storage.StateSuccessful {
		t.Errorf("small event's delivery = %+v", r)
	}
}

// TestFullQueueRejectsNewDeliveriesAtOnce: a definition whose receiver is down holds at most
// max_queued deliveries; past that a new delivery is stored as rejected with QUEUE_FULL at once
// (resendable later), and another definition's deliveries go on as usual.
func TestFullQueueRejectsNewDeliveriesAtOnce(t *testing.T) {
	down := workertest.NewReceiver(t, func(int, *http.Request) int { return http.StatusServiceUnavailable })
	up := workertest.NewReceiver(t, nil)
	e := workertest.Setup(t, workertest.ConfigOf(
		[]string{
			workertest.DefinitionYAML("down", down.URL, `    max_queued: 5
    retry: {max_attempts: 50, initial_interval: 1h, max_interval: 2h}`),
			workertest.DefinitionYAML("up", up.URL, ""),
		},
		[]string{workertest.RuleYAML("to-down", "customer", "down"), workertest.RuleYAML("to-up", "order", "up")},
	), func(o *worker.Options) { o.SampleEvery = 20 * time.Millisecond })
	for i := range 5 {
		e.Publish(workertest.Event{ID: fmt.Sprintf("c-%d", i), Entity: "customer", EntityID: "C", Action: "updated", Data: map[string]any{}})
	}
	testutil.Eventually(t, 30*time.Second, "5 deliveries parked for their retry", func() bool { return down.Count() == 5 })
	// The bound is checked against a sample of the queue: wait until the sample shows it full.
	testutil.Eventually(t, 30*time.Second, "the sampled queue of the down definition to hold 5", func() bool {
		return gaugeValue(t, e, `webhookd_consumer_pending_messages{consumer="deliveries-down"}`)+
			gaugeValue(t, e, `webhookd_consumer_ack_pending_messages{consumer="deliveries-down"}`) == 5
	})
	for i := 5; i < 8; i++ {
		e.Publish(workertest.Event{ID: fmt.Sprintf("c-%d", i), Entity: "customer", EntityID: "C", Action: "updated", Data: map[string]any{}})
		e.Publish(workertest.Event{ID: fmt.Sprintf("o-%d", i), Entity: "order", EntityID: "O", Action: "created", Data: map[string]any{}})
	}
	rejected := e.WaitRequests(3, storage.Filter{WebhookDefinition: "down"})
	for _, r := range rejected {
		if r.State != storage.StateRejected || r.ErrorCode != string(controlapi.CodeQueueFull) || r.Attempts != 0 ||
			!strings.Contains(r.ErrorDescription, "max_queued 5") {
			t.Errorf("delivery past max_queued logged as %s %s (%d attempts): %s", r.State, r.ErrorCode, r.Attempts, r.ErrorDescription)
		}
	}
	e.WaitRequests(3, storage.Filter{WebhookDefinition: "up"})
	if n := down.Count(); n != 5 {
		t.Errorf("the down receiver got %d attempts, want only the 5 queued ones", n)
	}
}

// gaugeValue reads one series from the worker's /metrics, or -1 when it is not there.
func gaugeValue(t *testing.T, e *workertest.Env, series string) float64 {
	t.Helper()
	resp, err := http.Get("http://" + e.W.HTTPAddr() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(readAll(resp), "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("series %s: %v", series, err)
			}
			return f
		}
	}
	return -1
}
